"""A simulator that stays flat (issue 14 item 3): eviction without a scan, ``captured`` as a
running total, ids drawn in one call, the buyer's first answer kept compact. The figures (orders
per second after 20,000 stored payments, memory per payment) are in
benchmarks/bench_simulator.py; these tests pin the mechanisms."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from axepta.credentials import Credentials
from axepta.crypto import parse_params
from axepta.simulator import Simulator, engine
from tests.test_simulator.conftest import Shop, envelope, order_fields

ORDERS = "ExternalServices/paypalorders.aspx"


def create(http: httpx.Client, credentials: Credentials, **extra: str) -> str:
    form = envelope(credentials, order_fields(**extra), pay_id=False)
    return parse_params(http.post(ORDERS, data=form).text)["PayID"]


@contextmanager
def counting_state_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    reads = [0]
    prop = engine._Payment.state

    def getter(self: Any) -> Any:
        reads[0] += 1
        return prop.fget(self)  # type: ignore[misc]

    monkeypatch.setattr(engine._Payment, "state", property(getter, prop.fset))
    yield reads


def test_eviction_reads_no_payment_but_the_victim(
    credentials: Credentials, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), max_payments=300) as sim, \
            httpx.Client(transport=sim.transport(), base_url="https://x.example/") as http:
        first = [create(http, credentials, TransID=f"T{i}") for i in range(300)]  # none finished
        with counting_state_reads(monkeypatch) as reads:
            create(http, credentials, TransID="T300")
            # the old store scanned all 300 payments for a finished one before each insert
            assert reads[0] < 10
        assert first[0] not in {p.pay_id for p in sim.payments()}  # the oldest of all went
        sim.approve(first[200])  # Capture=Auto: finished
        with counting_state_reads(monkeypatch) as reads:
            create(http, credentials, TransID="T301")
            assert reads[0] < 10
        kept = {p.pay_id for p in sim.payments()}
        assert first[200] not in kept and first[1] in kept  # the finished one went first
        assert sim.stats()["evicted"] == 2


def test_eviction_order_is_oldest_finished_first_whatever_order_they_finish(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), max_payments=5, time_factor=1e-7) as sim, \
            httpx.Client(transport=sim.transport(), base_url="https://x.example/") as http:
        ids = [create(http, credentials, TransID=f"T{i}") for i in range(5)]
        for i in (4, 1, 3):  # finish out of store order
            sim.approve(ids[i])
        create(http, credentials, TransID="T5")
        create(http, credentials, TransID="T6")
        kept = {p.pay_id for p in sim.payments()}
        assert ids[1] not in kept and ids[3] not in kept and {ids[0], ids[2], ids[4]} <= kept
        sim.wait_for_notifications()


def test_reference_transactions_and_payouts_are_finished_at_birth(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), max_payments=2) as sim, \
            httpx.Client(transport=sim.transport(), base_url="https://x.example/") as http:
        order = create(http, credentials, TransID="O")
        payout = envelope(credentials, {"TransID": "P", "Amount": "100", "Currency": "EUR", "PayerID": "X"}, pay_id=False)
        paid = parse_params(credentials.codec.decrypt(*_data(http.post("creditex.aspx", data=payout))))["PayID"]
        assert sim.payment(paid).state == "paid_out"
        create(http, credentials, TransID="O2")  # the payout (finished) goes, not the older order
        kept = {p.pay_id for p in sim.payments()}
        assert order in kept and paid not in kept


def _data(response: httpx.Response) -> tuple[str, str]:
    outer = parse_params(response.text)
    return outer["Data"], outer["Len"]


def test_captured_is_a_running_total(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    pay_id = create(http, credentials, Capture="Manual", TxType="Auth")
    sim.approve(pay_id)
    for amount in ("1000", "2000", "3000"):
        fields = {"PayID": pay_id, "TransID": "T-1", "Amount": amount, "Currency": "EUR"}
        http.post("capture.aspx", data=envelope(credentials, fields))
    stored = sim._payments[pay_id]
    assert "captured" in engine._Payment.__dataclass_fields__  # a field, not a sum over captures
    assert stored.captured == 6000 == sim.payment(pay_id).captured
    over = {"PayID": pay_id, "TransID": "T-1", "Amount": "5600", "Currency": "EUR"}  # 11600 > 115 % of 10000
    reply = parse_params(credentials.codec.decrypt(*_data(http.post("capture.aspx", data=envelope(credentials, over)))))
    assert reply["Code"] == "21500067" and stored.captured == 6000


class CountingRandom(random.Random):
    """Counts the draws a caller makes (a draw made inside another counts once)."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.draws = 0
        self._depth = 0

    def _count(self, fn: Any, *args: Any) -> Any:
        self.draws += self._depth == 0
        self._depth += 1
        try:
            return fn(*args)
        finally:
            self._depth -= 1

    def randbytes(self, n: int) -> bytes:
        return bytes(self._count(super().randbytes, n))

    def getrandbits(self, k: int) -> int:
        return int(self._count(super().getrandbits, k))

    def choice(self, seq: Any) -> Any:
        return self._count(super().choice, seq)


def test_ids_are_drawn_in_one_call(credentials: Credentials) -> None:
    with Simulator(credentials) as sim:
        rng = CountingRandom(1)
        sim._rng = rng
        ids = [sim._paypal_id() for _ in range(500)]
        assert rng.draws == 500
        assert all(len(i) == 17 and set(i) <= set(engine._ID_ALPHABET) for i in ids)
        assert len(set(ids)) == 500 and set("".join(ids)) == set(engine._ID_ALPHABET)
        before = rng.draws
        assert len(sim._hex_id()) == 32 and rng.draws == before + 1


def test_second_click_gets_the_first_answer_rebuilt(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    pay_id = create(http, credentials)
    first = sim.approve(pay_id)
    again = sim.approve(pay_id)
    assert again == first and again.location == first.location and dict(again.query) == dict(first.query)
    assert isinstance(sim._payments[pay_id].browser, engine._BrowserResult)
