"""The express lane of a notification: the common case (a new result that moves a payment the
books hold) written without SQLAlchemy's per-statement work and, on PostgreSQL, in two round
trips instead of ten.

PostgreSQL (:class:`PostgresLane`): the general unit (``BEGIN``, the payment locked, the
message, the payment, its transition, its event, its ids, ``COMMIT``) costs ten round trips and
about 2.8 ms of client CPU; the lane needs two statements, each in autocommit:

1. :meth:`~PostgresLane.read`: the payment by its MAC-bound ``TransID``, whether the message's
   key is already stored, and two ids drawn from the sequences of messages and transitions;
2. :meth:`~PostgresLane.write`: writable CTEs that update the payment *only if* it still holds
   what was read (every column the decision read), and, chained on that update's ``RETURNING``,
   insert the message, the transition, the events and the PayPal ids. Either all of it is
   written or none of it.

When the payment changed in between (the guard matches no row), another delivery stored the
same key first (the message's unique index raises) or the PayID learnt is another payment's,
nothing is written and ``write`` returns ``False``: the caller then runs the general unit, which
decides again under the row lock.

SQLite (:class:`SqliteLane`): one ``BEGIN IMMEDIATE`` transaction from the read to the write
(the write lock is held throughout, so no guard is needed), the same rows through sqlite3.

Money is decided by the same pure state machine either way; this module only carries values.
Statements go straight to the driver of the connection the store keeps for the thread
(:meth:`Store.express`); psycopg prepares them on the server after a few executions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from axepta.ledger.machine import Decision
from axepta.ledger.store.schema import PAYMENTS
from axepta.ledger.store.units import event_payload

__all__ = ["Effects", "Found", "Lane", "PostgresLane", "SqliteLane", "unavailable"]

_PAYMENT_COLUMNS = tuple(c.name for c in PAYMENTS.columns)
_TIMES = ("created_at", "updated_at")

#: every column a notification's decision reads (the guard of ``_WRITE`` names each) (the state machine's books, the PayID check,
#: the fact's inputs), and ``updated_at``: the write happens only if none of them changed
GUARD = (
    "state", "amount", "amount_authorized", "amount_captured", "amount_refunded", "charged_back",
    "capture", "tx_type", "paypal_method", "pay_id", "updated_at",
)  # fmt: skip

_READ = """
SELECT p.*,
       EXISTS (SELECT 1 FROM axepta_messages m
               WHERE m.merchant_id = %(merchant_id)s AND m.source = 'axepta' AND m.dedup_key = %(key)s) AS seen_,
       nextval(pg_get_serial_sequence('axepta_messages', 'id')) AS message_id_,
       nextval(pg_get_serial_sequence('axepta_transitions', 'id')) AS transition_id_
FROM axepta_payments p
WHERE p.merchant_id = %(merchant_id)s AND p.trans_id = %(trans_id)s
"""

_WRITE = """
WITH p AS (
    UPDATE axepta_payments
    SET state = %(state)s, amount_authorized = %(amount_authorized)s, amount_captured = %(amount_captured)s,
        amount_refunded = %(amount_refunded)s, charged_back = COALESCE(%(charged_back)s, charged_back),
        attention = COALESCE(%(note)s, attention), pay_id = COALESCE(pay_id, %(pay_id)s), updated_at = %(when)s
    WHERE id = %(payment_id)s AND state = %(was_state)s AND amount = %(was_amount)s
      AND amount_authorized = %(was_amount_authorized)s AND amount_captured = %(was_amount_captured)s
      AND amount_refunded = %(was_amount_refunded)s AND charged_back = %(was_charged_back)s
      AND updated_at = %(was_updated_at)s AND capture IS NOT DISTINCT FROM %(was_capture)s
      AND tx_type IS NOT DISTINCT FROM %(was_tx_type)s AND paypal_method IS NOT DISTINCT FROM %(was_paypal_method)s
      AND pay_id IS NOT DISTINCT FROM %(was_pay_id)s
    RETURNING id
), m AS (
    INSERT INTO axepta_messages (id, merchant_id, source, dedup_key, body, verification, reason, fields,
                                 payment_id, state, attempts, received_at, updated_at)
    SELECT %(message_id)s, %(merchant_id)s, 'axepta', %(key)s, %(body)s, 'authenticated', %(note)s, %(fields)s,
           p.id, %(outcome)s, 1, %(when)s, %(when)s
    FROM p
    RETURNING id
), t AS (
    INSERT INTO axepta_transitions (id, payment_id, from_state, to_state, delta_authorized, delta_captured,
                                    delta_refunded, cause, message_id, note, created_at)
    SELECT %(transition_id)s, %(payment_id)s, %(was_state)s, %(state)s, %(delta_authorized)s, %(delta_captured)s,
           %(delta_refunded)s, 'message', m.id, %(note)s, %(when)s
    FROM m
    RETURNING id
), e AS (
    INSERT INTO axepta_events (kind, cause, payment_id, payload, state, attempts, created_at, next_attempt_at)
    SELECT k.kind, %(cause)s, %(payment_id)s, %(payload)s, 'pending', 0, %(when)s, %(when)s
    FROM t, unnest(%(kinds)s::text[]) AS k(kind)
    ON CONFLICT (kind, cause) DO NOTHING
), i AS (
    INSERT INTO axepta_payment_ids (payment_id, kind, value, source, created_at)
    SELECT %(payment_id)s, u.kind, u.value, 'notification', %(when)s
    FROM t, unnest(%(id_kinds)s::text[], %(id_values)s::text[]) AS u(kind, value)
    ON CONFLICT (payment_id, kind, value) DO NOTHING
)
SELECT count(*) FROM t
"""


@dataclass(frozen=True, slots=True)
class Found:
    """What :meth:`Lane.read` found: the payment (attribute access, as a SQLAlchemy row), whether
    the message's key is stored already, and the ids the write will use."""

    payment: Any
    seen: bool
    message_id: int
    transition_id: int


class _Row:
    """A payment row read by the driver: columns as attributes."""

    __slots__ = _PAYMENT_COLUMNS

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name in _PAYMENT_COLUMNS:
            object.__setattr__(self, name, values[name])


@dataclass(frozen=True, slots=True)
class Effects:
    """What a notification writes: its message, the decision of the pure state machine (the
    payment's new totals, its transition and events), a PayID it learns and the PayPal ids it
    reports. The lane only carries it."""

    key: str
    body: bytes
    fields: Mapping[str, Any]
    decision: Decision
    pay_id: str | None  # a PayID the payment learns (None: keeps its own)
    ids: Sequence[tuple[str, str]]  # PayPal ids reported (kind, value)
    when: datetime


def _params(found: Found, fx: Effects) -> dict[str, Any]:
    payment, decision = found.payment, fx.decision
    params: dict[str, Any] = {f"was_{name}": getattr(payment, name) for name in GUARD}
    params.update(
        payment_id=payment.id, merchant_id=payment.merchant_id, key=fx.key, body=fx.body,
        outcome=decision.verdict, note=decision.note or None, state=decision.state, when=fx.when,
        amount_authorized=payment.amount_authorized + decision.delta_authorized,
        amount_captured=payment.amount_captured + decision.delta_captured,
        amount_refunded=payment.amount_refunded + decision.delta_refunded,
        delta_authorized=decision.delta_authorized, delta_captured=decision.delta_captured,
        delta_refunded=decision.delta_refunded, charged_back=decision.charged_back, pay_id=fx.pay_id,
        message_id=found.message_id, transition_id=found.transition_id, cause=f"message:{found.message_id}",
    )  # fmt: skip
    return params


def _payload(found: Found, fx: Effects) -> dict[str, Any]:
    return event_payload(found.payment, fx.decision, found.transition_id)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the books cannot be reached or locked now (the database down, a
    lock or pool wait that ran out): then no other attempt in this request can do better."""
    import sqlite3

    from sqlalchemy.exc import OperationalError, TimeoutError

    if isinstance(exc, sqlite3.OperationalError | OperationalError | TimeoutError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg comes with the books
        return False
    return isinstance(exc, psycopg.OperationalError)


class PostgresLane:
    """Two autocommit statements on psycopg (module docstring)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def read(self, merchant_id: str, trans_id: str, key: str) -> Found | None:
        """The payment with this ``TransID`` of ``merchant_id`` and two fresh ids; ``None`` when
        the books hold no such payment."""
        from psycopg.rows import dict_row

        with self.raw.cursor(row_factory=dict_row) as cursor:
            row = cursor.execute(_READ, {"merchant_id": merchant_id, "trans_id": trans_id, "key": key}).fetchone()
        if row is None:
            return None
        for name in _TIMES:  # as the schema's UtcDateTime reads them
            row[name] = row[name].astimezone(UTC)
        return Found(_Row(row), bool(row["seen_"]), int(row["message_id_"]), int(row["transition_id_"]))

    def write(self, found: Found, effects: Effects) -> bool:
        """Everything in one statement; ``False`` (nothing written) when the payment changed
        since :meth:`read`, the key was taken meanwhile or the PayID belongs to another payment."""
        from psycopg import errors
        from psycopg.types.json import Json

        params = _params(found, effects)
        params.update(
            fields=Json(dict(effects.fields)), payload=Json(_payload(found, effects)), kinds=list(effects.decision.events),
            id_kinds=[kind for kind, _ in effects.ids], id_values=[value for _, value in effects.ids],
        )  # fmt: skip
        try:
            with self.raw.cursor() as cursor:
                written = cursor.execute(_WRITE, params).fetchone()
        except errors.UniqueViolation:
            return False  # the key (a delivery at the same moment) or the PayID is taken
        return bool(written and written[0])


# SQLite: one process writes at a time (BEGIN IMMEDIATE), and a statement is a call into the
# library, not a round trip; what costs is SQLAlchemy's work per statement. The lane holds the
# write lock from its read to its write, so no guard is needed; the same rows, through sqlite3.

# max(id)+1 is the rowid SQLite itself would give (the tables have no AUTOINCREMENT: a test in
# tests/test_receive/test_express.py keeps it so), drawn under the write lock the lane holds.
_SQLITE_READ = """
SELECT p.*,
       EXISTS (SELECT 1 FROM axepta_messages m
               WHERE m.merchant_id = :merchant_id AND m.source = 'axepta' AND m.dedup_key = :key) AS seen_,
       (SELECT coalesce(max(id), 0) + 1 FROM axepta_messages) AS message_id_,
       (SELECT coalesce(max(id), 0) + 1 FROM axepta_transitions) AS transition_id_
FROM axepta_payments p
WHERE p.merchant_id = :merchant_id AND p.trans_id = :trans_id
"""

_SQLITE_WRITE = (
    """UPDATE axepta_payments
    SET state = :state, amount_authorized = :amount_authorized, amount_captured = :amount_captured,
        amount_refunded = :amount_refunded, charged_back = COALESCE(:charged_back, charged_back),
        attention = COALESCE(:note, attention), pay_id = COALESCE(pay_id, :pay_id), updated_at = :when
    WHERE id = :payment_id""",
    """INSERT INTO axepta_messages (id, merchant_id, source, dedup_key, body, verification, reason, fields,
                                 payment_id, state, attempts, received_at, updated_at)
    VALUES (:message_id, :merchant_id, 'axepta', :key, :body, 'authenticated', :note, :fields, :payment_id,
            :outcome, 1, :when, :when)""",
    """INSERT INTO axepta_transitions (id, payment_id, from_state, to_state, delta_authorized, delta_captured,
                                    delta_refunded, cause, message_id, note, created_at)
    VALUES (:transition_id, :payment_id, :was_state, :state, :delta_authorized, :delta_captured,
            :delta_refunded, 'message', :message_id, :note, :when)""",
)
_SQLITE_EVENT = """INSERT INTO axepta_events (kind, cause, payment_id, payload, state, attempts, created_at, next_attempt_at)
    VALUES (:kind, :cause, :payment_id, :payload, 'pending', 0, :when, :when)
    ON CONFLICT (kind, cause) DO NOTHING"""
_SQLITE_ID = """INSERT INTO axepta_payment_ids (payment_id, kind, value, source, created_at)
    VALUES (:payment_id, :kind, :value, 'notification', :when)
    ON CONFLICT (payment_id, kind, value) DO NOTHING"""


def _sqlite_time(moment: datetime) -> str:
    """As SQLAlchemy's SQLite ``DateTime`` stores the schema's UTC datetimes."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond:06d}"


def _sqlite_read_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class SqliteLane:
    """One ``BEGIN IMMEDIATE`` transaction from :meth:`read` to :meth:`write` through sqlite3
    (:meth:`close` rolls it back when the caller left before writing)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.open = False

    def read(self, merchant_id: str, trans_id: str, key: str) -> Found | None:
        self.raw.execute("BEGIN IMMEDIATE")
        self.open = True
        cursor = self.raw.execute(_SQLITE_READ, {"merchant_id": merchant_id, "trans_id": trans_id, "key": key})
        values = cursor.fetchone()
        if values is None:
            return None
        row = dict(zip([d[0] for d in cursor.description], values, strict=True))
        for name in _TIMES:
            row[name] = _sqlite_read_time(row[name])
        row["charged_back"] = bool(row["charged_back"])
        return Found(_Row(row), bool(row["seen_"]), int(row["message_id_"]), int(row["transition_id_"]))

    def write(self, found: Found, effects: Effects) -> bool:
        """Everything, then ``COMMIT``; ``False`` (rolled back) when the PayID learnt is another
        payment's."""
        import sqlite3

        params = _params(found, effects)
        when = _sqlite_time(effects.when)
        params.update(
            when=when, charged_back=None if effects.decision.charged_back is None else int(effects.decision.charged_back),
            fields=json.dumps(dict(effects.fields)),
        )
        try:
            for statement in _SQLITE_WRITE:
                self.raw.execute(statement, params)
            payload = json.dumps(_payload(found, effects))
            self.raw.executemany(_SQLITE_EVENT, [
                {"kind": kind, "cause": params["cause"], "payment_id": params["payment_id"], "payload": payload,
                 "when": when} for kind in effects.decision.events
            ])  # fmt: skip
            self.raw.executemany(_SQLITE_ID, [
                {"payment_id": params["payment_id"], "kind": kind, "value": value, "when": when}
                for kind, value in effects.ids
            ])  # fmt: skip
        except sqlite3.IntegrityError:
            self.close()
            return False
        self.raw.execute("COMMIT")
        self.open = False
        return True

    def close(self) -> None:
        if self.open:
            self.open = False
            self.raw.execute("ROLLBACK")


Lane = PostgresLane | SqliteLane
