"""Events (the outbox) on both engines: written with the change that causes them, delivered after
commit at least once with their id, retried with backoff, parked after a bound, claimed with leases
that expire."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.ledger.outbox import RetryPolicy
from axepta.ledger.receipts import Event
from axepta.ledger.store import receiving as sql
from axepta.ledger.store.units import now as clock
from tests.test_receive._support import add_payment, result

PAY = "c" * 32


@pytest.fixture
def ledger(books_url: str) -> Iterator[Ledger]:
    with Ledger(books_url) as books:
        yield books


def _captured(ledger: Ledger, credentials: Credentials, trans_id: str = "E1") -> None:
    add_payment(ledger, trans_id)
    assert ledger.receive_notification(result(trans_id, PAY), credentials).outcome == "applied"


def test_handler_receives_the_event_once_with_its_payment(ledger: Ledger, credentials: Credentials) -> None:
    seen: list[Event] = []
    ledger.on("payment.captured")(seen.append)
    everything: list[str] = []
    ledger.on("*")(lambda e: everything.append(e.kind))
    _captured(ledger, credentials)
    assert ledger.deliver_events() == 1
    assert ledger.deliver_events() == 0
    (event,) = seen
    assert event.kind == "payment.captured" and event.payment is not None and event.payment.trans_id == "E1"
    assert event.payload["delta_captured"] == 1234 and event.attempts == 0
    assert everything == ["payment.captured"]
    (record,) = ledger.events()
    assert record.delivered and record.trans_id == "E1" and record.as_json()["delivered"] is True
    assert ledger.events(pending=True) == []


def test_unregistered_kinds_stay_pending(ledger: Ledger, credentials: Credentials) -> None:
    _captured(ledger, credentials)
    assert ledger.deliver_events() == 0  # nobody listens here: another process may
    ledger.on("account.credited")(lambda e: None)
    assert ledger.deliver_events() == 0
    (record,) = ledger.events(pending=True)
    assert record.kind == "payment.captured" and record.attempts == 0


def test_failing_handler_is_retried_with_backoff_then_parked(ledger: Ledger, credentials: Credentials) -> None:
    calls: list[int] = []

    def flaky(event: Event) -> None:
        calls.append(event.id)
        raise RuntimeError("mail server down")

    ledger.on("payment.captured")(flaky)
    _captured(ledger, credentials)
    policy = RetryPolicy(first=60, longest=60, max_attempts=3, lease=30)
    start = clock()
    assert ledger.deliver_events(policy=policy, now=lambda: start) == 0
    (record,) = ledger.events()
    assert (record.state, record.attempts) == ("pending", 1) and record.last_error == "RuntimeError: mail server down"
    assert record.next_attempt_at is not None and record.next_attempt_at >= start + timedelta(seconds=59)
    assert ledger.deliver_events(policy=policy, now=lambda: start) == 0  # not due yet
    assert len(calls) == 1
    for step in (2, 3):
        ledger.deliver_events(policy=policy, now=lambda step=step: start + timedelta(minutes=2 * step))
    (record,) = ledger.events()
    assert (record.state, record.attempts) == ("parked", 3) and len(calls) == 3
    assert ledger.deliver_events(policy=policy, now=lambda: start + timedelta(days=1)) == 0


def test_an_event_held_by_a_dead_worker_is_delivered_by_another(ledger: Ledger, credentials: Credentials) -> None:
    _captured(ledger, credentials)
    start = clock()
    with ledger.store.write() as conn:  # a worker claims the event, then dies
        (claimed,) = sql.claim_events(conn, kinds=None, now=start, owner="dead", until=start + timedelta(seconds=30),
                                      limit=10)
    seen: list[int] = []
    ledger.on("payment.*")(lambda e: seen.append(e.id))
    assert ledger.deliver_events(now=lambda: start + timedelta(seconds=5)) == 0  # the lease still holds
    assert ledger.deliver_events(now=lambda: start + timedelta(seconds=31)) == 1
    assert seen == [claimed.id]
    with ledger.store.write() as conn:  # the dead worker's late write changes nothing
        assert not sql.finish_event(conn, claimed.id, "dead", {"state": "delivered"})


def test_on_refuses_unknown_kinds_and_non_callables(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match=r"payment\.captured"):
        ledger.on("payment.capture")
    with pytest.raises(TypeError):
        ledger.on("*")("not callable")  # type: ignore[arg-type]


def test_events_filtering(ledger: Ledger, credentials: Credentials) -> None:
    _captured(ledger, credentials, "E2")
    _captured(ledger, credentials, "E3")
    assert len(ledger.events(limit=1)) == 1 and ledger.events(limit=1)[0].trans_id == "E3"
    assert len(ledger.events(state="pending")) == 2 and ledger.events(state="parked") == []
    with pytest.raises(ValueError):
        ledger.events(limit=0)
