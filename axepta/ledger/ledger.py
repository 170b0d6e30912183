"""``Ledger``: the books' facade. It drives the store's units of work the way a client drives
``ProtocolCore``: decisions are made by the pure modules (:mod:`.machine`), SQL lives in
:mod:`.store`."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any, Self

from axepta.ledger.machine import GROUPS, STATES
from axepta.ledger.receiving import ReceivingMixin
from axepta.ledger.records import Operation, Payment, PaymentId, Transition
from axepta.ledger.store import Store, queries, redacted_url

__all__ = ["Ledger", "normalise_group"]


def normalise_group(group: str) -> str:
    """``not-finished`` / ``not_finished`` / ``Not-Finished`` → ``not_finished``; an unknown
    group raises ``ValueError`` naming the known ones."""
    key = group.strip().lower().replace("-", "_")
    if key not in GROUPS:
        raise ValueError(f"unknown group {group!r}; known: not-finished, finished, failed")
    return key


def _payment(row: Any) -> Payment:
    return Payment(**{name: getattr(row, name) for name in Payment.__dataclass_fields__})


def _operation(row: Any) -> Operation:
    values = {name: getattr(row, name) for name in Operation.__dataclass_fields__}
    values["request"] = dict(row.request or {})
    return Operation(**values)


def _transition(row: Any) -> Transition:
    return Transition(**{name: getattr(row, name) for name in Transition.__dataclass_fields__})


class Ledger(ReceivingMixin):
    """The books at ``url`` (SQLAlchemy spelling: ``sqlite:///path.db``, ``postgresql://…``);
    ``None`` reads ``AXEPTA_DATABASE_URL``, else ``sqlite:///axepta.db``.

    Opening never touches the database; the first read or write checks the schema and raises
    :class:`~axepta.errors.ConfigurationError` naming ``axepta ledger migrate`` when the books
    are missing or older than the code. A context manager (closing releases the connections)."""

    def __init__(self, url: str | None = None) -> None:
        self._store = Store(url)

    def __repr__(self) -> str:
        return f"Ledger({redacted_url(self._store.url)!r})"

    @property
    def url(self) -> str:
        """The database URL (it may hold a password: show :attr:`redacted_url` instead)."""
        return self._store.url

    @property
    def redacted_url(self) -> str:
        return redacted_url(self._store.url)

    @property
    def store(self) -> Store:
        """The store (units of work) under this facade."""
        return self._store

    def close(self) -> None:
        self._store.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def migrate(self) -> tuple[str | None, str | None]:
        """Create or upgrade the schema (Alembic). Returns the revisions before and after."""
        from axepta.ledger.store import migrate  # Alembic loads only when migrating

        return migrate.upgrade(self._store)

    def revision(self) -> str | None:
        """The schema revision of the database (``None``: no books yet)."""
        return self._store.revision()

    # -- reading ------------------------------------------------------------------------------

    def payment(self, trans_id: str, *, merchant_id: str | None = None) -> Payment | None:
        """The payment with this ``TransID`` (of ``merchant_id`` when given; else the newest)."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            return None if row is None else _payment(row)

    def payments(
        self,
        *,
        group: str | None = None,
        state: str | None = None,
        merchant_id: str | None = None,
        limit: int = 100,
    ) -> list[Payment]:
        """Payments, newest first, filtered by ``group`` (``not_finished``/``not-finished``,
        ``finished``, ``failed``) and/or ``state``."""
        states: Iterable[str] | None = None
        if group is not None:
            states = GROUPS[normalise_group(group)]
        if state is not None:
            if state not in STATES:
                raise ValueError(f"unknown state {state!r}; known: {', '.join(STATES)}")
            states = [s for s in (states or STATES) if s == state]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a positive integer")
        with self._store.read() as conn:
            rows = queries.list_payments(conn, states=states, merchant_id=merchant_id, limit=limit)
            return [_payment(row) for row in rows]

    def operations(self, trans_id: str, *, merchant_id: str | None = None) -> list[Operation]:
        """The operations of one payment, oldest first."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            return [] if row is None else [_operation(r) for r in queries.operations_of(conn, row.id)]

    def transitions(self, trans_id: str, *, merchant_id: str | None = None) -> list[Transition]:
        """The transitions of one payment, oldest first."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            return [] if row is None else [_transition(r) for r in queries.transitions_of(conn, row.id)]

    def payment_ids(self, trans_id: str, *, merchant_id: str | None = None) -> list[PaymentId]:
        """The PayPal ids the payment holds, each with its source."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            if row is None:
                return []
            return [PaymentId(r.kind, r.value, r.source) for r in queries.payment_ids_of(conn, row.id)]
