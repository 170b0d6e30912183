"""De-duplication and ordering of IPN messages (PROTOCOL.md §9.4, §9.7): a resend changes nothing, a
late message never moves a payment backwards."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Literal

from axepta.ipn.message import IpnMessage, MassPayment
from axepta.ipn.values import _normalise

#: How far a status moves a transaction (§9.4): a message whose status ranks below one already
#: applied for the same ``txn_id`` arrived late and must not move the payment backwards.
_RANKS: dict[str, int] = {
    "pending": 1, "created": 1, "processed": 1, "unclaimed": 1,
    "completed": 2, "denied": 2, "failed": 2, "expired": 2, "voided": 2, "returned": 2,
    "refunded": 3, "reversed": 3,
    "canceled_reversal": 4,
}

IpnDecision = Literal["new", "duplicate", "stale"]


def status_rank(status: str | None) -> int:
    """The rank of a ``payment_status`` (or Mass Pay ``status_x``): ``Pending``/``Created``/
    ``Processed``/``Unclaimed`` 1; ``Completed``/``Denied``/``Failed``/``Expired``/``Voided``/
    ``Returned`` 2; ``Refunded``/``Reversed`` 3; ``Canceled_Reversal`` 4; unknown values 1
    (non-final until mapped)."""
    return _RANKS.get(_normalise(status or ""), 1)


def ipn_decision(seen_statuses: Iterable[str], status: str | None) -> IpnDecision:
    """What to do with a message whose transaction (``txn_id``, or ``masspay_txn_id_x`` for a
    Mass Pay record) already produced ``seen_statuses``: ``duplicate`` when ``status`` is among
    them (a resend: answer 200, change nothing), ``stale`` when it ranks below one of them (a
    late message — ``Pending`` after ``Completed`` — store it, do not apply it), else ``new``.
    """
    norm = _normalise(status or "")
    seen = [_normalise(s) for s in seen_statuses]
    if norm in seen:
        return "duplicate"
    rank = status_rank(norm)
    if any(status_rank(s) > rank for s in seen):
        return "stale"
    return "new"


class IpnDeduplicator:
    """An in-memory, thread-safe reference of the de-duplication rules (tests, one-process
    listeners). It remembers statuses and nothing else: it is not the books (the ledger). A shop
    with a database applies :func:`ipn_decision` to the statuses it stored for the same
    ``txn_id`` — and to those of the refunds and reversals that name it in ``parent_txn_id`` —
    under a lock per transaction."""

    def __init__(self) -> None:
        self._seen: dict[str, list[str]] = {}
        #: statuses of the messages naming a transaction in ``parent_txn_id`` (refunds, reversals)
        self._children: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _decide(self, ident: str, status: str, parent: str | None = None) -> IpnDecision:
        with self._lock:
            seen = self._seen.setdefault(ident, [])
            if _normalise(status) in (_normalise(s) for s in seen):
                return "duplicate"
            rank = status_rank(status)
            related = (*seen, *self._children.get(ident, ()))
            decision: IpnDecision = "stale" if any(status_rank(s) > rank for s in related) else "new"
            seen.append(status)
            if parent and parent != ident:
                self._children.setdefault(parent, []).append(status)
            return decision

    def record(self, message: IpnMessage) -> IpnDecision:
        """Decide on a message, keyed on (``txn_id``, ``payment_status``) (see
        :attr:`IpnMessage.dedup_key`), and remember it: ``duplicate`` for a key seen before;
        ``stale`` when a status that ranks higher was seen for the same ``txn_id`` or for a
        refund or reversal naming it in ``parent_txn_id`` (a ``Completed`` that arrives after
        its own refund); else ``new``."""
        ident, status = message.dedup_key
        return self._decide(ident, status, message.parent_txn_id)

    def record_mass_payments(self, message: IpnMessage) -> list[tuple[MassPayment, IpnDecision]]:
        """Decide on each Mass Pay record, keyed on (``masspay_txn_id_x``, ``status_x``): a
        record ``Unclaimed`` in the first message may be ``Completed`` in the second."""
        decisions = []
        for record in message.mass_payments:
            ident, status = record.dedup_key
            if not ident:
                ident = f"{message.dedup_key[0]}#{record.index}"
            decisions.append((record, self._decide("masspay:" + ident, status)))
        return decisions
