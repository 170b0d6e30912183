"""Issue 11 item 8: one ReqId, one operation. The simulator answers a ReqId already used with
the first request's outcome (PROTOCOL.md §6.1), whatever the new parameters; the client never
reports that outcome as the success of another operation. The same client refuses to send a
ReqId it already used for another operation; a fresh client (another process, a restart)
notices the mismatch in the reply."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import InvalidRequestError, ProtocolError
from axepta.models import CaptureRequest
from axepta.simulator import Simulator
from tests.test_simulator.conftest import URLS

Factory = Callable[[], Any]


@pytest.fixture(params=["sync", "async"])
async def clients(request: pytest.FixtureRequest, sim: Simulator, credentials: Credentials) -> AsyncIterator[Factory]:
    """Makes fresh clients (each with its own memory of ReqIds) on the simulator."""
    opened: list[Any] = []

    def make() -> Any:
        if request.param == "sync":
            client: Any = AxeptaClient(credentials, http_client=httpx.Client(transport=sim.transport()), retry_backoff=0)
        else:
            client = AsyncAxeptaClient(credentials, http_client=httpx.AsyncClient(transport=sim.transport()), retry_backoff=0)
        opened.append(client)
        return client

    yield make
    for client in opened:
        http = client._http  # the injected client is not closed by ours
        if inspect.iscoroutinefunction(http.aclose if hasattr(http, "aclose") else None):
            await http.aclose()
        else:
            http.close()


async def call(client: Any, method: str, **kwargs: Any) -> Any:
    result = getattr(client, method)(**kwargs)
    return await result if inspect.isawaitable(result) else result


async def authorized(client: Any, sim: Simulator, amount: int = 10000) -> str:
    created = await call(client, "create_paypal_order", trans_id="T-1", amount=amount, currency="EUR",
                         order_desc="ReqId test", capture="Manual", tx_type="Auth", **URLS)  # fmt: skip
    sim.approve(created.pay_id)
    assert sim.payment(created.pay_id).state == "authorized"
    return str(created.pay_id)


def money(sim: Simulator, pay_id: str) -> tuple[int, int]:
    view = sim.payment(pay_id)
    return view.captured, sum(c.refunded for c in view.captures)


async def test_credit_with_a_captures_req_id_is_never_a_success(sim: Simulator, clients: Factory) -> None:
    """The observed case: credit(req_id=<a capture's ReqId>) returned succeeded=True."""
    shop = clients()
    pay_id = await authorized(shop, sim)
    capture = await call(shop, "capture", pay_id=pay_id, trans_id="T-1", amount=6000, currency="EUR", req_id="cap1")
    assert capture.succeeded and money(sim, pay_id) == (6000, 0)
    # the same client knows the ReqId: refused before anything is sent
    sent_before = sim.stats().get("requests")
    with pytest.raises(InvalidRequestError, match=r"ReqId cap1: already used by this client for the capture") as info:
        await call(shop, "credit", pay_id=pay_id, trans_id="T-1", amount=6000, currency="EUR", req_id="cap1")
    assert info.value.field == "ReqId"
    assert sim.stats().get("requests") == sent_before
    # a fresh client sends it; the simulator answers the capture's outcome; the client refuses it
    with pytest.raises(ProtocolError, match="refund") as refused:
        await call(clients(), "credit", pay_id=pay_id, trans_id="T-1", amount=6000, currency="EUR", req_id="cap1")
    assert "cap1" in str(refused.value)
    assert money(sim, pay_id) == (6000, 0)  # nothing was refunded
    assert sim.stats()["replays_other_params"] == 1


async def test_capture_or_reverse_with_a_credits_req_id_is_never_a_success(sim: Simulator, clients: Factory) -> None:
    shop = clients()
    pay_id = await authorized(shop, sim)
    await call(shop, "capture", pay_id=pay_id, trans_id="T-1", amount=6000, currency="EUR", req_id="cap2")
    refund = await call(shop, "credit", pay_id=pay_id, trans_id="T-1", amount=1000, currency="EUR", req_id="ref2")
    assert refund.gross_refund_amount == 1000
    with pytest.raises(ProtocolError, match="refund"):
        await call(clients(), "capture", pay_id=pay_id, trans_id="T-1", amount=3000, currency="EUR", req_id="ref2")
    assert money(sim, pay_id) == (6000, 1000)
    with pytest.raises(ProtocolError, match="TID"):  # a capture's outcome is not a reversal
        await call(clients(), "reverse", pay_id=pay_id, trans_id="T-1", amount=4000, currency="EUR", req_id="cap2")
    assert money(sim, pay_id) == (6000, 1000) and sim.payment(pay_id).state == "captured"


async def test_capture_with_a_reversals_req_id_is_never_a_success(sim: Simulator, clients: Factory) -> None:
    shop = clients()
    first = await authorized(shop, sim)
    await call(shop, "reverse", pay_id=first, trans_id="T-1", amount=10000, currency="EUR", req_id="rev3")
    second = await authorized(shop, sim)
    # the replayed reversal names the first payment: the PayID echo refuses it
    with pytest.raises(ProtocolError, match=r"PayID .* does not echo"):
        await call(clients(), "capture", pay_id=second, trans_id="T-1", amount=5000, currency="EUR", req_id="rev3")
    assert money(sim, second) == (0, 0)


async def test_credit_with_another_credits_req_id_and_amount(sim: Simulator, clients: Factory) -> None:
    shop = clients()
    pay_id = await authorized(shop, sim)
    await call(shop, "capture", pay_id=pay_id, trans_id="T-1", amount=8000, currency="EUR", req_id="cap4")
    await call(shop, "credit", pay_id=pay_id, trans_id="T-1", amount=1000, currency="EUR", req_id="ref4")
    with pytest.raises(InvalidRequestError, match="ReqId ref4"):
        await call(shop, "credit", pay_id=pay_id, trans_id="T-1", amount=2500, currency="EUR", req_id="ref4")
    with pytest.raises(ProtocolError, match=r"GrossRefundAmount 1000, not the 2500 requested"):
        await call(clients(), "credit", pay_id=pay_id, trans_id="T-1", amount=2500, currency="EUR", req_id="ref4")
    assert money(sim, pay_id) == (8000, 1000)


async def test_credit_without_reference_with_a_captures_req_id(sim: Simulator, clients: Factory) -> None:
    shop = clients()
    pay_id = await authorized(shop, sim)
    await call(shop, "capture", pay_id=pay_id, trans_id="T-1", amount=6000, currency="EUR", req_id="cap5")
    with pytest.raises(ProtocolError, match="refund"):
        await call(clients(), "credit_without_reference", trans_id="T-1", amount=500, currency="EUR",
                   payer_id="XVRKM94GQDXB2", req_id="cap5")  # fmt: skip


async def test_a_true_retry_of_the_same_operation_still_succeeds(sim: Simulator, clients: Factory) -> None:
    """Same ReqId, same parameters: the platform's answer to the first attempt, done once."""
    shop = clients()
    pay_id = await authorized(shop, sim)
    kwargs = {"pay_id": pay_id, "trans_id": "T-1", "amount": 6000, "currency": "EUR", "req_id": "cap6"}
    first = await call(shop, "capture", **kwargs)
    again = await call(shop, "capture", **kwargs)
    elsewhere = await call(clients(), "capture", **kwargs)
    assert first.tid == again.tid == elsewhere.tid and money(sim, pay_id) == (6000, 0)
    refund = {"pay_id": pay_id, "trans_id": "T-1", "amount": 1500, "currency": "EUR", "req_id": "ref6"}
    assert (await call(shop, "credit", **refund)).gross_refund_amount == 1500
    assert (await call(clients(), "credit", **refund)).gross_refund_amount == 1500
    assert money(sim, pay_id) == (6000, 1500)
    assert sim.stats().get("replays_other_params", 0) == 0


def test_simulator_answers_a_reused_req_id_with_the_originals_outcome(sim: Simulator, credentials: Credentials) -> None:
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http) as client:
        created = client.create_paypal_order(trans_id="T-1", amount=10000, currency="EUR", order_desc="x",
                                             capture="Manual", tx_type="Auth", **URLS)  # fmt: skip
        sim.approve(created.pay_id)
        prepared = client.prepare(CaptureRequest(pay_id=created.pay_id, trans_id="T-1", amount=4000, currency="EUR", req_id="same"))
        first = http.post(prepared.url, data=dict(prepared.form))
        other = AxeptaClient(credentials, http_client=http)
        bigger = other.prepare(CaptureRequest(pay_id=created.pay_id, trans_id="T-1", amount=9000, currency="EUR", req_id="same"))
        second = http.post(bigger.url, data=dict(bigger.form))
    assert second.content == first.content  # the original's outcome, byte for byte
    assert sim.payment(created.pay_id).captured == 4000
    stats = sim.stats()
    assert stats["replays"] == 1 and stats["replays_other_params"] == 1
