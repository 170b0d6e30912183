"""Fault injection: latency, dropped connections before and after acting, 5xx, declines,
per path and per next-N requests — in-process and over loopback HTTP, with the real client."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import GatewayError, TransportError
from axepta.simulator import Faults, Simulator, SimulatorServer
from axepta.simulator.faults import endpoint_name
from tests.test_simulator.conftest import URLS


def authorized(client: AxeptaClient, sim: Simulator, trans_id: str = "F-1") -> str:
    created = client.create_paypal_order(
        trans_id=trans_id, amount=10000, currency="EUR", order_desc="faults", capture="Manual", tx_type="Auth", **URLS
    )
    sim.approve(created.pay_id)
    return created.pay_id


def test_endpoint_names() -> None:
    assert endpoint_name("/ExternalServices/paypalorders.aspx") == "paypalorders"
    assert endpoint_name("capture.ASPX") == "capture"
    assert endpoint_name("/") == ""


def test_drop_after_acting_then_retry_with_the_same_req_id(client: AxeptaClient, sim: Simulator) -> None:
    pay_id = authorized(client, sim)
    sim.faults.drop_connection(path="capture.aspx", count=1)
    with pytest.raises(TransportError) as exc:
        client.capture(pay_id=pay_id, trans_id="F-1", amount=4000, currency="EUR", req_id="cap1")
    assert exc.value.sent is not False and exc.value.req_id == "cap1"
    assert sim.payment(pay_id).captured == 4000  # the platform acted; the client could not know
    again = client.capture(pay_id=pay_id, trans_id="F-1", amount=4000, currency="EUR", req_id="cap1")
    assert again.status == "OK" and again.tid == sim.payment(pay_id).captures[0].tid
    assert sim.payment(pay_id).captured == 4000  # not twice
    assert sim.stats()["faults:drop"] == 1 and sim.stats()["replays"] == 1


@pytest.mark.parametrize("error", ["read", "protocol"])
def test_in_process_drop_raises_the_httpx_error(sim: Simulator, credentials: Credentials, error: str) -> None:
    sim.faults.drop_connection(path="capture", error=error)  # type: ignore[arg-type]
    expected = httpx.ReadError if error == "read" else httpx.RemoteProtocolError
    with httpx.Client(transport=sim.transport()) as http, pytest.raises(expected):
        http.post("https://gw.example/capture.aspx", data={})


def test_drop_before_acting_changes_nothing(client: AxeptaClient, sim: Simulator) -> None:
    pay_id = authorized(client, sim)
    sim.faults.drop_connection(path="capture", after_acting=False)
    with pytest.raises(TransportError):
        client.capture(pay_id=pay_id, trans_id="F-1", amount=4000, currency="EUR", req_id="cap2")
    assert sim.payment(pay_id).captured == 0
    client.capture(pay_id=pay_id, trans_id="F-1", amount=4000, currency="EUR", req_id="cap2")
    assert sim.payment(pay_id).captured == 4000


def test_server_error_before_and_after_acting(client: AxeptaClient, sim: Simulator) -> None:
    pay_id = authorized(client, sim)
    sim.faults.server_error(502, path="capture")
    with pytest.raises(TransportError, match="502"):
        client.capture(pay_id=pay_id, trans_id="F-1", amount=1000, currency="EUR")
    assert sim.payment(pay_id).captured == 0
    sim.faults.server_error(500, path="capture", after_acting=True)
    with pytest.raises(TransportError, match="500"):
        client.capture(pay_id=pay_id, trans_id="F-1", amount=1000, currency="EUR")
    assert sim.payment(pay_id).captured == 1000
    assert client.capture(pay_id=pay_id, trans_id="F-1", amount=1000, currency="EUR").status == "OK"


def test_faults_for_the_next_n_requests_only(client: AxeptaClient, sim: Simulator) -> None:
    pay_id = authorized(client, sim)
    sim.faults.server_error(503, path="capture", count=2)
    for _ in range(2):
        with pytest.raises(TransportError):
            client.capture(pay_id=pay_id, trans_id="F-1", amount=100, currency="EUR")
    assert client.capture(pay_id=pay_id, trans_id="F-1", amount=100, currency="EUR").status == "OK"
    assert sim.faults.rules == []


def test_path_filter_leaves_other_endpoints_alone(client: AxeptaClient, sim: Simulator) -> None:
    sim.faults.server_error(503, path="credit", count=None)
    pay_id = authorized(client, sim)  # paypalorders unaffected
    client.capture(pay_id=pay_id, trans_id="F-1", amount=100, currency="EUR")
    with pytest.raises(TransportError):
        client.credit(pay_id=pay_id, trans_id="F-1", amount=100, currency="EUR")
    [rule] = sim.faults.rules
    sim.faults.remove(rule)
    assert client.credit(pay_id=pay_id, trans_id="F-1", amount=100, currency="EUR").status == "OK"


def test_decline(client: AxeptaClient, sim: Simulator) -> None:
    pay_id = authorized(client, sim)
    sim.faults.decline("21500991", path="capture")
    with pytest.raises(GatewayError) as exc:
        client.capture(pay_id=pay_id, trans_id="F-1", amount=100, currency="EUR")
    assert exc.value.code == "21500991" and sim.payment(pay_id).captured == 0


def test_decline_at_approval(client: AxeptaClient, sim: Simulator) -> None:
    created = client.create_paypal_order(trans_id="F-2", amount=10000, currency="EUR", order_desc="x", **URLS)
    sim.faults.decline("21500991", path="cbPayPal.aspx")
    url = client.paypal_button_params(trans_id="x", amount=100, currency="EUR", order_desc="x", **URLS).approve_url(
        created.pay_id, created.order_id
    )
    with httpx.Client(transport=sim.transport()) as browser:
        location = browser.get(url).headers["Location"]
    assert location.startswith(URLS["url_failure"])
    assert sim.payment(created.pay_id).state == "failed"


def test_latency(sim: Simulator, credentials: Credentials) -> None:
    sim.faults.latency(0.05, count=1)
    with httpx.Client(transport=sim.transport()) as http:
        started = time.perf_counter()
        http.get("https://gw.example/")
        assert time.perf_counter() - started >= 0.05
        started = time.perf_counter()
        http.get("https://gw.example/")
        assert time.perf_counter() - started < 0.05
    assert sim.stats()["faults:latency"] == 1


async def test_async_latency_and_drop(sim: Simulator, credentials: Credentials) -> None:
    sim.faults.latency(0.02, path="capture", count=1)
    sim.faults.drop_connection(path="capture")
    async with httpx.AsyncClient(transport=sim.transport()) as http, AsyncAxeptaClient(
        credentials, http_client=http
    ) as client:
        started = time.perf_counter()
        with pytest.raises(TransportError):
            await client.capture(pay_id="a" * 32, trans_id="T", amount=100, currency="EUR", req_id="x1")
        assert time.perf_counter() - started >= 0.02


def test_loopback_server_drop_is_a_protocol_error(sim: Simulator) -> None:
    sim.faults.drop_connection(path="capture")
    with SimulatorServer(sim) as server, httpx.Client(base_url=server.url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("capture.aspx", data={"MerchantID": "X"})
        assert http.get("/").status_code == 200
        assert http.head("/").status_code == 200
        with socket.create_connection((server.host, server.port), timeout=5) as raw:
            raw.sendall(b"POST /capture.aspx HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 413")


def test_fault_argument_checks() -> None:
    faults = Faults()
    with pytest.raises(ValueError):
        faults.latency(-1)
    with pytest.raises(ValueError):
        faults.server_error(404)
    with pytest.raises(ValueError):
        faults.decline("00000000")
    with pytest.raises(ValueError):
        faults.drop_connection(count=0)
    with pytest.raises(RuntimeError):
        faults.duplicate_notifications()
    faults.latency(1)
    faults.clear()
    assert faults.rules == []


def test_server_binds_loopback_only(sim: Simulator) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SimulatorServer(sim, host="0.0.0.0")
    with SimulatorServer(sim) as server:
        assert server.url.startswith("http://127.0.0.1:") and repr(server).startswith("SimulatorServer(")
        assert sim.paypal_base_url == server.url
        with pytest.raises(OSError):
            SimulatorServer(sim, port=server.port)


def test_one_http_error_per_request_the_second_rule_waits(sim: Simulator) -> None:
    sim.faults.server_error(502, count=1)
    sim.faults.server_error(504, count=1)
    with httpx.Client(transport=sim.transport()) as http:
        assert http.get("https://gw.example/").status_code == 502
        assert http.get("https://gw.example/").status_code == 504
        assert http.get("https://gw.example/").status_code == 200


def test_loopback_server_latency_and_malformed_requests(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    sim.faults.latency(0.03, count=1)
    with SimulatorServer(sim) as server, httpx.Client(base_url=server.url) as http:
        started = time.perf_counter()
        assert http.get("/").status_code == 200
        assert time.perf_counter() - started >= 0.03
        with socket.create_connection((server.host, server.port), timeout=5) as raw:
            raw.sendall(b"POST /capture.aspx HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
            assert raw.recv(100).startswith(b"HTTP/1.1 413")
        with caplog.at_level(logging.DEBUG, logger="axepta.simulator"), socket.create_connection(
            (server.host, server.port), timeout=5
        ) as raw:
            raw.sendall(b"NONSENSE\r\n\r\n")
            assert b"Error code: 400" in raw.recv(300)
    assert any("http:" in r.getMessage() for r in caplog.records)
    assert sim.stats()["faults:latency"] == 1
