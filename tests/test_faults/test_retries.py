"""What the client retries by itself, and what it never retries.

* Connect errors (refused, connect timeout, no pooled connection): nothing reached the platform,
  so the client tries again, with the **same ReqId** on every attempt.
* Anything after the request may have arrived (lost answer, 5xx, timeout) is never retried —
  above all for ``paypalComplete``, ``Authorize`` and ``paypalreftrans``, which have no ReqId:
  a second request would be a second operation.
"""

from __future__ import annotations

import time
import types
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

import axepta.client
from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import GatewayError, TransportError
from axepta.simulator import Simulator, SimulatorServer
from tests.test_faults.conftest import (
    Client,
    ClientFactory,
    LateReply,
    Rig,
    agreement,
    authorized,
    call,
    free_port,
    ordered,
    req_id_of,
    shortcut,
    wait_until,
)


class RefuseFirst(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Fails the first ``failures`` attempts at the connect stage (nothing is sent), records
    the ReqId inside every attempt, then hands requests to the simulator."""

    def __init__(self, inner: Any, credentials: Credentials, failures: int, error: type[httpx.TransportError]) -> None:
        self.inner = inner
        self.credentials = credentials
        self.failures = failures
        self.error = error
        self.req_ids: list[str | None] = []

    def _attempt(self, request: httpx.Request) -> None:
        request.read()
        self.req_ids.append(req_id_of(request, self.credentials))
        if len(self.req_ids) <= self.failures:
            raise self.error("refused (simulated)", request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._attempt(request)
        response: httpx.Response = self.inner.handle_request(request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._attempt(request)
        response: httpx.Response = await self.inner.handle_async_request(request)
        return response


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_connect_failures_are_retried_with_the_same_req_id(
    sim: Simulator, credentials: Credentials, flavour: str, error: type[httpx.TransportError]
) -> None:
    transport = RefuseFirst(sim.transport(), credentials, failures=2, error=error)
    cls = AxeptaClient if flavour == "sync" else AsyncAxeptaClient
    http: Any = (httpx.Client if flavour == "sync" else httpx.AsyncClient)(transport=transport)
    client = cls(credentials, http_client=http, retry_backoff=0, max_retries=2)
    pay_id = await authorized(client, sim, "CONN-1")
    transport.req_ids.clear()
    transport.failures = 2
    result = await call(client, "capture", pay_id=pay_id, trans_id="CONN-1", amount=3000, currency="EUR")
    assert len(transport.req_ids) == 3 and len(set(transport.req_ids)) == 1
    assert transport.req_ids[0] == result.req_id and len(result.req_id) == 32
    assert sim.stats()["requests:capture"] == 1  # only the last attempt reached the platform
    assert sim.payment(pay_id).captured == 3000 and len(sim.payment(pay_id).captures) == 1

    # one failure too many: nothing was sent, the error says so and names the ReqId
    transport.req_ids.clear()
    transport.failures = 3
    with pytest.raises(TransportError) as caught:
        await call(client, "capture", pay_id=pay_id, trans_id="CONN-1", amount=3000, currency="EUR")
    assert caught.value.sent is False and caught.value.req_id == transport.req_ids[0]
    assert len(set(transport.req_ids)) == 1 and len(transport.req_ids) == 3
    assert "never reached the gateway" in str(caught.value) and caught.value.req_id in str(caught.value)
    assert sim.stats()["requests:capture"] == 1 and sim.payment(pay_id).captured == 3000
    # ... so retrying it later with that ReqId captures once
    await call(client, "capture", pay_id=pay_id, trans_id="CONN-1", amount=3000, currency="EUR", req_id=caught.value.req_id)
    assert sim.payment(pay_id).captured == 6000 and len(sim.payment(pay_id).captures) == 2
    if isinstance(http, httpx.AsyncClient):
        await http.aclose()
    else:
        http.close()


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_connection_refused_over_loopback_then_the_server_comes_up(
    sim: Simulator, credentials: Credentials, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    """A real refused connection on 127.0.0.1: the client backs off, the gateway comes up
    during the pause, the retry (same ReqId) captures once."""
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http) as setup:
        pay_id = await authorized(setup, sim, "UP-1")
    port = free_port()
    servers: list[SimulatorServer] = []
    pauses: list[float] = []

    def come_up(seconds: float) -> None:
        pauses.append(seconds)
        if not servers:
            servers.append(SimulatorServer(sim, port=port).start())

    async def come_up_async(seconds: float) -> None:
        come_up(seconds)

    if flavour == "sync":
        monkeypatch.setattr(axepta.client, "time", types.SimpleNamespace(sleep=come_up))
    else:
        monkeypatch.setattr(axepta.client, "anyio", types.SimpleNamespace(sleep=come_up_async))
    url = f"http://127.0.0.1:{port}/"
    cls = AxeptaClient if flavour == "sync" else AsyncAxeptaClient
    client = cls(credentials, base_url=url, browser_base_url=url, retry_backoff=0.25, max_retries=2, timeout=5)
    try:
        result = await call(client, "capture", pay_id=pay_id, trans_id="UP-1", amount=2500, currency="EUR", req_id="comeup1")
        assert pauses == [0.25], "one refused attempt, one pause, then success"
        assert result.req_id == "comeup1" and result.status == "OK"
        assert sim.stats()["requests:capture"] == 1
        assert sim.payment(pay_id).captured == 2500
    finally:
        await client.aclose() if isinstance(client, AsyncAxeptaClient) else client.close()
        for server in servers:
            server.stop()


async def _authorize(client: Client, sim: Simulator, trans_id: str) -> tuple[str, dict[str, Any], Callable[[], Any]]:
    pay_id = await ordered(client, sim, trans_id)
    kwargs = {"pay_id": pay_id, "trans_id": trans_id, "amount": 10000, "currency": "EUR"}
    return "authorize", kwargs, lambda: sim.payment(pay_id).state


async def _complete(client: Client, sim: Simulator, trans_id: str) -> tuple[str, dict[str, Any], Callable[[], Any]]:
    pay_id = await shortcut(client, sim, trans_id)
    kwargs = {"pay_id": pay_id, "trans_id": trans_id, "amount": 9000, "currency": "EUR"}
    return "paypalcomplete", kwargs, lambda: sim.payment(pay_id).state


async def _reftrans(client: Client, sim: Simulator, trans_id: str) -> tuple[str, dict[str, Any], Callable[[], Any]]:
    baid = await agreement(client, sim, trans_id + "-BA")
    kwargs = {"billing_agreement_id": baid, "trans_id": trans_id, "amount": 990, "currency": "EUR"}
    return "paypalreftrans", kwargs, lambda: sum(p.captured for p in sim.payments() if p.trans_id == trans_id)


NO_REQ_ID: dict[str, tuple[str, Callable[..., Awaitable[tuple[str, dict[str, Any], Callable[[], Any]]]], Any]] = {
    "authorize": ("authorize", _authorize, "authorized"),
    "paypal_complete": ("complete_paypal_order", _complete, "closed"),
    "paypal_reftrans": ("reference_transaction", _reftrans, 990),
}


@pytest.mark.parametrize("fault", ["drop", "5xx", "timeout"])
@pytest.mark.parametrize("operation", list(NO_REQ_ID))
async def test_operations_without_req_id_are_never_retried_once_sent(
    rig: Rig, make_client: ClientFactory, operation: str, fault: str
) -> None:
    method, setup, acted = NO_REQ_ID[operation]
    sim = rig.sim
    setup_client = make_client()
    endpoint, kwargs, effect = await setup(setup_client, sim, rig.trans_id(operation))
    client = make_client()
    if fault == "drop":
        sim.faults.drop_connection(path=endpoint)
    elif fault == "5xx":
        sim.faults.server_error(502, path=endpoint, after_acting=True)
    elif rig.transport == "loopback":
        sim.faults.latency(0.06, path=endpoint, count=1)
        client = make_client(timeout=httpx.Timeout(5, read=0.02))
    else:
        client = make_client(transport=LateReply(sim.transport(), endpoint))
    with pytest.raises(TransportError) as caught:
        await call(client, method, **kwargs)
    error = caught.value
    assert error.sent is True and error.req_id is None and error.operation == operation
    assert "no ReqId" in str(error) and "reconcile" in str(error)
    wait_until(lambda: rig.count(endpoint) == 1 and effect() == acted)
    time.sleep(0.02)
    assert rig.count(endpoint) == 1, "an operation without ReqId was sent twice"


@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_without_req_id_a_second_request_is_a_second_operation(
    sim: Simulator, credentials: Credentials, flavour: str
) -> None:
    """Why paypalreftrans must never be retried blindly: the platform has no way to tell a
    retry from a new charge, and charges the buyer again."""
    cls = AxeptaClient if flavour == "sync" else AsyncAxeptaClient
    http: Any = (httpx.Client if flavour == "sync" else httpx.AsyncClient)(transport=sim.transport())
    client = cls(credentials, http_client=http)
    baid = await agreement(client, sim, "TWICE-BA")
    sim.faults.drop_connection(path="paypalreftrans")
    with pytest.raises(TransportError):
        await call(client, "reference_transaction", billing_agreement_id=baid, trans_id="TWICE", amount=990, currency="EUR")
    await call(client, "reference_transaction", billing_agreement_id=baid, trans_id="TWICE", amount=990, currency="EUR")
    assert [p.captured for p in sim.payments() if p.trans_id == "TWICE"] == [990, 990]
    # whereas Authorize and paypalComplete refuse the second request (the state moved on)
    pay_id = await ordered(client, sim, "TWICE-AUTH")
    sim.faults.drop_connection(path="authorize")
    with pytest.raises(TransportError):
        await call(client, "authorize", pay_id=pay_id, trans_id="TWICE-AUTH", amount=10000, currency="EUR")
    with pytest.raises(GatewayError):
        await call(client, "authorize", pay_id=pay_id, trans_id="TWICE-AUTH", amount=10000, currency="EUR")
    assert sim.payment(pay_id).authorized == 10000
    if isinstance(http, httpx.AsyncClient):
        await http.aclose()
    else:
        http.close()


@pytest.mark.parametrize("operation", list(NO_REQ_ID))
async def test_operations_without_req_id_are_retried_when_nothing_was_sent(
    sim: Simulator, credentials: Credentials, operation: str
) -> None:
    method, setup, acted = NO_REQ_ID[operation]
    transport = RefuseFirst(sim.transport(), credentials, failures=0, error=httpx.ConnectError)
    with httpx.Client(transport=transport) as http, AxeptaClient(credentials, http_client=http, retry_backoff=0) as client:
        endpoint, kwargs, effect = await setup(client, sim, "REFUSED-" + operation)
        transport.failures = len(transport.req_ids) + 2
        await call(client, method, **kwargs)
    assert sim.stats()[f"requests:{endpoint}"] == 1 and effect() == acted
