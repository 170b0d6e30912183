"""Ledger.reconcile: the rules of LEDGER.md "Exactly once" against the in-process simulator, on
both engines (the crash tests do the same with killed processes over loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import TransportError
from axepta.ledger import Ledger
from axepta.ledger.reconcile import judge
from axepta.simulator import Simulator
from tests.test_ledger._flows import URLS, quiet_simulator, sync_client


@pytest.fixture
def setup(credentials: Credentials, books_url: str) -> Iterator[tuple[Simulator, AxeptaClient, Ledger]]:
    with quiet_simulator(credentials) as sim, Ledger(books_url) as ledger, sync_client(sim, credentials, ledger) as client:
        yield sim, client, ledger


def order(client: AxeptaClient, trans_id: str, **extra: Any) -> str:
    created = client.create_paypal_order(trans_id=trans_id, amount=1000, currency="EUR", order_desc="R", **URLS, **extra)
    assert created.pay_id is not None
    return created.pay_id


def test_judge_follows_the_amounts() -> None:
    assert judge("authorize", 500, books=(0, 0, 0), inquired=(500, 0, 0)) == "happened"
    assert judge("authorize", 500, books=(0, 0, 0), inquired=(0, 0, 0)) == "not_happened"
    assert judge("authorize", 500, books=(0, 0, 0), inquired=(300, 0, 0)) == "unclear"
    assert judge("reftrans", 700, books=(0, 0, 0), inquired=(700, 700, 0)) == "happened"
    assert judge("complete", 900, books=(0, 0, 0), inquired=(0, 0, 0), tx_type="Order") == "unclear"
    assert judge("complete", 900, books=(0, 0, 0), inquired=(900, 900, 0)) == "happened"
    with pytest.raises(ValueError, match="ReqId"):
        judge("capture", 1, books=(0, 0, 0), inquired=(0, 0, 0))


def test_an_unknown_capture_is_resent_with_its_req_id_after_min_age(setup: tuple[Simulator, AxeptaClient, Ledger]) -> None:
    sim, client, ledger = setup
    pay_id = order(client, "R-1", capture="Manual", tx_type="Auth")
    sim.approve(pay_id)
    sim.faults.drop_connection(path="capture", after_acting=True)
    with pytest.raises(TransportError):
        client.capture(pay_id=pay_id, trans_id="R-1", amount=400, currency="EUR")
    young = ledger.reconcile(client)  # default --min-age 60: the original may still be running
    assert (young.settled, young.left) == ([], [])
    dry = ledger.reconcile(client, min_age=0, dry_run=True)
    assert [(i.kind, i.action) for i in dry.left] == [("capture", "none")]
    assert "would resend" in (dry.left[0].note or "")
    assert ledger.operations("R-1")[-1].outcome == "unknown"
    report = ledger.reconcile(client, min_age=0)
    assert [(i.kind, i.action, i.outcome) for i in report.settled] == [("capture", "resent", "succeeded")]
    assert len(sim.payment(pay_id).captures) == 1
    assert ledger.payment("R-1").amount_captured == 400
    assert report.as_json()["settled"][0]["req_id"] == ledger.operations("R-1")[-1].req_id


def test_a_stale_not_finished_payment_moves_forward_on_the_inquiry(setup: tuple[Simulator, AxeptaClient, Ledger]) -> None:
    sim, client, ledger = setup
    paid = order(client, "R-2")  # Capture=Auto: the platform captures at approval
    sim.approve(paid)
    order(client, "R-3")  # the buyer never comes back
    report = ledger.reconcile(client, min_age=0, stale_after=0)
    assert [(i.trans_id, i.outcome) for i in report.settled] == [("R-2", "moved")]
    assert [(i.trans_id, i.outcome) for i in report.left] == [("R-3", "created")]
    assert "abandoned" in (report.left[0].note or "")
    payment = ledger.payment("R-2")
    assert (payment.state, payment.amount_captured) == ("captured", 1000)
    assert ledger.payment("R-3").state == "created"  # an inquiry never expires a payment
    assert [t.cause for t in ledger.transitions("R-2")][-1] == "inquiry"


def test_reconcile_needs_a_sync_client(setup: tuple[Simulator, AxeptaClient, Ledger]) -> None:
    from axepta.errors import ConfigurationError

    _, _, ledger = setup
    with pytest.raises(ConfigurationError, match="AxeptaClient"):
        ledger.reconcile(object())  # type: ignore[arg-type]
