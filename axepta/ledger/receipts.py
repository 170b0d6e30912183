"""What the receiving side hands out: frozen records (no SQL, safe to keep and to print).

:class:`Receipt` answers one inbound message; :class:`Message` is a stored message;
:class:`Event` is what a handler registered with ``Ledger.on`` receives; :class:`Entry` is one
line of a customer account. Amounts are ``int`` minor units; times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from axepta.ledger.records import Payment

__all__ = ["Entry", "Event", "EventRecord", "Message", "Receipt"]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class Receipt:
    """The books' answer to one inbound message.

    ``status_code`` is the HTTP answer to give the sender (LEDGER.md "Receiving"), ``outcome``
    what happened (``applied``, ``duplicate``, ``stale``, ``conflict``, ``unmatched``,
    ``rejected``; for IPN also ``stored``, ``unverified``, ``invalid``; ``failed`` when the books
    could not be written). ``payment`` is the payment it concerns after the change, ``account``
    the account it credited or debited, ``message_id`` the stored message (``None`` only when
    nothing could be stored), ``reason`` a short explanation for people (never a key or ``Data``).
    """

    status_code: int
    outcome: str
    payment: Payment | None = None
    message_id: int | None = None
    reason: str | None = None
    account: str | None = None
    verification: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "status_code": self.status_code,
            "outcome": self.outcome,
            "message_id": self.message_id,
            "trans_id": None if self.payment is None else self.payment.trans_id,
            "state": None if self.payment is None else self.payment.state,
            "account": self.account,
            "verification": self.verification,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Message:
    """One stored inbound message (the body is not carried: ``ledger show`` and the admin pages
    read the decoded ``fields``, each marked ``bound`` or not)."""

    id: int
    merchant_id: str
    source: str
    dedup_key: str | None
    state: str
    verification: str
    reason: str | None
    payment_id: int | None
    account: str | None
    attempts: int
    received_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None
    fields: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "state": self.state,
            "dedup_key": self.dedup_key,
            "merchant_id": self.merchant_id,
            "verification": self.verification,
            "reason": self.reason,
            "payment_id": self.payment_id,
            "account": self.account,
            "attempts": self.attempts,
            "received_at": _iso(self.received_at),
            "updated_at": _iso(self.updated_at),
            "next_attempt_at": _iso(self.next_attempt_at),
        }


@dataclass(frozen=True, slots=True)
class Event:
    """What a handler receives: the event's ``id`` (stable across redeliveries: make the handler
    idempotent on it), ``kind``, the ``payment`` it concerns (as the books hold it now) or the
    ``account``, the ``payload`` written with it, and ``attempts`` before this one."""

    id: int
    kind: str
    payment: Payment | None
    account: str | None
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One row of the outbox, for people (``axepta ledger events``)."""

    id: int
    kind: str
    cause: str
    trans_id: str | None
    account: str | None
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    payload: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def delivered(self) -> bool:
        return self.state == "delivered"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "trans_id": self.trans_id,
            "account": self.account,
            "delivered": self.delivered,
            "state": self.state,
            "attempts": self.attempts,
            "cause": self.cause,
            "last_error": self.last_error,
            "payload": self.payload,
            "created_at": _iso(self.created_at),
            "delivered_at": _iso(self.delivered_at),
            "next_attempt_at": _iso(self.next_attempt_at),
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a customer account: ``amount`` signed minor units (a top-up is positive, a
    refund or reversal negative), ``fee`` PayPal's fee beside it (never deducted), ``kind``
    (``topup``, ``refund``, ``reversal``, ``canceled_reversal``), the PayPal ``txn_id`` and the
    message that caused it."""

    id: int
    account: str
    currency: str
    amount: int
    fee: int | None
    kind: str
    txn_id: str | None
    message_id: int
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account": self.account,
            "currency": self.currency,
            "amount": self.amount,
            "fee": self.fee,
            "kind": self.kind,
            "txn_id": self.txn_id,
            "message_id": self.message_id,
            "created_at": _iso(self.created_at),
        }
