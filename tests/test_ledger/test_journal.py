"""Journaling in both clients, on both engines: the payment is recorded before paypalorders
leaves, each operation with its ReqId before its request leaves, the outcome after."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from axepta.credentials import Credentials
from axepta.errors import GatewayError, InvalidRequestError, TransportError
from axepta.ledger import Ledger
from axepta.simulator import Simulator
from tests.test_ledger._flows import URLS, async_client, call, quiet_simulator, sync_client


@pytest.fixture
def sim(credentials: Credentials) -> Any:
    with quiet_simulator(credentials) as simulator:
        yield simulator


@pytest.fixture(params=["sync", "async"])
async def client(request: pytest.FixtureRequest, sim: Simulator, credentials: Credentials, books_url: str) -> AsyncIterator[Any]:
    ledger = Ledger(books_url)
    if request.param == "sync":
        with sync_client(sim, credentials, ledger) as c:
            yield c
    else:
        async with async_client(sim, credentials, ledger) as c:
            yield c
    ledger.close()


async def order(client: Any, trans_id: str, amount: int = 1000, **extra: Any) -> Any:
    return await call(
        client, "create_paypal_order", trans_id=trans_id, amount=amount, currency="EUR",
        order_desc="Book", **URLS, **extra,
    )  # fmt: skip


async def test_order_authorize_capture_refund_are_journaled(client: Any, sim: Simulator) -> None:
    ledger = client.ledger
    created = await order(client, "T-1", capture="Manual", tx_type="Order")
    payment = ledger.payment("T-1")
    assert (payment.state, payment.pay_id, payment.amount, payment.capture, payment.tx_type) == (
        "created", created.pay_id, 1000, "Manual", "Order",
    )
    sim.approve(created.pay_id)
    pay = {"pay_id": created.pay_id, "trans_id": "T-1", "currency": "EUR"}
    await call(client, "authorize", amount=1000, **pay)
    first = await call(client, "capture", amount=600, **pay)
    await call(client, "capture", amount=400, **pay)
    await call(client, "credit", amount=250, tid=first.tid, **pay)
    payment = ledger.payment("T-1")
    assert (payment.state, payment.amount_authorized, payment.amount_captured, payment.amount_refunded) == (
        "refunded", 1000, 1000, 250,
    )
    assert payment.group == "finished"
    ops = ledger.operations("T-1")
    assert [(o.kind, o.outcome) for o in ops] == [
        ("paypal_order", "succeeded"), ("authorize", "succeeded"), ("capture", "succeeded"),
        ("capture", "succeeded"), ("credit", "succeeded"),
    ]
    assert all(o.attempts == 1 for o in ops)
    assert [o.code for o in ops[1:]] == ["00000000"] * 4  # the plain paypalorders reply has no Code
    assert [o.req_id is not None for o in ops] == [True, False, True, True, True]  # Authorize has none
    assert ops[2].tid == first.tid
    assert ops[2].request["fields"]["amount"] == 600 and ops[2].request["fields"]["req_id"] == ops[2].req_id
    transitions = [(t.from_state, t.to_state, t.delta_captured) for t in ledger.transitions("T-1")]
    assert transitions == [
        (None, "created", 0), ("created", "authorized", 0), ("authorized", "captured", 600),
        ("captured", "closed", 400), ("closed", "refunded", 0),
    ]
    assert ("tid", first.tid, "reply") in [(i.kind, i.value, i.source) for i in ledger.payment_ids("T-1")]


async def test_nothing_secret_is_stored(client: Any, secrets: tuple[str, str]) -> None:
    await order(client, "T-S")
    op = client.ledger.operations("T-S")[0]
    text = repr(op.request)
    assert "MAC" not in text and "Data" not in text
    assert not any(secret in text for secret in secrets)


async def test_a_reused_trans_id_is_refused_before_anything_is_sent(client: Any, sim: Simulator) -> None:
    await order(client, "T-2")
    before = len(sim.payments())
    with pytest.raises(InvalidRequestError, match="already hold") as info:
        await order(client, "T-2")
    assert info.value.field == "TransID"
    assert len(sim.payments()) == before


async def test_a_capture_beyond_115_percent_is_refused_before_it_leaves(client: Any, sim: Simulator) -> None:
    created = await order(client, "T-3", capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    pay = {"pay_id": created.pay_id, "trans_id": "T-3", "currency": "EUR"}
    with pytest.raises(InvalidRequestError, match="115 %") as info:
        await call(client, "capture", amount=1151, **pay)
    assert info.value.field == "Amount"
    assert [o.kind for o in client.ledger.operations("T-3")] == ["paypal_order"]
    with pytest.raises(InvalidRequestError, match="captured total"):
        await call(client, "credit", amount=100, **pay)


async def test_a_follow_up_of_an_unknown_payment_is_refused(client: Any) -> None:
    with pytest.raises(InvalidRequestError, match="no such payment in the books"):
        await call(client, "capture", pay_id="0" * 32, trans_id="nope", amount=100, currency="EUR")


async def test_declined_follow_up_leaves_the_payment_declined_order_fails_it(client: Any, sim: Simulator) -> None:
    created = await order(client, "T-4", capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    sim.faults.decline("21500067", path="capture")
    with pytest.raises(GatewayError):
        await call(client, "capture", pay_id=created.pay_id, trans_id="T-4", amount=100, currency="EUR")
    ops = client.ledger.operations("T-4")
    assert (ops[-1].kind, ops[-1].outcome, ops[-1].code) == ("capture", "declined", "21500067")
    assert client.ledger.payment("T-4").state == "created"  # the books saw no approval result
    sim.faults.decline("21500991", path="paypalorders")
    with pytest.raises(GatewayError):
        await order(client, "T-5")
    failed = client.ledger.payment("T-5")
    assert (failed.state, failed.group) == ("failed", "failed")


async def test_a_lost_reply_leaves_unknown_and_the_same_req_id_settles_it_once(client: Any, sim: Simulator) -> None:
    created = await order(client, "T-7", capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    sim.faults.drop_connection(path="capture", after_acting=True)
    with pytest.raises(TransportError) as info:
        await call(client, "capture", pay_id=created.pay_id, trans_id="T-7", amount=300, currency="EUR")
    op = client.ledger.operations("T-7")[-1]
    assert (op.outcome, op.req_id) == ("unknown", info.value.req_id)
    assert client.ledger.payment("T-7").amount_captured == 0
    again = await call(
        client, "capture", pay_id=created.pay_id, trans_id="T-7", amount=300, currency="EUR", req_id=op.req_id
    )
    assert again.code == "00000000"
    ops = client.ledger.operations("T-7")
    assert [(o.kind, o.outcome) for o in ops] == [("paypal_order", "succeeded"), ("capture", "succeeded")]
    assert ops[-1].attempts == 2
    assert client.ledger.payment("T-7").amount_captured == 300
    assert len(sim.payment(created.pay_id).captures) == 1
    # the same ReqId once more: the platform answers the first result, the books count it once
    await call(client, "capture", pay_id=created.pay_id, trans_id="T-7", amount=300, currency="EUR", req_id=op.req_id)
    assert client.ledger.payment("T-7").amount_captured == 300


async def test_a_req_id_of_another_operation_is_refused(client: Any, sim: Simulator) -> None:
    created = await order(client, "T-8", capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    first = await call(client, "capture", pay_id=created.pay_id, trans_id="T-8", amount=100, currency="EUR")
    with pytest.raises(InvalidRequestError, match="another operation") as info:
        await call(client, "capture", pay_id=created.pay_id, trans_id="T-8", amount=200, currency="EUR", req_id=first.req_id)
    assert info.value.field == "ReqId"


async def test_payout_and_reference_charge_are_payments_of_their_own(client: Any, sim: Simulator) -> None:
    await call(client, "credit_without_reference", trans_id="P-1", amount=1500, currency="EUR", payer_id="XVRKM94GQDXB2")
    payout = client.ledger.payment("P-1")
    assert (payout.kind, payout.state, payout.pay_id is not None) == ("payout", "closed", True)


def test_concurrent_captures_never_exceed_115_percent(books_url: str, credentials: Credentials, sim: Simulator) -> None:
    """Eight threads capture 300 each on an authorisation of 1000 at the same moment: one writer
    per payment (BEGIN IMMEDIATE / FOR UPDATE), operations in flight counted: three pass."""
    import threading

    from tests.test_ledger._flows import sync_client

    ledger = Ledger(books_url)
    with sync_client(sim, credentials, ledger) as client:
        created = client.create_paypal_order(
            trans_id="T-C", amount=1000, currency="EUR", order_desc="x", capture="Manual", tx_type="Auth", **URLS
        )
        sim.approve(created.pay_id)
        outcomes: list[str] = []
        barrier = threading.Barrier(8)

        def capture() -> None:
            barrier.wait(timeout=30)
            try:
                client.capture(pay_id=created.pay_id, trans_id="T-C", amount=300, currency="EUR")
                outcomes.append("ok")
            except InvalidRequestError:
                outcomes.append("refused")

        threads = [threading.Thread(target=capture) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    assert ledger.payment("T-C").amount_captured == 900
    assert len(sim.payment(created.pay_id).captures) == 3
    ledger.close()
