"""The whole PayPal journey against the embedded simulator: no account, no network.

:func:`run_demo` drives the real :class:`~axepta.AxeptaClient` through the simulator's
in-process transport, plays the buyer, receives the notifications in an in-process shop that
decodes and verifies them with :func:`~axepta.decode_notification`, and checks every step:

order (Manual/Order) → buyer approval → notification → Authorize → two partial captures →
partial refund by TID → second order (Manual/Auth) → approval → reversal → billing agreement →
reference transaction → a capture declined with its code explained.

The shop's side runs too: the client journals every call into a ledger (SQLite in a temporary
directory), the shop's URLNotify answers from ``Ledger.receive_notification``, the books refuse
the over-capture before it is sent, the first payment is shown Not-Finished then Finished, a
customer tops an account up from PayPal (ConnexCS, seed 000) through the IPN stand-in (verified
by postback over loopback), PayPal resends it and then refunds part of it, and the events reach
the shop's handlers once each. :attr:`DemoReport.books` holds the books at the end.

The merchant's keys are random for each run and never leave the process. ``axepta demo`` and
``make demo`` show the steps as a table.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from axepta.amounts import from_minor_units
from axepta.client import AxeptaClient
from axepta.codes import SUCCESS, explain
from axepta.credentials import Credentials
from axepta.errors import AxeptaError, GatewayError, InvalidRequestError
from axepta.ledger import Ledger
from axepta.ledger.machine import group_of
from axepta.models import PayPalOrderResult
from axepta.notify import Notification, decode_notification
from axepta.simulator import Simulator
from axepta.simulator.ipn_standin import IpnStandIn, build_ipn

__all__ = ["CUSTOMER", "DEMO_MERCHANT_ID", "EXPECTED_STEPS", "SHOP_PAYPAL", "DemoReport", "DemoStep", "books_of", "run_demo"]

DEMO_MERCHANT_ID = "SIMULATOR_DEMO_t"
_SHOP = "https://shop.example/axepta/"
_URLS: dict[str, Any] = {
    "url_success": _SHOP + "success", "url_failure": _SHOP + "failure", "url_notify": _SHOP + "notify",
}
_CURRENCY = "EUR"
#: The shop's own PayPal address (the IPN receiver check) and a customer topping up (seed 000).
SHOP_PAYPAL = "shop@example.com"
CUSTOMER = ("cust-42", "alice@example.com")

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
    books: dict[str, Any] = field(default_factory=dict)

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
            "books": self.books,
        }


class _Shop:
    """The shop's receivers over its books: URLNotify answered from
    ``Ledger.receive_notification`` (200 once in the books, 404 unknown, 400 untrustworthy) and
    PayPal's IPN from ``Ledger.receive_ipn`` (stored, verified by postback, applied)."""

    def __init__(self, credentials: Credentials, ledger: Ledger) -> None:
        self._credentials = credentials
        self.ledger = ledger
        self.verify_url: str | None = None
        self._cond = threading.Condition()
        self.received: list[Notification] = []
        self.rejected: list[str] = []
        self.outcomes: Counter[str] = Counter()

    def handle(self, request: httpx.Request) -> httpx.Response:
        receipt = self.ledger.receive_notification(request.content, self._credentials)
        with self._cond:
            self.outcomes[receipt.outcome] += 1
            if receipt.status_code == 200:  # in the books: authenticated, so it decodes
                self.received.append(decode_notification(request.content, self._credentials))
            else:
                self.rejected.append(f"{receipt.outcome}: {receipt.reason}")
            self._cond.notify_all()
        return httpx.Response(receipt.status_code)

    def ipn(self, request: httpx.Request) -> httpx.Response:
        receipt = self.ledger.receive_ipn(
            request.content, receivers=[SHOP_PAYPAL], content_type=request.headers.get("content-type"),
            verify_url=self.verify_url,
        )
        return httpx.Response(receipt.status_code, text=receipt.outcome)

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
        on_step: Callable[[DemoStep], None] | None, bare: AxeptaClient,
    ) -> None:
        self.credentials, self.client, self.sim, self.shop = credentials, client, sim, shop
        self.bare = bare  # the same client without the books
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
        self.shop.wait_for(other_id, "OK")  # the shop acts once its books know (the notification)
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

        # 12: a capture the platform must refuse: 90 + 80 > 115 % of 120 (sent by a client
        # without the books, which would refuse it before sending: step 13)
        try:
            self.bare.capture(pay_id=pay_id, trans_id="DEMO-1001", amount=8000, currency=cur)
        except GatewayError as exc:
            info = explain(exc.code)
            meaning = f"{info.module_text}: {info.detail_text}" + (f" — {info.advice}" if info.advice else "")
            self.step("Capture of 80.00 more (declined)", "capture", exc.pay_id, exc.status, exc.code, meaning,
                      exc.code == "21500067" and sim.payment(pay_id).captured == 9000)
        else:
            self.step("Capture of 80.00 more (declined)", "capture", pay_id, "OK", SUCCESS,
                      "the platform accepted an overcapture", False)
        self.books(pay_id)

    def books(self, pay_id: str) -> None:
        """13-18: the shop's books, its accounts and its events."""
        ledger, cur = self.shop.ledger, _CURRENCY
        try:
            self.client.capture(pay_id=pay_id, trans_id="DEMO-1001", amount=8000, currency=cur)
        except InvalidRequestError as exc:
            self.step("The same capture, with the books", "capture", pay_id, None, None,
                      f"refused before sending: {exc.rule or exc}", self.sim.payment(pay_id).captured == 9000)
        else:
            self.step("The same capture, with the books", "capture", pay_id, None, None, "sent anyway", False)
        history = [t.to_state for t in ledger.transitions("DEMO-1001")]
        groups = [group_of(state) for state in history]
        payment = ledger.payment("DEMO-1001")
        finished = (payment is not None and payment.group == "finished" and payment.amount_captured == 9000
                    and payment.amount_refunded == 1500)
        self.step("Books: DEMO-1001 Not-Finished, then Finished", "ledger", pay_id, None, None,
                  " → ".join(history) + f" (captured {_money(9000)}, refunded {_money(1500)})",
                  finished and groups[:2] == ["not_finished", "not_finished"] and groups[-1] == "finished")
        self.top_ups()
        self.events()

    def top_ups(self) -> None:
        ledger, (account, email) = self.shop.ledger, CUSTOMER
        ledger.accounts.link_email(account, email)
        with IpnStandIn() as paypal, httpx.Client(transport=httpx.MockTransport(self.shop.ipn)) as to_shop:
            self.shop.verify_url = paypal.verify_url
            body = build_ipn(txn_type="send_money", payment_status="Completed", payer_email=email, mc_gross="25.00",
                             mc_currency=_CURRENCY, mc_fee="1.15", receiver_email=SHOP_PAYPAL)
            txn_id = parse_txn_id(body)
            sent = paypal.send(_SHOP_IPN, body, http_client=to_shop, wait=5)
            balance = ledger.accounts.balance(account, _CURRENCY)
            self.step("PayPal top-up (IPN stand-in, verified by postback)", "IPN", None, "Completed", None,
                      f"{email} paid 25.00: {account} credited, balance {_money(balance)}",
                      sent.ok and balance == 2500)
            again = paypal.send(_SHOP_IPN, body, http_client=to_shop, wait=5)
            balance = ledger.accounts.balance(account, _CURRENCY)
            self.step("PayPal resends the same IPN", "IPN", None, "Completed", None,
                      f"duplicate: balance still {_money(balance)}", again.ok and balance == 2500)
            refund = build_ipn(txn_type="send_money", payment_status="Refunded", payer_email=email, mc_gross="-10.00",
                               mc_currency=_CURRENCY, receiver_email=SHOP_PAYPAL, parent_txn_id=txn_id)
            back = paypal.send(_SHOP_IPN, refund, http_client=to_shop, wait=5)
            balance = ledger.accounts.balance(account, _CURRENCY)
            self.step("Part of the top-up refunded in PayPal", "IPN", None, "Refunded", None,
                      f"{account} debited 10.00, balance {_money(balance)}", back.ok and balance == 1500)

    def events(self) -> None:
        ledger = self.shop.ledger
        seen: Counter[str] = Counter()
        ledger.on("*")(lambda event: seen.update([event.kind]))
        delivered = ledger.deliver_events()
        written = len(ledger.events(limit=1000))
        again = ledger.deliver_events()
        kinds = ", ".join(f"{kind} ×{n}" if n > 1 else kind for kind, n in sorted(seen.items()))
        self.step("Events delivered to the shop's handlers", "events", None, None, None,
                  f"{delivered} delivered once each: {kinds}",
                  delivered == written == sum(seen.values()) and again == 0 and seen["account.credited"] == 1
                  and not [m for m in ledger.messages(limit=1000) if m.state in ("conflict", "rejected", "failed")])


#: How many steps :func:`run_demo` takes.
EXPECTED_STEPS = 18
_SHOP_IPN = "https://shop.example/paypal/ipn"


def parse_txn_id(body: bytes) -> str:
    """The ``txn_id`` of an IPN body built by :func:`build_ipn`."""
    from axepta.ipn import parse_ipn

    return _need(parse_ipn(body).txn_id, "txn_id")


@contextmanager
def _embedded(time_factor: float) -> Iterator[tuple[Credentials, Simulator, _Shop, AxeptaClient, AxeptaClient]]:
    credentials = Credentials(DEMO_MERCHANT_ID, secrets.token_hex(8), secrets.token_hex(16))
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="axepta-demo-")))
        ledger = stack.enter_context(Ledger(f"sqlite:///{folder / 'books.db'}"))
        ledger.migrate()
        shop = _Shop(credentials, ledger)
        # the ~3 h timeout of an open AUTHORIZE_REQUEST is not part of the demo: compressed like the
        # notification gaps it would be ~11 ms, and a loaded machine would expire step 1 before step 4
        sim = stack.enter_context(Simulator(
            credentials, time_factor=time_factor, notify_transport=httpx.MockTransport(shop.handle),
            pending_timeout_minutes=1e9,
        ))
        http = stack.enter_context(httpx.Client(transport=sim.transport()))
        client = stack.enter_context(AxeptaClient(credentials, http_client=http, max_retries=0, ledger=ledger))
        bare = stack.enter_context(AxeptaClient(credentials, http_client=http, max_retries=0))
        yield credentials, sim, shop, client, bare


def books_of(ledger: Ledger) -> dict[str, Any]:
    """The books at the end of the demo: payments, accounts, messages by state, events by kind."""
    payments = [p.as_json() for p in reversed(ledger.payments())]
    account, _ = CUSTOMER
    entries = ledger.accounts.entries(account)
    return {
        "payments": [{k: p[k] for k in ("trans_id", "state", "group", "amount", "currency", "amount_authorized",
                                        "amount_captured", "amount_refunded")} for p in payments],
        "accounts": [{"account": account, "currency": _CURRENCY, "balance": ledger.accounts.balance(account, _CURRENCY),
                      "entries": [e.as_json() for e in entries]}] if entries else [],
        "messages": dict(Counter(f"{m.source}:{m.state}" for m in ledger.messages(limit=1000))),
        "events": dict(Counter(e.kind for e in ledger.events(limit=1000))),
    }


def run_demo(*, on_step: Callable[[DemoStep], None] | None = None, time_factor: float = 1e-3) -> DemoReport:
    """Run the journey against a fresh embedded simulator. ``on_step`` is called after each
    step (for progress). Never raises for a misbehaving step: the report says what failed.

    ``time_factor`` compresses the platform's notification retry gaps (1 min becomes 60 ms)."""
    with _embedded(time_factor) as (credentials, sim, shop, client, bare):
        journey = _Journey(credentials, client, sim, shop, on_step, bare)
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
            books=books_of(shop.ledger),
        )
