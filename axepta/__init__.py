"""axepta: PayPal payments through BNP Paribas' Axepta gateway (Computop Paygate).

The top-level names are imported lazily (PEP 562) so that ``import axepta.crypto`` stays free of
httpx, pydantic and typer: the crypto core is a layer of its own, fenced by a test.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from axepta.errors import (
    AxeptaError,
    BlowfishKeyError,
    ConfigurationError,
    CryptoError,
    GatewayError,
    InvalidRequestError,
    NotificationError,
    ProtocolError,
    SignatureError,
    TransportError,
)

if TYPE_CHECKING:
    from axepta.amounts import from_minor_units, to_minor_units
    from axepta.client import AsyncAxeptaClient, AxeptaClient
    from axepta.codes import explain
    from axepta.credentials import Credentials
    from axepta.models import (
        Address,
        BasketLine,
        CreditResult,
        Inquiry,
        OrderItem,
        PaymentResult,
        PaymentUnit,
        PayPalOrderResult,
    )
    from axepta.notify import Notification, decode_notification
    from axepta.protocol import ButtonParams, PreparedRequest

__version__ = "0.1.0"

# name -> module that defines it (loaded on first access)
_LAZY: dict[str, str] = {
    "Address": "axepta.models",
    "AsyncAxeptaClient": "axepta.client",
    "AxeptaClient": "axepta.client",
    "BasketLine": "axepta.models",
    "ButtonParams": "axepta.protocol",
    "CreditResult": "axepta.models",
    "Inquiry": "axepta.models",
    "OrderItem": "axepta.models",
    "PayPalOrderResult": "axepta.models",
    "PaymentResult": "axepta.models",
    "PaymentUnit": "axepta.models",
    "PreparedRequest": "axepta.protocol",
    "Credentials": "axepta.credentials",
    "Notification": "axepta.notify",
    "decode_notification": "axepta.notify",
    "explain": "axepta.codes",
    "from_minor_units": "axepta.amounts",
    "to_minor_units": "axepta.amounts",
}

__all__ = [
    "Address",
    "AsyncAxeptaClient",
    "AxeptaClient",
    "AxeptaError",
    "BasketLine",
    "BlowfishKeyError",
    "ButtonParams",
    "ConfigurationError",
    "Credentials",
    "CreditResult",
    "CryptoError",
    "GatewayError",
    "Inquiry",
    "InvalidRequestError",
    "Notification",
    "NotificationError",
    "OrderItem",
    "PayPalOrderResult",
    "PaymentResult",
    "PaymentUnit",
    "PreparedRequest",
    "ProtocolError",
    "SignatureError",
    "TransportError",
    "__version__",
    "decode_notification",
    "explain",
    "from_minor_units",
    "to_minor_units",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'axepta' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
