"""Issue 11.5: size caps hold *before* decompression.

A loopback server ignores ``Accept-Encoding: identity`` and answers with a gzip bomb: 256 MiB of
zeros in about 256 KiB on the wire. httpx decodes a network chunk in one piece, so before this
fix one capture allocated ~194 MB and one ``verify_ipn`` ~195 MB. Now every outbound call asks for
``identity`` and decodes what still comes compressed under its cap, incrementally.

The proof is on bytes, not time: what the cap error says was decoded and read off the wire, and
the peak of Python's allocations (``tracemalloc``) during the call.
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from axepta import _http
from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import ProtocolError, TransportError
from axepta.ipn import averify_ipn, verify_ipn
from axepta.protocol import MAX_REPLY_BYTES
from axepta.simulator import Simulator
from axepta.simulator.notifier import Notifier, Scheduler
from tests.test_transport._servers import BOMB_DECODED, Hostile, Seen, bomb, hostile

#: what one call may allocate at its peak while a 256 MiB bomb is thrown at it
PEAK = 8 << 20
IPN = b"txn_id=61E67681CH3238416&payment_status=Completed&test_ipn=1"


@pytest.fixture(scope="module", autouse=True)
def _bomb_built() -> None:
    bomb()  # built once, outside the measured sections


@pytest.fixture(params=["bomb", "bomb-chunked"])
def server(request: pytest.FixtureRequest) -> Iterator[Hostile]:
    with hostile(Hostile(mode=request.param)) as spec:
        yield spec


def _peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def _apeak(coro: Any) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = await coro
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_bomb_is_a_bomb() -> None:
    assert len(bomb()) < 2 * MAX_REPLY_BYTES  # small on the wire
    assert BOMB_DECODED >= 1000 * MAX_REPLY_BYTES  # huge decoded


def test_the_cap_error_counts_what_was_decoded_and_read(server: Hostile) -> None:
    with httpx.Client() as http, http.stream("POST", server.url, content=b"x") as response, \
            pytest.raises(_http.BodyTooLarge) as caught:  # fmt: skip
        _http.read_body(response, MAX_REPLY_BYTES)
    error = caught.value
    assert error.decoded == MAX_REPLY_BYTES + 1 == len(error.head)  # nothing beyond the cap kept
    assert error.received < 64 * 1024  # ~256 KiB of zeros fit in a few hundred compressed bytes


async def test_the_async_cap_error_counts_what_was_decoded_and_read(server: Hostile) -> None:
    async with httpx.AsyncClient() as http, http.stream("POST", server.url, content=b"x") as response:
        with pytest.raises(_http.BodyTooLarge) as caught:
            await _http.aread_body(response, 4096)
    assert caught.value.decoded == 4097 and caught.value.received < 64 * 1024


def test_sync_client_asks_for_identity_and_caps_the_decoded_reply(credentials: Credentials, server: Hostile) -> None:
    def capture() -> None:
        with AxeptaClient(credentials, base_url=server.url, timeout=10) as client:
            client.capture(pay_id="a" * 32, trans_id="BOMB-1", amount=1000, currency="EUR")

    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="larger than 262144 bytes"):
            capture()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK, f"{peak / 2**20:.1f} MiB at the peak"
    assert all(seen.headers["accept-encoding"] == "identity" for seen in server.seen)


async def test_async_client_asks_for_identity_and_caps_the_decoded_reply(credentials: Credentials, server: Hostile) -> None:
    async def capture() -> None:
        async with AsyncAxeptaClient(credentials, base_url=server.url, timeout=10) as client:
            try:
                await client.capture(pay_id="a" * 32, trans_id="BOMB-2", amount=1000, currency="EUR")
            finally:
                assert client._http._transport._session is not None  # type: ignore[attr-defined]  # the default aiohttp pool

    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match="larger than 262144 bytes"):
            await capture()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK, f"{peak / 2**20:.1f} MiB at the peak"
    assert server.seen[0].headers["accept-encoding"] == "identity"


def test_verify_ipn_caps_the_decoded_answer(server: Hostile) -> None:
    outcome, peak = _peak(lambda: verify_ipn(IPN, verify_url=server.url + "cgi-bin/webscr", timeout=10))
    assert outcome.outcome == "unverified"
    assert peak < PEAK, f"{peak / 2**20:.1f} MiB at the peak"
    assert server.seen[0].headers["accept-encoding"] == "identity"


async def test_averify_ipn_caps_the_decoded_answer(server: Hostile) -> None:
    outcome, peak = await _apeak(averify_ipn(IPN, verify_url=server.url + "cgi-bin/webscr", timeout=10))
    assert outcome.outcome == "unverified"
    assert peak < PEAK, f"{peak / 2**20:.1f} MiB at the peak"
    assert server.seen[0].headers["accept-encoding"] == "identity"


def test_the_simulators_notification_sender_caps_the_shops_answer(server: Hostile) -> None:
    scheduler = Scheduler(workers=1)
    notifier = Notifier(scheduler, timeout=10, gaps_minutes=())

    def deliver() -> None:
        notifier.submit(merchant_id="M", pay_id="p" * 32, status="OK", code="00000000",
                        url=server.url + "notify", body=b"Len=1&Data=00")  # fmt: skip
        assert notifier.wait_idle(15)

    try:
        _, peak = _peak(deliver)
    finally:
        notifier.close()
        scheduler.close()
    (delivery,) = notifier.deliveries
    assert delivery.attempts[0].status_code == 200  # the status is all the platform needs
    assert peak < PEAK, f"{peak / 2**20:.1f} MiB at the peak"
    assert server.seen[0].headers["accept-encoding"] == "identity"


# -- a compressed reply that is *not* a bomb still works ---------------------------------------


@pytest.fixture
def gzipping_gateway(credentials: Credentials) -> Iterator[Hostile]:
    """The simulator behind a loopback server that gzips every answer (ignoring identity)."""
    sim = Simulator(credentials)
    transport = sim.transport()

    def answer(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        request = httpx.Request(
            seen.method, "https://sim.example" + seen.path, content=seen.body,
            headers={"Content-Type": seen.headers["content-type"]},
        )  # fmt: skip
        response = transport.handle_request(request)
        return response.status_code, {"Content-Type": response.headers["content-type"]}, response.read()

    with sim, hostile(Hostile(mode="answer", responder=answer, gzip_answer=True)) as spec:
        yield spec


ORDER = {
    "trans_id": "GZ-1", "amount": 1000, "currency": "EUR", "order_desc": "gzip",
    "url_success": "https://shop.example/ok", "url_failure": "https://shop.example/ko",
    "url_notify": "https://shop.example/notify",
}  # fmt: skip


def test_a_gzipped_genuine_reply_is_decoded(credentials: Credentials, gzipping_gateway: Hostile) -> None:
    url = gzipping_gateway.url
    with AxeptaClient(credentials, base_url=url, browser_base_url=url) as client:
        order = client.create_paypal_order(**ORDER)
    assert order.succeeded and order.pay_id


async def test_a_gzipped_genuine_reply_is_decoded_async(credentials: Credentials, gzipping_gateway: Hostile) -> None:
    url = gzipping_gateway.url
    async with AsyncAxeptaClient(credentials, base_url=url, browser_base_url=url) as client:
        order = await client.create_paypal_order(**ORDER)
    assert order.succeeded and order.pay_id


# -- encodings that were not asked for and are not decoded here ---------------------------------


@pytest.mark.parametrize(
    ("encoding", "payload", "why"),
    [
        ("br", b"\x0b\x02\x80hello\x03", "not asked for"),
        ("gzip, gzip", gzip.compress(gzip.compress(b"x" * 1000)), "not asked for"),
        ("zstd", b"(\xb5/\xfd", "not asked for"),
        ("gzip", b"\x1f\x8b\x08\x00garbage-not-gzip", "corrupt"),
        ("gzip", gzip.compress(bytes(range(256)) * 40)[:200], "truncated"),
    ],
)
@pytest.mark.parametrize("flavour", ["sync", "async"])
async def test_other_or_broken_encodings_are_an_unknown_outcome(
    credentials: Credentials, encoding: str, payload: bytes, why: str, flavour: str
) -> None:
    async def capture(url: str) -> None:
        kwargs: dict[str, Any] = {"pay_id": "a" * 32, "trans_id": "ENC-1", "amount": 1000, "currency": "EUR", "req_id": "encq1"}
        if flavour == "sync":
            with AxeptaClient(credentials, base_url=url, timeout=5) as client:
                client.capture(**kwargs)
        else:
            async with AsyncAxeptaClient(credentials, base_url=url, timeout=5) as aclient:
                await aclient.capture(**kwargs)

    with hostile(Hostile(mode="encoded", encoding=encoding, payload=payload)) as spec, \
            pytest.raises(TransportError, match=why) as caught:  # fmt: skip
        await capture(spec.url)
    assert caught.value.sent is True and caught.value.req_id == "encq1"
    assert len(spec.seen) == 1  # sent once, never retried


def test_deflate_with_and_without_its_zlib_header_is_decoded() -> None:
    text = b"Len=4&Data=abcd" * 10
    wrapped = zlib.compress(text)
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    bare = raw.compress(text) + raw.flush()
    for payload in (wrapped, bare):
        body = _http._Body("deflate", 1024)
        body.feed(payload[:7])
        body.feed(payload[7:])
        assert body.finish() == text
    capped = _http._Body("deflate", 10)
    with pytest.raises(_http.BodyTooLarge):
        capped.feed(wrapped)
