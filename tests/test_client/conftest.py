"""Fixtures of the client tests: the fake gateway, respx in strict mode, and both clients
(sync and async) behind one parametrised fixture."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from tests.test_client._support import BASE, Gateway


@pytest.fixture
def gateway(credentials: Credentials) -> Gateway:
    return Gateway(credentials)


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as router:
        yield router


@pytest.fixture(scope="session")
def tls_context() -> ssl.SSLContext:
    # Building a verifying TLS context costs ~20 ms; one per session keeps the suite fast.
    return ssl.create_default_context()


@pytest.fixture(params=["sync", "async"])
async def client(
    request: pytest.FixtureRequest, credentials: Credentials, tls_context: ssl.SSLContext
) -> AsyncIterator[Any]:
    """Both clients, each on an injected pooled httpx client (respx intercepts its transport)."""
    if request.param == "sync":
        with httpx.Client(verify=tls_context) as http, AxeptaClient(
            credentials, retry_backoff=0, http_client=http
        ) as sync_client:
            yield sync_client
    else:
        async with httpx.AsyncClient(verify=tls_context) as ahttp, AsyncAxeptaClient(
            credentials, retry_backoff=0, http_client=ahttp
        ) as async_client:
            yield async_client
