"""Merchant credentials: the merchant ID, the Blowfish password and the HMAC key."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import Literal

from pydantic import SecretStr

from axepta.crypto import BlowfishCodec
from axepta.crypto.codec import _key_bytes, _normalise_charset
from axepta.errors import ConfigurationError
from axepta.fields import check_format

__all__ = ["Credentials", "Environment"]

Environment = Literal["test", "production"]


class Credentials:
    """One merchant's credentials. The keys are held as :class:`pydantic.SecretStr`: they never
    appear in ``repr``, ``str``, logs or exceptions, and the object refuses to be pickled.

    ``environment`` is inferred from the merchant ID when not given (``…_t`` means test,
    PROTOCOL.md §3.5). A Blowfish key outside 4..56 bytes, an empty HMAC key or a malformed
    merchant ID raise :class:`~axepta.errors.ConfigurationError`.
    """

    __slots__ = ("__dict__", "_blowfish_key", "_charset", "_environment", "_hmac_key", "_merchant_id")

    def __init__(
        self,
        merchant_id: str,
        blowfish_key: str | SecretStr,
        hmac_key: str | SecretStr,
        charset: str = "iso-8859-1",
        *,
        environment: Environment | None = None,
    ) -> None:
        try:
            self._merchant_id = check_format("MerchantID", merchant_id, "ans..30")
        except Exception as exc:
            raise ConfigurationError(f"merchant ID is invalid: {exc}") from None
        bf = blowfish_key.get_secret_value() if isinstance(blowfish_key, SecretStr) else blowfish_key
        hk = hmac_key.get_secret_value() if isinstance(hmac_key, SecretStr) else hmac_key
        if not isinstance(bf, str) or not isinstance(hk, str):
            raise ConfigurationError("the Blowfish and HMAC keys must be text")
        _key_bytes(bf)  # 4..56 bytes, else ConfigurationError stating the length
        if not hk:
            raise ConfigurationError("the HMAC key is empty")
        self._blowfish_key = SecretStr(bf)
        self._hmac_key = SecretStr(hk)
        self._charset = _normalise_charset(charset)
        if environment not in (None, "test", "production"):
            raise ConfigurationError(f"environment must be 'test' or 'production', not {environment!r}")
        self._environment: Environment = environment or (
            "test" if self._merchant_id.lower().endswith("_t") else "production"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``AXEPTA_MERCHANT_ID``, ``AXEPTA_BLOWFISH_KEY``, ``AXEPTA_HMAC_KEY`` and the
        optional ``AXEPTA_CHARSET`` and ``AXEPTA_ENVIRONMENT``; a missing variable is a
        :class:`~axepta.errors.ConfigurationError` naming it."""
        env = os.environ if environ is None else environ
        values = {}
        for name in ("AXEPTA_MERCHANT_ID", "AXEPTA_BLOWFISH_KEY", "AXEPTA_HMAC_KEY"):
            value = env.get(name)
            if not value:
                raise ConfigurationError(f"environment variable {name} is not set")
            values[name] = value
        environment = env.get("AXEPTA_ENVIRONMENT") or None
        if environment not in (None, "test", "production"):
            raise ConfigurationError("AXEPTA_ENVIRONMENT must be 'test' or 'production'")
        return cls(
            values["AXEPTA_MERCHANT_ID"],
            values["AXEPTA_BLOWFISH_KEY"],
            values["AXEPTA_HMAC_KEY"],
            env.get("AXEPTA_CHARSET") or "iso-8859-1",
            environment=environment,  # type: ignore[arg-type]
        )

    @property
    def merchant_id(self) -> str:
        return self._merchant_id

    @property
    def blowfish_key(self) -> SecretStr:
        return self._blowfish_key

    @property
    def hmac_key(self) -> SecretStr:
        return self._hmac_key

    @property
    def charset(self) -> str:
        return self._charset

    @property
    def environment(self) -> Environment:
        return self._environment

    @cached_property
    def codec(self) -> BlowfishCodec:
        """The merchant's :class:`~axepta.crypto.BlowfishCodec`, built once."""
        return BlowfishCodec(self._blowfish_key.get_secret_value(), self._charset)

    def hmac_key_bytes(self) -> bytes:
        """The HMAC key as bytes, for :func:`axepta.crypto.sign`."""
        return self._hmac_key.get_secret_value().encode("utf-8")

    def __repr__(self) -> str:
        return (
            f"Credentials(merchant_id={self._merchant_id!r}, blowfish_key='**********', "
            f"hmac_key='**********', charset={self._charset!r}, environment={self._environment!r})"
        )

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (
            self._merchant_id == other._merchant_id
            and self._blowfish_key == other._blowfish_key
            and self._hmac_key == other._hmac_key
            and self._charset == other._charset
        )

    def __hash__(self) -> int:
        return hash((self._merchant_id, self._charset))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Credentials hold secret keys and cannot be pickled")
