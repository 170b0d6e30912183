"""Journaling: what a client with a ledger writes around each call (LEDGER.md "Exactly once").

The protocol core yields :class:`~axepta.protocol.Record` steps (``exchange(…, journal=True)``);
both clients answer them with :meth:`Journal.record` — the sync client directly, the async client
in a worker thread — so there is one logic path:

* ``intent``, before anything leaves: the payment (``created``) for ``paypalorders``, a
  ``creditex`` payout or a ``paypalreftrans`` charge, and the operation with its ``ReqId`` and every
  request field needed to send it again, committed. A reused ``TransID``, a follow-up of a
  payment the books do not hold, or a capture or refund beyond what the books allow raises
  :class:`~axepta.errors.InvalidRequestError` here, and nothing is sent.
* ``sent``, before a further attempt leaves (a retry after a connection that provably never
  reached the gateway): the operation is ``sent`` with its attempt count. ``intent`` covers the
  first attempt: an operation still ``intent`` may have left when its process died.
* ``outcome``: ``succeeded`` (the reply's facts applied through the state machine), ``declined``
  or ``unknown`` (the network failed after sending, or the reply could not be trusted). When the
  books cannot be written at this point the call's own result still goes back to the caller (the
  operation stays ``sent``; ``reconcile`` settles it) and a warning is logged.

The functions below the class are pure: they turn a prepared request and its reply into what
the units of work in :mod:`axepta.ledger.store.units` write.
"""

from __future__ import annotations

import logging
import os
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from axepta.errors import AxeptaError, ConfigurationError, GatewayError, TransportError
from axepta.ledger.machine import Fact
from axepta.ledger.store import units
from axepta.models.results import Result

if TYPE_CHECKING:
    from axepta.ledger.ledger import Ledger
    from axepta.protocol import PreparedRequest, Record

__all__ = ["KINDS", "CRASH_ENV", "Intent", "Journal", "Outcome", "outcome_of", "plan_intent"]

logger = logging.getLogger("axepta.ledger")

#: ``ProtocolCore`` operation → ``Operation.kind`` (CONTRACT.md).
KINDS: Final = {
    "paypal_orders": "paypal_order",
    "paypal_complete": "complete",
    "authorize": "authorize",
    "capture": "capture",
    "credit": "credit",
    "credit_ex": "credit_ex",
    "reverse": "reverse",
    "paypal_reftrans": "reftrans",
}
#: Operations that create their own payment, and its kind.
NEW_PAYMENT: Final = {"paypal_order": "order", "credit_ex": "payout", "reftrans": "reference"}
#: Operations whose failure is the payment's failure (the order, its approval or completion);
#: a declined follow-up (capture, credit, reverse, authorize) leaves the payment where it is.
FAILS_PAYMENT: Final = frozenset({"paypal_order", "complete", "reftrans", "credit_ex"})
#: Test hook (crash tests): ``after-intent`` kills the process once the operation is committed
#: and before the request leaves; ``before-outcome`` once the reply is in and before it is
#: recorded. Read once per :class:`Journal`; never set it in production.
CRASH_ENV: Final = "AXEPTA_LEDGER_TEST_CRASH"


@dataclass(frozen=True, slots=True)
class Intent:
    """What the intent unit writes: the operation, and the payment when the call creates one."""

    kind: str
    merchant_id: str
    trans_id: str
    pay_id: str | None
    req_id: str | None
    amount: int
    currency: str
    request: dict[str, Any]
    new_payment: dict[str, Any] | None = None
    complete: bool = False
    req_id_given: bool = False  # the caller chose the ReqId (it may be in the books already)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the outcome unit writes: the operation's outcome and reply fields, the fact for the
    state machine (``None``: the payment does not move), the ids the reply reported."""

    outcome: str
    code: str | None = None
    status: str | None = None
    tid: str | None = None
    pay_id: str | None = None
    error: str | None = None
    fact: Fact | None = None
    ids: tuple[tuple[str, str], ...] = ()
    payer: dict[str, str] = field(default_factory=dict)


def plan_intent(prepared: PreparedRequest, merchant_id: str) -> Intent:
    """The intent of ``prepared`` (pure)."""
    kind = KINDS[prepared.operation]
    request = prepared.request
    dumped = request.model_dump(mode="json")
    if prepared.req_id is not None:
        dumped["req_id"] = prepared.req_id  # the ReqId sent, also when the core generated it
    new_payment = None
    if kind in NEW_PAYMENT:
        new_payment = {
            "kind": NEW_PAYMENT[kind],
            "ref_nr": getattr(request, "ref_nr", None),
            "reference": getattr(request, "user_data", None),
            "capture": getattr(request, "capture", None) if kind == "paypal_order" else None,
            "tx_type": getattr(request, "tx_type", None),
            "paypal_method": getattr(request, "paypal_method", None),
        }
    return Intent(
        kind=kind,
        merchant_id=merchant_id,
        trans_id=request.trans_id,
        pay_id=getattr(request, "pay_id", None),
        req_id=prepared.req_id,
        amount=request.amount,
        currency=request.currency,
        request={"operation": prepared.operation, "fields": dumped},
        new_payment=new_payment,
        complete=bool(getattr(request, "complete", False)),
        req_id_given=getattr(request, "req_id", None) is not None,
    )


def _success_fact(kind: str, intent_amount: int, complete: bool, payment: Any) -> Fact | None:
    if kind == "complete":
        if payment.capture == "Auto" or payment.capture is None:
            return Fact("captured_at_approval", "reply")
        return Fact("authorized" if payment.tx_type == "Auth" else "approved", "reply")
    if kind == "reftrans":
        return Fact("captured_at_approval", "reply")
    facts = {
        "authorize": Fact("authorize_ok", "reply", amount=intent_amount),
        "capture": Fact("capture_ok", "reply", amount=intent_amount, complete=complete),
        "credit": Fact("credit_ok", "reply", amount=intent_amount),
        "reverse": Fact("reverse_ok", "reply"),
        "credit_ex": Fact("payout_ok", "reply"),
    }
    return facts.get(kind)


_TID_KIND: Final = {
    "capture": "tid",
    "reftrans": "tid",
    "complete": "tid",
    "authorize": "authorization_id",
    "credit": "refund_id",
}


def outcome_of(
    kind: str,
    *,
    amount: int,
    complete: bool,
    payment: Any,
    result: Result | None,
    error: AxeptaError | None,
) -> Outcome:
    """The outcome of one call (pure): ``payment`` is the payment row (capture mode, type)."""
    if result is not None:
        ids: list[tuple[str, str]] = []
        if result.tid and kind in _TID_KIND:
            ids.append((_TID_KIND[kind], result.tid))
        order_id = getattr(result, "order_id", None)
        if order_id:
            ids.append(("order_id", order_id))
        payer = {}
        email = getattr(result, "email", None)
        if email:
            payer["payer_email"] = email
        payer_id = getattr(result, "payer_id", None)
        if payer_id:
            payer["payer_id"] = payer_id
        return Outcome(
            "succeeded",
            code=result.code,
            status=result.status,
            tid=result.tid,
            pay_id=result.pay_id,
            fact=_success_fact(kind, amount, complete, payment),
            ids=tuple(ids),
            payer=payer,
        )
    if isinstance(error, GatewayError):
        pending = error.code[:1] in ("6", "7")
        fact = None
        if kind in FAILS_PAYMENT:
            fact = Fact("pending" if pending else "failed", "reply")
        return Outcome(
            "unknown" if pending else "declined",
            code=error.code,
            status=error.status,
            pay_id=error.pay_id,
            error="pending: the final status follows by notification" if pending else None,
            fact=fact,
        )
    if isinstance(error, TransportError) and error.sent is False:
        return Outcome("intent", error=f"never reached the gateway: {error}")
    reason = f"{type(error).__name__}: {error}" if error is not None else "no result"
    return Outcome("unknown", error=reason[:1000])


class Journal:
    """Answers a client's :class:`~axepta.protocol.Record` steps with units of work on
    ``ledger``'s store (thread-safe: each step is one transaction)."""

    def __init__(self, ledger: object, merchant_id: str) -> None:
        from axepta.ledger.ledger import Ledger

        if not isinstance(ledger, Ledger):
            raise ConfigurationError("ledger must be an axepta.ledger.Ledger")
        self.ledger: Ledger = ledger
        self.merchant_id = merchant_id
        self._crash = os.environ.get(CRASH_ENV, "")

    def record(self, step: Record) -> object:
        """Write one step; ``intent`` returns the operation's handle (its id)."""
        if step.phase == "intent":
            handle = units.journal_intent(self.ledger.store, plan_intent(step.prepared, self.merchant_id))
            return handle
        assert isinstance(step.handle, int)
        if step.phase == "sent":
            if self._crash == "after-intent":
                os.kill(os.getpid(), signal.SIGKILL)
            if step.attempt > 1:  # the intent covers the first attempt
                units.journal_sent(self.ledger.store, step.handle, step.attempt)
            return None
        if self._crash == "before-outcome":
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            units.journal_outcome(self.ledger.store, step.handle, step.result, step.error)
        except Exception as exc:  # the call's own result matters more than its record
            logger.warning(
                "axepta ledger could not record the outcome of operation %s (trans_id=%s req_id=%s): "
                "%s; it stays 'sent' until `axepta reconcile` settles it",
                step.handle,
                step.prepared.trans_id,
                step.prepared.req_id or "-",
                type(exc).__name__,
            )
        return None
