from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from axepta.errors import InvalidRequestError
from axepta.fields import check_format, check_url, format_checker, is_loopback_host, normalise_phone


@pytest.mark.parametrize(
    ("value", "fmt"),
    [("abc", "a..3"), ("123", "n3"), ("a1B2", "an..10"), ("Café & co"[:4], "ans..10"), ("DE--0992", "ns..30")],
)
def test_valid(value: str, fmt: str) -> None:
    assert check_format("F", value, fmt) == value


@pytest.mark.parametrize(
    ("value", "fmt", "message"),
    [
        ("abcd", "a..3", "1 to 3 characters"),
        ("", "ans..3", "1 to 3 characters"),
        ("12", "n3", "exactly 3"),
        ("1a", "n..5", "digits only"),
        ("a-b", "an..5", "letters and digits only"),
        ("a&b", "ans..5", "must not contain '&'"),
        ("a\nb", "ans..5", "control characters"),
        ("é", "ns..5", "ASCII"),
        ("€", "ans..5", "cannot be encoded in iso-8859-1"),
        ("ａ", "a..3", "letters only"),
    ],
)
def test_invalid_names_field_and_rule(value: str, fmt: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as exc:
        check_format("OrderDesc", value, fmt)
    assert exc.value.field == "OrderDesc"
    assert str(exc.value).startswith("OrderDesc:")


def test_utf8_charset_accepts_euro() -> None:
    assert check_format("OrderDesc", "10€", "ans..10", charset="utf-8") == "10€"


@pytest.mark.parametrize(
    "url",
    ["https://shop.example/notify", "https://shop.example:443/n", "http://127.0.0.1:8080/n", "http://localhost/n", "http://[::1]:9/n"],
)
def test_url_ok(url: str) -> None:
    assert check_url("URLNotify", url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://shop.example/n", "must use https"),
        ("https://shop.example/n?x=1", "query string"),
        ("https://shop.example/n#f", "query string"),
        ("https://shop.example:8443/n", "port 443"),
        ("https:///n", "no host"),
        ("https://shop.example/" + "a" * 300, "1 to 256"),
        ("ftp://shop.example/n", "must use https"),
    ],
)
def test_url_bad(url: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message) as exc:
        check_url("URLNotify", url)
    assert exc.value.field == "URLNotify"


def test_loopback() -> None:
    assert is_loopback_host("127.3.2.1") and is_loopback_host("localhost") and is_loopback_host("::1")
    assert not is_loopback_host("10.0.0.1") and not is_loopback_host("127.0.0.1.evil.com") and not is_loopback_host(None)


def test_phone() -> None:
    assert normalise_phone("Phone", "+33 (0)1 23-45/67.89") == "0033012345678 9".replace(" ", "")
    with pytest.raises(InvalidRequestError, match="1 to 20 digits"):
        normalise_phone("Phone", "call me")


def test_decode_base64_json_object() -> None:
    import base64

    from axepta.fields import decode_base64_json_object

    enc = base64.b64encode(b'{"Status":"COMPLETED","id":"8AB","invoiceid":"","x":{"a":1}}').decode()
    assert decode_base64_json_object(enc.rstrip("=")) == {"status": "COMPLETED", "id": "8AB", "invoiceid": None, "x": None}
    assert decode_base64_json_object("not base64!") is None
    assert decode_base64_json_object(base64.b64encode(b"[1]").decode()) is None
    assert decode_base64_json_object(base64.b64encode(b"[" * 100000).decode()) is None


@pytest.mark.parametrize(
    ("value", "fmt", "message"),
    [
        ("abcd", "ans3", "F: must be exactly 3 characters long (ans3); found 4"),
        ("abcdef", "ns..5", "F: must be 1 to 5 characters long (ns..5); found 6"),
        ("a&b", "ns..5", "F: must not contain '&' (it would split the message)"),
        ("a&bcdefg", "ans..5", "F: must be 1 to 5 characters long (ans..5); found 8"),  # length first
        ("a\x7fb", "ans..5", "F: must not contain control characters (ans..5)"),
        ("a\tb", "ns..5", "F: must not contain control characters (ns..5)"),
    ],
)
def test_plain_ascii_text_keeps_the_rules_and_messages(value: str, fmt: str, message: str) -> None:
    """Printable ASCII takes a short path (issue 14 item 2): same rules, same messages."""
    with pytest.raises(InvalidRequestError) as exc:
        check_format("F", value, fmt)
    assert str(exc.value) == message and exc.value.field == "F" and exc.value.rule == fmt
    assert check_format("F", "a b~!", fmt.replace("3", "5")) == "a b~!"


def _judged(check: Any, value: object) -> object:
    try:
        result = check(value)
        return (result, type(result))
    except InvalidRequestError as exc:
        return (str(exc), exc.field, exc.rule)


@pytest.mark.parametrize("fmt", ["ans..5", "ns..5", "ans3", "ns3", "an..5", "a3", "n..5"])
@pytest.mark.parametrize(
    "value",
    ["abc", "", "abcdef", "a&b", "a\tb", "a\x7fb", "é", "e\u0301", "€", "１２", 12, None, "  ", "12", "ab1"],
)
def test_format_checker_is_check_format(fmt: str, value: object) -> None:
    """The prepared checker (issue 14 item 2) accepts and refuses exactly as check_format."""
    for charset in ("iso-8859-1", "utf-8"):
        prepared = format_checker("F", fmt, charset=charset)
        assert _judged(prepared, value) == _judged(partial(check_format, "F", fmt=fmt, charset=charset), value)
