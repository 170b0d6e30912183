"""The inbox: what to do with an inbound message, decided without I/O (LEDGER.md "Exactly once",
"Receiving"; PROTOCOL.md §7.3, §9).

The store commits each message with its de-duplication key before it is answered; these
functions say which key, which answer, whether a redelivery is processed again, and which fact
of the payment state machine (:mod:`axepta.ledger.machine`) a message reports.

* Keys use MAC-bound fields only (PROTOCOL.md D14): an Axepta result is keyed on
  ``PayID``, ``TransID``, ``Status``, ``Code``; an IPN with ``txn_id`` on
  (``txn_id``, ``payment_status``); without one on (``txn_type``, its profile or agreement id,
  ``ipn_track_id``), else a digest of the body; a Mass Pay record on
  (``masspay_txn_id_N``, ``status_N``). Not-authenticated messages get no key at all, so a
  forger cannot occupy a genuine message's key.
* :data:`ANSWERS` is LEDGER.md's table of answers: the platform retries on anything but 200.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

from axepta.amounts import from_minor_units, to_minor_units
from axepta.errors import AxeptaError
from axepta.ipn import IpnMessage, MassPayment
from axepta.notify import Notification

__all__ = [
    "ANSWERS",
    "IPN_ANSWERS",
    "BOUND_NOTIFICATION_FIELDS",
    "MESSAGE_STATES",
    "OUTCOMES",
    "REPROCESS",
    "SETTLED",
    "STORAGE_FAILURE",
    "IpnFact",
    "answer_for",
    "ipn_key",
    "ipn_payment_fact",
    "masspay_fact",
    "masspay_key",
    "minor_units",
    "notification_fact",
    "notification_fields",
    "notification_key",
    "ipn_fields",
    "redelivery",
]

#: Every state a message row can be in (LEDGER.md "Records").
MESSAGE_STATES: Final = (
    "received", "applied", "duplicate", "stale", "unmatched", "rejected", "unverified", "invalid",
    "conflict", "failed", "parked",
)
#: Outcomes a :class:`~axepta.ledger.Receipt` can report (``failed``: the books could not be
#: written, nothing was applied, the sender must retry).
OUTCOMES: Final = (
    "applied", "duplicate", "stale", "conflict", "unmatched", "rejected", "stored", "unverified", "invalid",
    "failed",
)
STORAGE_FAILURE: Final = 500
#: LEDGER.md "Receiving": the answer to the platform for each outcome of an Axepta result.
ANSWERS: Final[Mapping[str, int]] = {
    "applied": 200,
    "duplicate": 200,
    "stale": 200,
    "conflict": 200,
    "unmatched": 404,  # the notification overtook the shop's commit: the platform retries ~21 h
    "rejected": 400,  # not authenticated (decryption, MID, MAC, a repeated field)
    "failed": STORAGE_FAILURE,  # the platform retries
}
#: The answer to PayPal for each outcome of an IPN (PROTOCOL.md §9.2, §9.3, §9.9): ``stored``
#: answers 200 at once (queue mode: verified and applied afterwards); ``invalid`` is recorded and
#: answered 200; ``unverified`` answers 500 when verified inline, so that PayPal resends; a
#: verified IPN that matches nothing is answered 200 (a resend cannot help).
IPN_ANSWERS: Final[Mapping[str, int]] = {
    "applied": 200,
    "duplicate": 200,
    "stale": 200,
    "conflict": 200,
    "unmatched": 200,
    "stored": 200,
    "invalid": 200,
    "rejected": 400,
    "unverified": 500,
    "failed": STORAGE_FAILURE,
}
#: States of a stored message that a redelivery processes again: still undecided (its worker may
#: have died), waiting for its payment (the platform's retry after a 404 must be able to apply),
#: or failed while being processed.
REPROCESS: Final = frozenset({"received", "unmatched", "failed", "unverified"})
#: States after which a redelivery changes nothing (answered as ``duplicate``).
SETTLED: Final = frozenset({"applied", "duplicate", "stale", "conflict", "invalid", "parked"})
#: The fields an Axepta result's MAC binds (PROTOCOL.md D9, D14).
BOUND_NOTIFICATION_FIELDS: Final = frozenset({"payid", "transid", "mid", "merchantid", "status", "code"})


def answer_for(outcome: str, source: str = "axepta") -> int:
    """The HTTP status for an outcome of a message from ``source`` (``axepta``:
    :data:`ANSWERS`; ``ipn``: :data:`IPN_ANSWERS`); ``KeyError`` for an unknown one."""
    return (IPN_ANSWERS if source == "ipn" else ANSWERS)[outcome]


def redelivery(existing_state: str) -> Literal["process", "settled"]:
    """What a delivery whose key is already stored does: ``process`` the stored message again
    (:data:`REPROCESS`), or answer from the books (``settled``) and change nothing."""
    if existing_state not in MESSAGE_STATES:
        raise ValueError(f"unknown message state {existing_state!r}")
    return "process" if existing_state in REPROCESS else "settled"


_NORM = re.compile(r"[-\s]+")


def _norm(text: str | None) -> str:
    """Enumerated values compare case-insensitively with ``-`` and ``_`` alike (PROTOCOL.md §9.5)."""
    return _NORM.sub("_", (text or "").strip().lower())


def _cap(key: str) -> str:
    # the key column holds 255 characters; a longer key (a 64-character TransID with odd
    # statuses) is replaced by its digest, which is just as unique
    return key if len(key) <= 255 else "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def notification_key(notification: Notification) -> str:
    """``PayID|TransID|STATUS|Code``: MAC-bound fields only (never ``XID`` or another unbound
    field, which spliced Blowfish blocks could change, D14)."""
    parts = (notification.pay_id or "", notification.trans_id or "", (notification.status or "").upper(),
             notification.code or "")
    return _cap("|".join(parts))


def ipn_key(message: IpnMessage) -> str:
    """The key of a verified IPN: ``txn:<txn_id>:<payment_status>``; without ``txn_id``
    ``<txn_type>:<profile or agreement id>:<ipn_track_id>``; else ``sha256:`` of the body."""
    if message.txn_id:
        return _cap(f"txn:{message.txn_id}:{_norm(message.payment_status)}")
    profile = message.subscr_id or message.recurring_payment_id or message.mp_id or "-"
    if message.txn_type and message.ipn_track_id:
        return _cap(f"{_norm(message.txn_type)}:{profile}:{message.ipn_track_id}")
    return "sha256:" + hashlib.sha256(message.raw).hexdigest()


def masspay_key(record: MassPayment, parent_key: str) -> str:
    """(``masspay_txn_id_N``, ``status_N``); a record without its id is keyed on the IPN's key
    and its record number."""
    if record.masspay_txn_id:
        return _cap(f"masspay:{record.masspay_txn_id}:{_norm(record.status)}")
    return _cap(f"{parent_key}#{record.index}:{_norm(record.status)}")


def notification_fields(notification: Notification) -> dict[str, dict[str, Any]]:
    """Every field of a result, each marked ``bound`` (covered by the MAC) or not (D14)."""
    return {
        name: {"value": value, "bound": name.lower() in BOUND_NOTIFICATION_FIELDS}
        for name, value in notification.raw.items()
    }


def ipn_fields(message: IpnMessage, *, verified: bool) -> dict[str, dict[str, Any]]:
    """Every variable of an IPN; a ``VERIFIED`` postback vouches for the whole body, so all are
    bound once verified and none before."""
    return {name: {"value": value, "bound": verified} for name, value in message.fields.items()}


# ---------------------------------------------------------------------------------------------
# Axepta results → facts of the state machine


def notification_fact(
    notification: Notification, *, capture: str | None, tx_type: str | None, paypal_method: str | None = None
) -> str | None:
    """The fact an authenticated result reports for a payment ordered with ``capture``
    (``Auto``/``Manual``), ``tx_type`` (``Order``/``Auth``/``BAID``) and ``paypal_method``;
    ``None`` when a person must look (a ``0…`` code that is not ``00000000``, or a malformed one).

    ``OK``: a billing agreement (``TxType=BAID``: no money moves, PROTOCOL.md §4.4) and the
    shortcut are approved; captured at approval with ``Capture=Auto``; authorised with
    ``TxType=Auth``; with ``TxType=Order`` approved, awaiting its ``Authorize``. Amounts never come
    from the result (D14)."""
    state = notification.state
    if state == "completed":
        if (paypal_method or "").lower() == "shortcut" or (tx_type or "").lower() == "baid":
            return "approved"
        if (capture or "").lower() == "auto":
            return "captured_at_approval"
        if (tx_type or "").lower() == "auth":
            return "authorized"
        return "approved"
    return {
        "approved": "approved",
        "pending": "pending",
        "expired": "expired",
        "failed": "failed",
    }.get(state)


# ---------------------------------------------------------------------------------------------
# Verified IPN → facts


@dataclass(frozen=True, slots=True)
class IpnFact:
    """What a verified IPN matched to a payment means: ``kind`` is a fact of the state machine,
    or ``confirm`` (it reports what the books already hold: stored, nothing changes);
    ``amount`` in minor units for money facts; ``reason`` for people."""

    kind: str
    amount: int | None = None
    reason: str = ""


def minor_units(amount: Decimal | None, currency: str | None, name: str = "mc_gross") -> int:
    """|``amount``| in minor units of ``currency``, exactly (``ValueError`` naming the field when
    it is missing or has more decimals than the currency: money is never guessed)."""
    if amount is None or not currency:
        raise ValueError(f"{name} or its currency is missing")
    try:
        return to_minor_units(abs(amount), currency.upper())
    except AxeptaError as exc:
        raise ValueError(f"{name} {amount} {currency}: {exc}") from None


def ipn_payment_fact(message: IpnMessage, *, known_refund_ids: frozenset[str] = frozenset()) -> IpnFact:
    """The fact a verified IPN reports for the payment it matched (PROTOCOL.md §9.5, §9.9).

    ``Refunded``: a refund made in PayPal's own pages adds to the refunded total — unless its
    ``txn_id`` is one the books hold from the shop's own ``credit`` reply (``known_refund_ids``):
    then it confirms it. ``Reversed`` flags a chargeback, ``Canceled_Reversal`` clears it;
    ``Voided``/``Expired`` end the authorisation; ``Denied``/``Failed`` fail the payment;
    ``Completed``, ``Pending`` and the rest confirm what the platform reported."""
    status = _norm(message.payment_status)
    if status == "refunded":
        if message.txn_id and message.txn_id in known_refund_ids:
            return IpnFact("confirm", reason="confirms the shop's own credit")
        try:
            amount = minor_units(message.mc_gross, message.mc_currency)
        except ValueError as exc:
            return IpnFact("conflict", reason=str(exc))
        return IpnFact("ipn_refund", amount, "refund made outside the shop")
    mapping = {
        "reversed": "charged_back",
        "canceled_reversal": "chargeback_cancelled",
        "voided": "ipn_voided",
        "expired": "ipn_expired",
        "denied": "failed",
        "failed": "failed",
    }
    kind = mapping.get(status)
    if kind is None:
        return IpnFact("confirm", reason=f"payment_status {message.payment_status or '(none)'} confirms the books")
    return IpnFact(kind)


#: payment_status values whose ``mc_gross`` is the money the payment received (PROTOCOL.md §9.4 item 4)
_RECEIVED = frozenset({"completed", "pending"})


def ipn_amount_mismatch(message: IpnMessage, *, currency: str, expected: int) -> str | None:
    """PROTOCOL.md §9.4 item 4 for an IPN matched to a payment: a ``Completed`` or ``Pending``
    whose ``mc_gross`` differs from what the books expect (``expected`` minor units of
    ``currency``: the amount of the operation PayPal's ``txn_id`` names, else the ordered
    amount), or cannot be read exactly; ``None`` when they agree or the status reports no
    received money. Decimal comparison: never a float, never rounded."""
    if _norm(message.payment_status) not in _RECEIVED:
        return None
    if message.mc_gross is None:
        return "mc_gross is missing: the amount PayPal received cannot be checked (§9.4)"
    try:
        got = minor_units(message.mc_gross, message.mc_currency or currency)
    except ValueError as exc:
        return str(exc)
    if got == expected and message.mc_gross >= 0:
        return None
    want = from_minor_units(expected, currency)
    return f"IPN mc_gross {message.mc_gross} {currency}, the books expect {want} {currency} (§9.4)"


def masspay_fact(record: MassPayment) -> IpnFact:
    """The fact a Mass Pay record reports for the payout it matched: ``Completed`` closes it
    (paid), ``Failed``/``Returned``/``Reversed`` fail it, the rest (``Unclaimed``, ``Pending``)
    confirm it."""
    status = _norm(record.status)
    if status == "completed":
        return IpnFact("payout_ok")
    if status in ("failed", "returned", "reversed", "denied"):
        return IpnFact("failed", reason=f"Mass Pay record {status}")
    return IpnFact("confirm", reason=f"Mass Pay record {record.status or '(no status)'}")
