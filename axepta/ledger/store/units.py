"""Units of work shared by the journal, the receiver and reconcile: each is a plain function of
a ``Connection`` already inside :meth:`Store.write` (it never commits; the unit does)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, update
from sqlalchemy.exc import IntegrityError

from axepta.errors import AxeptaError, InvalidRequestError
from axepta.ledger.machine import Books, Decision, check_intent, decide
from axepta.ledger.store import queries
from axepta.ledger.store.schema import OPERATIONS

if TYPE_CHECKING:
    from axepta.ledger.journal import Intent, Outcome
    from axepta.ledger.store import Store
    from axepta.models.results import Result

__all__ = [
    "apply_decision",
    "books_of",
    "journal_intent",
    "journal_outcome",
    "journal_sent",
    "now",
    "settle",
]


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


# -- journaling (axepta.ledger.journal plans, these write) --------------------------------------


def journal_intent(store: Store, intent: Intent) -> int:
    """Commit the operation (and the payment it creates) before the request leaves; returns the
    operation id. A retry with a ReqId already in the books reuses that operation."""
    when = now()
    try:
        with store.write() as conn:
            return _intent(conn, intent, when)
    except IntegrityError:
        # two workers raced for the same TransID or ReqId: the loser is refused, nothing sent
        raise InvalidRequestError(
            f"TransID {intent.trans_id}: another call recorded this payment or ReqId at the same "
            "moment; nothing was sent",
            field="TransID",
            rule="one payment per TransID, one operation per ReqId",
        ) from None


def _intent(conn: Connection, intent: Intent, when: datetime) -> int:
    if intent.req_id is not None:
        existing = queries.operation_by_req_id(conn, intent.merchant_id, intent.req_id)
        if existing is not None:
            if existing.kind != intent.kind or existing.amount != intent.amount:
                raise InvalidRequestError(
                    f"ReqId {intent.req_id} already names another operation ({existing.kind} of "
                    f"{existing.amount} {existing.currency}); a new operation needs a new ReqId",
                    field="ReqId",
                    rule="one ReqId per logical operation",
                )
            return int(existing.id)
    if intent.new_payment is not None:
        payment_id = _new_payment(conn, intent, when)
    else:
        payment = queries.payment_by(conn, intent.merchant_id, pay_id=intent.pay_id, lock=True) if intent.pay_id else None
        if payment is None:
            payment = queries.payment_by(conn, intent.merchant_id, trans_id=intent.trans_id, lock=True)
        if payment is None:
            raise InvalidRequestError(
                f"PayID {intent.pay_id or '-'} / TransID {intent.trans_id}: no such payment in the books; "
                "a client with a ledger journals follow-ups of the payments it recorded",
                field="PayID",
                rule="a follow-up needs its payment in the books",
            )
        broken = check_intent(books_of(payment), intent.kind, intent.amount)
        if broken:
            raise InvalidRequestError(f"Amount: {broken}", field="Amount", rule=broken)
        payment_id = int(payment.id)
    return queries.insert_operation(
        conn,
        {
            "payment_id": payment_id,
            "merchant_id": intent.merchant_id,
            "kind": intent.kind,
            "req_id": intent.req_id,
            "amount": intent.amount,
            "currency": intent.currency,
            "request": intent.request,
            "outcome": "intent",
            "attempts": 0,
            "created_at": when,
            "updated_at": when,
        },
    )


def _new_payment(conn: Connection, intent: Intent, when: datetime) -> int:
    assert intent.new_payment is not None
    existing = queries.payment_by(conn, intent.merchant_id, trans_id=intent.trans_id)
    if existing is not None:
        raise InvalidRequestError(
            f"TransID {intent.trans_id}: the books already hold a payment with this TransID "
            f"({existing.state}, {existing.amount} {existing.currency}); a new payment needs a new "
            "TransID (follow-ups of that payment reuse it through capture, credit …)",
            field="TransID",
            rule="one payment per TransID",
        )
    payment_id = queries.insert_payment(
        conn,
        {
            **intent.new_payment,
            "merchant_id": intent.merchant_id,
            "trans_id": intent.trans_id,
            "amount": intent.amount,
            "currency": intent.currency,
            "state": "created",
            "created_at": when,
            "updated_at": when,
        },
    )
    queries.insert_transition(
        conn,
        {
            "payment_id": payment_id,
            "from_state": None,
            "to_state": "created",
            "cause": "operation",
            "note": f"recorded before {intent.kind} was sent",
            "created_at": when,
        },
    )
    return payment_id


def journal_sent(store: Store, operation_id: int, attempt: int) -> None:
    """The request is about to leave (attempt ``attempt``)."""
    when = now()
    with store.write() as conn:
        conn.execute(
            update(OPERATIONS)
            .where(OPERATIONS.c.id == operation_id, OPERATIONS.c.outcome.in_(("intent", "sent", "unknown")))
            .values(outcome="sent", attempts=OPERATIONS.c.attempts + 1, sent_at=when, updated_at=when)
        )


def journal_outcome(store: Store, operation_id: int, result: Result | None, error: AxeptaError | None) -> None:
    """Record what came back and apply its fact to the payment, once per operation."""
    with store.write() as conn:
        settle(conn, operation_id, result=result, error=error, cause="operation", when=now())


def settle(
    conn: Connection,
    operation_id: int,
    *,
    result: Result | None,
    error: AxeptaError | None,
    cause: str,
    when: datetime,
) -> Outcome:
    """Record an operation's outcome (from its reply, or from reconcile's resend) and apply
    the fact it carries. An operation already ``succeeded`` is never counted twice."""
    op = queries.operation_by_id(conn, operation_id)
    if op is None:
        raise LookupError(f"operation {operation_id} is not in the books")
    payment = queries.lock_payment(conn, op.payment_id)
    op = queries.operation_by_id(conn, operation_id, lock=True)
    assert op is not None
    from axepta.ledger.journal import outcome_of

    fields = (op.request or {}).get("fields", {})
    outcome = outcome_of(
        op.kind,
        amount=op.amount,
        complete=bool(fields.get("complete")),
        payment=payment,
        result=result,
        error=error,
    )
    if op.outcome in ("succeeded", "declined"):
        return outcome  # settled before (a ReqId replay answers the first result): count once
    values: dict[str, Any] = {"outcome": outcome.outcome, "updated_at": when, "error": outcome.error}
    if outcome.outcome in ("succeeded", "declined"):
        values.update(code=outcome.code, status=outcome.status, tid=outcome.tid, settled_at=when)
    elif outcome.code:
        values.update(code=outcome.code, status=outcome.status)
    queries.update_operation(conn, operation_id, values)
    _remember_ids(conn, payment, op, outcome, when)
    if outcome.fact is not None:
        payment = queries.lock_payment(conn, op.payment_id)
        decision = decide(books_of(payment), outcome.fact)
        apply_decision(conn, payment, decision, cause=cause, when=when, operation_id=operation_id)
    return outcome


def _remember_ids(conn: Connection, payment: Row[Any], op: Row[Any], outcome: Outcome, when: datetime) -> None:
    changes: dict[str, Any] = {}
    new_pay_id = op.kind in ("paypal_order", "credit_ex", "reftrans")
    if outcome.outcome == "succeeded" and outcome.pay_id and payment.pay_id is None and new_pay_id:
        changes["pay_id"] = outcome.pay_id  # from the shop's own reply: trusted
    for key, value in outcome.payer.items():
        if getattr(payment, key) is None:
            changes[key] = value
    if changes:
        changes["updated_at"] = when
        queries.update_payment(conn, payment.id, changes)
    for kind, value in outcome.ids:
        queries.add_payment_id(conn, payment.id, kind, value, "reply", when, operation_id=op.id)
