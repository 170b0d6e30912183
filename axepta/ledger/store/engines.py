"""Engines for the books: SQLite (default) and PostgreSQL through psycopg 3.

SQLite: WAL journal, ``synchronous=FULL`` by default: a commit waits for the WAL on disk, so what
the books committed survives a power loss or a system crash, not only a crash of the process.
The receiver answers 200 only after its commit, and the platform never resends a message it was
answered 200 for: a commit that a power loss could still roll back would lose a notification or
a top-up. ``?synchronous=normal`` in the URL trades that for speed (no fsync per commit; a
commit then survives a crash of the process only). Foreign keys on, a 30 s busy timeout, and
transactions begun by hand so that a write unit starts with ``BEGIN IMMEDIATE`` (it takes the
write lock at once: one writer at a time, no deadlock between two readers that both want to
write) and a read unit with a plain ``BEGIN``.

PostgreSQL: ``postgresql://`` and ``postgres://`` URLs use psycopg 3 (``postgresql+psycopg``);
writers take row locks (``SELECT … FOR UPDATE``) on the payment they change.
"""

from __future__ import annotations

import os
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from axepta.errors import ConfigurationError

__all__ = ["DEFAULT_URL", "WRITE", "make_engine", "resolve_url"]

DEFAULT_URL: Final = "sqlite:///axepta.db"
#: Key of ``Connection.info`` that makes a SQLite transaction begin with ``BEGIN IMMEDIATE``.
WRITE: Final = "axepta_write"


def resolve_url(url: str | None) -> str:
    """``url``, else ``AXEPTA_DATABASE_URL``, else ``sqlite:///axepta.db``."""
    if url:
        return url
    return os.environ.get("AXEPTA_DATABASE_URL") or DEFAULT_URL


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            "database URL: not a valid URL (expected sqlite:///path.db or postgresql://user@host/db)"
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed
    if backend != "sqlite":
        raise ConfigurationError(
            f"database URL: {backend!r} is not supported (use sqlite:///path.db or postgresql://…)"
        )
    return parsed


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (SQLAlchemy spelling), configured as this module says."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        synchronous = str(parsed.query.get("synchronous", "full")).lower()
        if synchronous not in ("normal", "full"):
            raise ConfigurationError("database URL: synchronous must be normal or full")
        parsed = parsed.difference_update_query(["synchronous"])
        engine = create_engine(parsed)
        memory = parsed.database in (None, "", ":memory:")
        event.listen(engine, "connect", _sqlite_connect(memory, synchronous.upper()))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_connect(memory: bool, synchronous: str) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
        finally:
            cursor.close()

    return connect


def _sqlite_begin(conn: Any) -> None:
    # straight to the driver: this runs before every unit of work
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if conn.info.get(WRITE) else "BEGIN")
