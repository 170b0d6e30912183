"""Crash tests (LEDGER.md "Exactly once"): a worker process journaling a call against the
simulator over loopback is killed with SIGKILL (a) after the operation is committed and before
the request leaves, (b) after the platform acted and before the reply is recorded; reconcile then
leaves exactly one capture on the simulator's books and the payment's totals right. Both engines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.simulator import Simulator, SimulatorServer
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_ledger._flows import URLS, quiet_simulator

pytestmark = pytest.mark.slow

WORKER = Path(__file__).with_name("_worker.py")


@pytest.fixture
def gateway(credentials: Credentials) -> Iterator[tuple[Simulator, str]]:
    with quiet_simulator(credentials) as sim, SimulatorServer(sim) as server:
        yield sim, server.url


def run_worker(base_url: str, database_url: str, method: str, crash: str | None, **kwargs: Any) -> int:
    env = {
        **os.environ,
        "AXEPTA_MERCHANT_ID": DEMO_MID,
        "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH,
        "AXEPTA_HMAC_KEY": DEMO_HMAC,
    }
    env.pop("AXEPTA_LEDGER_TEST_CRASH", None)
    if crash:
        env["AXEPTA_LEDGER_TEST_CRASH"] = crash
    done = subprocess.run(
        [sys.executable, str(WORKER), base_url, database_url, method, json.dumps(kwargs)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode


def client_for(base_url: str, credentials: Credentials, ledger: Ledger) -> AxeptaClient:
    return AxeptaClient(credentials, base_url=base_url, browser_base_url=base_url, ledger=ledger, timeout=10)


def authorised_payment(sim: Simulator, client: AxeptaClient, trans_id: str, tx_type: str) -> str:
    created = client.create_paypal_order(
        trans_id=trans_id, amount=1000, currency="EUR", order_desc="Crash", capture="Manual",
        tx_type=tx_type, **URLS,
    )  # fmt: skip
    sim.approve(created.pay_id)
    assert created.pay_id is not None
    return created.pay_id


@pytest.mark.parametrize("crash", ["after-intent", "before-outcome"])
def test_capture_killed_then_reconciled_exactly_once(
    crash: str, gateway: tuple[Simulator, str], books_url: str, credentials: Credentials
) -> None:
    sim, url = gateway
    with Ledger(books_url) as ledger, client_for(url, credentials, ledger) as client:
        pay_id = authorised_payment(sim, client, "CRASH-CAP", "Auth")
        code = run_worker(url, books_url, "capture", crash, pay_id=pay_id, trans_id="CRASH-CAP", amount=600, currency="EUR")
        assert code == -signal.SIGKILL
        expected_before = 0 if crash == "after-intent" else 1
        assert len(sim.payment(pay_id).captures) == expected_before
        capture = ledger.operations("CRASH-CAP")[-1]
        assert (capture.kind, capture.outcome) == ("capture", "intent")  # may have left: reconcile decides
        assert ledger.payment("CRASH-CAP").amount_captured == 0

        report = ledger.reconcile(client, min_age=0)
        assert [(i.kind, i.action, i.outcome) for i in report.settled] == [("capture", "resent", "succeeded")]
        assert report.left == []
        assert len(sim.payment(pay_id).captures) == 1
        payment = ledger.payment("CRASH-CAP")
        assert (payment.state, payment.amount_captured) == ("captured", 600)
        # a second run finds nothing left to do
        again = ledger.reconcile(client, min_age=0)
        assert (again.settled, again.left) == ([], [])
        assert len(sim.payment(pay_id).captures) == 1


@pytest.mark.parametrize("crash", ["after-intent", "before-outcome"])
def test_authorize_killed_then_settled_by_inquiry_exactly_once(
    crash: str, gateway: tuple[Simulator, str], books_url: str, credentials: Credentials
) -> None:
    sim, url = gateway
    with Ledger(books_url) as ledger, client_for(url, credentials, ledger) as client:
        pay_id = authorised_payment(sim, client, "CRASH-AUTH", "Order")  # approved, nothing authorised yet
        code = run_worker(url, books_url, "authorize", crash, pay_id=pay_id, trans_id="CRASH-AUTH", amount=1000, currency="EUR")
        assert code == -signal.SIGKILL
        authorised_on_the_platform = crash == "before-outcome"
        assert sim.payment(pay_id).authorized == (1000 if authorised_on_the_platform else 0)
        op = ledger.operations("CRASH-AUTH")[-1]
        assert (op.kind, op.outcome, op.req_id) == ("authorize", "intent", None)

        report = ledger.reconcile(client, min_age=0)
        settled = [(i.kind, i.action, i.outcome) for i in report.settled]
        # it happened: the inquiry shows it and nothing is sent; it did not: the inquiry shows
        # nothing authorised, so it is sent once
        assert settled == [("authorize", "inquired" if authorised_on_the_platform else "resent", "succeeded")]
        assert report.left == []
        assert sim.payment(pay_id).authorized == 1000
        payment = ledger.payment("CRASH-AUTH")
        assert (payment.state, payment.amount_authorized) == ("authorized", 1000)
        kinds = [(o.kind, o.outcome) for o in ledger.operations("CRASH-AUTH")]
        assert kinds.count(("authorize", "succeeded")) == 1
        assert ("inquire", "succeeded") in kinds
        # the books now allow a capture of up to 115 % and no more
        client.capture(pay_id=pay_id, trans_id="CRASH-AUTH", amount=1000, currency="EUR")
        assert len(sim.payment(pay_id).captures) == 1
        again = ledger.reconcile(client, min_age=0)
        assert (again.settled, again.left) == ([], [])
