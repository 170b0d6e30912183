"""Units of work shared by the journal, the receiver and reconcile: each is a plain function of
a ``Connection`` already inside :meth:`Store.write` (it never commits; the unit does)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Row

from axepta.ledger.machine import Books, Decision
from axepta.ledger.store import queries

__all__ = ["apply_decision", "books_of", "now"]


def now() -> datetime:
    """The books' clock: timezone-aware UTC."""
    return datetime.now(UTC)


def books_of(payment: Row[Any]) -> Books:
    """The state machine's view of a payment row."""
    return Books(
        state=payment.state,
        amount=payment.amount,
        amount_authorized=payment.amount_authorized,
        amount_captured=payment.amount_captured,
        amount_refunded=payment.amount_refunded,
        charged_back=bool(payment.charged_back),
        capture=payment.capture,
        tx_type=payment.tx_type,
    )


def apply_decision(
    conn: Connection,
    payment: Row[Any],
    decision: Decision,
    *,
    cause: str,
    when: datetime,
    operation_id: int | None = None,
    message_id: int | None = None,
) -> int | None:
    """Write ``decision`` for ``payment`` (a row read under its lock): the new state and totals,
    one transition, its events (unique per kind and cause: ``operation:<id>``, ``message:<id>``,
    else ``transition:<id>``). A ``conflict`` writes nothing but the note in ``attention``.
    Returns the transition id, or ``None`` when nothing changed."""
    if decision.verdict == "conflict":
        queries.update_payment(conn, payment.id, {"attention": decision.note, "updated_at": when})
        return None
    if not decision.changes:
        return None
    values: dict[str, Any] = {
        "state": decision.state,
        "amount_authorized": payment.amount_authorized + decision.delta_authorized,
        "amount_captured": payment.amount_captured + decision.delta_captured,
        "amount_refunded": payment.amount_refunded + decision.delta_refunded,
        "updated_at": when,
    }
    if decision.charged_back is not None:
        values["charged_back"] = decision.charged_back
    if decision.note:
        values["attention"] = decision.note
    queries.update_payment(conn, payment.id, values)
    transition_id = queries.insert_transition(
        conn,
        {
            "payment_id": payment.id,
            "from_state": payment.state,
            "to_state": decision.state,
            "delta_authorized": decision.delta_authorized,
            "delta_captured": decision.delta_captured,
            "delta_refunded": decision.delta_refunded,
            "cause": cause,
            "operation_id": operation_id,
            "message_id": message_id,
            "note": decision.note,
            "created_at": when,
        },
    )
    if operation_id is not None:
        event_cause = f"operation:{operation_id}"
    elif message_id is not None:
        event_cause = f"message:{message_id}"
    else:
        event_cause = f"transition:{transition_id}"
    payload = {
        "trans_id": payment.trans_id,
        "pay_id": payment.pay_id,
        "state": decision.state,
        "currency": payment.currency,
        "delta_authorized": decision.delta_authorized,
        "delta_captured": decision.delta_captured,
        "delta_refunded": decision.delta_refunded,
        "transition_id": transition_id,
    }
    for kind in decision.events:
        queries.insert_event(
            conn, kind=kind, cause=event_cause, payment_id=payment.id, payload=payload, now=when
        )
    return transition_id
