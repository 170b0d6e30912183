"""The exception tree of ``axepta``.

Every error the library raises derives from :class:`AxeptaError`::

    AxeptaError
    ├── ConfigurationError     bad or missing credentials / settings (raised at construction)
    ├── InvalidRequestError    a request field breaks a rule; raised before anything is sent
    ├── CryptoError            Data/Len cannot be decrypted (malformed, oversized, wrong key)
    │   └── BlowfishKeyError   Data decrypts to noise: most likely the wrong Blowfish key
    │                          (also a ConfigurationError)
    ├── ProtocolError          a gateway message breaks the protocol (duplicate key, bad echo)
    ├── SignatureError         a MAC is missing or does not verify
    ├── GatewayError           the gateway answered with a Code other than 00000000
    ├── TransportError         network failure or timeout; the outcome may be unknown
    └── NotificationError      a notification that must not be trusted

Messages carry identifiers (PayID, TransID, ReqId, Code and its explanation) and never keys,
``Data``, decrypted plaintext or MACs. Every error is picklable (its constructor arguments are
kept for ``__reduce__``), so it crosses process boundaries intact.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AxeptaError",
    "BlowfishKeyError",
    "ConfigurationError",
    "CryptoError",
    "GatewayError",
    "InvalidRequestError",
    "NotificationError",
    "ProtocolError",
    "SignatureError",
    "TransportError",
]


class AxeptaError(Exception):
    """Base class of every error raised by ``axepta``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self._extra()))

    def _extra(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "message"}

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[AxeptaError], message: str, extra: dict[str, Any]) -> AxeptaError:
    err = cls.__new__(cls)
    AxeptaError.__init__(err, message)
    err.__dict__.update(extra)
    return err


class ConfigurationError(AxeptaError):
    """Credentials or settings are missing or malformed (key length, MID, base URL, profile)."""


class InvalidRequestError(AxeptaError):
    """A request field breaks a rule. Raised before anything is sent.

    ``field`` names the wire field (``"Amount"``, ``"URLNotify"`` …) when one is concerned and
    ``rule`` states the rule that was broken.
    """

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule


class CryptoError(AxeptaError):
    """``Data``/``Len`` cannot be decrypted: malformed hex, wrong block size, oversized input,
    a ``Len`` that does not fit, or AES data where Blowfish is configured."""


class BlowfishKeyError(CryptoError, ConfigurationError):
    """``Data`` decrypted into noise with the configured Blowfish key: not a single
    ``Key=Value`` pair of a gateway message. The Blowfish key is most likely wrong (or the
    message was forged or tampered with); nothing in it can be trusted. A :class:`CryptoError`
    *and* a :class:`ConfigurationError` (the CLI exits 3). ``req_id`` names the ReqId of the
    call whose reply it was, if any: the outcome of that call is unknown."""

    def __init__(self, message: str, *, req_id: str | None = None) -> None:
        super().__init__(message)
        self.req_id = req_id


class ProtocolError(AxeptaError):
    """A message from the gateway breaks the protocol: a duplicated key such as ``PayID``, a
    foreign merchant ID, a missing ``Data``, an echo that does not match the request."""


class SignatureError(AxeptaError):
    """A MAC is missing or does not verify against the configured HMAC key."""


class GatewayError(AxeptaError):
    """The gateway answered with a ``Code`` other than ``00000000``.

    Attributes: ``code`` (8 characters), ``status`` (the reply's ``Status``), ``description``
    (the gateway's free text, for people only), ``pay_id``, ``trans_id``, ``explanation`` (the
    code explained from the response-code dictionary) and ``code_ext`` (PayPal's own code).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: str | None = None,
        description: str | None = None,
        pay_id: str | None = None,
        trans_id: str | None = None,
        explanation: str | None = None,
        code_ext: str | None = None,
        req_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.description = description
        self.pay_id = pay_id
        self.trans_id = trans_id
        self.explanation = explanation
        self.code_ext = code_ext
        self.req_id = req_id


class TransportError(AxeptaError):
    """The network failed or timed out. Unless ``sent`` is ``False`` the outcome is unknown:
    retry the same operation with ``req_id`` (when it has one) or reconcile first."""

    def __init__(
        self,
        message: str,
        *,
        req_id: str | None = None,
        sent: bool | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.req_id = req_id
        self.sent = sent
        self.operation = operation


class NotificationError(AxeptaError):
    """A notification (URLNotify / URLSuccess / URLFailure) that must not be trusted.

    ``reason`` is a short machine-readable word: ``size``, ``missing_data``, ``decrypt``,
    ``merchant``, ``mac``, ``format``."""

    def __init__(self, message: str, *, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason
