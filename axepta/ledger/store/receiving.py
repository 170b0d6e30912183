"""The receiving side's SQL: messages, events (the outbox) and accounts. Each function takes a
``Connection`` inside a unit of work of :class:`axepta.ledger.store.Store`; nothing here commits.

Claims (events to deliver, IPN to verify) are leases: a claimer sets ``lease_owner`` and
``lease_until``; work whose lease expired returns to the pool. On PostgreSQL the candidates are
selected ``FOR UPDATE SKIP LOCKED`` (two workers never wait on, nor take, the same row); SQLite's
``BEGIN IMMEDIATE`` already serialises the claimers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from axepta.ledger.store.queries import insert_ignore, insert_row
from axepta.ledger.store.schema import (
    ACCOUNT_ENTRIES,
    ACCOUNT_LINKS,
    ACCOUNTS,
    EVENTS,
    MESSAGES,
    OPERATIONS,
    PAYMENT_IDS,
    PAYMENTS,
)

__all__ = [
    "account_for_email",
    "account_exists",
    "add_payment_ids",
    "balance",
    "claim_events",
    "claim_messages",
    "ensure_account",
    "entries_of",
    "event_by_id",
    "finish_event",
    "follow_ups_of",
    "insert_entry",
    "insert_message",
    "insert_message_once",
    "link_email",
    "list_events",
    "list_messages",
    "message_by_id",
    "message_by_key",
    "operation_amount",
    "payments_by_paypal_id",
    "payout_by_unique_id",
    "refund_ids_of",
    "set_message_key",
    "topup_entry",
    "update_message",
]


# -- messages -----------------------------------------------------------------------------


def insert_message(conn: Connection, values: Mapping[str, Any]) -> int:
    """A message without a key (not authenticated yet, or rejected)."""
    return insert_row(conn, MESSAGES, values)


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(conn: Connection, name: str) -> Any:
    """A statement built once per dialect, executed with its parameters apart (SQLAlchemy then
    reuses its compiled form: building ``insert().values(**row)`` anew for every message cost
    more than the database's own work)."""
    dialect = conn.dialect.name
    stmt = _STATEMENTS.get((dialect, name))
    if stmt is None:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        if name == "message_once":
            stmt = (insert(MESSAGES).on_conflict_do_nothing(index_elements=["merchant_id", "source", "dedup_key"])
                    .returning(MESSAGES.c.id))
        elif name == "payment_id":
            stmt = insert(PAYMENT_IDS).on_conflict_do_nothing(index_elements=["payment_id", "kind", "value"])
        else:  # pragma: no cover - a programming error
            raise KeyError(name)
        _STATEMENTS[(dialect, name)] = stmt
    return stmt


_MESSAGE_COLUMNS = tuple(c.name for c in MESSAGES.columns if c.name != "id")


def insert_message_once(conn: Connection, values: Mapping[str, Any]) -> int | None:
    """Insert a keyed message unless its (merchant, source, key) is stored; its id, or ``None``
    when another delivery holds the key (on PostgreSQL this waits for that delivery's
    transaction to end: the unique index, not a lookup, stops the duplicate)."""
    params = {name: values.get(name) for name in _MESSAGE_COLUMNS}
    params["attempts"] = values.get("attempts", 0)
    row = conn.execute(_statement(conn, "message_once"), params).first()
    return None if row is None else int(row.id)


def add_payment_ids(
    conn: Connection, payment_id: int, ids: Sequence[tuple[str, str]], source: str, now: datetime
) -> None:
    """Keep PayPal ids (kind, value) reported for a payment, each once, in one statement."""
    if ids:
        conn.execute(_statement(conn, "payment_id"), [
            {"payment_id": payment_id, "kind": kind, "value": value, "source": source, "operation_id": None,
             "created_at": now}
            for kind, value in ids
        ])


def message_by_key(
    conn: Connection, merchant_id: str, source: str, key: str, *, lock: bool = False
) -> Row[Any] | None:
    query = select(MESSAGES).where(
        MESSAGES.c.merchant_id == merchant_id, MESSAGES.c.source == source, MESSAGES.c.dedup_key == key
    )
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def message_by_id(conn: Connection, message_id: int, *, lock: bool = False) -> Row[Any] | None:
    query = select(MESSAGES).where(MESSAGES.c.id == message_id)
    if lock:
        query = query.with_for_update()
    return conn.execute(query).first()


def update_message(conn: Connection, message_id: int, values: Mapping[str, Any]) -> None:
    conn.execute(update(MESSAGES).where(MESSAGES.c.id == message_id).values(**values))


def set_message_key(conn: Connection, message_id: int, key: str) -> bool:
    """Give a message its key once it is authenticated (a verified IPN); ``False`` when another
    message of the same merchant and source holds it (a savepoint keeps the transaction alive)."""
    try:
        with conn.begin_nested():
            conn.execute(update(MESSAGES).where(MESSAGES.c.id == message_id).values(dedup_key=key))
    except IntegrityError:
        return False
    return True


def list_messages(
    conn: Connection,
    *,
    states: Iterable[str] | None = None,
    source: str | None = None,
    reason_prefix: str | None = None,
    limit: int = 100,
) -> list[Row[Any]]:
    """Newest first."""
    query = select(MESSAGES)
    if states is not None:
        query = query.where(MESSAGES.c.state.in_(list(states)))
    if source is not None:
        query = query.where(MESSAGES.c.source == source)
    if reason_prefix is not None:
        query = query.where(MESSAGES.c.reason.startswith(reason_prefix, autoescape=True))
    return list(conn.execute(query.order_by(MESSAGES.c.id.desc()).limit(limit)))


def _claimable(table: Any, now: datetime) -> Any:
    return and_(
        or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now),
        or_(table.c.lease_until.is_(None), table.c.lease_until < now),
    )


def _claim(conn: Connection, table: Any, where: Any, *, owner: str, until: datetime, limit: int) -> list[Row[Any]]:
    query = select(table.c.id).where(where).order_by(table.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [row.id for row in conn.execute(query)]
    if not ids:
        return []
    conn.execute(update(table).where(table.c.id.in_(ids)).values(lease_owner=owner, lease_until=until))
    return list(conn.execute(select(table).where(table.c.id.in_(ids)).order_by(table.c.id)))


def claim_messages(
    conn: Connection, *, sources: Sequence[str], states: Sequence[str], now: datetime, owner: str,
    until: datetime, limit: int,
) -> list[Row[Any]]:
    """Lease messages in ``states`` whose next attempt is due and whose lease is free or expired."""
    where = and_(MESSAGES.c.source.in_(list(sources)), MESSAGES.c.state.in_(list(states)), _claimable(MESSAGES, now))
    return _claim(conn, MESSAGES, where, owner=owner, until=until, limit=limit)


# -- events -------------------------------------------------------------------------------


def claim_events(
    conn: Connection, *, kinds: Sequence[str] | None, now: datetime, owner: str, until: datetime, limit: int
) -> list[Row[Any]]:
    """Lease pending events that are due (of ``kinds``; all when ``None``), oldest first."""
    where = and_(EVENTS.c.state == "pending", _claimable(EVENTS, now))
    if kinds is not None:
        where = and_(where, EVENTS.c.kind.in_(list(kinds)))
    return _claim(conn, EVENTS, where, owner=owner, until=until, limit=limit)


def event_by_id(conn: Connection, event_id: int) -> Row[Any] | None:
    return conn.execute(select(EVENTS).where(EVENTS.c.id == event_id)).first()


def finish_event(conn: Connection, event_id: int, owner: str, values: Mapping[str, Any]) -> bool:
    """Record a delivery attempt of an event this owner still holds; ``False`` when the lease
    was lost (another worker took the event after it expired: it delivers it again)."""
    result = conn.execute(
        update(EVENTS)
        .where(EVENTS.c.id == event_id, EVENTS.c.lease_owner == owner, EVENTS.c.state == "pending")
        .values(lease_owner=None, lease_until=None, **values)
    )
    return bool(result.rowcount)


def list_events(conn: Connection, *, states: Iterable[str] | None = None, limit: int = 100) -> list[Row[Any]]:
    """Newest first, with the payment's ``trans_id``."""
    query = select(EVENTS, PAYMENTS.c.trans_id).select_from(
        EVENTS.outerjoin(PAYMENTS, EVENTS.c.payment_id == PAYMENTS.c.id)
    )
    if states is not None:
        query = query.where(EVENTS.c.state.in_(list(states)))
    return list(conn.execute(query.order_by(EVENTS.c.id.desc()).limit(limit)))


# -- matching an IPN to a payment (PROTOCOL.md §9.9) -----------------------------------------


def payments_by_paypal_id(conn: Connection, value: str, *, kinds: Sequence[str] | None = None) -> list[int]:
    """Payments holding ``value`` as a PayPal id (``axepta_payment_ids``) or as the ``tid`` of one
    of their operations (capture, credit, authorisation replies)."""
    ids_query = select(PAYMENT_IDS.c.payment_id).where(PAYMENT_IDS.c.value == value)
    if kinds is not None:
        ids_query = ids_query.where(PAYMENT_IDS.c.kind.in_(list(kinds)))
    found = {int(r.payment_id) for r in conn.execute(ids_query)}
    if kinds is None:
        ops = select(OPERATIONS.c.payment_id).where(OPERATIONS.c.tid == value)
        found |= {int(r.payment_id) for r in conn.execute(ops)}
    return sorted(found)


def payout_by_unique_id(conn: Connection, unique_id: str) -> list[int]:
    """``creditex`` payouts whose ``TransID``, else ``RefNr``, equals a Mass Pay ``unique_id``."""
    for column in (PAYMENTS.c.trans_id, PAYMENTS.c.ref_nr):
        query = select(PAYMENTS.c.id).where(PAYMENTS.c.kind == "payout", column == unique_id)
        rows = [int(r.id) for r in conn.execute(query)]
        if rows:
            return rows
    return []


def operation_amount(conn: Connection, payment_id: int, tid: str) -> int | None:
    """The amount of this payment's succeeded operation whose reply reported ``tid`` (a capture,
    an authorisation, a reference transaction), or ``None``."""
    query = select(OPERATIONS.c.amount).where(
        OPERATIONS.c.payment_id == payment_id, OPERATIONS.c.tid == tid, OPERATIONS.c.outcome == "succeeded",
        OPERATIONS.c.kind.in_(["capture", "authorize", "complete", "reftrans", "paypal_order"]),
    ).order_by(OPERATIONS.c.id.desc()).limit(1)
    amount = conn.execute(query).scalar_one_or_none()
    return None if amount is None else int(amount)


def refund_ids_of(conn: Connection, payment_id: int) -> frozenset[str]:
    """PayPal ids of the shop's own successful credits on this payment."""
    query = select(OPERATIONS.c.tid).where(
        OPERATIONS.c.payment_id == payment_id, OPERATIONS.c.kind == "credit", OPERATIONS.c.outcome == "succeeded",
        OPERATIONS.c.tid.is_not(None),
    )
    return frozenset(str(r.tid) for r in conn.execute(query))


# -- accounts -----------------------------------------------------------------------------


def ensure_account(conn: Connection, account: str, now: datetime) -> None:
    insert_ignore(conn, ACCOUNTS, {"account": account, "created_at": now}, ("account",))


def account_exists(conn: Connection, account: str) -> bool:
    return conn.execute(select(ACCOUNTS.c.account).where(ACCOUNTS.c.account == account)).first() is not None


def account_for_email(conn: Connection, email: str) -> str | None:
    row = conn.execute(select(ACCOUNT_LINKS.c.account).where(ACCOUNT_LINKS.c.email == email)).first()
    return None if row is None else str(row.account)


def link_email(conn: Connection, email: str, account: str, now: datetime) -> str | None:
    """Link ``email`` (normalised by the caller) to ``account``; returns the account it was
    already linked to, if another (then nothing changes)."""
    ensure_account(conn, account, now)
    if insert_ignore(conn, ACCOUNT_LINKS, {"email": email, "account": account, "created_at": now}, ("email",)):
        return None
    current = account_for_email(conn, email)
    return None if current == account else current


def insert_entry(conn: Connection, values: Mapping[str, Any]) -> bool:
    """One entry per cause message (a redelivery never credits twice)."""
    return insert_ignore(conn, ACCOUNT_ENTRIES, values, ("cause_message_id",))


def balance(conn: Connection, account: str, currency: str) -> int:
    query = select(func.coalesce(func.sum(ACCOUNT_ENTRIES.c.amount), 0)).where(
        ACCOUNT_ENTRIES.c.account == account, ACCOUNT_ENTRIES.c.currency == currency
    )
    return int(conn.execute(query).scalar_one())


def entries_of(conn: Connection, account: str) -> list[Row[Any]]:
    query = select(ACCOUNT_ENTRIES).where(ACCOUNT_ENTRIES.c.account == account).order_by(ACCOUNT_ENTRIES.c.id)
    return list(conn.execute(query))


def topup_entry(conn: Connection, txn_id: str) -> Row[Any] | None:
    """The top-up entry credited for PayPal transaction ``txn_id``."""
    query = select(ACCOUNT_ENTRIES).where(ACCOUNT_ENTRIES.c.txn_id == txn_id, ACCOUNT_ENTRIES.c.kind == "topup")
    return conn.execute(query.order_by(ACCOUNT_ENTRIES.c.id).limit(1)).first()


def follow_ups_of(conn: Connection, account: str, parent_txn_id: str) -> list[Any]:
    """Refunds, reversals and cancelled reversals entered for the top-up ``parent_txn_id`` (the
    entry's cause message names it as ``parent_txn_id``)."""
    query = (
        select(ACCOUNT_ENTRIES.c.amount, ACCOUNT_ENTRIES.c.kind, MESSAGES.c.fields)
        .select_from(ACCOUNT_ENTRIES.join(MESSAGES, ACCOUNT_ENTRIES.c.cause_message_id == MESSAGES.c.id))
        .where(ACCOUNT_ENTRIES.c.account == account, ACCOUNT_ENTRIES.c.kind != "topup")
    )
    out: list[Any] = []
    for row in conn.execute(query):
        fields = row.fields or {}
        parent = (fields.get("parent_txn_id") or {}).get("value")
        if parent == parent_txn_id:
            out.append(row)
    return out
