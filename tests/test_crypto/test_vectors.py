"""The crypto core against vectors it did not produce (vectors/*.json)."""

from __future__ import annotations

from typing import Any

import pytest

from axepta.crypto import BlowfishCodec, sign, verify
from axepta.errors import ConfigurationError
from tests.conftest import load_vectors

QUOTED = load_vectors("quoted.json")
VENDOR = load_vectors("vendor_sample.json")
ECB = load_vectors("blowfish_ecb.json")
RFC4231 = load_vectors("hmac_sha256_rfc4231.json")


def _ids(vectors: list[dict[str, Any]]) -> list[str]:
    return [v["case"] for v in vectors]


def _charset(v: dict[str, Any]) -> str:
    return "utf-8" if v["plaintext_encoding"] == "UTF-8" else "iso-8859-1"


def _key(v: dict[str, Any]) -> str | bytes:
    key: str = v["blowfish_key"]
    # The standard zero-key vector is 8 NUL bytes; pass it as bytes.
    return key.encode("latin-1") if "\x00" in key else key


CIPHER = [v for v in QUOTED + VENDOR if v["data_hex"] is not None and "64_bytes" not in v["case"]]
MACS = [v for v in QUOTED + VENDOR if v["mac"] is not None]
OVERSIZED = [v for v in VENDOR if "64_bytes" in v["case"]]


@pytest.mark.parametrize("v", ECB, ids=[f"{v['key_hex']}-{v['plaintext_hex']}" for v in ECB])
def test_standard_blowfish_ecb_table(v: dict[str, str]) -> None:
    codec = BlowfishCodec(bytes.fromhex(v["key_hex"]))
    # One 8-byte block needs no padding; its Latin-1 text goes through the public API unchanged.
    plain = bytes.fromhex(v["plaintext_hex"]).decode("latin-1")
    enc = codec.encrypt(plain)
    assert enc.data == v["ciphertext_hex"]
    assert enc.length == 8
    if bytes.fromhex(v["plaintext_hex"])[-1] not in b"\x00\x01\x02\x03\x04\x05\x06\x07\x08 ":
        assert codec.decrypt(v["ciphertext_hex"].lower(), 8) == plain


@pytest.mark.parametrize("v", CIPHER, ids=_ids(CIPHER))
def test_encrypt_reproduces_data_and_len(v: dict[str, Any]) -> None:
    codec = BlowfishCodec(_key(v), _charset(v))
    enc = codec.encrypt(v["plaintext"])
    if v["case"] == "spryker_paynow_Len165":
        # The quoted Data is shared with the Len235 payload (the peer's fixture reuses it);
        # only the first blocks match, which is what the peer's test checks.
        assert enc.data.lower().startswith(v["data_hex"][:32])
    else:
        assert enc.data.lower() == v["data_hex"].lower()
    assert enc.data == enc.data.upper()
    assert enc.length == int(v["len"])


@pytest.mark.parametrize("v", CIPHER, ids=_ids(CIPHER))
def test_decrypt_returns_plaintext(v: dict[str, Any]) -> None:
    codec = BlowfishCodec(_key(v), _charset(v))
    data = codec.encrypt(v["plaintext"]).data
    plain = v["plaintext"]
    expected = plain.rstrip("\x00 ")  # trailing padding-like characters cannot survive (D7)
    assert codec.decrypt(data.lower(), int(v["len"])) == (plain if not plain or plain[-1] not in "\x00 " else expected)


@pytest.mark.parametrize("v", MACS, ids=_ids(MACS))
def test_sign_reproduces_mac(v: dict[str, Any]) -> None:
    fields = v["mac_message"].split("*")
    mac = sign(v["hmac_key"], *fields)
    assert mac == v["mac"].upper()
    assert verify(v["hmac_key"], v["mac"].lower(), *fields)


@pytest.mark.parametrize("v", OVERSIZED, ids=_ids(OVERSIZED))
def test_64_byte_key_is_a_configuration_error(v: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="4 to 56 bytes long; found 64 bytes"):
        BlowfishCodec(v["blowfish_key"], "utf-8")


@pytest.mark.parametrize("v", RFC4231, ids=_ids(RFC4231))
def test_hmac_rfc4231(v: dict[str, Any]) -> None:
    mac = sign(bytes.fromhex(v["key_hex"]), bytes.fromhex(v["data_hex"]))
    bits = v.get("truncated_bits")
    expected = v["mac_hex"].upper()
    assert (mac[: bits // 4] if bits else mac) == expected
