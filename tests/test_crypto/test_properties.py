"""Property tests: round trips and MAC sensitivity (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from axepta.crypto import BlowfishCodec, encode_params, parse_params, sign, verify

LATIN1 = BlowfishCodec("Tc5*2D_xs7B[6E?w")
UTF8 = BlowfishCodec("Tc5*2D_xs7B[6E?w", "utf-8")

# Text whose last character is not padding-like (D7: trailing NUL/space/PKCS bytes cannot survive).
_latin1_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=255), max_size=300)
_utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


def _keep(text: str) -> bool:
    import unicodedata

    return text == unicodedata.normalize("NFC", text) and (not text or text[-1] not in "\x00 \x01\x02\x03\x04\x05\x06\x07\x08")


@settings(max_examples=300, deadline=None)
@given(_latin1_text.filter(_keep))
def test_latin1_round_trip(text: str) -> None:
    enc = LATIN1.encrypt(text)
    assert len(enc.data) % 16 == 0
    assert LATIN1.decrypt(enc.data, enc.length) == text
    assert LATIN1.decrypt(enc.data.lower(), str(enc.length)) == text


@settings(max_examples=300, deadline=None)
@given(_utf8_text.filter(_keep))
def test_utf8_round_trip(text: str) -> None:
    enc = UTF8.encrypt(text)
    assert enc.length == len(text)
    assert UTF8.decrypt(enc.data, enc.length) == text


_key = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=255, blacklist_characters="&="), min_size=1, max_size=20)
_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="&"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_key, _value, max_size=15).filter(lambda m: len({k.lower() for k in m}) == len(m)))
def test_params_round_trip(mapping: dict[str, str]) -> None:
    assert parse_params(encode_params(mapping)) == mapping


_field = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="*"), max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(_field, min_size=1, max_size=5), st.data())
def test_verify_sign_and_any_one_character_change(fields: list[str], data: st.DataObject) -> None:
    key = "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8"
    mac = sign(key, *fields)
    assert verify(key, mac, *fields)
    assert verify(key, f"  {mac.lower()}\n", *fields)
    pos = data.draw(st.integers(0, 63))
    replacement = data.draw(st.sampled_from("0123456789ABCDEF").filter(lambda c: c != mac[pos]))
    forged = mac[:pos] + replacement + mac[pos + 1 :]
    assert not verify(key, forged, *fields)
    # Changing one character of one field also breaks it.
    i = data.draw(st.integers(0, len(fields) - 1))
    changed = [*fields]
    changed[i] = changed[i] + "x"
    assert not verify(key, mac, *changed)


def test_verify_rejects_malformed_mac() -> None:
    key = "k"
    assert not verify(key, "", "a")
    assert not verify(key, "G" * 64, "a")
    assert not verify(key, sign(key, "a")[:-1], "a")
    assert not verify(key, None, "a")  # type: ignore[arg-type]


def _reference_parse(text: str) -> list[tuple[str, str, str]]:
    """D2 as written: split on '&', then on the first '=', empty segments skipped, the first of
    two keys equal ignoring case kept."""
    kept: dict[str, tuple[str, str]] = {}
    for segment in text.split("&"):
        if segment:
            key, _, value = segment.partition("=")
            kept.setdefault(key.lower(), (key, value))
    return [(low, key, value) for low, (key, value) in kept.items()]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a=1", "A=2", "b=", "=x", "c", "", "mid=M", "d=e=f", "Zz=9", "zZ=8"]), max_size=8))
def test_parse_params_keeps_the_first_of_equal_keys_in_order(segments: list[str]) -> None:
    """Whether or not a key repeats (the parser's two paths), the same entries come out."""
    text = "&".join(segments)
    parsed = parse_params(text) if "mid=M" not in segments or segments.count("mid=M") < 2 else None
    if parsed is None:
        return  # a repeated critical key is refused (tested elsewhere)
    assert [(low, key, value) for low, (key, value) in parsed.folded().items()] == _reference_parse(text)
