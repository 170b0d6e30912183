"""parse_ipn never raises an undocumented exception (issue 11 item 7): a ``charset`` that names a
codec that is not a text charset (``hex``, ``rot13``, ``base64``, ``punycode``, ``idna``,
``undefined``) or no codec at all (``utf-8%00``), in the body or in the Content-Type, falls back to
windows-1252 with a warning, as docs/notifications.md promises."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axepta import NotificationError
from axepta.ipn import parse_ipn

BAD = ["hex", "rot13", "base64", "punycode", "idna", "undefined", "utf-8%00", "uu", "zlib", "bz2", "quopri",
       "unicode_escape", "raw_unicode_escape", "utf-8%00x", "%00", "utf_8\x00", "x" * 200, "mbcs", "oem"]
BODY = b"txn_id=1&payment_status=Completed&first_name=J%F6rg&last_name=%C3%BC%FF&mc_gross=1.00"


@pytest.mark.parametrize("charset", BAD)
def test_a_bad_charset_in_the_body_falls_back_to_windows_1252(charset: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="axepta.ipn"):
        message = parse_ipn(BODY + b"&charset=" + charset.encode("latin-1"))
    assert message.charset == "cp1252"
    assert message.first_name == "Jörg" and message.txn_id == "1"
    assert any("decoded as windows-1252" in w for w in message.warnings), message.warnings
    assert "windows-1252" in caplog.text


@pytest.mark.parametrize("charset", BAD)
def test_a_bad_charset_in_the_content_type_falls_back_to_windows_1252(charset: str) -> None:
    message = parse_ipn(BODY, f"application/x-www-form-urlencoded; charset={charset}")
    assert message.charset == "cp1252" and message.first_name == "Jörg"
    assert any("decoded as windows-1252" in w for w in message.warnings), message.warnings


@pytest.mark.parametrize("content_type", ['application/x-www-form-urlencoded; charset="utf-8"',
                                          "application/x-www-form-urlencoded;charset=UTF-8", "text/plain; charset=utf8"])
def test_good_charsets_in_the_content_type_still_work(content_type: str) -> None:
    message = parse_ipn(b"txn_id=1&first_name=J%C3%B6rg", content_type)
    assert message.charset == "utf-8" and message.first_name == "Jörg" and message.warnings == ()


@pytest.mark.parametrize("charset", ["UTF-8", "windows-1252", "ISO-8859-1", "latin1", "utf_8", "cp1252", "Shift_JIS"])
def test_real_charsets_are_used(charset: str) -> None:
    message = parse_ipn(b"txn_id=1&first_name=Test&charset=" + charset.encode())
    assert message.warnings == () and message.first_name == "Test"


@settings(max_examples=300, deadline=None)
@given(charset=st.text(max_size=40), content_type=st.none() | st.text(max_size=80), extra=st.binary(max_size=200))
def test_parse_ipn_raises_nothing_undocumented(charset: str, content_type: str | None, extra: bytes) -> None:
    body = BODY + b"&charset=" + charset.encode("utf-8", "surrogatepass") + b"&" + extra
    try:
        message = parse_ipn(body, content_type)
    except NotificationError:  # documented (size, format)
        return
    assert message.raw == body
