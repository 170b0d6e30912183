"""Queries for people browsing the books (the administrator's pages): search with paging, the
inbox of messages that need a look, and account balances. Read-only; each takes a ``Connection``
inside a unit of work opened by :class:`axepta.ledger.store.Store`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, func, or_, select

from axepta.ledger.store.schema import ACCOUNT_ENTRIES, ACCOUNT_LINKS, MESSAGES, PAYMENTS

__all__ = [
    "account_entries",
    "account_links",
    "balances",
    "message_by_id",
    "messages_in",
    "search_payments",
]


def search_payments(
    conn: Connection,
    *,
    states: Iterable[str] | None,
    text: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Row[Any]], int]:
    """Payments newest first, one page of them, and how many match in all. ``text`` matches a
    ``TransID``, ``PayID`` or ``RefNr`` exactly, or the payer's e-mail case-insensitively."""
    where: list[ColumnElement[bool]] = []
    if states is not None:
        where.append(PAYMENTS.c.state.in_(list(states)))
    if text:
        where.append(
            or_(
                PAYMENTS.c.trans_id == text,
                PAYMENTS.c.pay_id == text,
                PAYMENTS.c.ref_nr == text,
                func.lower(PAYMENTS.c.payer_email) == text.lower(),
            )
        )
    total = conn.execute(select(func.count()).select_from(PAYMENTS).where(*where)).scalar_one()
    rows = conn.execute(
        select(PAYMENTS)
        .where(*where)
        .order_by(PAYMENTS.c.created_at.desc(), PAYMENTS.c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), int(total)


def messages_in(
    conn: Connection, *, states: Iterable[str], offset: int, limit: int
) -> tuple[list[Row[Any]], int]:
    """Messages in ``states``, newest first, one page, and the total."""
    where = [MESSAGES.c.state.in_(list(states))]
    total = conn.execute(select(func.count()).select_from(MESSAGES).where(*where)).scalar_one()
    rows = conn.execute(
        select(MESSAGES).where(*where).order_by(MESSAGES.c.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), int(total)


def message_by_id(conn: Connection, message_id: int) -> Row[Any] | None:
    return conn.execute(select(MESSAGES).where(MESSAGES.c.id == message_id)).first()


def balances(conn: Connection) -> list[Row[Any]]:
    """One row per (account, currency): the balance and the number of entries."""
    query = (
        select(
            ACCOUNT_ENTRIES.c.account,
            ACCOUNT_ENTRIES.c.currency,
            func.sum(ACCOUNT_ENTRIES.c.amount).label("balance"),
            func.count().label("entries"),
        )
        .group_by(ACCOUNT_ENTRIES.c.account, ACCOUNT_ENTRIES.c.currency)
        .order_by(ACCOUNT_ENTRIES.c.account, ACCOUNT_ENTRIES.c.currency)
    )
    return list(conn.execute(query))


def account_entries(conn: Connection, *, limit: int) -> list[Row[Any]]:
    """The newest entries of every account."""
    query = select(ACCOUNT_ENTRIES).order_by(ACCOUNT_ENTRIES.c.id.desc()).limit(limit)
    return list(conn.execute(query))


def account_links(conn: Connection) -> list[Row[Any]]:
    query = select(ACCOUNT_LINKS).order_by(ACCOUNT_LINKS.c.account, ACCOUNT_LINKS.c.email)
    return list(conn.execute(query))
