"""Duplicate and out-of-order notifications are handled once, and never move a payment back.

The simulator posts URLNotify to the reference shop (``tests/test_faults/shop.py``) either
in-process or over loopback HTTP, with its notification faults switched on: every message
posted twice, batches held and posted newest first, the browser return racing the
notification, a notification arriving before the shop committed the order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.simulator import Simulator
from tests.test_faults.conftest import FAST, URLS
from tests.test_faults.shop import ReferenceShop, ShopServer


@dataclass
class Setup:
    sim: Simulator
    shop: ReferenceShop
    client: AxeptaClient
    url_notify: str

    def order(self, trans_id: str, **options: object) -> str:
        """Create an order (the shop registers it first, as it would commit it) -> PayID."""
        self.shop.register(trans_id)
        urls = {**URLS, "url_notify": self.url_notify}
        result = self.client.create_paypal_order(
            trans_id=trans_id, amount=5000, currency="EUR", order_desc="notify test", **urls, **options
        )
        return str(result.pay_id)

    def settle(self) -> None:
        assert self.sim.wait_for_notifications(5)
        assert all(d.state == "delivered" for d in self.sim.deliveries)


@pytest.fixture(params=["in-process", "loopback"])
def setup(request: pytest.FixtureRequest, credentials: Credentials) -> Iterator[Setup]:
    shop = ReferenceShop(credentials)
    if request.param == "in-process":
        with Simulator(credentials, time_factor=FAST, seed=9, pending_timeout_minutes=1e9,
                       notify_transport=shop.transport()) as sim, \
                httpx.Client(transport=sim.transport()) as http, \
                AxeptaClient(credentials, http_client=http) as client:  # fmt: skip
            yield Setup(sim, shop, client, URLS["url_notify"])
    else:
        with ShopServer(shop) as server, \
                Simulator(credentials, time_factor=FAST, seed=9, pending_timeout_minutes=1e9) as sim, \
                httpx.Client(transport=sim.transport()) as http, \
                AxeptaClient(credentials, http_client=http) as client:  # fmt: skip
            yield Setup(sim, shop, client, server.url)


def test_every_notification_posted_twice_is_applied_once(setup: Setup) -> None:
    pay_ids = {f"DUP-{i}": setup.order(f"DUP-{i}") for i in range(8)}
    setup.sim.faults.duplicate_notifications(8)
    for pay_id in pay_ids.values():
        setup.sim.approve(pay_id)
    setup.settle()
    assert len(setup.sim.deliveries) == 16  # the platform really posted each one twice
    for trans_id in pay_ids:
        assert setup.shop.payments[trans_id].history == ["completed"]
    assert setup.shop.outcomes == {"applied": 8, "duplicate": 8}


def test_a_late_approval_never_moves_an_expired_payment_back(setup: Setup) -> None:
    """Approval (AUTHORIZE_REQUEST) then expiry (Timeout) for each payment, posted newest
    first and twice: every payment ends ``expired``, the late approvals are stale."""
    pay_ids = [setup.order(f"OOO-{i}", capture="Manual", tx_type="Order") for i in range(5)]
    setup.sim.faults.duplicate_notifications(10)
    setup.sim.faults.reorder_notifications(20)  # all of them, held, then newest first
    for pay_id in pay_ids:
        setup.sim.approve(pay_id)
    for pay_id in pay_ids:
        assert setup.sim.expire(pay_id)
    setup.settle()
    posted = [(d.pay_id, d.status) for d in setup.sim.deliveries]
    assert len(posted) == 20
    for i, pay_id in enumerate(pay_ids):
        payment = setup.shop.payments[f"OOO-{i}"]
        assert payment.history == ["expired"], payment.history
        assert setup.sim.payment(pay_id).state == "expired"
    assert setup.shop.outcomes == {"applied": 5, "stale": 5, "duplicate": 10}


def test_mixed_outcomes_under_duplicates_and_reordering(setup: Setup) -> None:
    sale = setup.order("MIX-SALE")
    cancelled = setup.order("MIX-CANCEL")
    held = setup.order("MIX-ORDER", capture="Manual", tx_type="Order")
    auth = setup.order("MIX-AUTH", capture="Manual", tx_type="Auth")
    setup.sim.faults.duplicate_notifications(5)
    setup.sim.faults.reorder_notifications(10)
    setup.sim.approve(sale)
    setup.sim.cancel(cancelled)
    setup.sim.approve(held)
    setup.sim.approve(auth)
    setup.sim.expire(held)
    setup.settle()
    states = {t: p.history for t, p in setup.shop.payments.items()}
    assert states == {
        "MIX-SALE": ["completed"], "MIX-CANCEL": ["failed"], "MIX-ORDER": ["expired"], "MIX-AUTH": ["completed"],
    }  # fmt: skip
    assert setup.shop.outcomes["applied"] == 4 and setup.shop.outcomes["duplicate"] == 5
    assert setup.shop.outcomes["stale"] == 1  # MIX-ORDER's approval, posted after its expiry


def test_the_browser_return_racing_the_notification_is_applied_once(setup: Setup) -> None:
    """§7.2: the buyer's browser brings the same result to URLSuccess while URLNotify is
    posted; both go through the same handler, under the payment's lock."""
    pay_ids = [setup.order(f"RACE-{i}") for i in range(10)]
    redirects = [setup.sim.approve(p) for p in pay_ids]
    threads = [threading.Thread(target=setup.shop.handle, args=(r.payload.encode("ascii"),)) for r in redirects]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    setup.settle()
    for i in range(10):
        assert setup.shop.payments[f"RACE-{i}"].history == ["completed"]
    assert setup.shop.outcomes == {"applied": 10, "duplicate": 10}


class LateCommitShop(ReferenceShop):
    """The order is committed only after its first notification arrived (answered 404)."""

    def __init__(self, credentials: Credentials) -> None:
        super().__init__(credentials)
        self.late: set[str] = set()

    def handle(self, body: bytes) -> int:
        status = super().handle(body)
        if status == 404:
            for trans_id in list(self.late):
                self.register(trans_id)
            self.late.clear()
        return status


@pytest.mark.parametrize("transport", ["in-process", "loopback"])
def test_a_notification_that_overtakes_the_shop_commit_is_retried_and_applied_once(
    credentials: Credentials, transport: str
) -> None:
    shop = LateCommitShop(credentials)
    server = ShopServer(shop).__enter__() if transport == "loopback" else None
    try:
        url = server.url if server else URLS["url_notify"]
        options = {} if server else {"notify_transport": shop.transport()}
        with Simulator(credentials, time_factor=FAST, seed=4, **options) as sim, \
                httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http) as client:  # fmt: skip
            order = client.create_paypal_order(
                trans_id="LATE-1", amount=5000, currency="EUR", order_desc="late commit", **{**URLS, "url_notify": url}
            )
            shop.late.add("LATE-1")  # the shop's commit has not landed yet
            sim.approve(order.pay_id)
            assert sim.wait_for_notifications(5)
            [delivery] = sim.deliveries
        assert [a.status_code for a in delivery.attempts] == [404, 200]  # the platform retried
        assert delivery.state == "delivered"
        assert shop.payments["LATE-1"].history == ["completed"]
        assert shop.outcomes == {"unknown": 1, "applied": 1}
    finally:
        if server is not None:
            server.__exit__(None, None, None)


def test_forged_or_tampered_notifications_are_refused_and_change_nothing(setup: Setup) -> None:
    pay_id = setup.order("FORGE-1")
    redirect = setup.sim.approve(pay_id)
    setup.settle()
    genuine = redirect.payload
    data = redirect.query["Data"]
    tampered = genuine.replace(data, data[:-16] + ("0" * 16 if not data.endswith("0" * 16) else "1" * 16))
    assert setup.shop.handle(tampered.encode("ascii")) == 400
    assert setup.shop.handle(b"Len=10&Data=ABCDEF0123456789") == 400
    assert setup.shop.handle(b"MerchantID=x&Status=OK&Code=00000000") == 400
    assert setup.shop.handle(b"Data=" + b"A" * 300_000) == 400  # over the size cap
    assert setup.shop.payments["FORGE-1"].history == ["completed"]
    assert setup.shop.outcomes == {"applied": 1, "rejected": 4}
