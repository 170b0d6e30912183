"""The books' schema: migrations create exactly the declared tables on both engines, an empty or
older database is refused with a message naming the command, unique keys hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from axepta.errors import ConfigurationError
from axepta.ledger import Ledger
from axepta.ledger.store import migrate, queries
from axepta.ledger.store.schema import (
    EVENTS,
    MESSAGES,
    OPERATIONS,
    PAYMENTS,
    SCHEMA_REVISION,
    VERSION,
    VERSION_TABLE,
    metadata,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _payment(trans_id: str = "T1", pay_id: str | None = None, **extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        "merchant_id": "M1", "kind": "order", "trans_id": trans_id, "pay_id": pay_id, "amount": 1000,
        "currency": "EUR", "state": "created", "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    values.update(extra)
    return values


def test_the_code_expects_the_newest_shipped_migration() -> None:
    assert migrate.head() == SCHEMA_REVISION


def test_migrations_yield_exactly_the_declared_schema(empty_db_url: str) -> None:
    with Ledger(empty_db_url) as ledger:
        assert ledger.revision() is None
        assert ledger.migrate() == (None, SCHEMA_REVISION)
        with ledger.store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            assert compare_metadata(context, metadata) == []
            tables = set(sa.inspect(conn).get_table_names())
        assert tables == set(metadata.tables) | {VERSION_TABLE}


def test_migrate_twice_changes_nothing(books_url: str) -> None:
    with Ledger(books_url) as ledger:
        assert ledger.migrate() == (SCHEMA_REVISION, SCHEMA_REVISION)
        assert ledger.payments() == []


def test_opening_an_empty_database_never_fails_but_reading_names_the_command(empty_db_url: str) -> None:
    with Ledger(empty_db_url) as ledger:
        with pytest.raises(ConfigurationError, match=r"axepta ledger migrate") as info:
            ledger.payments()
        assert "no schema yet" in str(info.value)


def test_an_older_schema_is_refused_with_the_command(books_url: str) -> None:
    with Ledger(books_url) as ledger, ledger.store.engine.begin() as conn:
        conn.execute(sa.update(VERSION).values(version_num="ancient"))
    with Ledger(books_url) as ledger, pytest.raises(ConfigurationError, match=r"schema ancient.*axepta ledger migrate"):
        ledger.payment("T1")


def test_a_password_never_appears_in_errors_or_reprs() -> None:
    url = "postgresql://shop:s3cr3t-pass@127.0.0.1:1/books"
    ledger = Ledger(url)
    assert "s3cr3t-pass" not in repr(ledger)
    with pytest.raises(ConfigurationError) as info:
        ledger.payments()
    assert "s3cr3t-pass" not in str(info.value)
    assert "cannot open the books" in str(info.value)


def test_unknown_engines_and_bad_urls_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="not supported"):
        Ledger("mysql://x@localhost/db").payments()
    with pytest.raises(ConfigurationError, match="not a valid URL"):
        Ledger("::nonsense::").payments()


def test_the_default_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("AXEPTA_DATABASE_URL", "sqlite:///from-env.db")
    assert Ledger().url == "sqlite:///from-env.db"
    monkeypatch.delenv("AXEPTA_DATABASE_URL")
    assert Ledger().url == "sqlite:///axepta.db"
    assert Ledger("sqlite:///given.db").url == "sqlite:///given.db"


def test_unique_keys_of_the_books(books_url: str) -> None:
    ledger = Ledger(books_url)
    store = ledger.store
    with store.write() as conn:
        payment_id = queries.insert_payment(conn, _payment("T1", "P" * 32))
    for values in (_payment("T1"), _payment("T2", "P" * 32)):  # (merchant, TransID), (merchant, PayID)
        with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
            queries.insert_payment(conn, values)
    with store.write() as conn:  # another merchant may use the same TransID; NULL PayIDs repeat
        queries.insert_payment(conn, _payment("T1", merchant_id="M2"))
        queries.insert_payment(conn, _payment("T3"))
    op = {
        "payment_id": payment_id, "merchant_id": "M1", "kind": "capture", "req_id": "r1", "amount": 5,
        "currency": "EUR", "request": {"amount": 5}, "outcome": "intent", "created_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    with store.write() as conn:
        queries.insert_operation(conn, op)
        queries.insert_operation(conn, {**op, "req_id": None})
        queries.insert_operation(conn, {**op, "req_id": None})  # operations without ReqId repeat
    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        queries.insert_operation(conn, op)
    message = {
        "merchant_id": "M1", "source": "axepta", "dedup_key": "k", "verification": "authenticated",
        "state": "received", "received_at": NOW, "updated_at": NOW,
    }  # fmt: skip
    with store.write() as conn:
        conn.execute(sa.insert(MESSAGES).values(**message))
        for _ in range(2):  # not authenticated: outside the key, a forger occupies nothing
            conn.execute(sa.insert(MESSAGES).values(**{**message, "dedup_key": None, "state": "rejected"}))
    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        conn.execute(sa.insert(MESSAGES).values(**message))
    with store.write() as conn:
        assert queries.insert_event(conn, kind="payment.captured", cause="operation:1", payment_id=payment_id, payload={}, now=NOW)
        assert not queries.insert_event(conn, kind="payment.captured", cause="operation:1", payment_id=payment_id, payload={}, now=NOW)
        assert queries.count(conn, EVENTS) == 1
        assert queries.count(conn, OPERATIONS) == 3
    ledger.close()


def test_the_database_refuses_refunds_above_captures(books_url: str) -> None:
    with Ledger(books_url) as ledger:
        with pytest.raises(sa.exc.IntegrityError), ledger.store.write() as conn:
            queries.insert_payment(conn, _payment(amount_captured=100, amount_refunded=101))
        with ledger.store.read() as conn:
            assert queries.count(conn, PAYMENTS) == 0


def test_times_come_back_aware_utc(books_url: str) -> None:
    with Ledger(books_url) as ledger:
        with ledger.store.write() as conn:
            queries.insert_payment(conn, _payment())
        payment = ledger.payment("T1")
        assert payment is not None
        assert payment.created_at == NOW
        assert payment.created_at.tzinfo is not None
        assert payment.group == "not_finished"


def test_sqlite_pragmas_and_the_durability_switch(tmp_path: Any) -> None:
    with Ledger(f"sqlite:///{tmp_path}/a.db") as ledger:
        ledger.migrate()
        with ledger.store.read() as conn:
            pragmas = [conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in ("journal_mode", "synchronous", "foreign_keys")]
        assert pragmas == ["wal", 2, 1]  # synchronous FULL: a commit survives a power loss
    with Ledger(f"sqlite:///{tmp_path}/a.db?synchronous=normal") as ledger, ledger.store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    with pytest.raises(ConfigurationError, match="synchronous"):
        Ledger(f"sqlite:///{tmp_path}/a.db?synchronous=off").payments()


def test_a_forked_child_uses_connections_of_its_own(books_url: str) -> None:
    import os

    with Ledger(books_url) as ledger:
        with ledger.store.write() as conn:
            queries.insert_payment(conn, _payment("F-1"))
        pid = os.fork()
        if pid == 0:  # the child writes through its own connection and exits at once
            try:
                with ledger.store.write() as conn:
                    queries.insert_payment(conn, _payment("F-2"))
                os._exit(0)
            except BaseException:
                os._exit(1)
        import signal
        import time

        deadline = time.monotonic() + 60
        while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        if done[0] == 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child did not finish in 60 s")
        assert os.WEXITSTATUS(done[1]) == 0
        assert [p.trans_id for p in ledger.payments()] == ["F-2", "F-1"]
