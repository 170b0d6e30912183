from __future__ import annotations

import pickle

import pytest

from axepta import ConfigurationError, Credentials
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC


def test_secrets_never_in_repr_or_str(credentials: Credentials) -> None:
    for text in (repr(credentials), str(credentials), repr(credentials.codec), str(credentials.blowfish_key)):
        assert DEMO_BLOWFISH not in text
        assert DEMO_HMAC not in text
    assert "BNP_DEMO_AXEPTA" in repr(credentials)


def test_not_picklable(credentials: Credentials) -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(credentials)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(credentials.codec)


def test_from_env_names_missing_variable() -> None:
    with pytest.raises(ConfigurationError, match="AXEPTA_HMAC_KEY is not set"):
        Credentials.from_env({"AXEPTA_MERCHANT_ID": "M", "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH})


def test_from_env() -> None:
    c = Credentials.from_env(
        {"AXEPTA_MERCHANT_ID": "SHOP_t", "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC, "AXEPTA_CHARSET": "utf-8"}
    )
    assert c.merchant_id == "SHOP_t"
    assert c.charset == "utf-8"
    assert c.environment == "test"
    assert c.hmac_key_bytes() == DEMO_HMAC.encode()


def test_environment_inference() -> None:
    assert Credentials("SHOP", DEMO_BLOWFISH, DEMO_HMAC).environment == "production"
    assert Credentials("SHOP", DEMO_BLOWFISH, DEMO_HMAC, environment="test").environment == "test"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("M", "abc", DEMO_HMAC), "found 3 bytes"),
        (("M", DEMO_BLOWFISH, ""), "HMAC key is empty"),
        (("", DEMO_BLOWFISH, DEMO_HMAC), "merchant ID is invalid"),
        (("M&x", DEMO_BLOWFISH, DEMO_HMAC), "merchant ID is invalid"),
    ],
)
def test_bad_credentials(args: tuple[str, str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as exc:
        Credentials(*args)
    assert DEMO_BLOWFISH not in str(exc.value) and DEMO_HMAC not in str(exc.value)


def test_errors_are_picklable_and_keep_context() -> None:
    from axepta.errors import GatewayError, InvalidRequestError, TransportError

    for err in (
        GatewayError("declined", code="21500067", pay_id="P", trans_id="T", explanation="Overcapture"),
        TransportError("timeout", req_id="abc", sent=True),
        InvalidRequestError("Amount: bad", field="Amount", rule="n..10"),
    ):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.__dict__ == err.__dict__
