"""Blowfish-ECB codec of the Axepta / Computop Paygate envelope (``Len`` + ``Data``).

Blowfish in ECB mode is not a modern cipher. It is kept here for gateway compatibility only:
the platform encrypts every request, reply and notification this way, and the integrity of a
message comes from its HMAC-SHA256 ``MAC``, not from the cipher (PROTOCOL.md D3-D7).
"""

from __future__ import annotations

import binascii
import codecs
import logging
import unicodedata
from typing import NamedTuple

from Crypto.Cipher import Blowfish

from axepta.errors import ConfigurationError, CryptoError, InvalidRequestError

__all__ = ["DEFAULT_MAX_DATA_LENGTH", "BlowfishCodec", "Encrypted"]

logger = logging.getLogger("axepta.crypto")

#: Cap on the hex length of ``Data`` accepted by :meth:`BlowfishCodec.decrypt` (D7 step 2).
DEFAULT_MAX_DATA_LENGTH = 65_536

_ASCII_WS = " \t\r\n\x0b\x0c"
_SUPPORTED = {"iso8859-1": "iso-8859-1", "latin-1": "iso-8859-1", "utf-8": "utf-8"}


class Encrypted(NamedTuple):
    """The two envelope values: ``data`` (uppercase hex) and ``length`` (``Len``, characters)."""

    data: str
    length: int


def _normalise_charset(charset: str) -> str:
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        raise ConfigurationError(f"charset {charset!r} is unknown; use 'iso-8859-1' or 'utf-8'") from None
    if name not in _SUPPORTED:
        raise ConfigurationError(f"charset {charset!r} is not supported; use 'iso-8859-1' or 'utf-8'")
    return _SUPPORTED[name]


def _key_bytes(key: str | bytes) -> bytes:
    if isinstance(key, str):
        raw = key.encode("utf-8")
    elif isinstance(key, bytes | bytearray):
        raw = bytes(key)
    else:
        raise ConfigurationError(f"Blowfish key must be str or bytes, not {type(key).__name__}")
    if not 4 <= len(raw) <= 56:
        raise ConfigurationError(f"Blowfish key must be 4 to 56 bytes long; found {len(raw)} bytes")
    return raw


def _field_at(text: str, position: int) -> str | None:
    """The ``Key`` of the ``Key=Value`` pair that holds ``position`` in a plaintext."""
    start = text.rfind("&", 0, position) + 1
    eq = text.find("=", start)
    if eq == -1 or eq > position:
        return None
    return text[start:eq] or None


def _cp1252_lenient(raw: bytes) -> str:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90, 0x9D undefined; map those as ISO-8859-1 (D7 step 7).
    return "".join(
        chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes((b,)).decode("cp1252") for b in raw
    )


def _is_padding_like(tail: str) -> bool:
    return all(ch in " \x00" or 1 <= ord(ch) <= 8 for ch in tail)


def _strip_padding(raw: bytes) -> bytes:
    """Strip PKCS#7 tails, NULs and spaces from the end until nothing changes (D7 step 6)."""
    s = raw
    while True:
        before = len(s)
        if s:
            k = s[-1]
            if 1 <= k <= 8 and len(s) >= k and s[-k:] == bytes((k,)) * k:
                s = s[:-k]
        s = s.rstrip(b"\x00 ")
        if len(s) == before:
            return s


def _parse_len(length: int | str | None) -> int | None:
    if length is None:
        return None
    if isinstance(length, bool):
        raise CryptoError("Len must be a decimal integer")
    if isinstance(length, int):
        value = length
    elif isinstance(length, str):
        text = length.strip()
        if not text.isascii() or not text.isdigit():
            raise CryptoError("Len must be a decimal integer")
        value = int(text)
    else:
        raise CryptoError("Len must be a decimal integer")
    if value < 0:
        raise CryptoError("Len must not be negative")
    return value


class BlowfishCodec:
    """Encrypts and decrypts the gateway's ``Data`` with one merchant's Blowfish password.

    The key schedule is computed once, here; :meth:`encrypt` and :meth:`decrypt` reuse it.
    ``charset`` is ``"iso-8859-1"`` (Axepta's default) or ``"utf-8"`` (Computop accounts).
    A key outside 4..56 bytes raises :class:`~axepta.errors.ConfigurationError`.
    """

    __slots__ = ("_charset", "_cipher", "_max_data_length")

    def __init__(
        self,
        key: str | bytes,
        charset: str = "iso-8859-1",
        *,
        max_data_length: int = DEFAULT_MAX_DATA_LENGTH,
    ) -> None:
        self._charset = _normalise_charset(charset)
        # Blowfish-ECB is what the gateway speaks (D3); integrity comes from the MAC.
        self._cipher = Blowfish.new(_key_bytes(key), Blowfish.MODE_ECB)  # noqa: S304
        self._max_data_length = max_data_length

    def __repr__(self) -> str:
        return f"BlowfishCodec(charset={self._charset!r})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("BlowfishCodec holds a secret key and cannot be pickled")

    @property
    def charset(self) -> str:
        """The charset plaintexts are encoded with (``iso-8859-1`` or ``utf-8``)."""
        return self._charset

    def encrypt(self, plaintext: str) -> Encrypted:
        """Encrypt ``plaintext`` (``Key=Value&…``) into uppercase-hex ``Data`` and its ``Len``.

        The text is NFC-normalised, encoded with the charset and zero-padded to whole 8-byte
        blocks. A character the charset cannot encode raises
        :class:`~axepta.errors.InvalidRequestError` naming the field; nothing is replaced.
        """
        if not isinstance(plaintext, str):
            raise TypeError(f"plaintext must be str, not {type(plaintext).__name__}")
        text = unicodedata.normalize("NFC", plaintext)
        try:
            raw = text.encode(self._charset)
        except UnicodeEncodeError as exc:
            field = _field_at(text, exc.start)
            where = f"field {field}" if field else f"position {exc.start}"
            char = text[exc.start]
            raise InvalidRequestError(
                f"{where}: character U+{ord(char):04X} cannot be encoded in {self._charset}",
                field=field,
                rule=f"encodable in {self._charset}",
            ) from None
        pad = -len(raw) % 8
        if pad:
            raw += b"\x00" * pad
        return Encrypted(self._cipher.encrypt(raw).hex().upper(), len(text))

    def decrypt(self, data: str, length: int | str | None = None) -> str:
        """Decrypt ``Data`` (either hex case) and cut it at ``Len`` characters when given.

        Zero, space and PKCS#7 padding are removed. Raises :class:`~axepta.errors.CryptoError`
        for oversized, empty, odd-length, non-hex or not block-aligned ``Data``, for AES-format
        data, and for a ``Len`` that is not a decimal integer or exceeds the decrypted length.
        """
        if not isinstance(data, str):
            raise CryptoError(f"Data must be text, not {type(data).__name__}")
        if len(data) > self._max_data_length + 64:
            raise CryptoError(f"Data is longer than the cap of {self._max_data_length} hex characters")
        hex_text = data.strip(_ASCII_WS)
        if len(hex_text) > self._max_data_length:
            raise CryptoError(f"Data is longer than the cap of {self._max_data_length} hex characters")
        wanted = _parse_len(length)
        if "-" in hex_text:
            raise CryptoError("AES-encrypted Data was received while Blowfish is configured")
        if not hex_text:
            if wanted == 0:
                return ""
            raise CryptoError("Data is empty")
        if len(hex_text) % 2:
            raise CryptoError(f"Data has an odd number of hex digits ({len(hex_text)})")
        try:
            # unhexlify is strict (no whitespace, no sign) and checks every digit in C.
            cipher_bytes = binascii.unhexlify(hex_text)
        except (binascii.Error, ValueError):
            raise CryptoError("Data contains characters that are not hex digits") from None
        if len(cipher_bytes) % 8:
            raise CryptoError(
                f"Data is not a whole number of 8-byte blocks ({len(cipher_bytes)} bytes)"
            )
        raw = self._cipher.decrypt(cipher_bytes)
        if wanted is not None and wanted > len(raw):
            raise CryptoError(
                f"Len {wanted} exceeds the decrypted length of {len(raw)} bytes "
                "(wrong key or tampered message)"
            )
        stripped = _strip_padding(raw)
        if self._charset == "utf-8":
            try:
                text = stripped.decode("utf-8")
            except UnicodeDecodeError:
                logger.warning("decrypted text is not valid UTF-8; decoded as windows-1252")
                text = _cp1252_lenient(stripped)
        else:
            text = stripped.decode("iso-8859-1")
        if wanted is not None and wanted < len(text):
            if not _is_padding_like(text[wanted:]):
                logger.warning("Len cut %d characters that do not look like padding", len(text) - wanted)
            text = text[:wanted]
        return text
