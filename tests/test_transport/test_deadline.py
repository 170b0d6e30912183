"""Issue 11.6: one wall-clock deadline over connect, headers and body of every outbound call.

A loopback server drips its answer one byte every 50 ms: no single read ever waits long enough
for a read timeout, so before this fix ``Timeout(4, read=3)`` took 12 s, the default 60 s, and a
synchronous ``verify_ipn`` 45 s for its 20 s. Here each call gets a small deadline and must end
well inside five times it, with the documented outcome (no timed assertion beyond that generous
bound: the server would drip for 8 s).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import ConfigurationError, TransportError
from axepta.ipn import averify_ipn, verify_ipn
from axepta.simulator.notifier import Notifier, Scheduler
from tests.test_transport._servers import Hostile, hostile

DEADLINE = 1.0  # generous against a loaded machine: the drip lasts 8 s, the bound is 5 s
BOUND = 5 * DEADLINE
CAPTURE: dict[str, Any] = {"pay_id": "a" * 32, "trans_id": "DRIP-1", "amount": 1000, "currency": "EUR", "req_id": "drip4711"}
IPN = b"txn_id=61E67681CH3238416&payment_status=Completed&test_ipn=1"


@pytest.fixture(params=["drip-head", "drip-body"])
def drip(request: pytest.FixtureRequest) -> Iterator[Hostile]:
    with hostile(Hostile(mode=request.param, interval=0.05, max_seconds=8)) as spec:
        yield spec


def _assert_unknown_outcome(error: TransportError) -> None:
    assert error.sent is True and error.req_id == "drip4711"
    assert "deadline" in str(error) and "drip4711" in str(error)


@pytest.mark.parametrize(
    "timeout", [DEADLINE, httpx.Timeout(DEADLINE, read=0.3)], ids=["float", "Timeout(1.0, read=0.3)"]
)
def test_sync_client_ends_a_dripped_reply_at_its_deadline(credentials: Credentials, drip: Hostile, timeout: Any) -> None:
    with AxeptaClient(credentials, base_url=drip.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            client.capture(**CAPTURE)
        elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"{elapsed:.1f} s for a {DEADLINE} s deadline"
    _assert_unknown_outcome(caught.value)
    assert len(drip.seen) == 1  # sent once: never retried


@pytest.mark.parametrize(
    "timeout", [DEADLINE, httpx.Timeout(DEADLINE, read=0.3)], ids=["float", "Timeout(1.0, read=0.3)"]
)
async def test_async_client_ends_a_dripped_reply_at_its_deadline(credentials: Credentials, drip: Hostile, timeout: Any) -> None:
    async with AsyncAxeptaClient(credentials, base_url=drip.url, timeout=timeout) as client:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await client.capture(**CAPTURE)
        elapsed = time.monotonic() - started
        assert client._http._transport._session is not None  # type: ignore[attr-defined]  # the default aiohttp pool
    assert elapsed < BOUND, f"{elapsed:.1f} s for a {DEADLINE} s deadline"
    _assert_unknown_outcome(caught.value)
    assert len(drip.seen) == 1


def test_an_injected_sync_client_is_held_to_the_deadline_on_the_body(credentials: Credentials) -> None:
    """An ``httpx.Client`` of the shop's own: its phases are cut to the time left and the body is
    checked between reads (its socket operations are its own)."""
    with hostile(Hostile(mode="drip-body", interval=0.05, max_seconds=8)) as spec, httpx.Client() as http, \
            AxeptaClient(credentials, base_url=spec.url, timeout=DEADLINE, http_client=http) as client:  # fmt: skip
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            client.capture(**CAPTURE)
        elapsed = time.monotonic() - started
    assert elapsed < BOUND
    _assert_unknown_outcome(caught.value)


async def test_an_injected_async_client_is_held_to_the_deadline(credentials: Credentials, drip: Hostile) -> None:
    async with httpx.AsyncClient() as http, AsyncAxeptaClient(
        credentials, base_url=drip.url, timeout=DEADLINE, http_client=http
    ) as client:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            await client.capture(**CAPTURE)
        elapsed = time.monotonic() - started
    assert elapsed < BOUND
    _assert_unknown_outcome(caught.value)


def test_the_default_deadline_is_the_largest_timeout_45_s() -> None:
    from axepta import _http
    from axepta.client import DEFAULT_TIMEOUT

    assert _http.deadline_of(DEFAULT_TIMEOUT) == 45
    assert _http.deadline_of(httpx.Timeout(4, read=3)) == 4
    assert _http.deadline_of(httpx.Timeout(None, connect=2)) == 2


def test_a_timeout_without_any_value_is_refused(credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        AxeptaClient(credentials, timeout=httpx.Timeout(None))


def test_connect_retries_stop_at_the_deadline(credentials: Credentials) -> None:
    """Connect errors are retried with the same ReqId while time is left; the back-off never
    sleeps past the deadline, and nothing was sent."""
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as http, AxeptaClient(
        credentials, timeout=DEADLINE, http_client=http, max_retries=50, retry_backoff=0.1
    ) as client:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            client.capture(**CAPTURE)
        elapsed = time.monotonic() - started
    assert caught.value.sent is False and caught.value.req_id == "drip4711"
    assert "deadline" in str(caught.value)
    assert 2 <= len(seen) < 10  # retried (0.1, 0.2 …), then the deadline: not 51 attempts
    assert elapsed < BOUND


async def test_async_connect_retries_stop_at_the_deadline(credentials: Credentials) -> None:
    seen: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http, AsyncAxeptaClient(
        credentials, timeout=DEADLINE, http_client=http, max_retries=50, retry_backoff=0.1
    ) as client:
        with pytest.raises(TransportError) as caught:
            await client.capture(**CAPTURE)
    assert caught.value.sent is False and caught.value.req_id == "drip4711"
    assert 2 <= len(seen) < 10


def test_verify_ipn_ends_at_its_deadline(drip: Hostile) -> None:
    started = time.monotonic()
    outcome = verify_ipn(IPN, verify_url=drip.url + "cgi-bin/webscr", timeout=DEADLINE, connect_timeout=0.3)
    elapsed = time.monotonic() - started
    assert outcome.outcome == "unverified" and outcome.detail == "timeout"
    assert elapsed < BOUND, f"{elapsed:.1f} s for a {DEADLINE} s deadline"


async def test_averify_ipn_ends_at_its_deadline(drip: Hostile) -> None:
    started = time.monotonic()
    outcome = await averify_ipn(IPN, verify_url=drip.url + "cgi-bin/webscr", timeout=DEADLINE, connect_timeout=0.3)
    elapsed = time.monotonic() - started
    assert outcome.outcome == "unverified" and outcome.detail == "timeout"
    assert elapsed < BOUND


def test_the_notification_sender_ends_each_post_at_its_deadline(drip: Hostile) -> None:
    scheduler = Scheduler(workers=1)
    notifier = Notifier(scheduler, timeout=DEADLINE, gaps_minutes=())
    try:
        started = time.monotonic()
        notifier.submit(merchant_id="M", pay_id="p" * 32, status="OK", code="00000000",
                        url=drip.url + "notify", body=b"Len=1&Data=00")  # fmt: skip
        assert notifier.wait_idle(BOUND)
        elapsed = time.monotonic() - started
    finally:
        notifier.close()
        scheduler.close()
    (delivery,) = notifier.deliveries
    assert delivery.state == "failed" and delivery.attempts[0].status_code is None
    assert "Timeout" in (delivery.attempts[0].error or "") or "Deadline" in (delivery.attempts[0].error or "")
    assert elapsed < BOUND
