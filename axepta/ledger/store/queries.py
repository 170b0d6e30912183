"""The books' SQL, named, in one catalogue (each function takes a ``Connection`` inside a unit
of work opened by :class:`axepta.ledger.store.Store`). Nothing here commits: the unit does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from axepta.ledger.store.schema import (
    EVENTS,
    MESSAGES,
    OPERATIONS,
    PAYMENT_IDS,
    PAYMENTS,
    TRANSITIONS,
)

__all__ = [
    "add_payment_id",
    "insert_event",
    "insert_operation",
    "insert_payment",
    "insert_row",
    "insert_transition",
    "list_payments",
    "lock_payment",
    "messages_of",
    "operation_by_id",
    "operation_by_req_id",
    "operations_of",
    "payment_by",
    "payment_by_id",
    "payment_by_trans_id_any",
    "payment_ids_of",
    "pending_amount",
    "prune_messages",
    "prune_payers",
    "settle_operation",
    "stale_payments",
    "transitions_of",
    "update_row",
    "unsettled_operations",
    "update_operation",
    "update_payment",
]


# Statements are built once and reused (the columns come from each call's parameters): the
# journal runs a few of them around every client call, and building a statement costs more
# than executing it.


@cache
def _insert(table: Table) -> Any:
    return insert(table).returning(table.c.id)


@cache
def _insert_ignore(dialect: str, table: Table, keys: tuple[str, ...]) -> Any:
    stmt: Any = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    key = next(iter(table.primary_key.columns))
    return stmt.on_conflict_do_nothing(index_elements=list(keys)).returning(key)


@cache
def _update_by_id(table: Table) -> Any:
    return update(table).where(table.c.id == bindparam("pk_"))


@cache
def _select_by(table: Table, columns: tuple[str, ...], lock: bool) -> Any:
    query = select(table).where(*(table.c[name] == bindparam(f"{name}_") for name in columns))
    return query.with_for_update() if lock else query


def _one(conn: Connection, table: Table, lock: bool = False, **where: Any) -> Row[Any] | None:
    stmt = _select_by(table, tuple(where), lock)
    return conn.execute(stmt, {f"{name}_": value for name, value in where.items()}).first()


def insert_row(conn: Connection, table: Table, values: Mapping[str, Any]) -> int:
    """Insert one row and return its ``id``."""
    return int(conn.execute(_insert(table), dict(values)).scalar_one())


def update_row(conn: Connection, table: Table, row_id: int, values: Mapping[str, Any]) -> None:
    """Update the row ``row_id`` of ``table`` (plain values only)."""
    conn.execute(_update_by_id(table), {"pk_": row_id, **values})


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any], keys: Sequence[str]) -> bool:
    """Insert unless a row with the same unique ``keys`` exists (no error, no abort of the
    transaction on PostgreSQL); ``True`` when inserted."""
    stmt = _insert_ignore(conn.dialect.name, table, tuple(keys))
    return conn.execute(stmt, dict(values)).first() is not None


# -- payments -----------------------------------------------------------------------------


def payment_by(
    conn: Connection,
    merchant_id: str,
    *,
    trans_id: str | None = None,
    pay_id: str | None = None,
    lock: bool = False,
) -> Row[Any] | None:
    """The payment with this ``pay_id`` (preferred) or ``trans_id``; ``lock`` takes the row
    lock (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises writers)."""
    if pay_id is not None:
        return _one(conn, PAYMENTS, lock, merchant_id=merchant_id, pay_id=pay_id)
    if trans_id is not None:
        return _one(conn, PAYMENTS, lock, merchant_id=merchant_id, trans_id=trans_id)
    raise ValueError("payment_by: trans_id or pay_id")


def payment_by_trans_id_any(conn: Connection, trans_id: str, merchant_id: str | None) -> Row[Any] | None:
    """The payment with ``trans_id`` of ``merchant_id``, or of any merchant (the newest)."""
    query = select(PAYMENTS).where(PAYMENTS.c.trans_id == trans_id)
    if merchant_id is not None:
        query = query.where(PAYMENTS.c.merchant_id == merchant_id)
    return conn.execute(query.order_by(PAYMENTS.c.id.desc()).limit(1)).first()


def payment_by_id(conn: Connection, payment_id: int, *, lock: bool = False) -> Row[Any] | None:
    return _one(conn, PAYMENTS, lock, id=payment_id)


def lock_payment(conn: Connection, payment_id: int) -> Row[Any]:
    """Re-read a payment under its row lock (one writer per payment)."""
    row = payment_by_id(conn, payment_id, lock=True)
    if row is None:
        raise LookupError(f"payment {payment_id} vanished")
    return row


def insert_payment(conn: Connection, values: Mapping[str, Any]) -> int:
    return insert_row(conn, PAYMENTS, values)


def update_payment(conn: Connection, payment_id: int, values: Mapping[str, Any]) -> None:
    update_row(conn, PAYMENTS, payment_id, values)


def list_payments(
    conn: Connection,
    *,
    states: Iterable[str] | None = None,
    merchant_id: str | None = None,
    limit: int = 100,
) -> list[Row[Any]]:
    """Newest first."""
    query = select(PAYMENTS)
    if states is not None:
        query = query.where(PAYMENTS.c.state.in_(list(states)))
    if merchant_id is not None:
        query = query.where(PAYMENTS.c.merchant_id == merchant_id)
    query = query.order_by(PAYMENTS.c.created_at.desc(), PAYMENTS.c.id.desc()).limit(limit)
    return list(conn.execute(query))


def stale_payments(conn: Connection, states: Iterable[str], older_than: datetime) -> list[Row[Any]]:
    """Payments in ``states`` unchanged since ``older_than``, oldest first."""
    query = (
        select(PAYMENTS)
        .where(PAYMENTS.c.state.in_(list(states)), PAYMENTS.c.updated_at < older_than)
        .order_by(PAYMENTS.c.updated_at, PAYMENTS.c.id)
    )
    return list(conn.execute(query))


def add_payment_id(
    conn: Connection,
    payment_id: int,
    kind: str,
    value: str,
    source: str,
    now: datetime,
    operation_id: int | None = None,
) -> None:
    insert_ignore(
        conn,
        PAYMENT_IDS,
        {
            "payment_id": payment_id,
            "kind": kind,
            "value": value,
            "source": source,
            "operation_id": operation_id,
            "created_at": now,
        },
        ("payment_id", "kind", "value"),
    )


def payment_ids_of(conn: Connection, payment_id: int) -> list[Row[Any]]:
    query = select(PAYMENT_IDS).where(PAYMENT_IDS.c.payment_id == payment_id).order_by(PAYMENT_IDS.c.id)
    return list(conn.execute(query))


# -- operations ---------------------------------------------------------------------------


def insert_operation(conn: Connection, values: Mapping[str, Any]) -> int:
    return insert_row(conn, OPERATIONS, values)


def operation_by_id(conn: Connection, operation_id: int, *, lock: bool = False) -> Row[Any] | None:
    return _one(conn, OPERATIONS, lock, id=operation_id)


def operation_by_req_id(conn: Connection, merchant_id: str, req_id: str) -> Row[Any] | None:
    return _one(conn, OPERATIONS, merchant_id=merchant_id, req_id=req_id)


def update_operation(conn: Connection, operation_id: int, values: Mapping[str, Any]) -> None:
    update_row(conn, OPERATIONS, operation_id, values)


@cache
def _settle_statement(columns: tuple[str, ...]) -> Any:
    return (
        update(OPERATIONS)
        .where(OPERATIONS.c.id == bindparam("pk_"), OPERATIONS.c.outcome.not_in(("succeeded", "declined")))
        .values(attempts=OPERATIONS.c.attempts + 1, **{name: bindparam(name) for name in columns})
        .returning(OPERATIONS.c.id)
    )


def settle_operation(conn: Connection, operation_id: int, values: Mapping[str, Any]) -> bool:
    """Write an operation's outcome unless it is settled already (then ``False``: count once);
    one more attempt is counted."""
    stmt = _settle_statement(tuple(sorted(values)))
    return conn.execute(stmt, {"pk_": operation_id, **values}).first() is not None


def operations_of(conn: Connection, payment_id: int) -> list[Row[Any]]:
    query = select(OPERATIONS).where(OPERATIONS.c.payment_id == payment_id).order_by(OPERATIONS.c.id)
    return list(conn.execute(query))


@cache
def _pending_statement() -> Any:
    return select(func.coalesce(func.sum(OPERATIONS.c.amount), 0)).where(
        OPERATIONS.c.payment_id == bindparam("pk_"),
        OPERATIONS.c.kind == bindparam("kind_"),
        OPERATIONS.c.outcome.in_(("intent", "sent", "unknown")),
    )


def pending_amount(conn: Connection, payment_id: int, kind: str) -> int:
    """What operations of ``kind`` still in flight (intent, sent, unknown) may add."""
    return int(conn.execute(_pending_statement(), {"pk_": payment_id, "kind_": kind}).scalar_one())


def unsettled_operations(conn: Connection, older_than: datetime) -> list[Row[Any]]:
    """Operations left ``intent``/``sent``/``unknown`` and created before ``older_than``."""
    query = (
        select(OPERATIONS)
        .where(
            OPERATIONS.c.outcome.in_(("intent", "sent", "unknown")),
            OPERATIONS.c.created_at < older_than,
            OPERATIONS.c.kind != "inquire",
        )
        .order_by(OPERATIONS.c.id)
    )
    return list(conn.execute(query))


# -- transitions, events, messages --------------------------------------------------------


def insert_transition(conn: Connection, values: Mapping[str, Any]) -> int:
    return insert_row(conn, TRANSITIONS, values)


def transitions_of(conn: Connection, payment_id: int) -> list[Row[Any]]:
    query = select(TRANSITIONS).where(TRANSITIONS.c.payment_id == payment_id).order_by(TRANSITIONS.c.id)
    return list(conn.execute(query))


def insert_event(
    conn: Connection,
    *,
    kind: str,
    cause: str,
    payment_id: int | None,
    payload: Mapping[str, Any],
    now: datetime,
    account: str | None = None,
) -> bool:
    """Write an event unless one with this (kind, cause) exists; ``True`` when written."""
    return insert_ignore(
        conn,
        EVENTS,
        {
            "kind": kind,
            "cause": cause,
            "payment_id": payment_id,
            "account": account,
            "payload": dict(payload),
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        },
        ("kind", "cause"),
    )


def messages_of(conn: Connection, payment_id: int) -> list[Row[Any]]:
    query = select(MESSAGES).where(MESSAGES.c.payment_id == payment_id).order_by(MESSAGES.c.id)
    return list(conn.execute(query))


def prune_messages(conn: Connection, older_than: datetime, now: datetime) -> int:
    """Drop the bodies and decoded fields (personal data) of messages received before
    ``older_than``; the rows, their states and the payments' money records stay."""
    result = conn.execute(
        update(MESSAGES)
        .where(
            MESSAGES.c.received_at < older_than,
            or_(MESSAGES.c.body.is_not(None), MESSAGES.c.fields.is_not(None)),
        )
        .values(body=None, fields=None, pruned_at=now)
    )
    return int(result.rowcount)


def prune_payers(conn: Connection, older_than: datetime) -> int:
    """Forget the payer's e-mail and id of payments unchanged since ``older_than``."""
    result = conn.execute(
        update(PAYMENTS)
        .where(
            PAYMENTS.c.updated_at < older_than,
            or_(PAYMENTS.c.payer_email.is_not(None), PAYMENTS.c.payer_id.is_not(None)),
        )
        .values(payer_email=None, payer_id=None)
    )
    return int(result.rowcount)


def count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def delete_all(conn: Connection, table: Table) -> None:
    conn.execute(delete(table))
