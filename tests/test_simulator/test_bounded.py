"""A bounded simulator (issue 11 item 9): with URLNotify unreachable or hanging, the
notifications the simulator holds — in its log, in scheduled retries, waiting for a sender —
never exceed ``max_deliveries``; timers of forgotten payments go with them; idle connections
to the server time out; a client that disconnects early is one log line, not a traceback."""

from __future__ import annotations

import gc
import logging
import socket
import struct
import threading
import time

import httpx
import pytest

from axepta.credentials import Credentials
from axepta.simulator import Delivery, Simulator, SimulatorServer
from axepta.simulator.notifier import Scheduler
from tests.test_simulator.conftest import envelope, order_fields

ORDERS = "ExternalServices/paypalorders.aspx"


def approve_orders(sim: Simulator, credentials: Credentials, count: int, **extra: str) -> list[str]:
    ids = []
    with httpx.Client(transport=sim.transport(), base_url="https://gw.example/") as http:
        for i in range(count):
            form = envelope(credentials, order_fields(f"T-{i}", **extra), pay_id=False)
            pay_id = dict(p.split("=", 1) for p in http.post(ORDERS, data=form).text.split("&"))["PayID"]
            sim.approve(pay_id)
            ids.append(pay_id)
    return ids


def live_deliveries(pay_ids: list[str]) -> int:
    """Deliveries of these payments still in memory (other tests' simulators may linger)."""
    mine = set(pay_ids)
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Delivery) and o.pay_id in mine)


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_unreachable_url_notify_keeps_at_most_max_deliveries(credentials: Credentials) -> None:
    # real minutes between retries: every failed notification waits for its next attempt
    with Simulator(
        credentials, time_factor=1.0, notify_transport=httpx.MockTransport(unreachable), max_deliveries=20,
    ) as sim:
        ids = approve_orders(sim, credentials, 60)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(not d.attempts for d in sim.deliveries):
            time.sleep(0.01)
        deliveries = sim.deliveries
        assert len(deliveries) == 20 and all(d.state == "pending" and len(d.attempts) == 1 for d in deliveries)
        assert live_deliveries(ids) <= 20  # no retry keeps an older one (and its body) alive
        assert sim.stats()["notifications:abandoned"] == 40
        assert sim._scheduler.pending() <= 20  # the retries of abandoned deliveries are cancelled
        assert not sim.wait_for_notifications(0.05)  # 20 still pending, none forgotten silently


def test_hanging_url_notify_queues_at_most_max_deliveries(credentials: Credentials) -> None:
    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(10)
        return httpx.Response(200)

    with Simulator(
        credentials, time_factor=1.0, notify_transport=httpx.MockTransport(hang), max_deliveries=10,
        notify_workers=1,
    ) as sim:
        ids = approve_orders(sim, credentials, 50)
        # one delivery is in the only sender's hands; the others wait for it, at most 10 in all
        assert live_deliveries(ids) <= 11 and sim._scheduler.pending() <= 11
        assert sim.stats()["notifications:abandoned"] >= 39
        release.set()
        assert sim.wait_for_notifications(10)
    assert sum(d.state == "delivered" for d in sim.deliveries) >= 9


def test_timers_of_forgotten_payments_are_cancelled(credentials: Credentials) -> None:
    ok = httpx.MockTransport(lambda request: httpx.Response(200))
    # TxType=Order: each approval starts the ~3 h timer of an open AUTHORIZE_REQUEST
    with Simulator(credentials, time_factor=1.0, notify_transport=ok, max_payments=15) as sim:
        approve_orders(sim, credentials, 60, Capture="Manual", TxType="Order")
        assert sim.wait_for_notifications(10)
        assert len(sim.payments()) == 15 and sim.stats()["evicted"] == 45
        assert sim._scheduler.pending() <= 15


def test_scheduler_cancel_and_compaction() -> None:
    scheduler = Scheduler(workers=1)
    fired: list[int] = []
    try:
        timers = [scheduler.call_later(3600, lambda i=i: fired.append(i)) for i in range(300)]
        for timer in timers[:290]:
            scheduler.cancel(timer)
        assert scheduler.pending() == 10 and len(scheduler._heap) < 300  # compacted
        soon = scheduler.call_later(0, lambda: fired.append(-1))
        scheduler.cancel(scheduler.call_later(0, lambda: fired.append(-2)))
        deadline = time.monotonic() + 5
        while -1 not in fired and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fired == [-1] and soon.fn is None
    finally:
        scheduler.close()


def test_idle_connections_time_out(sim: Simulator) -> None:
    with SimulatorServer(sim, idle_timeout=0.3) as server, socket.create_connection(
        (server.host, server.port), timeout=5
    ) as idle:
        started = time.monotonic()
        assert idle.recv(1) == b""  # the server closed it
        assert 0.2 < time.monotonic() - started < 4
        # a connection that keeps talking is not cut
        with httpx.Client(base_url=server.url, timeout=5) as http:
            for _ in range(3):
                assert http.get("/").status_code == 200
                time.sleep(0.1)


def test_client_that_disconnects_early_is_one_log_line(
    sim: Simulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.faults.latency(0.3, path="", count=None)  # the index page answers after the client left
    with caplog.at_level(logging.INFO, logger="axepta.simulator"), SimulatorServer(sim) as server:
        for _ in range(3):
            raw = socket.create_connection((server.host, server.port), timeout=5)
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            raw.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and sum("disconnected" in r.getMessage() for r in caplog.records) < 3:
            time.sleep(0.05)
    lines = [r for r in caplog.records if "disconnected" in r.getMessage()]
    assert len(lines) == 3 and all(r.exc_info is None and "\n" not in r.getMessage() for r in lines)
    assert "Traceback" not in capsys.readouterr().err
