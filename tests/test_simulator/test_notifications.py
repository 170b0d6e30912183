"""URLNotify: the n³ retry schedule (compressed), give-up, timeouts, duplicates and reordering,
the worker's lifetime."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from axepta.credentials import Credentials
from axepta.simulator import NOTIFY_RETRY_GAPS_MINUTES, Simulator
from axepta.simulator.notifier import Notifier, Scheduler
from tests.test_simulator.conftest import FAST, URLS, Shop, envelope, order_fields

ORDERS = "ExternalServices/paypalorders.aspx"


def new_order(sim: Simulator, credentials: Credentials, trans_id: str = "T-1", **extra: object) -> str:
    with httpx.Client(transport=sim.transport(), base_url="https://gw.example/") as http:
        reply = http.post(ORDERS, data=envelope(credentials, order_fields(trans_id, **extra), pay_id=False))
    pay_id = dict(p.split("=", 1) for p in reply.text.split("&"))["PayID"]
    return pay_id


def test_schedule_is_n_cubed_minutes() -> None:
    assert tuple(n**3 for n in range(1, 9)) == NOTIFY_RETRY_GAPS_MINUTES
    assert sum(NOTIFY_RETRY_GAPS_MINUTES) == 1296


def test_retries_until_200_with_growing_gaps(credentials: Credentials, shop: Shop) -> None:
    shop.script = [500, 404, 204, 503]  # any non-200 is retried
    factor = 2e-5  # gaps 1.2 ms, 9.6 ms, 32 ms, 77 ms: wide apart against a loaded machine's jitter
    with Simulator(credentials, time_factor=factor, notify_transport=shop.transport()) as sim:
        sim.approve(new_order(sim, credentials))
        assert sim.wait_for_notifications(5)
        [delivery] = sim.deliveries
    assert delivery.state == "delivered"
    assert [a.status_code for a in delivery.attempts] == [500, 404, 204, 503, 200]
    gaps = [b.at - a.at for a, b in zip(delivery.attempts, delivery.attempts[1:], strict=False)]
    for gap, minutes in zip(gaps, NOTIFY_RETRY_GAPS_MINUTES, strict=False):
        assert gap >= minutes * 60 * factor * 0.9
    assert gaps[3] > gaps[0]
    assert len({p.content for p in shop.posts}) == 1  # the same message every time


def test_gives_up_after_nine_attempts(credentials: Credentials, shop: Shop) -> None:
    shop.script = [500] * 20
    with Simulator(credentials, time_factor=FAST, notify_transport=shop.transport()) as sim:
        sim.approve(new_order(sim, credentials))
        assert sim.wait_for_notifications(5)
        [delivery] = sim.deliveries
    assert delivery.state == "failed" and len(delivery.attempts) == 9 == len(shop.posts)


def test_network_errors_are_retried(credentials: Credentials) -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) == 2:
            raise RuntimeError("shop crashed")
        return httpx.Response(200)

    with Simulator(credentials, time_factor=FAST, notify_transport=httpx.MockTransport(flaky)) as sim:
        sim.approve(new_order(sim, credentials))
        assert sim.wait_for_notifications(5)
        [delivery] = sim.deliveries
    errors = [a.error for a in delivery.attempts]
    assert errors[0] and "ConnectError" in errors[0] and errors[1] and "RuntimeError" in errors[1]
    assert delivery.state == "delivered" and delivery.attempts[-1].status_code == 200


def test_pending_payment_times_out_with_a_notification(credentials: Credentials, shop: Shop) -> None:
    with Simulator(
        credentials, time_factor=FAST, notify_transport=shop.transport(), pending_timeout_minutes=1
    ) as sim:
        pay_id = new_order(sim, credentials, Capture="Manual", TxType="Order")
        assert sim.approve(pay_id).status == "AUTHORIZE_REQUEST"
        deadline = time.monotonic() + 5
        while sim.payment(pay_id).state != "expired" and time.monotonic() < deadline:
            time.sleep(0.001)
        assert sim.wait_for_notifications(5)
        assert sim.payment(pay_id).state == "expired"
    assert sorted((m["Status"], m["Code"]) for m in shop.messages()) == [
        ("AUTHORIZE_REQUEST", "00000000"), ("Timeout", "00000000")
    ]


def test_expire_by_hand(sim: Simulator, credentials: Credentials, shop: Shop) -> None:
    pay_id = new_order(sim, credentials, PayPalMethod="shortcut")
    sim.approve(pay_id)
    assert sim.expire(pay_id) is True and sim.expire(pay_id) is False
    assert sim.wait_for_notifications(5)
    assert sorted(m["Status"] for m in shop.messages()) == ["AUTHORIZE_REQUEST", "Timeout"]


def test_duplicate_notifications(sim: Simulator, credentials: Credentials, shop: Shop) -> None:
    sim.faults.duplicate_notifications(1)
    sim.approve(new_order(sim, credentials, "T-1"))
    sim.approve(new_order(sim, credentials, "T-2"))
    assert sim.wait_for_notifications(5)
    assert sorted(m["TransID"] for m in shop.messages()) == ["T-1", "T-1", "T-2"]


def test_out_of_order_notifications(sim: Simulator, credentials: Credentials, shop: Shop) -> None:
    sim.faults.reorder_notifications(3)
    for n in range(3):
        sim.approve(new_order(sim, credentials, f"T-{n}"))
    assert sim.wait_for_notifications(5)
    assert [m["TransID"] for m in shop.messages()] == ["T-2", "T-1", "T-0"]


def test_held_notifications_can_be_released(sim: Simulator, credentials: Credentials, shop: Shop) -> None:
    sim.faults.reorder_notifications(5)
    sim.approve(new_order(sim, credentials, "T-1"))
    sim.approve(new_order(sim, credentials, "T-2"))
    assert not sim.wait_for_notifications(0.05)  # held, waiting for company
    assert sim.notifier.release_held() == 2
    assert sim.wait_for_notifications(5)
    assert [m["TransID"] for m in shop.messages()] == ["T-2", "T-1"]
    with pytest.raises(ValueError, match="at least 2"):
        sim.faults.reorder_notifications(1)


def test_plain_http_notify_only_on_loopback(sim: Simulator, credentials: Credentials) -> None:
    with httpx.Client(transport=sim.transport(), base_url="https://gw.example/") as http:
        bad = http.post(ORDERS, data=envelope(credentials, order_fields(URLNotify="http://shop.example/n")))
        good = http.post(ORDERS, data=envelope(credentials, order_fields(URLNotify="http://127.0.0.1:9/n")))
    assert "Code=20110022" in bad.text
    assert "PayID=" in good.text


def test_close_stops_the_worker_and_fails_pending_deliveries(credentials: Credentials, shop: Shop) -> None:
    shop.script = [500] * 20
    # Other tests' simulators may still be winding down: only this simulator's threads count.
    before = set(threading.enumerate())
    sim = Simulator(credentials, time_factor=1.0, notify_transport=shop.transport())
    sim.approve(new_order(sim, credentials))
    deadline = time.monotonic() + 5
    while not shop.posts and time.monotonic() < deadline:
        time.sleep(0.001)
    names = {t.name for t in threading.enumerate()}
    assert "axepta-sim-scheduler" in names
    sim.close()
    sim.close()  # idempotent
    assert sim.deliveries[0].state == "failed" and len(shop.posts) == 1
    assert not any(t.name.startswith("axepta-sim") for t in set(threading.enumerate()) - before)
    assert sim.wait_for_notifications(0)


def test_scheduler_ignores_calls_after_close() -> None:
    scheduler = Scheduler(workers=1)
    scheduler.close()
    ran: list[int] = []
    scheduler.call_later(0, lambda: ran.append(1))
    time.sleep(0.01)
    assert ran == []


def test_notifier_uses_an_injected_client_and_leaves_it_open(credentials: Credentials) -> None:
    seen: list[str] = []
    transport = httpx.MockTransport(lambda r: seen.append(str(r.url)) or httpx.Response(200))
    with httpx.Client(transport=transport) as client:
        with Simulator(credentials, time_factor=FAST, notify_client=client) as sim:
            sim.approve(new_order(sim, credentials))
            assert sim.wait_for_notifications(5)
        assert not client.is_closed
    assert seen == [URLS["url_notify"]]


def test_notifier_direct_submit_refuses_insecure_url() -> None:
    scheduler = Scheduler()
    notifier = Notifier(scheduler, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    try:
        from axepta.errors import InvalidRequestError

        with pytest.raises(InvalidRequestError):
            notifier.submit(merchant_id="M", pay_id="P", status="OK", code="0", url="http://x.example/n", body=b"")
    finally:
        scheduler.close()
        notifier.close()


def test_submit_after_close_is_ignored() -> None:
    scheduler = Scheduler()
    posts: list[httpx.Request] = []
    notifier = Notifier(scheduler, transport=httpx.MockTransport(lambda r: posts.append(r) or httpx.Response(200)))
    scheduler.close()
    notifier.close()
    notifier.submit(merchant_id="M", pay_id="P", status="OK", code="0", url="https://x.example/n", body=b"")
    assert notifier.deliveries == [] and posts == []
