"""Whatever arrives at the notify URL, only a Notification or a NotificationError comes out."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axepta import Credentials, Notification, NotificationError, decode_notification
from axepta.crypto import BlowfishCodec, sign
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID

CREDS = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)
UTF8 = Credentials("SHOP_UTF8_t", DEMO_BLOWFISH, DEMO_HMAC, "utf-8")
CODEC = BlowfishCodec(DEMO_BLOWFISH)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = st.sampled_from(
    ["Data", "data", "DATA", "Len", "len", "MerchantID", "mid", "MAC", "PayID", "TransID", "Status", "Code",
     "OrderStatus1", "mc_gross", "E-Mail", "x"]
)
HEX = st.text(alphabet="0123456789abcdefABCDEF -", max_size=80)
VALUES = st.one_of(st.text(max_size=40), HEX, st.integers(-5, 10**6).map(str), st.just(DEMO_MID))


def outcome(payload: Any, creds: Credentials = CREDS, **kwargs: Any) -> Notification | NotificationError:
    try:
        return decode_notification(payload, creds, **kwargs)
    except NotificationError as exc:
        error = exc
    assert error.reason in {"size", "missing_data", "decrypt", "merchant", "mac", "format"}
    return error


@FAST
@given(st.binary(max_size=600))
def test_arbitrary_bytes(payload: bytes) -> None:
    assert isinstance(outcome(payload), NotificationError)
    assert isinstance(outcome(payload, UTF8, allow_clear=True), NotificationError)


@FAST
@given(st.text(max_size=300))
def test_arbitrary_text(payload: str) -> None:
    assert isinstance(outcome(payload), NotificationError)
    assert isinstance(outcome(payload, allow_clear=True), NotificationError)


@FAST
@given(st.dictionaries(KEYS | st.text(max_size=8), VALUES, max_size=8))
def test_arbitrary_mappings(payload: dict[str, str]) -> None:
    result = outcome(payload, allow_clear=True)
    assert isinstance(result, NotificationError)  # nobody can forge the MAC


@FAST
@given(st.dictionaries(st.one_of(st.text(max_size=5), st.integers(), st.none()), st.one_of(st.text(max_size=5), st.binary(max_size=5), st.integers(), st.none()), max_size=4))
def test_mappings_of_anything(payload: dict[Any, Any]) -> None:
    assert isinstance(outcome(payload), NotificationError)


@FAST
@given(st.dictionaries(KEYS | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="&="), max_size=8),
                       st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255, exclude_characters="&"), max_size=30), max_size=10),
       st.booleans(), st.sampled_from(["", " ", "X", "\x00"]), st.one_of(st.none(), st.integers(-3, 400)))
def test_encrypted_arbitrary_plaintexts(fields: dict[str, str], signed: bool, pad: str, length: int | None) -> None:
    if signed:
        fields = dict(fields)
        fields["MAC"] = sign(DEMO_HMAC, fields.get("PayID", ""), fields.get("TransID", ""), DEMO_MID,
                             fields.get("Status", ""), fields.get("Code", ""))
    plaintext = "&".join(f"{k}={v}" for k, v in fields.items()) + pad
    enc = CODEC.encrypt(plaintext)
    payload = f"Len={enc.length if length is None else length}&Data={enc.data}"
    result = outcome(payload)
    if isinstance(result, Notification):
        assert signed and result.merchant_id == DEMO_MID
        assert "MAC" not in result.raw
        result.as_dict()
    result = outcome(payload.encode(), UTF8)
    assert isinstance(result, Notification | NotificationError)


@FAST
@given(st.binary(min_size=8, max_size=200).map(lambda b: b[: len(b) - len(b) % 8]))
def test_random_ciphertext(raw: bytes) -> None:
    assert isinstance(outcome(f"Data={raw.hex()}"), NotificationError)
    assert isinstance(outcome(f"Data={raw.hex()}", UTF8), NotificationError)


MACS = st.one_of(
    st.text(max_size=70),
    st.text(alphabet="0123456789abcdefABCDEF \t\n", min_size=60, max_size=70),
    st.builds(lambda f, case, pad: pad + (sign(DEMO_HMAC, *f).lower() if case else sign(DEMO_HMAC, *f)) + pad,
              st.tuples(*[st.text(max_size=6)] * 5), st.booleans(), st.sampled_from(["", " ", "\n"])),
)


@FAST
@given(MACS, st.tuples(*[st.text(max_size=6)] * 5))
def test_inlined_mac_check_agrees_with_crypto_verify(mac: str, fields: tuple[str, ...]) -> None:
    from axepta.crypto import verify
    from axepta.notify import _mac_matches

    try:
        expected = verify(DEMO_HMAC, mac, *fields)
    except UnicodeEncodeError:
        expected = False
    assert _mac_matches(DEMO_HMAC.encode(), mac, *fields) == expected
    signed = sign(DEMO_HMAC, *fields) if all(f.isascii() for f in fields) else None
    if signed is not None:
        assert _mac_matches(DEMO_HMAC.encode(), f" {signed.lower()}\n", *fields)
