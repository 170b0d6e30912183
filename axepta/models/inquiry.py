"""The status inquiry (PROTOCOL.md §4.15): its two requests and its answer, :class:`Inquiry`.

``inquire.aspx`` asks by ``PayID`` (:class:`InquireRequest`), ``inquire24.aspx`` by ``TransID``
alone (:class:`Inquire24Request`, only when the PayID is unknown, D-INQ-8). Neither carries an
amount, a currency or a ``ReqId``: an inquiry moves no money.

The answer carries the three amounts the platform keeps (``AmountAuth``, ``AmountCap``,
``AmountCred``, minor units) and the state they imply (:func:`inquiry_state`, D-INQ-5). "Not
found" and "unavailable" are answers too (``found=False``), not errors.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from axepta.models._checks import RequestModel, Text
from axepta.models.results import Result, wire

__all__ = [
    "Inquire24Request",
    "InquireRequest",
    "Inquiry",
    "InquiryRequest",
    "InquiryState",
    "inquiry_state",
]

#: The payment state the three amounts imply (D-INQ-5).
InquiryState = Literal["none", "authorized", "captured", "refunded"]


class InquireRequest(RequestModel):
    """Status inquiry by PayID — ``inquire.aspx`` (§4.15.2). ``trans_id`` is the payment's
    **original** TransID (the reply must echo it)."""

    operation: ClassVar[str] = "inquire"

    pay_id: Annotated[str, Text("PayID", "an32")]
    trans_id: Annotated[str, Text("TransID", "ans..64")]


class Inquire24Request(RequestModel):
    """Status inquiry by TransID alone — ``inquire24.aspx`` (§4.15.2), for when the PayID is
    not known (a ``paypalorders`` timeout before any reply, D-INQ-8)."""

    operation: ClassVar[str] = "inquire24"

    trans_id: Annotated[str, Text("TransID", "ans..64")]

    @property
    def pay_id(self) -> None:
        return None


InquiryRequest = InquireRequest | Inquire24Request


def inquiry_state(authorized: int, captured: int, refunded: int) -> InquiryState:
    """The state the amounts imply, first matching row of §4.15.5 (D-INQ-5): anything
    refunded → ``refunded``; else anything captured → ``captured`` (captures may exceed the
    authorisation, up to 115 %); else anything authorised → ``authorized``; else ``none``
    (which cannot tell created, pending, failed, expired and reversed apart, Q-INQ-4)."""
    if refunded > 0:
        return "refunded"
    if captured > 0:
        return "captured"
    if authorized > 0:
        return "authorized"
    return "none"


class Inquiry(Result):
    """What a status inquiry found (§4.15.3–§4.15.5).

    * ``found``: the platform answered the inquiry (``Code=00000000``, ``Status=OK``) and the
      amounts below are its books. ``Status``/``Code`` concern the **inquiry**, not the payment.
    * ``available``: ``False`` when the inquiry failed on a test merchant (a test profile or a
      MID ending in ``_t``), where inquiries may not be served at all (D-INQ-7): nothing can be
      concluded, not even "not found".
    * not found (``found=False``, ``available=True``): the platform does not know the payment
      (``not_found_rule`` says which rule of D-INQ-4 matched: ``"code"``, detail ``0061``, or
      ``"description"``, ``PAYMENT NOT FOUND``). It never cancels anything by itself.
    * ``state``: ``"none"``, ``"authorized"``, ``"captured"`` or ``"refunded"`` from the
      amounts (:func:`inquiry_state`); ``None`` when not found or unavailable.
    * ``amount_authorized``, ``amount_captured``, ``amount_refunded``: minor units; an amount
      the reply left out counts as 0 and is named in ``missing_amounts``; ``None`` when not found.
    * ``last_status``: the status of the payment's **last step only** (a failed credit after a
      good capture says ``FAILED``): a hint, never the state (D-INQ-3).
    * ``pay_id``: the payment's PayID (the one asked for, or the one ``inquire24`` found);
      ``xid``, ``trans_id``, ``currency``, ``description`` as the platform sent them;
      ``explanation``: what a failure code means (not found, unavailable).
    """

    found: bool = False
    available: bool = True
    state: InquiryState | None = None
    amount_authorized: int | None = None
    amount_captured: int | None = None
    amount_refunded: int | None = None
    missing_amounts: tuple[str, ...] = ()
    currency: str | None = wire("Currency")
    last_status: str | None = wire("LastStatus")
    not_found_rule: Literal["code", "description"] | None = None
    explanation: str | None = Field(default=None)

    #: the reply keys of the three amounts, in the order of the attributes
    AMOUNT_KEYS: ClassVar[tuple[str, str, str]] = ("AmountAuth", "AmountCap", "AmountCred")

    @property
    def not_found(self) -> bool:
        """The platform does not know the payment (an answer on a merchant where inquiries work)."""
        return not self.found and self.available

    @property
    def fully_captured(self) -> bool:
        """Something was captured and at least the authorised amount (``captured`` in full)."""
        return self.found and (self.amount_captured or 0) > 0 and (self.amount_captured or 0) >= (self.amount_authorized or 0)

    @property
    def fully_refunded(self) -> bool:
        """Something was refunded and at least the captured amount (``refunded`` in full)."""
        return self.found and (self.amount_refunded or 0) > 0 and (self.amount_refunded or 0) >= (self.amount_captured or 0)

    @property
    def last_step_failed(self) -> bool:
        """D-INQ-3: ``LastStatus=FAILED`` with nothing authorised, captured or refunded — the
        only case where ``LastStatus`` counts, as evidence that the payment failed. A failed
        step after money moved (a refused credit after a capture) is not."""
        return self.state == "none" and (self.last_status or "").strip().upper() == "FAILED"

    def summary(self) -> dict[str, object]:
        """The JSON shape of ``axepta inquire --json`` (without ``ok``): CONTRACT.md's keys
        first (``found`` … ``last_status``), then the identifiers and the inquiry's own code."""
        return {
            "found": self.found,
            "available": self.available,
            "state": self.state,
            "amount_authorized": self.amount_authorized,
            "amount_captured": self.amount_captured,
            "amount_refunded": self.amount_refunded,
            "currency": self.currency,
            "last_status": self.last_status,
            "operation": self.operation,
            "pay_id": self.pay_id,
            "trans_id": self.trans_id,
            "xid": self.xid,
            "code": self.code,
            "status": self.status,
            "description": self.description,
            "missing_amounts": list(self.missing_amounts),
            "not_found_rule": self.not_found_rule,
            "explanation": self.explanation,
        }
