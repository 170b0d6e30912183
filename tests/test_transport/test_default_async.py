"""Issue 14.1: the async client's default transport (aiohttp under asyncio) keeps every rule the
httpx path kept. What is proven where:

| rule | tests |
|---|---|
| deadline | ``test_deadline.py::test_async_client_ends_a_dripped_reply_at_its_deadline`` (asserts this path) |
| size caps before decompression | ``test_size_caps.py::test_async_client_asks_for_identity_and_caps_the_decoded_reply`` |
| TLS verification on by default | ``test_security/test_tls.py::test_async_client_refuses_an_untrusted_certificate``, below |
| redirects never followed | ``test_faults/test_transport_rules.py`` (default client), below |
| ReqId retry rules, money once | ``test_faults`` rig ``loopback-async-default`` (every fault test), below |
| respx / MockTransport keep working | below |
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import httpx
import pytest
import respx

from axepta._http import DefaultAsyncTransport, ShardedAsyncTransport, _mapped
from axepta.client import AsyncAxeptaClient
from axepta.credentials import Credentials
from axepta.errors import ProtocolError, TransportError
from axepta.simulator import Simulator, SimulatorServer
from tests.test_faults.conftest import free_port
from tests.test_transport._servers import Hostile, Seen, hostile

URLS = {"url_success": "https://shop.example/ok", "url_failure": "https://shop.example/ko",
        "url_notify": "https://shop.example/notify"}  # fmt: skip


def _transport(client: AsyncAxeptaClient) -> DefaultAsyncTransport:
    transport = client._http._transport
    assert isinstance(transport, DefaultAsyncTransport)
    return transport


@pytest.fixture
def served(credentials: Credentials) -> Iterator[tuple[Simulator, str]]:
    with Simulator(credentials, pending_timeout_minutes=1e9,
                   notify_transport=httpx.MockTransport(lambda r: httpx.Response(200))) as sim, \
            SimulatorServer(sim, port=0) as server:  # fmt: skip
        yield sim, server.url


async def test_a_whole_flow_runs_on_the_aiohttp_pool_and_money_moves_once(
    credentials: Credentials, served: tuple[Simulator, str]
) -> None:
    sim, url = served
    async with AsyncAxeptaClient(credentials, base_url=url, browser_base_url=url) as client:
        order = await client.create_paypal_order(
            trans_id="AIO-1", amount=3000, currency="EUR", order_desc="aiohttp", capture="Manual",
            tx_type="Auth", **URLS,
        )  # fmt: skip
        sim.approve(order.pay_id)
        results = await asyncio.gather(*(
            client.capture(pay_id=order.pay_id, trans_id="AIO-1", amount=1000, currency="EUR")
            for _ in range(3)
        ))  # fmt: skip
        transport = _transport(client)
        assert transport._session is not None and transport._shards is None  # aiohttp, not httpcore
    assert all(r.succeeded for r in results)
    assert sim.payment(order.pay_id).captured == 3000 and len(sim.payment(order.pay_id).captures) == 3


async def test_connect_errors_are_retried_with_the_same_req_id(credentials: Credentials) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    async with AsyncAxeptaClient(credentials, base_url=url, retry_backoff=0, max_retries=2) as client:
        with pytest.raises(TransportError) as caught:
            await client.capture(pay_id="a" * 32, trans_id="AIO-2", amount=100, currency="EUR", req_id="aioretry1")
        assert _transport(client)._session is not None
    assert caught.value.sent is False and caught.value.req_id == "aioretry1"
    assert "after 3 attempts" in str(caught.value) and "never reached" in str(caught.value)


@pytest.mark.parametrize(
    ("method", "kwargs", "req_id"),
    [
        ("capture", {"pay_id": "a" * 32, "trans_id": "AIO-3", "amount": 100, "currency": "EUR", "req_id": "aiodrop1"}, "aiodrop1"),
        ("authorize", {"pay_id": "a" * 32, "trans_id": "AIO-4", "amount": 100, "currency": "EUR"}, None),
        ("reference_transaction", {"billing_agreement_id": "B-1AB23456CD789012E", "trans_id": "AIO-5", "amount": 100, "currency": "EUR"}, None),
    ],
)
async def test_a_connection_dropped_after_sending_is_never_retried(
    credentials: Credentials, method: str, kwargs: dict[str, Any], req_id: str | None
) -> None:
    """aiohttp reports this as ServerDisconnectedError; httpx-aiohttp maps it to ConnectTimeout
    ("nothing sent": the client would retry, and charge twice without a ReqId)."""
    with hostile(Hostile(mode="drop")) as spec:
        async with AsyncAxeptaClient(credentials, base_url=spec.url, retry_backoff=0, max_retries=3) as client:
            with pytest.raises(TransportError) as caught:
                await getattr(client, method)(**kwargs)
            assert _transport(client)._session is not None
    assert caught.value.sent is True and caught.value.req_id == req_id
    assert len(spec.seen) == 1  # one request reached the server: no automatic retry


@pytest.mark.parametrize("status", [500, 503])
async def test_a_5xx_is_an_unknown_outcome_and_not_retried(credentials: Credentials, status: int) -> None:
    def answer(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "text/html"}, b"<html>busy</html>"

    with hostile(Hostile(mode="answer", responder=answer)) as spec:
        async with AsyncAxeptaClient(credentials, base_url=spec.url, max_retries=3) as client:
            with pytest.raises(TransportError) as caught:
                await client.credit(pay_id="a" * 32, trans_id="AIO-6", amount=100, currency="EUR", req_id="aio5xx1")
    assert caught.value.sent is True and caught.value.req_id == "aio5xx1" and len(spec.seen) == 1


async def test_redirects_are_returned_not_followed(credentials: Credentials) -> None:
    def target(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "text/plain"}, b"reached"

    with hostile(Hostile(mode="answer", responder=target)) as other:
        def redirect(seen: Seen) -> tuple[int, dict[str, str], bytes]:
            return 307, {"Location": other.url + "capture.aspx"}, b""

        with hostile(Hostile(mode="answer", responder=redirect)) as spec:
            async with AsyncAxeptaClient(credentials, base_url=spec.url) as client:
                with pytest.raises(ProtocolError, match=r"unexpected redirect \(HTTP 307\)"):
                    await client.capture(pay_id="a" * 32, trans_id="AIO-7", amount=100, currency="EUR")
                assert _transport(client)._session is not None
    assert len(spec.seen) == 1 and other.seen == []


def test_aiohttp_errors_say_what_was_sent() -> None:
    refused = aiohttp.ClientConnectorError(aiohttp.client_reqrep.ConnectionKey(  # type: ignore[attr-defined]
        "gateway.example", 443, True, True, None, None, None), OSError(111, "refused"))  # fmt: skip
    assert isinstance(_mapped(refused), httpx.ConnectError)
    assert isinstance(_mapped(aiohttp.ConnectionTimeoutError()), httpx.ConnectTimeout)
    # after sending: never "nothing was sent"
    for after in (aiohttp.ServerDisconnectedError(), aiohttp.ClientOSError(104, "reset"),
                  aiohttp.ClientPayloadError("cut"), aiohttp.SocketTimeoutError()):  # fmt: skip
        mapped = _mapped(after)
        assert not isinstance(mapped, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout), after


async def test_respx_still_mocks_the_default_client(credentials: Credentials) -> None:
    """respx patches httpcore's pool: the default transport then sends through httpcore."""
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://paymentpage.axepta.bnpparibas/capture.aspx").mock(
            return_value=httpx.Response(503, text="maintenance")
        )
        async with AsyncAxeptaClient(credentials, max_retries=0) as client:
            with pytest.raises(TransportError, match="HTTP 503"):
                await client.capture(pay_id="a" * 32, trans_id="AIO-8", amount=100, currency="EUR")
            transport = _transport(client)
            assert transport._session is None and isinstance(transport._shards, ShardedAsyncTransport)
    assert route.call_count == 1
    assert route.calls.last.request.headers["accept-encoding"] == "identity"


async def test_a_mock_transport_given_by_the_user_is_used(credentials: Credentials) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http, AsyncAxeptaClient(
        credentials, http_client=http, max_retries=0
    ) as client:
        with pytest.raises(TransportError):
            await client.reverse(pay_id="a" * 32, trans_id="AIO-9", amount=100, currency="EUR")
    assert len(seen) == 1
