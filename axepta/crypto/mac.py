"""HMAC-SHA256 ``MAC`` of the gateway: fields joined with ``*``, uppercase hex (D8, D9, D11)."""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["mac_message", "sign", "verify"]

_HEX_UPPER = frozenset("0123456789ABCDEF")


def _key(hmac_key: str | bytes) -> bytes:
    if isinstance(hmac_key, str):
        return hmac_key.encode("utf-8")
    if isinstance(hmac_key, bytes | bytearray):
        return bytes(hmac_key)
    raise TypeError(f"HMAC key must be str or bytes, not {type(hmac_key).__name__}")


def mac_message(*fields: object) -> str:
    """The text that is signed: the fields joined with ``*``; ``None`` becomes empty."""
    return "*".join("" if f is None else str(f) for f in fields)


def _message_bytes(fields: tuple[object, ...]) -> bytes:
    # Text is signed as UTF-8; a bytes field is taken as it is (known-answer tests use raw bytes).
    if any(isinstance(f, bytes | bytearray) for f in fields):
        return b"*".join(
            bytes(f) if isinstance(f, bytes | bytearray) else ("" if f is None else str(f)).encode("utf-8")
            for f in fields
        )
    return mac_message(*fields).encode("utf-8")


def sign(hmac_key: str | bytes, *fields: object) -> str:
    """HMAC-SHA256 of ``mac_message(*fields)`` under ``hmac_key``, as 64 uppercase hex digits.

    Requests sign ``PayID*TransID*MerchantID*Amount*Currency`` (an absent value stays an empty
    string between its separators); replies and notifications ``PayID*TransID*MerchantID*Status*Code``.
    """
    return hmac.digest(_key(hmac_key), _message_bytes(fields), hashlib.sha256).hex().upper()


def verify(hmac_key: str | bytes, mac: str, *fields: object) -> bool:
    """Whether ``mac`` is the MAC of ``fields``: constant time, case-insensitive, whitespace
    anywhere in ``mac`` ignored. Anything but 64 hex digits is simply ``False``."""
    if not isinstance(mac, str):  # callers may pass anything they received
        return False  # type: ignore[unreachable]
    received = "".join(mac.split()).upper()
    if len(received) != 64 or not _HEX_UPPER.issuperset(received):
        # Still compute, so a malformed MAC costs the same as a wrong one.
        hmac.compare_digest(sign(hmac_key, *fields), "0" * 64)
        return False
    return hmac.compare_digest(sign(hmac_key, *fields), received)
