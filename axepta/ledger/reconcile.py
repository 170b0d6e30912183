"""Reconcile: settle what a crash or a lost reply left open (LEDGER.md "Exactly once").

Pure rules here; :meth:`axepta.ledger.Ledger.reconcile` drives them with a client and the store.

* Operations left ``intent``/``sent``/``unknown`` for longer than ``min_age`` (default 60 s,
  longer than the client's own deadline, so the original has finished, PROTOCOL.md §6.1):
  with ``ReqId`` support (``paypal_order``, ``capture``, ``credit``, ``credit_ex``, ``reverse``)
  the same request is sent again with the same ``ReqId`` (the platform answers the first
  result and acts once). The others (``complete``, ``authorize``, ``reftrans``) are never resent
  blindly: an inquiry first; when its amounts show the operation happened that is recorded;
  only when an available inquiry shows it did not happen is it sent again; otherwise it is
  marked for a person (:func:`judge`).
* Not-Finished payments unchanged for longer than ``stale_after`` (default 25 min, D-INQ-6) are
  inquired and moved forward on what the amounts show (never backward, never expired: an
  inquiry that finds nothing leaves them Not-Finished, listed as abandoned, D-INQ-4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = ["RESEND", "ReconcileItem", "ReconcileReport", "judge"]

#: Operation kinds the platform de-duplicates by ``ReqId`` (PROTOCOL.md §6.1).
RESEND: Final = frozenset({"paypal_order", "capture", "credit", "credit_ex", "reverse"})

Verdict = Literal["happened", "not_happened", "unclear"]


def judge(
    kind: str,
    amount: int,
    *,
    books: tuple[int, int, int],
    inquired: tuple[int, int, int],
    tx_type: str | None = None,
) -> Verdict:
    """Did the operation (``kind`` of ``amount``) happen, given the books' totals before it
    (authorised, captured, refunded) and the inquiry's (§4.15.5 "Confirming an uncertain
    operation")? Anything but an exact match is ``unclear``: concurrent activity, for a person."""
    a0, c0, _ = books
    a, c, _ = inquired
    if kind == "authorize":
        return "happened" if a == a0 + amount else "not_happened" if a == a0 else "unclear"
    if kind == "reftrans":
        return "happened" if c == c0 + amount else "not_happened" if c == c0 and a == a0 else "unclear"
    if kind == "complete":
        if c == c0 + amount or a == a0 + amount:
            return "happened"
        if a == a0 and c == c0 and tx_type != "Order":  # an Order completes with nothing authorised
            return "not_happened"
        return "unclear"
    raise ValueError(f"judge: {kind} is settled by resending with its ReqId")


@dataclass(frozen=True, slots=True)
class ReconcileItem:
    """One thing reconcile looked at: an operation (``kind``, ``req_id``) or a payment
    (``kind="payment"``), what it did (``action``: ``resent``, ``inquired``, ``none``), the result
    (``outcome``) and why (``note``)."""

    trans_id: str
    kind: str
    action: str
    outcome: str
    note: str | None = None
    req_id: str | None = None
    operation_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "trans_id": self.trans_id,
            "kind": self.kind,
            "req_id": self.req_id,
            "operation_id": self.operation_id,
            "action": self.action,
            "outcome": self.outcome,
            "note": self.note,
        }


@dataclass(slots=True)
class ReconcileReport:
    """``settled``: what reconcile closed (an operation now ``succeeded``/``declined``, a payment
    moved forward); ``left``: what stays open, each with the reason (unknown again, for a person,
    abandoned, or what ``dry_run`` would do)."""

    settled: list[ReconcileItem] = field(default_factory=list)
    left: list[ReconcileItem] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "settled": [item.as_json() for item in self.settled],
            "left": [item.as_json() for item in self.left],
        }
