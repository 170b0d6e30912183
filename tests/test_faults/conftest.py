"""Fixtures of the fault tests: the simulator reached in-process or over loopback HTTP, by the
sync or the async client, and helpers that set payments up and read the platform's state.

Every test asserts on the **simulator's** state (captures, refunds, payments, request counters):
what the platform did, not what the client believes.
"""

from __future__ import annotations

import inspect
import itertools
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx
import pytest

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.crypto import parse_params
from axepta.simulator import Simulator, SimulatorServer
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID

SHOP = "https://shop.example/"
URLS = {"url_success": SHOP + "ok", "url_failure": SHOP + "ko", "url_notify": SHOP + "notify"}
#: the whole URLNotify retry schedule (1 296 minutes) in about 8 ms
FAST = 1e-7
#: a payer for credits without reference (PayerID, ..13)
PAYER_ID = "XVRKM94GQDXB2"

Client = AxeptaClient | AsyncAxeptaClient


async def call(client: Client, method: str, **kwargs: Any) -> Any:
    """Call ``method`` on either client (awaited when it is a coroutine)."""
    result = getattr(client, method)(**kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def req_id_of(request: httpx.Request, credentials: Credentials) -> str | None:
    """The ReqId inside the encrypted ``Data`` of a request the client sent."""
    form = dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))
    return parse_params(credentials.codec.decrypt(form["Data"], form["Len"])).get("ReqId")


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


_unique = itertools.count(1)
_TLS = ssl.create_default_context()


@dataclass
class Rig:
    """One way of reaching the simulator: ``transport`` in-process or over ``loopback`` HTTP,
    with the ``sync`` or ``async`` client. The simulator (and its server) are shared by the
    whole session, so counters are read as differences from the start of the test."""

    sim: Simulator
    credentials: Credentials
    transport: Literal["in-process", "loopback"]
    flavour: Literal["sync", "async", "async-default"]
    server: SimulatorServer | None = None
    baseline: dict[str, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.transport}-{self.flavour}"

    def trans_id(self, prefix: str) -> str:
        """A TransID no other test of the session uses."""
        return f"{prefix}-{self.id}-{next(_unique)}"

    def delta(self, counter: str) -> int:
        """How much ``counter`` of ``sim.stats()`` grew since the test started."""
        return self.sim.stats().get(counter, 0) - self.baseline.get(counter, 0)

    def count(self, endpoint: str) -> int:
        """How many requests for ``endpoint`` reached the platform during this test."""
        return self.delta(f"requests:{endpoint}")


def _client_for(rig: Rig, stack: list[Any], **options: Any) -> Client:
    options.setdefault("retry_backoff", 0)
    if rig.transport == "loopback":
        assert rig.server is not None
        options.setdefault("timeout", httpx.Timeout(5, read=2))
        urls = {"base_url": rig.server.url, "browser_base_url": rig.server.url}
        # Real sockets through an injected pool: building a TLS context per client costs
        # ~25 ms, and these clients never speak TLS (the client's own pool is tested in
        # tests/test_security/test_tls.py). The client's timeouts apply to every request.
        if rig.flavour == "sync":
            pool = httpx.Client(verify=_TLS)
            stack.append(pool)
            return AxeptaClient(rig.credentials, http_client=pool, **urls, **options)
        if rig.flavour == "async-default":
            return AsyncAxeptaClient(rig.credentials, **urls, **options)
        apool = httpx.AsyncClient(verify=_TLS)
        stack.append(apool)
        return AsyncAxeptaClient(rig.credentials, http_client=apool, **urls, **options)
    if rig.flavour == "sync":
        http = httpx.Client(transport=options.pop("transport", None) or rig.sim.transport())
        stack.append(http)
        return AxeptaClient(rig.credentials, http_client=http, **options)
    ahttp = httpx.AsyncClient(transport=options.pop("transport", None) or rig.sim.transport())
    stack.append(ahttp)
    return AsyncAxeptaClient(rig.credentials, http_client=ahttp, **options)


@pytest.fixture
def sim(credentials: Credentials) -> Iterator[Simulator]:
    """A fresh simulator whose notifications go to an in-process shop that answers 200."""
    with Simulator(
        credentials, time_factor=FAST, seed=3, pending_timeout_minutes=1e9,
        notify_transport=httpx.MockTransport(lambda request: httpx.Response(200)),
    ) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def shared_sim() -> Iterator[Simulator]:
    """One simulator for the whole session (starting and stopping a loopback server costs
    ~50 ms; the tests use distinct TransIDs and read counters as differences)."""
    credentials = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)
    with Simulator(
        credentials, time_factor=FAST, seed=5, pending_timeout_minutes=1e9, max_payments=100_000,
        notify_transport=httpx.MockTransport(lambda request: httpx.Response(200)),
    ) as simulator:
        yield simulator


@pytest.fixture(scope="session")
def shared_server(shared_sim: Simulator) -> Iterator[SimulatorServer]:
    with SimulatorServer(shared_sim) as server:
        yield server


@pytest.fixture(
    # "async-default": the async client as a user builds it (no http_client: its aiohttp pool)
    params=[("in-process", "sync"), ("in-process", "async"), ("loopback", "sync"), ("loopback", "async"),
            ("loopback", "async-default")],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def rig(
    request: pytest.FixtureRequest, shared_sim: Simulator, shared_server: SimulatorServer
) -> Iterator[Rig]:
    transport, flavour = request.param
    shared_sim.faults.clear()
    credentials = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)
    server = shared_server if transport == "loopback" else None
    yield Rig(shared_sim, credentials, transport, flavour, server, shared_sim.stats())
    leftover = shared_sim.faults.rules
    shared_sim.faults.clear()
    assert leftover == [], f"a fault rule was not consumed: {leftover}"


class ClientFactory:
    """Builds clients for a rig and closes them (and their HTTP clients) at the end."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self._clients: list[Client] = []
        self._http: list[Any] = []

    def __call__(self, **options: Any) -> Client:
        client = _client_for(self.rig, self._http, **options)
        self._clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._clients:
            if isinstance(client, AsyncAxeptaClient):
                await client.aclose()
            else:
                client.close()
        for http in self._http:
            if isinstance(http, httpx.AsyncClient):
                await http.aclose()
            else:
                http.close()


@pytest.fixture
async def make_client(rig: Rig) -> AsyncIterator[ClientFactory]:
    factory = ClientFactory(rig)
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture
def client(make_client: ClientFactory) -> Client:
    return make_client()


class LateReply(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """In-process stand-in for a reply that arrives after the read timeout: the platform
    handles the request, then the client sees ``httpx.ReadTimeout``."""

    def __init__(self, inner: Any, endpoint: str) -> None:
        self.inner = inner
        self.endpoint = endpoint

    def _late(self, request: httpx.Request) -> bool:
        return request.url.path.lower().rstrip("/").endswith(f"/{self.endpoint}.aspx")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self.inner.handle_request(request)
        if self._late(request):
            raise httpx.ReadTimeout("timed out (simulated late reply)", request=request)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self.inner.handle_async_request(request)
        if self._late(request):
            raise httpx.ReadTimeout("timed out (simulated late reply)", request=request)
        return response


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


# -- payments in a given state -----------------------------------------------------------------


async def authorized(client: Client, sim: Simulator, trans_id: str, amount: int = 10000) -> str:
    """An order (Capture=Manual, TxType=Auth) approved by the buyer: ``authorized``."""
    order = await call(
        client, "create_paypal_order", trans_id=trans_id, amount=amount, currency="EUR",
        order_desc="fault test", capture="Manual", tx_type="Auth", **URLS,
    )  # fmt: skip
    sim.approve(order.pay_id)
    assert sim.payment(order.pay_id).state == "authorized"
    return str(order.pay_id)


async def sold(client: Client, sim: Simulator, trans_id: str, amount: int = 10000) -> str:
    """A sale (Capture=Auto) approved by the buyer: captured in full, ``closed``."""
    order = await call(
        client, "create_paypal_order", trans_id=trans_id, amount=amount, currency="EUR",
        order_desc="fault test", **URLS,
    )  # fmt: skip
    sim.approve(order.pay_id)
    assert sim.payment(order.pay_id).captured == amount
    return str(order.pay_id)


async def ordered(client: Client, sim: Simulator, trans_id: str, amount: int = 10000) -> str:
    """An order (Capture=Manual, TxType=Order) approved: ``order_approved``, awaiting Authorize."""
    order = await call(
        client, "create_paypal_order", trans_id=trans_id, amount=amount, currency="EUR",
        order_desc="fault test", capture="Manual", tx_type="Order", **URLS,
    )  # fmt: skip
    sim.approve(order.pay_id)
    assert sim.payment(order.pay_id).state == "order_approved"
    return str(order.pay_id)


async def shortcut(client: Client, sim: Simulator, trans_id: str, amount: int = 10000) -> str:
    """A shortcut order approved: ``pending_completion``, awaiting paypalComplete."""
    order = await call(
        client, "create_paypal_order", trans_id=trans_id, amount=amount, currency="EUR",
        order_desc="fault test", paypal_method="shortcut", **URLS,
    )  # fmt: skip
    sim.approve(order.pay_id)
    assert sim.payment(order.pay_id).state == "pending_completion"
    return str(order.pay_id)


async def agreement(client: Client, sim: Simulator, trans_id: str) -> str:
    """A billing agreement (TxType=BAID) approved by the buyer; returns its id."""
    order = await call(
        client, "create_paypal_order", trans_id=trans_id, amount=100, currency="EUR",
        order_desc="subscription", tx_type="BAID", ref_nr="SUB1", **URLS,
    )  # fmt: skip
    sim.approve(order.pay_id)
    baid = sim.payment(order.pay_id).billing_agreement_id
    assert baid is not None
    return baid
