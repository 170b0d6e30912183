"""Helpers of the ledger tests: a quiet simulator (notifications go nowhere) and both clients
journaling into the books."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.simulator import Simulator

URLS = {
    "url_success": "https://shop.example/paypal/success",
    "url_failure": "https://shop.example/paypal/failure",
    "url_notify": "https://shop.example/paypal/notify",
}


def _nowhere(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="ok")


def quiet_simulator(credentials: Credentials) -> Simulator:
    """A simulator whose notifications are answered 200 by a stub (the books are the client's)."""
    return Simulator(
        credentials, time_factor=1e-6, notify_transport=httpx.MockTransport(_nowhere), seed=11,
        pending_timeout_minutes=1e9,
    )  # fmt: skip


@contextmanager
def sync_client(sim: Simulator, credentials: Credentials, ledger: Ledger | None) -> Iterator[AxeptaClient]:
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(
        credentials, http_client=http, retry_backoff=0, ledger=ledger
    ) as client:
        yield client


@asynccontextmanager
async def async_client(sim: Simulator, credentials: Credentials, ledger: Ledger | None) -> AsyncIterator[AsyncAxeptaClient]:
    async with httpx.AsyncClient(transport=sim.transport()) as http, AsyncAxeptaClient(
        credentials, http_client=http, retry_backoff=0, ledger=ledger
    ) as client:
        yield client


async def call(client: Any, method: str, **kwargs: Any) -> Any:
    """Call ``method`` on either client."""
    result = getattr(client, method)(**kwargs)
    return await result if inspect.isawaitable(result) else result
