"""The whole PayPal journey against the embedded simulator: no account, no network.

:func:`run_demo` drives the real :class:`~axepta.AxeptaClient` through the simulator's
in-process transport, plays the buyer, receives the notifications in an in-process shop that
decodes and verifies them with :func:`~axepta.decode_notification`, and checks every step:

order (Manual/Order) → buyer approval → notification → Authorize → two partial captures →
partial refund by TID → second order (Manual/Auth) → approval → reversal → billing agreement →
reference transaction → a capture declined with its code explained.

The merchant's keys are random for each run and never leave the process. ``axepta demo`` and
``make demo`` show the steps as a table.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from axepta.amounts import from_minor_units
from axepta.client import AxeptaClient
from axepta.codes import SUCCESS, explain
from axepta.credentials import Credentials
from axepta.errors import AxeptaError, GatewayError, NotificationError
from axepta.models import PayPalOrderResult
from axepta.notify import Notification, decode_notification
from axepta.simulator import Simulator

__all__ = ["DEMO_MERCHANT_ID", "DemoReport", "DemoStep", "run_demo"]

DEMO_MERCHANT_ID = "SIMULATOR_DEMO_t"
_SHOP = "https://shop.example/axepta/"
_URLS: dict[str, Any] = {
    "url_success": _SHOP + "success", "url_failure": _SHOP + "failure", "url_notify": _SHOP + "notify",
}
_CURRENCY = "EUR"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DemoStep:
    """One step of the journey: what was called, what came back, and whether that was the
    expected behaviour (``ok``). ``meaning`` explains the outcome in words."""

    number: int
    title: str
    operation: str
    pay_id: str | None
    status: str | None
    code: str | None
    meaning: str
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DemoReport:
    """Every step, in order; ``ok`` only when all of them behaved as expected."""

    merchant_id: str
    steps: tuple[DemoStep, ...]
    expected_steps: int
    notifications: int = 0
    error: str | None = None
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and len(self.steps) == self.expected_steps and all(s.ok for s in self.steps)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "merchant_id": self.merchant_id,
            "expected_steps": self.expected_steps,
            "notifications": self.notifications,
            "error": self.error,
            "steps": [s.as_dict() for s in self.steps],
        }


class _Shop:
    """The shop's URLNotify: decode and verify, answer 200 (400 when untrustworthy)."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._cond = threading.Condition()
        self.received: list[Notification] = []
        self.rejected: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        try:
            note = decode_notification(request.content, self._credentials)
        except NotificationError as exc:
            with self._cond:
                self.rejected.append(exc.reason)
                self._cond.notify_all()
            return httpx.Response(400)
        with self._cond:
            self.received.append(note)
            self._cond.notify_all()
        return httpx.Response(200)

    def wait_for(self, pay_id: str, status: str, timeout: float = 5.0) -> Notification:
        def match() -> Notification | None:
            return next((n for n in self.received if n.pay_id == pay_id and n.status == status), None)

        with self._cond:
            if not self._cond.wait_for(lambda: match() is not None, timeout=timeout):
                raise TimeoutError(f"no {status} notification for PayID {pay_id} within {timeout} s")
            found = match()
            assert found is not None
            return found


def _need(value: T | None, what: str) -> T:
    """``value``, or a :class:`RuntimeError` saying ``what`` is missing (the demo then stops)."""
    if value is None or value == "":
        raise RuntimeError(f"the platform's answer carries no {what}")
    return value


def _money(minor: int) -> str:
    return f"{from_minor_units(minor, _CURRENCY)} {_CURRENCY}"


class _Journey:
    def __init__(
        self, credentials: Credentials, client: AxeptaClient, sim: Simulator, shop: _Shop,
        on_step: Callable[[DemoStep], None] | None,
    ) -> None:
        self.credentials, self.client, self.sim, self.shop = credentials, client, sim, shop
        self.steps: list[DemoStep] = []
        self._on_step = on_step

    def step(
        self, title: str, operation: str, pay_id: str | None, status: str | None, code: str | None,
        meaning: str, ok: bool,
    ) -> None:
        s = DemoStep(len(self.steps) + 1, title, operation, pay_id, status, code, meaning, ok)
        self.steps.append(s)
        if self._on_step is not None:
            self._on_step(s)

    def browser(self, url: str) -> Notification:
        """The buyer's browser: open ``url``, land on URLSuccess/URLFailure; the shop page
        decodes the result it carries."""
        with httpx.Client(transport=self.sim.transport(), follow_redirects=False) as browser:
            response = browser.get(url)
        if response.status_code != 302:
            raise RuntimeError(f"the approval answered HTTP {response.status_code}, not a redirect")
        return decode_notification(urlsplit(response.headers["Location"]).query, self.credentials)

    def order(self, trans_id: str, amount: int, desc: str, **kw: Any) -> tuple[str, PayPalOrderResult, str | None]:
        """Create an order; returns its PayID, the result and the cbPayPal approve URL."""
        result = self.client.create_paypal_order(
            trans_id=trans_id, amount=amount, currency=_CURRENCY, order_desc=desc, **_URLS, **kw
        )
        pay_id = _need(result.pay_id, "PayID")
        approve = None
        if result.order_id:
            approve = self.client.paypal_button_params(
                trans_id=trans_id, amount=amount, currency=_CURRENCY, order_desc=desc, **_URLS, **kw
            ).approve_url(pay_id, result.order_id)
        return pay_id, result, approve

    def run(self) -> None:
        c, sim, cur = self.client, self.sim, _CURRENCY

        # 1-3: an order that the buyer approves; the platform then waits for Authorize
        pay_id, order, approve = self.order("DEMO-1001", 12000, "Demo order", capture="Manual", tx_type="Order")
        self.step("Create PayPal order (Manual, TxType=Order)", "paypalorders", pay_id, None, None,
                  f"order of {_money(12000)} created, PayPal order {order.order_id}", approve is not None)
        landed = self.browser(_need(approve, "orderid"))
        self.step("Buyer approves (cbPayPal.aspx → URLSuccess)", "cbPayPal", landed.pay_id, landed.status,
                  landed.code, "approved by the buyer, waiting for Authorize", landed.awaiting_completion)
        note = self.shop.wait_for(pay_id, "AUTHORIZE_REQUEST")
        self.step("Notification decoded, MAC verified", "URLNotify", note.pay_id, note.status, note.code,
                  "same result at URLNotify, verified, answered 200",
                  note.awaiting_completion and note.trans_id == "DEMO-1001")

        # 4-7: authorise, capture twice, refund part of the first capture by its TID
        auth = c.authorize(pay_id=pay_id, trans_id="DEMO-1001", amount=12000, currency=cur)
        self.step("Authorize", "Authorize", auth.pay_id, auth.status, auth.code,
                  f"{_money(12000)} authorised", auth.status == "OK" and bool(auth.tid))
        first = c.capture(pay_id=pay_id, trans_id="DEMO-1001", amount=5000, currency=cur, ref_nr="INV-1001-A")
        self.step("Partial capture 1", "capture", first.pay_id, first.status, first.code,
                  f"{_money(5000)} captured, TID {first.tid}", first.status == "OK" and bool(first.tid))
        second = c.capture(pay_id=pay_id, trans_id="DEMO-1001", amount=4000, currency=cur, ref_nr="INV-1001-B")
        self.step("Partial capture 2", "capture", second.pay_id, second.status, second.code,
                  f"{_money(4000)} captured, TID {second.tid}",
                  second.status == "OK" and second.tid not in (None, first.tid))
        refund = c.credit(pay_id=pay_id, trans_id="DEMO-1001", amount=1500, currency=cur, tid=first.tid)
        view = sim.payment(pay_id)
        self.step("Partial refund of capture 1 (by TID)", "credit", refund.pay_id, refund.status, refund.code,
                  f"{_money(refund.gross_refund_amount or 0)} refunded on TID {first.tid}",
                  refund.status == "OK" and view.captures[0].refunded == 1500 and view.captures[1].refunded == 0)

        # 8-9: a second order, authorised at approval, then reversed
        other_id, _, other_approve = self.order("DEMO-1002", 3000, "Second order", capture="Manual", tx_type="Auth")
        landed = self.browser(_need(other_approve, "orderid"))
        self.step("Second order (Manual, TxType=Auth), approved", "paypalorders", landed.pay_id, landed.status,
                  landed.code, f"{_money(3000)} authorised at approval",
                  landed.succeeded and sim.payment(other_id).state == "authorized")
        reversal = c.reverse(pay_id=other_id, trans_id="DEMO-1002", amount=3000, currency=cur)
        self.step("Reverse the second authorisation", "reverse", reversal.pay_id, reversal.status, reversal.code,
                  "authorisation released", reversal.status == "OK" and sim.payment(other_id).state == "reversed")

        # 10-11: billing agreement, then a charge without the buyer
        ba_pay_id, baid, _ = self.order("DEMO-BA-1", 100, "Subscription", tx_type="BAID", ref_nr="BA-2024-0001")
        self.browser(_need(baid.paypal_url, "paypalurl"))
        ba_note = self.shop.wait_for(ba_pay_id, "OK")
        agreement = ba_note.billing_agreement_id
        self.step("Billing agreement (TxType=BAID), approved", "paypalorders", ba_pay_id, ba_note.status,
                  ba_note.code, f"agreement {agreement} received by notification", bool(agreement))
        charge = c.reference_transaction(
            billing_agreement_id=_need(agreement, "BillingAgreementID"), trans_id="DEMO-SUB-1", amount=990, currency=cur, order_desc="Month 1"
        )
        self.step("Reference transaction on the agreement", "paypalreftrans", charge.pay_id, charge.status,
                  charge.code, f"{_money(990)} charged without the buyer",
                  charge.status == "OK" and bool(charge.tid))

        # 12: a capture the platform must refuse: 90 + 80 > 115 % of 120
        try:
            c.capture(pay_id=pay_id, trans_id="DEMO-1001", amount=8000, currency=cur)
        except GatewayError as exc:
            info = explain(exc.code)
            meaning = f"{info.module_text}: {info.detail_text}" + (f" — {info.advice}" if info.advice else "")
            self.step("Capture of 80.00 more (declined)", "capture", exc.pay_id, exc.status, exc.code, meaning,
                      exc.code == "21500067" and sim.payment(pay_id).captured == 9000)
        else:
            self.step("Capture of 80.00 more (declined)", "capture", pay_id, "OK", SUCCESS,
                      "the platform accepted an overcapture", False)


#: How many steps :func:`run_demo` takes.
EXPECTED_STEPS = 12


@contextmanager
def _embedded(time_factor: float) -> Iterator[tuple[Credentials, Simulator, _Shop, AxeptaClient]]:
    credentials = Credentials(DEMO_MERCHANT_ID, secrets.token_hex(8), secrets.token_hex(16))
    shop = _Shop(credentials)
    # the ~3 h timeout of an open AUTHORIZE_REQUEST is not part of the demo: compressed like the
    # notification gaps it would be ~11 ms, and a loaded machine would expire step 1 before step 4
    with Simulator(
        credentials, time_factor=time_factor, notify_transport=httpx.MockTransport(shop.handle),
        pending_timeout_minutes=1e9,
    ) as sim, httpx.Client(transport=sim.transport()) as http, AxeptaClient(
        credentials, http_client=http, max_retries=0
    ) as client:
        yield credentials, sim, shop, client


def run_demo(*, on_step: Callable[[DemoStep], None] | None = None, time_factor: float = 1e-3) -> DemoReport:
    """Run the journey against a fresh embedded simulator. ``on_step`` is called after each
    step (for progress). Never raises for a misbehaving step: the report says what failed.

    ``time_factor`` compresses the platform's notification retry gaps (1 min becomes 60 ms)."""
    with _embedded(time_factor) as (credentials, sim, shop, client):
        journey = _Journey(credentials, client, sim, shop, on_step)
        error: str | None = None
        try:
            journey.run()
        except (AxeptaError, TimeoutError, RuntimeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        sim.wait_for_notifications(5)
        return DemoReport(
            merchant_id=credentials.merchant_id,
            steps=tuple(journey.steps),
            expected_steps=EXPECTED_STEPS,
            notifications=len(shop.received),
            error=error if not shop.rejected else f"{error or 'ok'}; notifications rejected: {shop.rejected}",
            stats=sim.stats(),
        )
