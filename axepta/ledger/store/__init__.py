"""The only room with SQL: tables (:mod:`.schema`), named queries (:mod:`.queries`), units of work
(:mod:`.units`), engines (:mod:`.engines`) and Alembic migrations (:mod:`.migrate`).

Unit-of-work API (what the facade, the journaling and the receiver use)::

    store = Store("sqlite:///axepta.db")        # or postgresql://…; nothing is opened yet
    with store.write() as conn:                  # one transaction: BEGIN IMMEDIATE on SQLite
        row = queries.payment_by(conn, mid, trans_id=t, lock=True)   # FOR UPDATE on PostgreSQL
        ...                                      # queries.* / units.* with this conn
    # committed here; an exception rolls everything back
    with store.read() as conn:                   # a read transaction (plain BEGIN)
        queries.list_payments(conn, states=[...])

Rules: every change that belongs together (the payment's new state, its transition, its events,
the message that caused it) is written inside one ``write()``; a writer locks the payment row it
changes before reading its totals (:func:`queries.lock_payment`); duplicates are stopped by the
unique constraints, not by a lookup (:func:`queries.insert_ignore`). A unit is written once, as a
plain function of a ``Connection``; the async client runs the same function in a worker thread.
The first ``read()``/``write()`` checks the schema revision and raises
:class:`~axepta.errors.ConfigurationError` naming ``axepta ledger migrate`` when the books are
missing or older than the code. Add new queries in this package (your own module is fine), never
outside it: ruff's banned-api keeps SQLAlchemy and Alembic in ``axepta/ledger/store`` and
``axepta/ledger/migrations``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from axepta.errors import ConfigurationError
from axepta.ledger.store.engines import WRITE, make_engine, resolve_url
from axepta.ledger.store.schema import KNOWN_REVISIONS, SCHEMA_REVISION, VERSION, VERSION_TABLE

__all__ = ["Store", "redacted_url"]

MIGRATE_HINT = "run `axepta ledger migrate` (or Ledger.migrate())"


def redacted_url(url: str) -> str:
    """The URL with its password hidden, fit for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database URL>"


_STORES: weakref.WeakSet[Store] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_STORES):
        store._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Store:
    """The books' database: a SQLAlchemy engine, created on first use. A forked child (a
    server's worker) opens connections of its own: the parent's are never shared."""

    def __init__(self, url: str | None = None) -> None:
        self.url = resolve_url(url)
        self._engine: Engine | None = None
        self._checked = False
        self._lock = threading.Lock()
        self._local = threading.local()
        self._kept: dict[Connection, threading.Thread] = {}  # each kept connection → its thread
        _STORES.add(self)

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._kept = {}
        if self._engine is not None:
            self._engine.dispose(close=False)  # the parent's connections stay the parent's

    def __repr__(self) -> str:
        return f"Store({redacted_url(self.url)!r})"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = make_engine(self.url)
        return self._engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        """Close every connection (the kept ones of every thread too)."""
        with self._lock:
            kept, self._kept = list(self._kept), {}
            self._local = threading.local()
        for conn in kept:
            with contextlib.suppress(Exception):
                conn.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
            self._checked = False

    def _connection(self) -> Connection | None:
        """This thread's kept connection (units reuse it: a pool checkout per unit costs more
        than the unit's statements), or ``None`` when it is busy (a unit inside a unit, or the
        express lane). Connections kept by threads that have ended go back to the pool first
        (a server's worker threads come and go; the pool is bounded)."""
        if getattr(self._local, "busy", False):
            return None
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            self._release_ended()
            conn = self.engine.connect()
            self._local.conn = conn
            with self._lock:
                self._kept[conn] = threading.current_thread()
        return None if conn.in_transaction() else conn

    def _release_ended(self) -> None:
        with self._lock:
            ended = [conn for conn, thread in self._kept.items() if not thread.is_alive()]
        for conn in ended:
            self._drop(conn)

    def _drop(self, conn: Connection) -> None:
        with self._lock:
            self._kept.pop(conn, None)
        with contextlib.suppress(Exception):
            conn.close()

    def _forget(self, conn: Connection) -> None:
        """Drop a kept connection after a failed unit (it may be broken)."""
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        self._drop(conn)

    @contextmanager
    def _unit(self, write: bool) -> Iterator[Connection]:
        self._ensure_schema()
        conn = self._connection()
        if conn is None:  # nested: a connection of its own from the pool
            with self.engine.connect() as own:
                own.info[WRITE] = write
                with own.begin():
                    yield own
            return
        conn.info[WRITE] = write
        try:
            with conn.begin():
                yield conn
        except BaseException:
            self._forget(conn)
            raise

    @contextmanager
    def express(self) -> Iterator[Any]:
        """The express lane (:mod:`.express`) on this thread's kept connection, straight to its
        driver: on PostgreSQL in autocommit (each statement its own transaction), on SQLite in a
        transaction the lane opens and ends. ``None`` inside a unit (the connection is busy);
        while the lane runs, a unit on this thread takes a connection of its own. Whatever
        happens, the connection leaves with autocommit off and no transaction open, or is
        dropped (invalidated only if that cannot be made sure: an in-memory SQLite database
        lives and dies with its connection)."""
        from axepta.ledger.store.express import PostgresLane, SqliteLane

        self._ensure_schema()
        conn = self._connection()
        if conn is None:
            yield None
            return
        raw: Any = conn.connection.driver_connection
        postgres = self.dialect == "postgresql"
        lane: Any = PostgresLane(raw) if postgres else SqliteLane(raw)
        self._local.busy = True
        failed = False
        try:
            if postgres:
                raw.autocommit = True
            yield lane
        except BaseException:
            failed = True
            raise
        finally:
            self._local.busy = False
            try:
                if postgres:
                    raw.autocommit = False
                else:
                    lane.close()
            except Exception:
                with contextlib.suppress(Exception):
                    conn.invalidate()  # never back to the pool in autocommit or mid-transaction
                failed = True
            if failed:
                self._forget(conn)

    def write(self) -> contextlib.AbstractContextManager[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        return self._unit(True)

    def read(self) -> contextlib.AbstractContextManager[Connection]:
        """One read transaction."""
        return self._unit(False)

    def revision(self) -> str | None:
        """The schema revision of the database, ``None`` when the books are not there."""
        try:
            with self.engine.connect() as conn, conn.begin():
                if not inspect(conn).has_table(VERSION_TABLE):
                    return None
                return conn.execute(select(VERSION.c.version_num)).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise ConfigurationError(
                f"cannot open the books at {redacted_url(self.url)}: {type(getattr(exc, 'orig', None) or exc).__name__}"
            ) from None

    def forget_schema_check(self) -> None:
        """Check the revision again on the next unit (after a migration)."""
        self._checked = False

    def _ensure_schema(self) -> None:
        if self._checked:
            return
        found = self.revision()
        if found != SCHEMA_REVISION:
            where = redacted_url(self.url)
            if found is None:
                problem = f"the books at {where} have no schema yet"
            elif found in KNOWN_REVISIONS:
                problem = f"the books at {where} are at schema {found}, older than this code's {SCHEMA_REVISION}"
            else:
                problem = (
                    f"the books at {where} are at schema {found}, which this version of axepta does "
                    f"not know (newer code wrote them?)"
                )
            raise ConfigurationError(f"{problem}: {MIGRATE_HINT}")
        self._checked = True
