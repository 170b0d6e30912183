"""The other outbound calls keep the same two rules (issue 11 items 5, 6): the simulator's IPN
stand-in posting to a shop's listener, and the CLI's HTTP client (a sync client given to
``AxeptaClient``) — one wall-clock deadline, bodies asked uncompressed and capped as decoded."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from axepta import AxeptaClient
from axepta.cli import _common
from axepta.credentials import Credentials
from axepta.errors import ProtocolError, TransportError
from axepta.simulator.ipn_standin import IpnStandIn, build_ipn
from tests.test_transport._servers import Hostile, bomb, hostile

DEADLINE = 0.5
BOUND = 5 * DEADLINE
PEAK = 8 << 20


@pytest.fixture(scope="module", autouse=True)
def _bomb_built() -> None:
    bomb()


@pytest.fixture
def standin() -> Iterator[IpnStandIn]:
    with IpnStandIn() as stand_in:
        yield stand_in


def _ipn() -> bytes:
    return build_ipn(payer_email="alice@example.com", mc_gross="25.00", mc_currency="EUR", receiver_email="shop@example.com")


@pytest.mark.parametrize("mode", ["drip-head", "drip-body"])
def test_the_ipn_stand_in_ends_its_post_at_the_deadline(standin: IpnStandIn, mode: str) -> None:
    with hostile(Hostile(mode=mode, interval=0.05, max_seconds=8)) as listener:
        started = time.monotonic()
        delivery = standin.send(listener.url + "ipn", _ipn(), wait=0, timeout=DEADLINE)
        elapsed = time.monotonic() - started
    assert delivery.status_code is None and delivery.error
    assert elapsed < BOUND, f"{elapsed:.1f} s for a {DEADLINE} s deadline"


def test_the_ipn_stand_in_caps_the_listeners_answer(standin: IpnStandIn) -> None:
    with hostile(Hostile(mode="bomb")) as listener:
        tracemalloc.start()
        try:
            delivery = standin.send(listener.url + "ipn", _ipn(), wait=0, timeout=10)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert delivery.status_code == 200  # the status is the listener's answer
    assert peak < PEAK, f"{peak / 2**20:.1f} MiB at the peak"
    assert listener.seen[0].headers["accept-encoding"] == "identity"


CAPTURE: dict[str, Any] = {"pay_id": "a" * 32, "trans_id": "CLI-1", "amount": 1000, "currency": "EUR", "req_id": "cli4711"}


def test_the_cli_http_client_holds_the_deadline_on_slow_headers(credentials: Credentials) -> None:
    """A dripped status line and headers: only the library's network backend can end that."""
    with hostile(Hostile(mode="drip-head", interval=0.05, max_seconds=8)) as server, \
            _common.make_http_client() as http, \
            AxeptaClient(credentials, base_url=server.url, timeout=DEADLINE, http_client=http) as client:  # fmt: skip
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            client.capture(**CAPTURE)
        elapsed = time.monotonic() - started
    assert caught.value.sent is True and caught.value.req_id == "cli4711"
    assert elapsed < BOUND, f"{elapsed:.1f} s for a {DEADLINE} s deadline"


def test_the_cli_http_client_caps_a_gzip_bomb(credentials: Credentials) -> None:
    with hostile(Hostile(mode="bomb")) as server, _common.make_http_client() as http, \
            AxeptaClient(credentials, base_url=server.url, http_client=http) as client:  # fmt: skip
        tracemalloc.start()
        try:
            with pytest.raises(ProtocolError, match="larger than 262144 bytes"):
                client.capture(**CAPTURE)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < PEAK and server.seen[0].headers["accept-encoding"] == "identity"
