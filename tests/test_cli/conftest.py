"""Shared helpers of the CLI tests: the demo merchant's environment, a runner, encrypted gateway
replies built with the crypto core, and the check that no secret reaches any output."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from typer.testing import CliRunner, Result

from axepta.credentials import Credentials
from axepta.crypto import encode_params, parse_params
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID

BASE = "https://paymentpage.axepta.bnpparibas/"
#: The demo merchant as environment variables (a known test MID: environment test).
DEMO_ENV = {
    "AXEPTA_MERCHANT_ID": DEMO_MID,
    "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH,
    "AXEPTA_HMAC_KEY": DEMO_HMAC,
    "AXEPTA_CHARSET": "",
    "AXEPTA_ENVIRONMENT": "",
    "AXEPTA_BASE_URL": "",
    "AXEPTA_PROFILE": "",
    "AXEPTA_TEST_MERCHANT_IDS": "",
    "AXEPTA_SMALL_AMOUNTS_ENABLED": "",
    "AXEPTA_ALLOW_ENVIRONMENT_MISMATCH": "",
    "COLUMNS": "250",  # rich tables unwrapped, so tests can search their lines
}
#: A run of 48+ hex digits: Data or a MAC (PayIDs and ReqIds are 32 characters).
LONG_HEX = re.compile(r"[0-9A-Fa-f]{48,}")


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's ~/.config/axepta/config.toml."""
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    for name in DEMO_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def creds() -> Credentials:
    return Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)


def env(**overrides: str) -> dict[str, str]:
    """The demo environment with some variables changed."""
    return {**DEMO_ENV, **overrides}


def encrypted_reply(creds: Credentials, fields: Mapping[str, object], *, clear: str = "") -> str:
    """A gateway reply: ``Len=…&Data=…`` of ``fields`` encrypted with the merchant's key."""
    enc = creds.codec.encrypt(encode_params(fields))
    return f"{clear}Len={enc.length}&Data={enc.data}"


def decrypt_form(creds: Credentials, body: bytes) -> dict[str, str]:
    """The plaintext fields of a request form the CLI posted."""
    outer = dict(parse_qsl(body.decode("ascii"), keep_blank_values=True))
    return parse_params(creds.codec.decrypt(outer["Data"], outer["Len"])).to_dict()


def assert_clean(result: Result, *secrets: str) -> None:
    """No key, Data or MAC in stdout or stderr (plus any extra strings given)."""
    for stream in (result.stdout, result.stderr):
        for secret in (DEMO_BLOWFISH, DEMO_HMAC, *secrets):
            assert secret not in stream
        assert LONG_HEX.search(stream) is None, stream


PAY_ID = "0123456789ABCDEF0123456789ABCDEF"
XID = "FEDCBA9876543210FEDCBA9876543210"


def ok_reply(creds: Credentials, request_body: bytes, **extra: str) -> str:
    """A successful encrypted reply echoing the request's PayID and TransID."""
    sent = decrypt_form(creds, request_body)
    fields: dict[str, str] = {
        "mid": creds.merchant_id,
        "PayID": sent.get("PayID") or PAY_ID,
        "XID": XID,
        "TransID": sent["TransID"],
        "Status": "OK",
        "Code": "00000000",
        "Description": "success",
    }
    fields.update(extra)
    return encrypted_reply(creds, fields)
