"""What the books hand out: frozen records (no SQL, no session, safe to keep and to print).

Amounts are ``int`` minor units; times are timezone-aware UTC ``datetime``. ``Payment.group`` is
``"not_finished"``, ``"finished"`` or ``"failed"`` (LEDGER.md groups). :meth:`as_json` gives the
``--json`` shapes of CONTRACT.md (amounts as integers, times as ISO 8601).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from axepta.ledger.machine import group_of

__all__ = ["OPERATION_KINDS", "OUTCOMES", "Operation", "Payment", "PaymentId", "Transition"]

#: ``Operation.kind`` values (CONTRACT.md).
OPERATION_KINDS: Final = (
    "paypal_order",
    "complete",
    "authorize",
    "capture",
    "credit",
    "credit_ex",
    "reverse",
    "reftrans",
    "inquire",
)
#: ``Operation.outcome`` values.
OUTCOMES: Final = ("intent", "sent", "succeeded", "declined", "unknown")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment of the books (an order, a ``creditex`` payout or a reference charge)."""

    id: int
    merchant_id: str
    kind: str
    trans_id: str
    pay_id: str | None
    ref_nr: str | None
    reference: str | None
    amount: int
    currency: str
    capture: str | None
    tx_type: str | None
    paypal_method: str | None
    state: str
    amount_authorized: int
    amount_captured: int
    amount_refunded: int
    charged_back: bool
    payer_id: str | None
    payer_email: str | None
    attention: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def group(self) -> str:
        return group_of(self.state)

    def as_json(self) -> dict[str, Any]:
        return {
            "trans_id": self.trans_id,
            "pay_id": self.pay_id,
            "merchant_id": self.merchant_id,
            "kind": self.kind,
            "state": self.state,
            "group": self.group,
            "amount": self.amount,
            "currency": self.currency,
            "amount_authorized": self.amount_authorized,
            "amount_captured": self.amount_captured,
            "amount_refunded": self.amount_refunded,
            "charged_back": self.charged_back,
            "ref_nr": self.ref_nr,
            "reference": self.reference,
            "capture": self.capture,
            "tx_type": self.tx_type,
            "payer_email": self.payer_email,
            "attention": self.attention,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class Operation:
    """One server-to-server call, with every field needed to send it again (``request``: the
    request model's fields, never a key, ``Data`` or ``MAC``)."""

    id: int
    payment_id: int
    merchant_id: str
    kind: str
    req_id: str | None
    amount: int
    currency: str
    outcome: str
    code: str | None
    status: str | None
    tid: str | None
    error: str | None
    attention: str | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    settled_at: datetime | None
    updated_at: datetime
    request: dict[str, Any] = field(repr=False)

    @property
    def settled(self) -> bool:
        return self.outcome in ("succeeded", "declined")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "req_id": self.req_id,
            "outcome": self.outcome,
            "code": self.code,
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "tid": self.tid,
            "attempts": self.attempts,
            "error": self.error,
            "attention": self.attention,
            "created_at": _iso(self.created_at),
            "settled_at": _iso(self.settled_at),
        }


@dataclass(frozen=True, slots=True)
class Transition:
    """One change of a payment: ``from_state`` → ``to_state`` with the amount deltas and its
    cause (``operation``, ``message``, ``inquiry``, ``person``)."""

    id: int
    payment_id: int
    from_state: str | None
    to_state: str
    delta_authorized: int
    delta_captured: int
    delta_refunded: int
    cause: str
    operation_id: int | None
    message_id: int | None
    note: str | None
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "from": self.from_state,
            "to": self.to_state,
            "delta_authorized": self.delta_authorized,
            "delta_captured": self.delta_captured,
            "delta_refunded": self.delta_refunded,
            "cause": self.cause,
            "operation_id": self.operation_id,
            "message_id": self.message_id,
            "note": self.note,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class PaymentId:
    """A PayPal id a payment holds (``tid``, ``order_id``, ``billing_agreement_id`` …) and who
    reported it (``reply``, ``notification``, ``ipn``, ``inquiry``)."""

    kind: str
    value: str
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "source": self.source}
