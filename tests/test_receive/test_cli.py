"""``axepta accounts …`` and ``axepta ledger messages|events|replay`` over the books (SQLite and
PostgreSQL), their ``--json`` shapes as CONTRACT.md names them, and ``axepta serve`` refusing
books that are not migrated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from axepta.cli import app
from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.simulator.ipn_standin import IpnStandIn, build_ipn
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_receive._support import SHOP, add_payment, result

ENV = {"AXEPTA_MERCHANT_ID": DEMO_MID, "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC,
       "COLUMNS": "250"}


@pytest.fixture
def engine_name() -> str:
    """SQLite only here: what differs between the engines (locks, SKIP LOCKED, concurrent
    deliveries) is proven on both in test_notifications.py, test_events.py and on PostgreSQL in
    test_concurrency.py; this file tests the logic above them (and keeps make test short)."""
    return "sqlite"


@pytest.fixture
def cli(books_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("AXEPTA_DATABASE_URL", books_url)
    for name in ("AXEPTA_PROFILE", "AXEPTA_PAYPAL_RECEIVERS", "AXEPTA_IPN_VERIFY_URL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        res = runner.invoke(app, list(args), env=ENV)
        assert res.exit_code == code, res.output
        for secret in (DEMO_BLOWFISH, DEMO_HMAC):
            assert secret not in res.output
        return json.loads(res.stdout) if args[0] == "--json" else res.stdout

    return run


def test_accounts_link_topup_balance_unmatched_assign(cli: Any, books_url: str) -> None:
    assert cli("--json", "accounts", "link", "acme", "Alice@Example.com") == {
        "ok": True, "account": "acme", "email": "alice@example.com"}
    with Ledger(books_url) as ledger, IpnStandIn() as standin:
        for email, txn in (("alice@example.com", "T1"), ("stranger@example.com", "T2")):
            body = build_ipn(payer_email=email, mc_gross="25.00", receiver_email=SHOP, txn_type="web_accept", txn_id=txn)
            standin.remember(body)
            ledger.receive_ipn(body, receivers=[SHOP], verify_url=standin.verify_url)
    assert cli("--json", "accounts", "balance", "acme", "--currency", "EUR") == {
        "ok": True, "account": "acme", "currency": "EUR", "balance": 2500}
    assert "acme: 25.00 EUR" in cli("accounts", "balance", "acme", "--currency", "eur")
    waiting = cli("--json", "accounts", "unmatched")
    assert waiting["ok"] is True and [m["payer_email"] for m in waiting["messages"]] == ["stranger@example.com"]
    (message,) = waiting["messages"]
    assert message["mc_gross"] == "25.00" and message["state"] == "unmatched" and message["txn_id"] == "T2"
    assert "stranger@example.com" in cli("accounts", "unmatched")
    assigned = cli("--json", "accounts", "assign", str(message["id"]), "strangerco")
    assert assigned["ok"] is True and assigned["balance"] == 2500 and assigned["entry"]["amount"] == 2500
    cli("accounts", "assign", str(message["id"]), "strangerco", code=1)
    assert "no top-up waits" in cli("accounts", "unmatched")
    cli("accounts", "link", "other", "alice@example.com", code=1)  # already linked to acme


def test_ledger_messages_events_and_replay(cli: Any, books_url: str, credentials: Credentials) -> None:
    with Ledger(books_url) as ledger:
        unmatched = ledger.receive_notification(result("CLI1", "f" * 32), credentials)
        assert unmatched.outcome == "unmatched"
        add_payment(ledger, "CLI1")
    messages = cli("--json", "ledger", "messages", "--state", "unmatched")
    assert [(m["id"], m["source"], m["state"]) for m in messages["messages"]] == [(unmatched.message_id, "axepta", "unmatched")]
    assert messages["messages"][0]["dedup_key"] == f"{'f' * 32}|CLI1|OK|00000000"
    replayed = cli("--json", "ledger", "replay", str(unmatched.message_id))
    assert replayed["ok"] is True and replayed["outcome"] == "applied" and replayed["trans_id"] == "CLI1"
    assert cli("--json", "ledger", "replay", str(unmatched.message_id))["outcome"] == "duplicate"
    events = cli("--json", "ledger", "events", "--pending")
    assert [(e["kind"], e["trans_id"], e["delivered"]) for e in events["events"]] == [("payment.captured", "CLI1", False)]
    table = cli("ledger", "events")
    assert "payment.captured" in table and "CLI1" in table
    assert "applied" in cli("ledger", "messages")
    cli("ledger", "messages", "--state", "lost", code=2)
    cli("ledger", "replay", "999999", code=1)


def test_serve_refuses_books_without_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("AXEPTA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    res = CliRunner().invoke(app, ["serve", "--port", "1"], env=ENV)
    assert res.exit_code == 3 and "axepta ledger migrate" in res.output


def test_serve_checks_its_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    res = CliRunner().invoke(app, ["serve", "--ipn-verify-url", "http://paypal.example/"], env=ENV)
    assert res.exit_code == 3 and "https" in res.output
    res = CliRunner().invoke(app, ["serve", "--events", "no_such_module:register"], env=ENV)
    assert res.exit_code == 3 and "no_such_module" in res.output
    res = CliRunner().invoke(app, ["serve", "--ipn-environment", "staging"], env=ENV)
    assert res.exit_code == 2
