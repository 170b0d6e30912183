"""Request and result models of the PayPal operations (pydantic v2, frozen).

Requests check every rule of the seed on construction and raise
:class:`~axepta.errors.InvalidRequestError` naming the wire field; results are built from the
gateway's messages with case-insensitive keys and keep unknown keys in ``raw``.
"""

from axepta.models.inquiry import (
    Inquire24Request,
    InquireRequest,
    Inquiry,
    InquiryRequest,
    InquiryState,
    inquiry_state,
)
from axepta.models.requests import (
    US_CA_STATE_CODES,
    Address,
    AuthorizeRequest,
    BasketLine,
    CaptureRequest,
    CompleteRequest,
    CreditExRequest,
    CreditRequest,
    OrderItem,
    PaymentUnit,
    PayPalOrderRequest,
    ReferenceTransactionRequest,
    Request,
    ReverseRequest,
)
from axepta.models.results import (
    CreditResult,
    OrderStatus,
    PaymentResult,
    PayPalOrderResult,
    Result,
    ResultFields,
)

__all__ = [
    "Address",
    "AuthorizeRequest",
    "BasketLine",
    "CaptureRequest",
    "CompleteRequest",
    "CreditExRequest",
    "CreditRequest",
    "CreditResult",
    "Inquire24Request",
    "InquireRequest",
    "Inquiry",
    "InquiryRequest",
    "InquiryState",
    "OrderItem",
    "OrderStatus",
    "PayPalOrderRequest",
    "PayPalOrderResult",
    "PaymentResult",
    "PaymentUnit",
    "ReferenceTransactionRequest",
    "Request",
    "Result",
    "ResultFields",
    "ReverseRequest",
    "US_CA_STATE_CODES",
    "inquiry_state",
]
