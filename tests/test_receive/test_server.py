"""``axepta.server.create_app`` with Starlette's TestClient over the books (SQLite and
PostgreSQL): the routes, LEDGER.md's answers, size caps, IPN in queue mode through the stand-in,
and the background loop delivering events."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from axepta.credentials import Credentials
from axepta.errors import ConfigurationError
from axepta.ledger import Ledger
from axepta.ledger.receipts import Event
from axepta.ledger.store import express
from axepta.ledger.store import receiving as sql
from axepta.server import create_app
from axepta.simulator.ipn_standin import IpnStandIn, build_ipn
from tests.test_receive._support import SHOP, add_payment, result

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

PAY = "d" * 32
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"}


@pytest.fixture
def engine_name() -> str:
    """SQLite only here: what differs between the engines (locks, SKIP LOCKED, concurrent
    deliveries) is proven on both in test_notifications.py, test_events.py and on PostgreSQL in
    test_concurrency.py; this file tests the logic above them (and keeps make test short)."""
    return "sqlite"


@pytest.fixture
def ledger(books_url: str) -> Iterator[Ledger]:
    with Ledger(books_url) as books:
        yield books


def _client(app: Any) -> TestClient:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return TestClient(app, raise_server_exceptions=True)


def test_notify_answers_per_ledger_md(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "S1")
    client = _client(create_app(ledger, credentials, background=False))
    body = result("S1", PAY)
    first = client.post("/axepta/notify", content=body, headers=FORM)
    assert (first.status_code, first.text.strip()) == (200, "applied")
    again = client.get("/axepta/notify?" + body.decode("ascii"))  # GET: the same result in the query
    assert (again.status_code, again.text.strip()) == (200, "duplicate")
    unknown = client.post("/axepta/notify", content=result("NOBODY", "e" * 32), headers=FORM)
    assert (unknown.status_code, unknown.text.strip()) == (404, "unmatched")
    contradiction = client.post("/axepta/notify", content=result("NOBODY", PAY), headers=FORM)
    assert (contradiction.status_code, contradiction.text.strip()) == (200, "conflict")
    forged = client.post("/axepta/notify", content=b"MerchantID=X&Len=8&Data=00112233445566778899", headers=FORM)
    assert (forged.status_code, forged.text.strip()) == (400, "rejected")
    assert client.get("/healthz").status_code == 200
    assert client.post("/paypal/ipn", content=b"txn_id=1").status_code == 404  # no receivers: no IPN at all
    payment = ledger.payment("S1")
    assert payment is not None and payment.state == "captured"


def test_bodies_over_the_cap_are_refused_before_reading(
    ledger: Ledger, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _client(create_app(ledger, credentials, paypal_receivers=[SHOP], background=False))
    big = b"Data=" + b"0" * (300 * 1024)
    assert client.post("/axepta/notify", content=big, headers=FORM).status_code == 413
    monkeypatch.setattr("axepta.server.receiver.MAX_NOTIFICATION_BYTES", 1000)  # URLs stop at 64 KiB in httpx
    assert client.get("/axepta/notify?Data=" + "0" * 2000).status_code == 413
    assert client.post("/paypal/ipn", content=b"a=" + b"b" * (300 * 1024)).status_code == 413
    lying = client.post("/axepta/notify", content=b"Data=00", headers={**FORM, "Content-Length": "999999999"})
    assert lying.status_code in (400, 413)
    assert ledger.messages() == []


def test_storage_failure_answers_500(ledger: Ledger, credentials: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    add_payment(ledger, "S2")

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(sql, "insert_message_once", broken)
    for lane in (express.PostgresLane, express.SqliteLane):  # the express lane meets the same database
        monkeypatch.setattr(lane, "read", broken)
    client = _client(create_app(ledger, credentials, background=False))
    answer = client.post("/axepta/notify", content=result("S2", PAY), headers=FORM)
    assert (answer.status_code, answer.text.strip()) == (500, "failed")


def test_ipn_is_stored_answered_then_verified_and_applied(ledger: Ledger, credentials: Credentials) -> None:
    ledger.accounts.link_email("acme", "alice@example.com")
    with IpnStandIn() as standin:
        app = create_app(ledger, credentials, paypal_receivers=[SHOP], ipn_verify_url=standin.verify_url,
                         background=False)
        client = _client(app)
        body = build_ipn(payer_email="alice@example.com", mc_gross="25.00", receiver_email=SHOP, txn_type="send_money")
        standin.remember(body)
        answer = client.post("/paypal/ipn", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert (answer.status_code, answer.text.strip()) == (200, "stored")
        # the background task after the answer verified and applied it
        assert len(standin.postbacks(body)) == 1
    assert ledger.accounts.balance("acme", "EUR") == 2500
    assert client.post("/paypal/ipn", content=b"").status_code == 400


def test_background_loop_delivers_events_and_retries_ipn(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "S3")
    seen: list[Event] = []
    ledger.on("payment.captured")(seen.append)
    app = create_app(ledger, credentials, paypal_receivers=[SHOP], interval=0.05)
    with _client(app) as client:
        assert client.post("/axepta/notify", content=result("S3", PAY), headers=FORM).status_code == 200
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [e.kind for e in seen] == ["payment.captured"]
    assert ledger.events(pending=True) == []


def test_healthz_503_when_the_books_are_missing(credentials: Credentials, tmp_path: Any) -> None:
    with Ledger(f"sqlite:///{tmp_path / 'none.db'}") as empty:
        client = _client(create_app(empty, credentials, background=False))
        assert client.get("/healthz").status_code == 503


def test_create_app_checks_its_configuration(ledger: Ledger, credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError, match="https"):
        create_app(ledger, credentials, paypal_receivers=[SHOP], ipn_verify_url="http://paypal.example/ipn")
    with pytest.raises(ConfigurationError):
        create_app(ledger, "not credentials")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        create_app(ledger, credentials, interval=0)
    app = create_app(ledger, credentials, admin_token="s3cret-admin-token", background=False)
    assert "s3cret-admin-token" not in repr(app.state.receiver)
