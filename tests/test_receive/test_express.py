"""The express lane of a notification (two statements in autocommit on PostgreSQL) writes exactly
what the general unit writes, and writes nothing when the payment or the key changed between
its read and its write: the general unit then decides again under the row lock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.ledger import inbox as plans
from axepta.ledger.receiving import ReceivingMixin
from axepta.ledger.store import express
from axepta.ledger.store import receiving as sql
from axepta.ledger.store.schema import EVENTS, MESSAGES, PAYMENT_IDS, PAYMENTS, TRANSITIONS
from axepta.notify import decode_notification
from tests.test_receive._support import add_payment, result

T0 = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
PAY = "a" * 32


@pytest.fixture
def ledger(books_url: str) -> Iterator[Ledger]:
    with Ledger(books_url) as books:
        yield books


@pytest.fixture
def lanes(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the express lane's writes: ``written`` (committed) and ``declined``."""
    counts = {"written": 0, "declined": 0}
    for lane in (express.PostgresLane, express.SqliteLane):

        def counted(self: Any, *args: Any, _real: Any = lane.write, **kwargs: Any) -> bool:
            done = bool(_real(self, *args, **kwargs))
            counts["written" if done else "declined"] += 1
            return done

        monkeypatch.setattr(lane, "write", counted)
    return counts


def general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ReceivingMixin, "_express_notification", lambda *args, **kwargs: None)


def general_unit(ledger: Ledger, body: bytes, credentials: Credentials) -> Any:
    """The general unit alone, in a transaction of ``ledger``'s own connection."""
    notification = decode_notification(body, credentials)
    with ledger.store.write() as conn:
        return ledger._notification_unit(conn, notification, plans.notification_key(notification), body, T0)


def scenario(ledger: Ledger, credentials: Credentials) -> list[tuple[Any, ...]]:
    """Every kind of result the receiver meets, in order; the receipts, without ids."""
    add_payment(ledger, "AUTO", capture="Auto")
    add_payment(ledger, "ORDER", capture="Manual", tx_type="Order")
    add_payment(ledger, "AUTH", capture="Manual", tx_type="Auth", pay_id="b" * 32)
    add_payment(ledger, "BAID", capture="Manual", tx_type="BAID")
    add_payment(ledger, "FAIL", capture="Auto")
    add_payment(ledger, "HELD", pay_id="c" * 32)
    add_payment(ledger, "CLASH")  # learns nothing: its PayID is HELD's
    add_payment(ledger, "REVIEW")
    bodies = [
        result("AUTO", PAY, TID="CAPTURE1", TransactionID="ORDER1"),
        result("AUTO", PAY, XID="9" * 32),  # the same message: duplicate
        result("AUTO", PAY, status="FAILED", code="21500067"),  # late FAILED after OK: stale
        result("ORDER", "d" * 32, status="AUTHORIZE_REQUEST"),
        result("AUTH", "b" * 32),
        result("AUTH", "e" * 32),  # another PayID for a known TransID: conflict
        result("BAID", "f" * 32, BillingAgreementID="B-123"),
        result("FAIL", "1" * 32, status="FAILED", code="21500067"),
        result("FAIL", "1" * 32),  # success after failure: conflict
        result("CLASH", "c" * 32),
        result("NOBODY", "2" * 32),  # unmatched
        result("REVIEW", "3" * 32, code="01000001"),  # a review code: for a person
    ]
    receipts = []
    for n, body in enumerate(bodies):
        receipt = ledger.receive_notification(body, credentials, now=T0 + timedelta(seconds=n))
        payment = receipt.payment
        receipts.append((receipt.status_code, receipt.outcome, receipt.reason,
                         None if payment is None else {**asdict(payment), "id": None}))  # fmt: skip
    return receipts


def snapshot(ledger: Ledger) -> dict[str, list[dict[str, Any]]]:
    """Every row the receiver writes, ids replaced by their rank in their table."""
    with ledger.store.read() as conn:
        tables = {t.name: [dict(r._mapping) for r in conn.execute(select(t).order_by(t.c.id))]
                  for t in (PAYMENTS, PAYMENT_IDS, TRANSITIONS, EVENTS, MESSAGES)}  # fmt: skip
    rank = {name: {row["id"]: n for n, row in enumerate(rows)} for name, rows in tables.items()}
    refs = {"payment_id": "axepta_payments", "message_id": "axepta_messages", "transition_id": "axepta_transitions"}
    for rows in tables.values():
        for row in rows:
            row.pop("id")
            for column, table in refs.items():
                if row.get(column) is not None:
                    row[column] = rank[table][row[column]]
            if "payload" in row and "transition_id" in row["payload"]:
                row["payload"]["transition_id"] = rank["axepta_transitions"][row["payload"]["transition_id"]]
            if str(row.get("cause", "")).startswith("message:"):
                row["cause"] = f"message:{rank['axepta_messages'][int(row['cause'].split(':')[1])]}"
    return tables


def test_express_and_general_write_the_same_books(
    books_url: str, engine_name: str, credentials: Credentials, lanes: dict[str, int], monkeypatch: pytest.MonkeyPatch,
    postgres_server_or_none: Any, tmp_path: Any,
) -> None:
    with Ledger(books_url) as ledger:
        fast = scenario(ledger, credentials), snapshot(ledger)
    assert lanes == {"written": 5, "declined": 1}  # the common cases took the lane; the clash was declined
    general_only(monkeypatch)
    if engine_name == "postgresql":
        other = postgres_server_or_none.create_database(template="axepta_books_template")
    else:
        other = f"sqlite:///{tmp_path / 'general.db'}"
        with Ledger(other) as fresh:
            fresh.migrate()
    with Ledger(other) as ledger:
        general = scenario(ledger, credentials), snapshot(ledger)
    assert fast[0] == general[0]
    for table in fast[1]:
        assert fast[1][table] == general[1][table], table
    outcomes = [r[1] for r in fast[0]]
    assert outcomes == ["applied", "duplicate", "stale", "applied", "applied", "conflict", "applied", "applied",
                        "conflict", "applied", "unmatched", "conflict"]  # fmt: skip


def _between(monkeypatch: pytest.MonkeyPatch, meddle: Callable[[], None]) -> None:
    """Run ``meddle`` once, after the express lane read and before it writes."""
    done = []
    for lane in (express.PostgresLane, express.SqliteLane):

        def read(self: Any, *args: Any, _real: Any = lane.read, **kwargs: Any) -> Any:
            found = _real(self, *args, **kwargs)
            if not done:
                done.append(True)
                meddle()
            return found

        monkeypatch.setattr(lane, "read", read)


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_a_payment_changed_after_the_read_is_decided_again_under_the_lock(
    books_url: str, credentials: Credentials, lanes: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger(books_url) as ledger, Ledger(books_url) as other:
        add_payment(ledger, "RACE", capture="Auto")
        failed = result("RACE", PAY, status="FAILED", code="21500067")
        # another worker applies FAILED (its own connection, the general unit) in between
        _between(monkeypatch, lambda: general_unit(other, failed, credentials))
        receipt = ledger.receive_notification(result("RACE", PAY), credentials)
        assert lanes == {"written": 0, "declined": 1}  # the guard matched no row: nothing written
        assert (receipt.status_code, receipt.outcome) == (200, "conflict")  # OK after FAILED, as decided now
        payment = ledger.payment("RACE")
        assert payment is not None and payment.state == "failed" and payment.amount_captured == 0
        assert [t.to_state for t in ledger.transitions("RACE")] == ["failed"]
        assert [e.kind for e in ledger.events()] == ["payment.failed"]
        assert sorted(m.state for m in ledger.messages()) == ["applied", "conflict"]


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_a_key_taken_after_the_read_writes_nothing_and_is_a_duplicate(
    books_url: str, credentials: Credentials, lanes: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger(books_url) as ledger:
        add_payment(ledger, "TAKEN", capture="Auto")
        body = result("TAKEN", PAY)
        key = plans.notification_key(decode_notification(body, credentials))

        def take() -> None:  # another delivery's message commits first (its payment not yet moved)
            with ledger.store.write() as conn:
                sql.insert_message_once(conn, {
                    "merchant_id": credentials.merchant_id, "source": "axepta", "dedup_key": key, "body": body,
                    "verification": "authenticated", "state": "applied", "attempts": 1, "received_at": T0,
                    "updated_at": T0,
                })  # fmt: skip

        _between(monkeypatch, take)
        receipt = ledger.receive_notification(body, credentials)
        assert lanes == {"written": 0, "declined": 1}  # the unique key refused the whole statement
        assert (receipt.status_code, receipt.outcome) == (200, "duplicate")
        payment = ledger.payment("TAKEN")
        assert payment is not None and payment.state == "created" and payment.pay_id is None
        assert ledger.transitions("TAKEN") == [] and ledger.events() == [] and len(ledger.messages()) == 1


@pytest.mark.parametrize("engine_name", ["postgresql"])
def test_the_lane_is_not_taken_inside_a_unit(books_url: str, credentials: Credentials, lanes: dict[str, int]) -> None:
    with Ledger(books_url) as ledger:
        add_payment(ledger, "NESTED", capture="Auto")
        with ledger.store.write():  # this thread's kept connection is busy: the lane steps aside
            receipt = ledger.receive_notification(result("NESTED", PAY), credentials)
        assert receipt.outcome == "applied" and lanes == {"written": 0, "declined": 0}


# -- the review's findings (each failed before its fix) ------------------------------------------


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_a_naive_now_is_refused_before_anything_is_written(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "NAIVE")
    with pytest.raises(ValueError, match="now: must be a timezone-aware"):
        ledger.receive_notification(result("NAIVE", PAY), credentials, now=datetime(2026, 3, 4, 5, 6, 7))
    assert ledger.messages() == [] and ledger.payment("NAIVE").state == "created"  # type: ignore[union-attr]


def test_a_failure_inside_the_lane_keeps_the_connection_clean(
    books_url: str, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An in-memory SQLite database lives in its connection: a failed lane must not close it;
    on PostgreSQL the connection must not stay in autocommit for the units after it."""
    url = "sqlite://" if books_url.startswith("sqlite") else books_url
    with Ledger(url) as ledger:
        if url == "sqlite://":
            ledger.migrate()
        add_payment(ledger, "BOOM")
        calls = []

        def boom(self: Any, *args: Any, **kwargs: Any) -> bool:
            calls.append(1)
            raise RuntimeError("lane failed")

        for lane in (express.PostgresLane, express.SqliteLane):
            monkeypatch.setattr(lane, "write", boom)
        receipt = ledger.receive_notification(result("BOOM", PAY), credentials)
        assert calls and (receipt.status_code, receipt.outcome) == (200, "applied")  # the general unit did it
        assert ledger.payment("BOOM") is not None  # the books are still there
        with ledger.store.write() as conn:  # a unit after it is one transaction again
            add_payment_in(conn, "ROLLED")
            conn.rollback()
        assert ledger.payment("ROLLED") is None


def add_payment_in(conn: Any, trans_id: str) -> None:
    from axepta.ledger.store import queries

    queries.insert_payment(conn, {"merchant_id": "M", "kind": "order", "trans_id": trans_id, "amount": 100,
                                  "currency": "EUR", "state": "created", "created_at": T0, "updated_at": T0})


def test_the_books_unreachable_answer_500_at_once(
    ledger: Ledger, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    add_payment(ledger, "DOWN")
    units = []
    monkeypatch.setattr(ReceivingMixin, "_notification_unit", lambda *args: units.append(1))

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    for lane in (express.PostgresLane, express.SqliteLane):
        monkeypatch.setattr(lane, "read", locked)
    receipt = ledger.receive_notification(result("DOWN", PAY), credentials)
    assert (receipt.status_code, receipt.outcome) == (500, "failed") and units == []  # no second wait


def test_a_unit_inside_the_lane_takes_a_connection_of_its_own(ledger: Ledger) -> None:
    with ledger.store.express() as lane:
        assert lane is not None
        assert ledger.store._connection() is None  # busy: a unit would open its own, never reuse the lane's
    assert ledger.store._connection() is not None


def test_connections_kept_by_ended_threads_go_back_to_the_pool(ledger: Ledger, credentials: Credentials) -> None:
    import threading

    for n in range(20):  # more threads than the pool holds (5 + 10 overflow)
        worker = threading.Thread(target=lambda n=n: ledger.receive_notification(result(f"GONE{n}", PAY), credentials))
        worker.start()
        worker.join(timeout=60)
    assert len(ledger.store._kept) <= 2  # the last thread's and this one's at most
    assert len(ledger.messages(limit=50)) == 20


@pytest.mark.parametrize("engine_name", ["sqlite"])
def test_sqlite_ids_are_what_sqlite_would_draw(ledger: Ledger) -> None:
    """The lane on SQLite draws message and transition ids as max(id)+1 under the write lock:
    right only while those tables have no AUTOINCREMENT (which never reuses a deleted max id)."""
    with ledger.store.read() as conn:
        sql_of = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
    for table in ("axepta_messages", "axepta_transitions"):
        assert "AUTOINCREMENT" not in sql_of[table].upper()
