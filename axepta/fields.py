"""Field formats of the gateway (PROTOCOL.md §0.3, §4.0), checked before anything is sent.

A format is written as in 004: a class (``a`` letters, ``n`` digits, ``an`` letters and digits,
``ans`` any encodable text, ``ns`` ASCII text) and a length (``3`` exactly three, ``..30`` one to
thirty characters): ``"ans..64"``, ``"an32"``, ``"n..10"``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import NoReturn
from urllib.parse import urlsplit

from axepta.errors import InvalidRequestError

__all__ = [
    "check_format",
    "format_checker",
    "decode_base64_json_object",
    "check_url",
    "is_loopback_host",
    "normalise_phone",
    "normalise_text",
]

_FORMAT = re.compile(r"^(ans|an|ns|a|n)(\.\.)?(\d+)$")
_CLASS_RE = {
    "a": re.compile(r"[A-Za-z]*"),
    "n": re.compile(r"[0-9]*"),
    "an": re.compile(r"[A-Za-z0-9]*"),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CLASS_WORDS = {
    "a": "letters only",
    "n": "digits only",
    "an": "letters and digits only",
    "ans": "text without control characters or '&'",
    "ns": "ASCII text without control characters or '&'",
}


@lru_cache(maxsize=256)
def _parse_format(fmt: str) -> tuple[str, bool, int]:
    m = _FORMAT.match(fmt)
    if m is None:
        raise ValueError(f"bad format spec {fmt!r}")
    return m.group(1), bool(m.group(2)), int(m.group(3))


def normalise_text(value: str) -> str:
    """NFC-normalise free text (D4), so ``e`` + combining accent becomes one Latin-1 character."""
    return unicodedata.normalize("NFC", value)


def check_format(field: str, value: object, fmt: str, *, charset: str = "iso-8859-1") -> str:
    """Check ``value`` against ``fmt`` and return it (NFC-normalised for ``ans``).

    Raises :class:`~axepta.errors.InvalidRequestError` naming ``field`` and the broken rule.
    """
    cls, upto, size = _parse_format(fmt)
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"{field}: must be text, not {type(value).__name__}", field=field, rule=fmt
        )
    if value.isascii() and value.isprintable() and (cls == "ans" or cls == "ns"):
        # printable ASCII (the usual case): already NFC, no control character, ASCII and
        # encodable in every charset, so only the length and '&' rules below can fail
        n = len(value)
        if not (1 <= n <= size if upto else n == size):
            _wrong_length(field, fmt, upto, size, n)
        if "&" in value:
            raise InvalidRequestError(
                f"{field}: must not contain '&' (it would split the message)", field=field, rule=fmt
            )
        return value
    text = normalise_text(value) if cls in ("ans", "ns") else value
    n = len(text)
    if upto:
        if not 1 <= n <= size:
            raise InvalidRequestError(
                f"{field}: must be 1 to {size} characters long ({fmt}); found {n}",
                field=field,
                rule=fmt,
            )
    elif n != size:
        raise InvalidRequestError(
            f"{field}: must be exactly {size} characters long ({fmt}); found {n}", field=field, rule=fmt
        )
    if cls in _CLASS_RE:
        if not text.isascii() or _CLASS_RE[cls].fullmatch(text) is None:
            raise InvalidRequestError(
                f"{field}: must contain {_CLASS_WORDS[cls]} ({fmt})", field=field, rule=fmt
            )
        return text
    if "&" in text:
        raise InvalidRequestError(
            f"{field}: must not contain '&' (it would split the message)", field=field, rule=fmt
        )
    if _CONTROL.search(text):
        raise InvalidRequestError(
            f"{field}: must not contain control characters ({fmt})", field=field, rule=fmt
        )
    if cls == "ns" and not text.isascii():
        raise InvalidRequestError(f"{field}: must be ASCII ({fmt})", field=field, rule=fmt)
    try:
        text.encode(charset)
    except UnicodeEncodeError as exc:
        raise InvalidRequestError(
            f"{field}: character U+{ord(text[exc.start]):04X} cannot be encoded in {charset}",
            field=field,
            rule=f"encodable in {charset}",
        ) from None
    return text


def format_checker(field: str, fmt: str, *, charset: str = "iso-8859-1") -> Callable[[object], str]:
    """``check_format(field, value, fmt, charset=charset)`` as a function of ``value``, the format
    parsed once: printable ASCII text of the right length without '&' is returned at once (it
    passes every rule of ``ans``/``ns``); anything else is judged, and refused, by
    :func:`check_format` itself."""
    cls, upto, size = _parse_format(fmt)
    shortest = 1 if upto else size
    if cls not in ("ans", "ns"):
        return lambda value: check_format(field, value, fmt, charset=charset)

    def check(value: object) -> str:
        if (
            type(value) is str
            and shortest <= len(value) <= size
            and value.isascii()
            and value.isprintable()
            and "&" not in value
        ):
            return value
        return check_format(field, value, fmt, charset=charset)

    return check


def _wrong_length(field: str, fmt: str, upto: bool, size: int, n: int) -> NoReturn:
    if upto:
        raise InvalidRequestError(
            f"{field}: must be 1 to {size} characters long ({fmt}); found {n}", field=field, rule=fmt
        )
    raise InvalidRequestError(
        f"{field}: must be exactly {size} characters long ({fmt}); found {n}", field=field, rule=fmt
    )


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` is ``localhost``, in 127.0.0.0/8 or ``::1``."""
    if not host:
        return False
    h = host.strip("[]").lower()
    if h == "localhost" or h == "::1":
        return True
    parts = h.split(".")
    return len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and int(p) < 256 for p in parts)


def check_url(field: str, value: object, *, allow_loopback_http: bool = True, max_length: int = 256) -> str:
    """A result URL (``URLSuccess``, ``URLFailure``, ``URLNotify``): https, a host, port absent
    or 443, no query string or fragment, no ``&``, at most 256 characters. Plain http (any port)
    is accepted only for loopback hosts, where the local simulator runs."""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{field}: must be text", field=field, rule="URL")
    return _check_url_text(field, str(value), allow_loopback_http, max_length)


@lru_cache(maxsize=512)
def _check_url_text(field: str, value: str, allow_loopback_http: bool, max_length: int) -> str:
    # a pure function of its arguments: a shop sends the same URLs with every order
    if not 1 <= len(value) <= max_length:
        raise InvalidRequestError(
            f"{field}: must be 1 to {max_length} characters long; found {len(value)}",
            field=field,
            rule=f"ans..{max_length}",
        )
    if "&" in value or _CONTROL.search(value) or " " in value:
        raise InvalidRequestError(f"{field}: must not contain '&', spaces or control characters", field=field, rule="URL")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise InvalidRequestError(f"{field}: is not a valid URL", field=field, rule="URL") from None
    if not parts.hostname:
        raise InvalidRequestError(f"{field}: has no host", field=field, rule="URL with a host")
    if parts.query or parts.fragment or value.endswith("?") or "#" in value:
        raise InvalidRequestError(
            f"{field}: must not carry a query string or fragment (pass state in UserData)",
            field=field,
            rule="no query string",
        )
    loopback = is_loopback_host(parts.hostname)
    if parts.scheme == "https":
        if port not in (None, 443) and not loopback:
            raise InvalidRequestError(
                f"{field}: the platform calls port 443 only; found port {port}", field=field, rule="port 443"
            )
        return value
    if parts.scheme == "http" and allow_loopback_http and loopback:
        return value
    raise InvalidRequestError(
        f"{field}: must use https (plain http only for loopback hosts)", field=field, rule="https"
    )


_PHONE_DROP = str.maketrans("", "", " -/.()")


def normalise_phone(field: str, value: str) -> str:
    """Phone numbers are n..20: drop spaces, ``-``, ``/``, ``.``, parentheses; ``+`` → ``00``."""
    text = value.translate(_PHONE_DROP)
    if text.startswith("+"):
        text = "00" + text[1:]
    if not (1 <= len(text) <= 20 and text.isascii() and text.isdigit()):
        raise InvalidRequestError(
            f"{field}: must be 1 to 20 digits after removing spaces and punctuation", field=field, rule="n..20"
        )
    return text


def decode_base64_json_object(encoded: str) -> dict[str, str | None] | None:
    """Decode a base64 JSON object of the wire (``OrderStatus<n>``) into lower-case keys and
    scalar text values (``None`` for empty, nested or null values); ``None`` when it is not
    base64 of a JSON object. Never raises on hostile input."""
    text = encoded.strip()
    try:
        obj = json.loads(base64.b64decode(text + "=" * (-len(text) % 4), validate=True))
    except (binascii.Error, ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    out: dict[str, str | None] = {}
    for key, value in obj.items():
        out[str(key).lower()] = None if value is None or isinstance(value, dict | list) else (str(value) or None)
    return out
