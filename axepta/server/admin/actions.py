"""Money from the back office: capture, refund and reverse, off unless ``allow_money_actions``.

Two steps, each a CSRF-checked POST: *confirm* validates the form exactly as the CLI validates
its options (major-unit amount text, the currency's decimals, the 1..9 999 999 999 range) and
draws the ReqId that the action will use, shown on the confirmation page; *execute* sends the
request through a client journaled in the books, with that ReqId. Submitting the confirmation
twice sends the same ReqId twice: the books find the operation already settled and nothing is
sent again; if the first is still in flight, the platform answers the second with the first's
result (PROTOCOL.md §6) and acts once.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData

from axepta.amounts import check_amount, from_minor_units, to_minor_units
from axepta.client import AxeptaClient
from axepta.errors import AxeptaError, GatewayError, InvalidRequestError, TransportError
from axepta.ledger import Ledger
from axepta.ledger.records import Payment
from axepta.server.admin import books

__all__ = ["ACTIONS", "MoneyActions", "Outcome", "Plan"]

#: What the payment page offers, with the payment states each is allowed in.
ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "capture": ("Capture", frozenset({"authorized", "captured"})),
    "refund": ("Refund", frozenset({"captured", "closed", "refunded"})),
    "reverse": ("Reverse", frozenset({"authorized"})),
}


@dataclass(frozen=True)
class Plan:
    """A validated action waiting for confirmation (or the reason it cannot be done)."""

    kind: str
    trans_id: str
    merchant_id: str = ""
    pay_id: str = ""
    amount: int = 0
    currency: str = ""
    tid: str = ""
    req_id: str = ""
    error: str | None = None

    @property
    def label(self) -> str:
        return ACTIONS[self.kind][0] if self.kind in ACTIONS else self.kind

    @property
    def amount_text(self) -> str:
        return f"{from_minor_units(self.amount, self.currency)} {self.currency}" if self.currency else ""


@dataclass(frozen=True)
class Outcome:
    trans_id: str
    merchant_id: str
    message: str


def _text(form: FormData, name: str, limit: int = 64) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


class MoneyActions:
    """Plans and executes back-office money actions through a journaled client."""

    def __init__(self, ledger: Ledger, client_factory: Callable[[], AxeptaClient]) -> None:
        self._ledger = ledger
        self._client_factory = client_factory
        self._client: AxeptaClient | None = None
        self._lock = threading.Lock()
        self._req_locks: dict[str, threading.Lock] = {}

    def _get_client(self) -> AxeptaClient:
        with self._lock:
            if self._client is None:
                self._client = self._client_factory()
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _payment(self, form: FormData) -> tuple[str, Payment | None]:
        trans_id = _text(form, "trans_id")
        mid = _text(form, "mid") or None
        return trans_id, (self._ledger.payment(trans_id, merchant_id=mid) if trans_id else None)

    def plan(self, form: FormData) -> Plan:
        kind = _text(form, "kind", 16)
        trans_id, payment = self._payment(form)
        if kind not in ACTIONS:
            return Plan(kind, trans_id, error="Unknown action.")
        if payment is None or payment.pay_id is None:
            return Plan(kind, trans_id, error="No payment with that TransID and a PayID in the books.")
        label, states = ACTIONS[kind]
        if payment.state not in states:
            return Plan(kind, trans_id, error=f"{label} is not possible in state {payment.state}.")
        amount_text = _text(form, "amount", 32)
        try:
            amount = check_amount(to_minor_units(amount_text, payment.currency))
        except InvalidRequestError as exc:
            return Plan(kind, trans_id, error=str(exc))
        except (TypeError, ValueError):
            return Plan(kind, trans_id, error="Amount: give a decimal amount such as 12.50.")
        tid = _text(form, "tid", 64) if kind == "refund" else ""
        return Plan(
            kind,
            trans_id,
            merchant_id=payment.merchant_id,
            pay_id=payment.pay_id,
            amount=amount,
            currency=payment.currency,
            tid=tid,
            req_id=uuid.uuid4().hex,
        )

    def execute(self, form: FormData) -> Outcome:
        kind = _text(form, "kind", 16)
        trans_id, payment = self._payment(form)
        req_id = _text(form, "req_id", 32)
        amount_raw = _text(form, "amount_minor", 12)
        if payment is None or payment.pay_id is None or kind not in ACTIONS:
            return Outcome(trans_id, "", "Nothing was sent: the payment or the action is unknown.")
        if not req_id.isalnum() or not amount_raw.isdigit():
            return Outcome(trans_id, payment.merchant_id, "Nothing was sent: the confirmation form was altered.")
        with self._lock_for(req_id):
            done = books.operation_by_req_id(self._ledger, payment.merchant_id, req_id)
            if done is not None and done.outcome in ("succeeded", "declined"):
                return Outcome(
                    trans_id,
                    payment.merchant_id,
                    f"Already done with ReqId {req_id}: {done.kind} {done.outcome} ({done.code}). Nothing was sent again.",
                )
            return self._send(kind, payment, int(amount_raw), _text(form, "tid", 64), req_id)

    def _lock_for(self, req_id: str) -> threading.Lock:
        """One confirmation at a time per ReqId in this process (a double submit waits, then
        finds the operation settled); across workers the platform's ReqId replay holds."""
        with self._lock:
            if len(self._req_locks) > 1024:
                self._req_locks.clear()
            return self._req_locks.setdefault(req_id, threading.Lock())

    def _send(self, kind: str, payment: Payment, amount: int, tid: str, req_id: str) -> Outcome:
        assert payment.pay_id is not None
        client = self._get_client()
        common: dict[str, Any] = {
            "pay_id": payment.pay_id,
            "trans_id": payment.trans_id,
            "amount": amount,
            "currency": payment.currency,
            "req_id": req_id,
        }
        label = ACTIONS[kind][0]
        money = f"{from_minor_units(amount, payment.currency)} {payment.currency}"
        try:
            if kind == "capture":
                result: Any = client.capture(**common)
            elif kind == "refund":
                result = client.credit(**common, tid=tid or None)
            else:
                result = client.reverse(**common)
        except GatewayError as exc:
            message = f"{label} of {money} declined: {exc.code} {exc.explanation} (ReqId {req_id})."
        except TransportError:
            message = (
                f"{label} of {money}: outcome unknown (network). Submit the same confirmation again "
                f"or run `axepta reconcile`: ReqId {req_id} makes it act once."
            )
        except AxeptaError as exc:
            message = f"{label} of {money} not sent: {exc} (ReqId {req_id})."
        else:
            message = f"{label} of {money}: {result.status} {result.code} (ReqId {req_id})."
        return Outcome(payment.trans_id, payment.merchant_id, message)
