"""The safe pattern of docs/notifications.md ("notify_store.py") behind the documented Starlette
handler: the payment is found by TransID/PayID, de-duplicated on the bound fields, moved only
forwards, and its amount comes from the shop's own record — whatever blocks were spliced in."""

from __future__ import annotations

import logging
import warnings
from decimal import Decimal
from types import ModuleType

import pytest

from axepta import Credentials
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_notify._support import (
    ORDER_A,
    ORDER_B,
    PAY_ID,
    XID_A,
    XID_B,
    block_result,
    doc_module,
    post_blocks,
)

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

CREDS = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"}


class Shop:
    def __init__(self) -> None:
        web = doc_module("notify_starlette.py")
        self.store_module: ModuleType = doc_module("notify_store.py")
        self.store_module.UnknownPayment = web.UnknownPayment  # the handler's 404 exception
        self.store = self.store_module.Store(
            self.store_module.Payment("ORDER-A", Decimal("49.90"), "EUR"),
            self.store_module.Payment("ORDER-B", Decimal("12.00"), "EUR"),
        )
        self.client = TestClient(web.make_app(CREDS, self.store), raise_server_exceptions=True)

    def post(self, body: bytes) -> int:
        return self.client.post("/axepta/notify", content=body, headers=FORM).status_code

    def payment(self, trans_id: str) -> ModuleType:
        return self.store.payments[trans_id]  # type: ignore[no-any-return]


@pytest.fixture
def shop() -> Shop:
    return Shop()


A_BLOCKS, A_RANGES = block_result(ORDER_A, XID_A, "REF-A", "shop-A", "&mc_gross=49.90")
B_BLOCKS, B_RANGES = block_result(ORDER_B, XID_B, "REF-B", "shop-B", "&mc_gross=0.01")


def test_genuine_then_duplicate(shop: Shop) -> None:
    assert shop.post(post_blocks(A_BLOCKS)) == 200
    assert shop.post(post_blocks(A_BLOCKS)) == 200
    payment = shop.payment("ORDER-A")
    assert payment.state == "paid" and payment.pay_id == PAY_ID and payment.amount == Decimal("49.90")
    assert payment.seen == {(PAY_ID, "ORDER-A", "OK", "00000000")}


def test_spliced_failure_blocks_are_refused_and_change_nothing(shop: Shop) -> None:
    (_, refs_a, _), (_, refs_b, _) = A_RANGES, B_RANGES
    spliced = A_BLOCKS[: refs_a[0]] + B_BLOCKS[refs_b[0] : refs_b[1]] + A_BLOCKS[refs_a[0] :]
    assert shop.post(post_blocks(spliced)) == 400
    assert shop.payment("ORDER-A").state == "open" and not shop.payment("ORDER-A").seen


def test_swapped_xid_is_a_duplicate_not_a_new_result(shop: Shop) -> None:
    (xid_a, _, _), (xid_b, _, _) = A_RANGES, B_RANGES
    swapped = A_BLOCKS[: xid_a[0]] + B_BLOCKS[xid_b[0] : xid_b[1]] + A_BLOCKS[xid_a[1] :]
    assert shop.post(post_blocks(A_BLOCKS)) == 200
    assert shop.post(post_blocks(swapped)) == 200
    assert len(shop.payment("ORDER-A").seen) == 1


def test_a_spliced_amount_is_logged_never_used(shop: Shop, caplog: pytest.LogCaptureFixture) -> None:
    """A's own mc_gross blocks replaced by B's (same length, a key A already has once): the message
    decodes, the amount it states is B's, and the shop keeps its own."""
    (_, _, amount_a), (_, _, amount_b) = A_RANGES, B_RANGES
    assert amount_a[1] - amount_a[0] == amount_b[1] - amount_b[0]
    spliced = A_BLOCKS[: amount_a[0]] + B_BLOCKS[amount_b[0] : amount_b[1]] + A_BLOCKS[amount_a[1] :]
    with caplog.at_level(logging.WARNING, logger="shop.axepta"):
        assert shop.post(post_blocks(spliced)) == 200
    payment = shop.payment("ORDER-A")
    assert payment.state == "paid" and payment.amount == Decimal("49.90")
    assert "the notification says 0.01, the order is 49.90 EUR" in caplog.text


def test_a_failure_of_another_order_never_reaches_this_one(shop: Shop) -> None:
    assert shop.post(post_blocks(B_BLOCKS)) == 200
    assert shop.payment("ORDER-B").state == "failed"
    assert shop.payment("ORDER-A").state == "open"
    assert shop.post(post_blocks(A_BLOCKS)) == 200
    assert shop.payment("ORDER-A").state == "paid" and shop.payment("ORDER-B").state == "failed"
