"""Shared material of the security tests: a merchant whose keys are distinctive strings (so a
substring search cannot miss them or hit by chance), and the ways a key could be spelled in
output."""

from __future__ import annotations

import base64

import pytest

from axepta.credentials import Credentials

MID = "SECSHOP_t"
BLOWFISH = "Zq7#Bf!k3y-2024"  # 15 bytes
HMAC = "hm4c_K3y/only-for~security+tests9"


def spellings(secret: str) -> list[str]:
    """A key as text, hex (either case) and base64: none of these may appear anywhere."""
    raw = secret.encode("utf-8")
    return [secret, raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode("ascii")]


SECRETS = [s for key in (BLOWFISH, HMAC) for s in spellings(key)]


def assert_no_secret(text: str | bytes, where: str = "") -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    for secret in SECRETS:
        assert secret.encode("utf-8") not in data, f"a key appears in {where or 'the output'}"


@pytest.fixture
def merchant() -> Credentials:
    return Credentials(MID, BLOWFISH, HMAC)
