"""Units of work shared by the journal, the receiver and reconcile: each is a plain function of
a ``Connection`` already inside :meth:`Store.write` (it never commits; the unit does)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, bindparam, update
from sqlalchemy.exc import IntegrityError

from axepta.errors import AxeptaError, InvalidRequestError
from axepta.ledger.machine import NOT_FINISHED, Books, Decision, Fact, check_intent, decide
from axepta.ledger.store import queries
from axepta.ledger.store.schema import OPERATIONS

if TYPE_CHECKING:
    from axepta.ledger.journal import Intent, Outcome
    from axepta.ledger.store import Store
    from axepta.models.results import Result

__all__ = [
    "apply_decision",
    "books_of",
    "event_payload",
    "journal_intent",
    "journal_outcome",
    "journal_sent",
    "mark_attention",
    "now",
    "operation_row",
    "payment_messages",
    "payment_row",
    "prune",
    "reconcile_candidates",
    "record_inquiry",
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
    extra: dict[str, Any] | None = None,
) -> int | None:
    """Write ``decision`` for ``payment`` (a row read under its lock): the new state and totals,
    one transition, its events (unique per kind and cause: ``operation:<id>``, ``message:<id>``,
    else ``transition:<id>``). A ``conflict`` writes nothing but the note in ``attention``.
    ``extra`` are further payment columns written in the same statement (ids from a reply).
    Returns the transition id, or ``None`` when nothing changed."""
    if decision.verdict == "conflict":
        queries.update_payment(conn, payment.id, {**(extra or {}), "attention": decision.note, "updated_at": when})
        return None
    if not decision.changes:
        if extra:
            queries.update_payment(conn, payment.id, {**extra, "updated_at": when})
        return None
    values: dict[str, Any] = {
        **(extra or {}),
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
    payload = event_payload(payment, decision, transition_id)
    for kind in decision.events:
        queries.insert_event(
            conn, kind=kind, cause=event_cause, payment_id=payment.id, payload=payload, now=when
        )
    return transition_id


def event_payload(payment: Any, decision: Decision, transition_id: int | None) -> dict[str, Any]:
    """The payload of the events a decision writes for ``payment`` (as read before it)."""
    return {
        "trans_id": payment.trans_id,
        "pay_id": payment.pay_id,
        "state": decision.state,
        "currency": payment.currency,
        "delta_authorized": decision.delta_authorized,
        "delta_captured": decision.delta_captured,
        "delta_refunded": decision.delta_refunded,
        "transition_id": transition_id,
    }


# -- journaling (axepta.ledger.journal plans, these write) --------------------------------------


def journal_intent(store: Store, intent: Intent) -> int:
    """Commit the operation (and the payment it creates) before the request leaves; returns the
    operation id. A retry with a ReqId already in the books reuses that operation."""
    when = now()
    try:
        with store.write() as conn:
            return _intent(conn, intent, when)
    except IntegrityError:
        pass  # the unique keys refused it (the transaction is rolled back); say why
    with store.read() as conn:
        existing = queries.payment_by(conn, intent.merchant_id, trans_id=intent.trans_id)
    if intent.new_payment is not None and existing is not None:
        raise InvalidRequestError(
            f"TransID {intent.trans_id}: the books already hold a payment with this TransID "
            f"({existing.state}, {existing.amount} {existing.currency}); a new payment needs a new "
            "TransID (follow-ups of that payment reuse it through capture, credit …)",
            field="TransID",
            rule="one payment per TransID",
        )
    raise InvalidRequestError(
        f"ReqId {intent.req_id}: another call recorded this ReqId at the same moment; nothing was sent",
        field="ReqId",
        rule="one operation per ReqId",
    )


def _intent(conn: Connection, intent: Intent, when: datetime) -> int:
    if intent.req_id is not None and intent.req_id_given:
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
        payment_id = _follow_up_payment(conn, intent)
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


def _follow_up_payment(conn: Connection, intent: Intent) -> int:
    payment = None
    if intent.pay_id:
        payment = queries.payment_by(conn, intent.merchant_id, pay_id=intent.pay_id, lock=True)
    if payment is None:
        payment = queries.payment_by(conn, intent.merchant_id, trans_id=intent.trans_id, lock=True)
    if payment is None:
        raise InvalidRequestError(
            f"PayID {intent.pay_id or '-'} / TransID {intent.trans_id}: no such payment in the books; "
            "a client with a ledger journals follow-ups of the payments it recorded",
            field="PayID",
            rule="a follow-up needs its payment in the books",
        )
    pending = queries.pending_amount(conn, payment.id, intent.kind) if intent.kind in ("capture", "credit") else 0
    broken = check_intent(books_of(payment), intent.kind, intent.amount, pending=pending)
    if broken:
        raise InvalidRequestError(f"Amount: {broken}", field="Amount", rule=broken)
    return int(payment.id)


def _new_payment(conn: Connection, intent: Intent, when: datetime) -> int:
    """Insert the payment; a TransID the books hold already is refused by the unique key."""
    assert intent.new_payment is not None
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


_SENT = (
    update(OPERATIONS)
    .where(OPERATIONS.c.id == bindparam("pk_"), OPERATIONS.c.outcome.in_(("intent", "sent", "unknown")))
    .values(outcome="sent", attempts=OPERATIONS.c.attempts + 1, sent_at=bindparam("when_"), updated_at=bindparam("when_"))
)


def journal_sent(store: Store, operation_id: int, attempt: int) -> None:
    """A further attempt of the same call is about to leave (the first one is covered by the
    intent, and counted with the outcome: an operation still ``intent`` may have left when its
    process died)."""
    when = now()
    with store.write() as conn:
        conn.execute(_SENT, {"pk_": operation_id, "when_": when})


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
    from axepta.ledger.journal import Outcome, outcome_of

    op = queries.operation_by_id(conn, operation_id)
    if op is None:
        raise LookupError(f"operation {operation_id} is not in the books")
    if op.outcome in ("succeeded", "declined"):
        return Outcome(op.outcome)  # settled before (a ReqId replay answers the first result): count once
    payment = queries.lock_payment(conn, op.payment_id)  # every writer of an operation locks its payment first
    fields = (op.request or {}).get("fields", {})
    outcome = outcome_of(
        op.kind,
        amount=op.amount,
        complete=bool(fields.get("complete")),
        payment=payment,
        result=result,
        error=error,
    )
    values: dict[str, Any] = {"outcome": outcome.outcome, "updated_at": when, "error": outcome.error}
    if outcome.outcome in ("succeeded", "declined"):
        values.update(code=outcome.code, status=outcome.status, tid=outcome.tid, settled_at=when)
    elif outcome.code:
        values.update(code=outcome.code, status=outcome.status)
    if not queries.settle_operation(conn, operation_id, values):
        return outcome  # settled meanwhile by another writer (a ReqId replay answers the first result)
    extra = _payment_changes(payment, op, outcome)
    if outcome.fact is not None:
        decision = decide(books_of(payment), outcome.fact)
        apply_decision(conn, payment, decision, cause=cause, when=when, operation_id=operation_id, extra=extra)
    elif extra:
        queries.update_payment(conn, payment.id, {**extra, "updated_at": when})
    for kind, value in outcome.ids:
        queries.add_payment_id(conn, payment.id, kind, value, "reply", when, operation_id=op.id)
    return outcome


def _payment_changes(payment: Row[Any], op: Row[Any], outcome: Outcome) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    new_pay_id = op.kind in ("paypal_order", "credit_ex", "reftrans")
    if outcome.outcome == "succeeded" and outcome.pay_id and payment.pay_id is None and new_pay_id:
        changes["pay_id"] = outcome.pay_id  # from the shop's own reply: trusted
    for key, value in outcome.payer.items():
        if getattr(payment, key) is None:
            changes[key] = value
    return changes


# -- reconcile ------------------------------------------------------------------------------


def reconcile_candidates(store: Store, older_than: datetime, stale_before: datetime) -> tuple[list[Row[Any]], list[Row[Any]]]:
    """Operations left open before ``older_than``, and Not-Finished payments unchanged since
    ``stale_before`` (that have no open operation: those are settled first)."""
    with store.read() as conn:
        ops = queries.unsettled_operations(conn, older_than)
        busy = {op.payment_id for op in ops}
        stale = [p for p in queries.stale_payments(conn, NOT_FINISHED, stale_before) if p.id not in busy]
        return ops, stale


def payment_row(store: Store, payment_id: int) -> Row[Any]:
    with store.read() as conn:
        row = queries.payment_by_id(conn, payment_id)
        if row is None:
            raise LookupError(f"payment {payment_id} is not in the books")
        return row


def operation_row(store: Store, operation_id: int) -> Row[Any]:
    with store.read() as conn:
        row = queries.operation_by_id(conn, operation_id)
        if row is None:
            raise LookupError(f"operation {operation_id} is not in the books")
        return row


def mark_attention(store: Store, operation_id: int, note: str) -> None:
    """Mark an operation for a person (it stays open)."""
    when = now()
    with store.write() as conn:
        queries.update_operation(conn, operation_id, {"attention": note[:2000], "updated_at": when})


def record_inquiry(
    store: Store,
    payment_id: int,
    *,
    totals: tuple[int, int, int] | None,
    code: str | None,
    note: str | None,
    settles: int | None = None,
) -> Decision | None:
    """Write one inquiry: an ``inquire`` operation (``succeeded`` when the platform answered),
    the amounts merged forward into the payment (cause ``inquiry``), and — when ``settles``
    names an operation the amounts prove happened — that operation ``succeeded``."""
    when = now()
    with store.write() as conn:
        payment = queries.lock_payment(conn, payment_id)
        inquiry_id = queries.insert_operation(
            conn,
            {
                "payment_id": payment_id,
                "merchant_id": payment.merchant_id,
                "kind": "inquire",
                "req_id": None,
                "amount": 0,
                "currency": payment.currency,
                "request": {"operation": "inquire", "fields": {"trans_id": payment.trans_id, "pay_id": payment.pay_id}},
                "outcome": "succeeded" if totals is not None else "declined",
                "code": code,
                "error": note,
                "attempts": 1,
                "created_at": when,
                "sent_at": when,
                "settled_at": when,
                "updated_at": when,
            },
        )
        if settles is not None:
            queries.update_operation(
                conn,
                settles,
                {
                    "outcome": "succeeded",
                    "settled_at": when,
                    "updated_at": when,
                    "attention": None,
                    "error": f"settled by inquiry (operation {inquiry_id})",
                },
            )
        if totals is None:
            return None
        decision = decide(books_of(payment), Fact("inquired", "inquiry", inquired=totals))
        apply_decision(conn, payment, decision, cause="inquiry", when=when, operation_id=settles)
        return decision


# -- people's views -----------------------------------------------------------------------------


def payment_messages(store: Store, payment_id: int) -> list[dict[str, Any]]:
    """The messages matched to a payment, for ``ledger show`` (no body, no decoded fields)."""
    with store.read() as conn:
        return [
            {
                "id": m.id,
                "source": m.source,
                "state": m.state,
                "dedup_key": m.dedup_key,
                "verification": m.verification,
                "attempts": m.attempts,
                "received_at": m.received_at.isoformat(),
                "pruned": m.pruned_at is not None,
            }
            for m in queries.messages_of(conn, payment_id)
        ]


def prune(store: Store, older_than: datetime) -> tuple[int, int]:
    """Delete personal data older than ``older_than``: message bodies and decoded fields, and
    the payer's e-mail and id of payments unchanged since then. Money records stay. Returns
    (messages pruned, payments pruned)."""
    when = now()
    with store.write() as conn:
        messages = queries.prune_messages(conn, older_than, when)
        payments = queries.prune_payers(conn, older_than)
        return messages, payments
