"""Every bad input raises a clear error naming the problem."""

from __future__ import annotations

import pytest

from axepta.crypto import BlowfishCodec, encode_params, parse_params
from axepta.errors import ConfigurationError, CryptoError, InvalidRequestError, ProtocolError

KEY = "Tc5*2D_xs7B[6E?w"


@pytest.fixture
def codec() -> BlowfishCodec:
    return BlowfishCodec(KEY)


@pytest.mark.parametrize(("key", "found"), [("abc", 3), ("", 0), ("k" * 57, 57), (b"\x01" * 64, 64)])
def test_key_length_outside_4_to_56(key: str | bytes, found: int) -> None:
    with pytest.raises(ConfigurationError, match=rf"4 to 56 bytes long; found {found} bytes"):
        BlowfishCodec(key)


def test_key_limits_inclusive() -> None:
    BlowfishCodec("abcd")
    BlowfishCodec("k" * 56)


def test_key_of_wrong_type() -> None:
    with pytest.raises(ConfigurationError, match="must be str or bytes"):
        BlowfishCodec(1234)  # type: ignore[arg-type]


def test_unknown_charset() -> None:
    with pytest.raises(ConfigurationError, match="charset 'klingon' is unknown"):
        BlowfishCodec(KEY, "klingon")
    with pytest.raises(ConfigurationError, match="not supported"):
        BlowfishCodec(KEY, "utf-16")


def test_non_hex_data(codec: BlowfishCodec) -> None:
    with pytest.raises(CryptoError, match="not hex digits"):
        codec.decrypt("ZZ" * 8)


def test_odd_length_data(codec: BlowfishCodec) -> None:
    with pytest.raises(CryptoError, match="odd number of hex digits"):
        codec.decrypt("ABC")


def test_data_not_whole_blocks(codec: BlowfishCodec) -> None:
    with pytest.raises(CryptoError, match="not a whole number of 8-byte blocks"):
        codec.decrypt("AB" * 12)


def test_empty_data(codec: BlowfishCodec) -> None:
    with pytest.raises(CryptoError, match="Data is empty"):
        codec.decrypt("   ")
    assert codec.decrypt("", 0) == ""


def test_aes_data_is_named(codec: BlowfishCodec) -> None:
    with pytest.raises(CryptoError, match="AES-encrypted Data"):
        codec.decrypt("00112233445566778899AABBCCDDEEFF-A1B2C3D4E5F60718")


@pytest.mark.parametrize("length", [-1, "-1"])
def test_negative_len(codec: BlowfishCodec, length: int | str) -> None:
    data = codec.encrypt("PayID=1").data
    with pytest.raises(CryptoError, match="Len must"):
        codec.decrypt(data, length)


@pytest.mark.parametrize("length", ["12a", "1.5", "", " ", "١٢"])
def test_non_numeric_len(codec: BlowfishCodec, length: str) -> None:
    data = codec.encrypt("PayID=1").data
    with pytest.raises(CryptoError, match="Len must be a decimal integer"):
        codec.decrypt(data, length)


def test_len_longer_than_plaintext(codec: BlowfishCodec) -> None:
    data = codec.encrypt("PayID=1").data  # one block
    with pytest.raises(CryptoError, match="Len 9 exceeds the decrypted length of 8 bytes"):
        codec.decrypt(data, 9)


def test_len_as_text_is_accepted(codec: BlowfishCodec) -> None:
    data = codec.encrypt("PayID=1").data
    assert codec.decrypt(data, "7") == "PayID=1"
    assert codec.decrypt(data, " 7 ") == "PayID=1"


def test_oversized_data_is_refused_before_decoding() -> None:
    codec = BlowfishCodec(KEY, max_data_length=64)
    with pytest.raises(CryptoError, match="longer than the cap of 64 hex characters"):
        codec.decrypt("0" * 80)
    with pytest.raises(CryptoError, match="longer than the cap"):
        BlowfishCodec(KEY).decrypt("G" * 200_000)


def test_unencodable_character_names_the_field(codec: BlowfishCodec) -> None:
    with pytest.raises(InvalidRequestError, match=r"field OrderDesc: character U\+20AC cannot be encoded in iso-8859-1") as exc:
        codec.encrypt("TransID=1&OrderDesc=Prix 10€&Amount=1000")
    assert exc.value.field == "OrderDesc"


def test_unencodable_character_never_becomes_question_mark(codec: BlowfishCodec) -> None:
    for text in ("A=’", "A=œuvre", "A=🎉"):
        with pytest.raises(InvalidRequestError):
            codec.encrypt(text)


def test_utf8_codec_accepts_emoji_and_counts_characters() -> None:
    codec = BlowfishCodec(KEY, "utf-8")
    enc = codec.encrypt("A=🎉")
    assert enc.length == 3
    assert codec.decrypt(enc.data, enc.length) == "A=🎉"


def test_nfc_normalisation_makes_combining_accent_latin1(codec: BlowfishCodec) -> None:
    enc = codec.encrypt("A=e\u0301t\u00e9")
    assert enc.length == len("A=été")
    assert codec.decrypt(enc.data, enc.length) == "A=été"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"OrderDesc": "fish & chips"}, "OrderDesc"),
        ({"Ord&erDesc": "x"}, "Ord&erDesc"),
        ({"Order=Desc": "x"}, "Order=Desc"),
    ],
)
def test_encode_params_rejects_separators(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        encode_params(params)
    assert exc.value.field == field
    assert field in str(exc.value)


def test_encode_params_rejects_empty_key() -> None:
    with pytest.raises(InvalidRequestError, match="empty"):
        encode_params({"": "x"})


def test_encode_params_keeps_order_raw_values_and_skips_none() -> None:
    text = encode_params({"MerchantID": "M", "URL": "https://a.b/c?x=1", "Skip": None, "N": 12, "Sp": "a b+c/"})
    assert text == "MerchantID=M&URL=https://a.b/c?x=1&N=12&Sp=a b+c/"


def test_parse_params_duplicate_critical_key() -> None:
    with pytest.raises(ProtocolError, match="'payid' occurs twice"):
        parse_params("PayID=1&payid=2")


def test_parse_params_duplicate_other_key_first_wins() -> None:
    p = parse_params("Foo=1&foo=2&&bare&x==y")
    assert p["FOO"] == "1"
    assert p["bare"] == ""
    assert p["x"] == "=y"
    assert list(p) == ["Foo", "bare", "x"]


def test_parse_params_case_insensitive_and_keeps_spelling() -> None:
    p = parse_params("mid=M&PayID=abc&E-Mail=a@b.c&Unknown=z%20")
    assert p["MID"] == "M" and p["payid"] == "abc" and p["e-mail"] == "a@b.c"
    assert p["unknown"] == "z%20"  # never percent-decoded
    assert p.original_key("payID") == "PayID"
    assert p.get_any("MerchantID", "mid") == "M"
    assert "PAYID" in p and "nope" not in p
    assert p == {"mid": "M", "PayID": "abc", "E-Mail": "a@b.c", "Unknown": "z%20"}
    with pytest.raises(TypeError):
        p["x"] = "y"  # type: ignore[index]
