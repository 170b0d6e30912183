"""``axepta ledger …`` and ``axepta reconcile``: the JSON shapes of CONTRACT.md after a simulator
flow, on both engines; ``--help`` loads no ledger."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from axepta.cli import app
from axepta.credentials import Credentials
from axepta.errors import GatewayError
from axepta.ledger import Ledger
from axepta.simulator import Simulator
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_ledger._flows import URLS, quiet_simulator, sync_client

ENV = {"AXEPTA_MERCHANT_ID": DEMO_MID, "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC, "COLUMNS": "250"}


def cli(url: str, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--database-url", url, "--json", *args], env=ENV, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def flow(sim: Simulator, credentials: Credentials, ledger: Ledger) -> dict[str, str]:
    """One payment per group: waiting for the buyer, captured, declined."""
    with sync_client(sim, credentials, ledger) as client:
        waiting = client.create_paypal_order(trans_id="WAIT-1", amount=1200, currency="EUR", order_desc="A", **URLS)
        paid = client.create_paypal_order(
            trans_id="PAID-1", amount=2500, currency="EUR", order_desc="B", capture="Manual", tx_type="Auth", **URLS
        )
        sim.approve(paid.pay_id)
        client.capture(pay_id=paid.pay_id, trans_id="PAID-1", amount=2500, currency="EUR")
        sim.faults.decline("21500991", path="paypalorders")
        with pytest.raises(GatewayError):
            client.create_paypal_order(trans_id="FAIL-1", amount=900, currency="EUR", order_desc="C", **URLS)
    return {"waiting": waiting.pay_id or "", "paid": paid.pay_id or ""}


@pytest.fixture
def books(books_url: str, credentials: Credentials) -> tuple[str, dict[str, str]]:
    with quiet_simulator(credentials) as sim, Ledger(books_url) as ledger:
        ids = flow(sim, credentials, ledger)
    return books_url, ids


def test_payments_by_group_after_a_simulator_flow(books: tuple[str, dict[str, str]]) -> None:
    url, ids = books
    waiting = cli(url, "ledger", "payments", "--group", "not-finished")
    assert waiting["ok"] is True
    assert [(p["trans_id"], p["pay_id"], p["state"], p["group"], p["amount"], p["currency"]) for p in waiting["payments"]] == [
        ("WAIT-1", ids["waiting"], "created", "not_finished", 1200, "EUR")
    ]
    finished = cli(url, "ledger", "payments", "--group", "finished")
    assert [
        (p["trans_id"], p["state"], p["amount_authorized"], p["amount_captured"], p["amount_refunded"])
        for p in finished["payments"]
    ] == [("PAID-1", "closed", 0, 2500, 0)]
    failed = cli(url, "ledger", "payments", "--group", "failed")
    assert [(p["trans_id"], p["state"], p["pay_id"]) for p in failed["payments"]] == [("FAIL-1", "failed", None)]
    every = cli(url, "ledger", "payments")
    assert [p["trans_id"] for p in every["payments"]] == ["FAIL-1", "PAID-1", "WAIT-1"]  # newest first
    by_state = cli(url, "ledger", "payments", "--state", "closed", "--limit", "5")
    assert [p["trans_id"] for p in by_state["payments"]] == ["PAID-1"]


def test_show_one_payment_with_operations_and_transitions(books: tuple[str, dict[str, str]]) -> None:
    url, ids = books
    shown = cli(url, "ledger", "show", "PAID-1")
    assert shown["ok"] is True and shown["payment"]["pay_id"] == ids["paid"]
    assert [(o["kind"], o["outcome"]) for o in shown["operations"]] == [("paypal_order", "succeeded"), ("capture", "succeeded")]
    assert all(o["req_id"] for o in shown["operations"])
    assert [(t["from"], t["to"], t["delta_captured"]) for t in shown["transitions"]] == [
        (None, "created", 0), ("created", "closed", 2500)
    ]
    assert shown["messages"] == []


def test_show_of_an_unknown_payment_exits_1(books: tuple[str, dict[str, str]]) -> None:
    url, _ = books
    result = CliRunner().invoke(app, ["--database-url", url, "--json", "ledger", "show", "NOPE"], env=ENV)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["ok"] is False


def test_export_csv_and_jsonl(books: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, _ = books
    out = tmp_path / "payments.csv"
    summary = cli(url, "ledger", "export", "--format", "csv", "-o", str(out))
    assert summary == {"ok": True, "count": 3, "format": "csv", "path": str(out)}
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert {r["trans_id"]: r["state"] for r in rows} == {"WAIT-1": "created", "PAID-1": "closed", "FAIL-1": "failed"}
    assert "payer_email" not in rows[0]
    result = CliRunner().invoke(app, ["--database-url", url, "ledger", "export", "--format", "jsonl", "--group", "finished"], env=ENV)
    assert result.exit_code == 0
    assert [json.loads(line)["trans_id"] for line in result.stdout.splitlines()] == ["PAID-1"]


def test_prune_and_migrate_report_in_json(books: tuple[str, dict[str, str]]) -> None:
    url, _ = books
    assert cli(url, "ledger", "prune", "--older-than", "0") == {
        "ok": True, "older_than_days": 0.0, "messages": 0, "payments": 0,
    }  # fmt: skip
    migrated = cli(url, "ledger", "migrate")
    assert (migrated["before"], migrated["after"]) == ("0001_books", "0001_books")
    assert migrated["database"] == url  # no password in these URLs (a password would show as ***)


def test_an_unmigrated_database_names_the_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = CliRunner().invoke(app, ["--database-url", url, "--json", "ledger", "payments"], env=ENV)
    assert result.exit_code == 3
    assert "axepta ledger migrate" in json.loads(result.stdout)["error"]["message"]
    assert cli(url, "ledger", "migrate")["after"] == "0001_books"
    assert cli(url, "ledger", "payments") == {"ok": True, "payments": []}


def test_a_bad_group_is_a_usage_error(books: tuple[str, dict[str, str]]) -> None:
    url, _ = books
    result = CliRunner().invoke(app, ["--database-url", url, "ledger", "payments", "--group", "paid"], env=ENV)
    assert result.exit_code == 2


def test_help_loads_no_ledger() -> None:
    code = "import sys; from axepta.cli import main; sys.argv=['axepta','--help']\ntry:\n main()\nexcept SystemExit: pass\nprint(' '.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = set(done.stdout.split())
    assert "ledger" in done.stdout  # the commands are listed
    assert not {m for m in loaded if m.startswith(("axepta.ledger", "sqlalchemy", "alembic"))}


def test_reconcile_command_settles_a_lost_capture(books_url: str, credentials: Credentials) -> None:
    from axepta.client import AxeptaClient
    from axepta.errors import TransportError
    from axepta.simulator import SimulatorServer

    with quiet_simulator(credentials) as sim, SimulatorServer(sim) as server, Ledger(books_url) as ledger, AxeptaClient(
        credentials, base_url=server.url, browser_base_url=server.url, ledger=ledger
    ) as client:
        created = client.create_paypal_order(
            trans_id="CLI-R", amount=800, currency="EUR", order_desc="R", capture="Manual", tx_type="Auth", **URLS
        )
        sim.approve(created.pay_id)
        sim.faults.drop_connection(path="capture", after_acting=True)
        with pytest.raises(TransportError):
            client.capture(pay_id=created.pay_id, trans_id="CLI-R", amount=800, currency="EUR")
        base = ["--base-url", server.url, "--database-url", books_url, "--json", "reconcile", "--min-age", "0"]
        dry = CliRunner().invoke(app, [*base, "--dry-run"], env=ENV, catch_exceptions=False)
        assert dry.exit_code == 0, dry.output
        planned = json.loads(dry.stdout)
        assert planned["ok"] is True and planned["dry_run"] is True and planned["settled"] == []
        assert [(i["trans_id"], i["kind"], i["action"]) for i in planned["left"]] == [("CLI-R", "capture", "none")]
        done = CliRunner().invoke(app, base, env=ENV, catch_exceptions=False)
        assert done.exit_code == 0, done.output
        report = json.loads(done.stdout)
        assert [(i["trans_id"], i["kind"], i["action"], i["outcome"]) for i in report["settled"]] == [
            ("CLI-R", "capture", "resent", "succeeded")
        ]
        assert report["left"] == []
        assert len(sim.payment(created.pay_id).captures) == 1
        assert ledger.payment("CLI-R").amount_captured == 800
