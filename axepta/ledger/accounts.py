"""Customer accounts topped up from PayPal (seed 000, ConnexCS): the rule, decided without I/O
(LEDGER.md "Receiving", step 4).

A verified IPN that matched no payment is a **top-up** when ``txn_type`` is ``web_accept``,
``send_money`` or ``express_checkout`` and ``payment_status`` is ``Completed``: the account linked
to ``payer_email`` is credited ``mc_gross`` (gross: PayPal's fee is the merchant's cost, recorded
beside the entry, never deducted), in the message's currency (balances are per currency).
``Refunded`` and ``Reversed`` find the original top-up by ``parent_txn_id`` and debit the same
account by their (negative) ``mc_gross``; ``Canceled_Reversal`` credits a reversal back. A top-up
from an address linked to no account waits as ``unmatched`` until a person assigns it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from axepta.ipn import IpnMessage
from axepta.ledger.inbox import minor_units

__all__ = [
    "NO_ACCOUNT",
    "TOPUP_TXN_TYPES",
    "Original",
    "TopUp",
    "normalise_email",
    "plan_topup",
]

#: ``txn_type`` values that can top an account up.
TOPUP_TXN_TYPES: Final = frozenset({"web_accept", "send_money", "express_checkout"})
#: The reason recorded on a top-up that waits for a person (``accounts unmatched``).
NO_ACCOUNT: Final = "top-up from an e-mail address linked to no account"

EntryKind = Literal["topup", "refund", "reversal", "canceled_reversal"]


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively, surrounding blanks ignored."""
    return email.strip().casefold()


def _norm(text: str | None) -> str:
    return re.sub(r"[-\s]+", "_", (text or "").strip().lower())


@dataclass(frozen=True, slots=True)
class Original:
    """The top-up a refund or reversal refers to: its ``account``, ``currency``, ``amount``
    (minor units) and what later entries already did to it (``debited`` ≤ 0: refunds and
    reversals; ``reversed`` ≤ 0: reversals not yet cancelled)."""

    account: str
    currency: str
    amount: int
    debited: int = 0
    reversed: int = 0


@dataclass(frozen=True, slots=True)
class TopUp:
    """The plan for one IPN: ``action`` ``credit``/``debit`` (write an entry of ``amount``,
    signed minor units, and ``fee``), ``unmatched`` (wait: ``reason`` says for what),
    ``conflict`` (contradicts the books: a person looks), or ``none`` (not a top-up)."""

    action: Literal["credit", "debit", "unmatched", "conflict", "none"]
    account: str | None = None
    amount: int = 0
    currency: str | None = None
    fee: int | None = None
    entry_kind: EntryKind | None = None
    reason: str = ""

    @property
    def event(self) -> str | None:
        """``account.credited`` or ``account.debited`` for an entry, else ``None``."""
        return {"credit": "account.credited", "debit": "account.debited"}.get(self.action)


def _fee(message: IpnMessage, currency: str) -> int | None:
    if message.mc_fee is None:
        return None
    try:
        return minor_units(message.mc_fee, currency, "mc_fee")
    except ValueError:
        return None  # a fee is information beside the entry; it never blocks it


def plan_topup(message: IpnMessage, *, linked_account: str | None, original: Original | None = None) -> TopUp:
    """The top-up rule for a verified IPN that matched no payment.

    ``linked_account`` is the account linked to the message's ``payer_email`` (or the account a
    person assigned it to); ``original`` is the top-up whose ``txn_id`` equals the message's
    ``parent_txn_id``, when there is one."""
    status = _norm(message.payment_status)
    if status in ("refunded", "reversed", "canceled_reversal"):
        return _follow_up(message, status, original)
    if _norm(message.txn_type) not in TOPUP_TXN_TYPES:
        return TopUp("none", reason=f"txn_type {message.txn_type or '(none)'} is not a top-up")
    if status != "completed":
        return TopUp("none", reason=f"payment_status {message.payment_status or '(none)'}: nothing to credit yet")
    currency = (message.mc_currency or "").upper()
    try:
        amount = minor_units(message.mc_gross, currency)
    except ValueError as exc:
        return TopUp("conflict", reason=str(exc))
    if message.mc_gross is not None and message.mc_gross <= 0:
        return TopUp("conflict", reason=f"a completed top-up of {message.mc_gross} {currency}")
    if linked_account is None:
        return TopUp("unmatched", currency=currency, amount=amount, reason=NO_ACCOUNT)
    return TopUp("credit", linked_account, amount, currency, _fee(message, currency), "topup", "top-up")


def _follow_up(message: IpnMessage, status: str, original: Original | None) -> TopUp:
    if original is None:
        return TopUp("unmatched", reason=f"{message.payment_status} of {message.parent_txn_id or '(no parent_txn_id)'}: "
                     "no top-up with that txn_id")
    currency = (message.mc_currency or "").upper()
    if currency != original.currency:
        return TopUp("conflict", reason=f"{message.payment_status} in {currency or '(none)'}, the top-up was in {original.currency}")
    try:
        amount = minor_units(message.mc_gross, currency)
    except ValueError as exc:
        return TopUp("conflict", reason=str(exc))
    fee = _fee(message, currency)
    if status == "canceled_reversal":
        if amount > -original.reversed:
            return TopUp("conflict", reason=f"Canceled_Reversal of {amount} exceeds the reversed {-original.reversed}")
        return TopUp("credit", original.account, amount, currency, fee, "canceled_reversal", "reversal cancelled")
    remaining = original.amount + original.debited
    if amount > remaining:
        return TopUp("conflict", reason=f"{message.payment_status} of {amount} exceeds the {remaining} left of the top-up")
    kind: EntryKind = "refund" if status == "refunded" else "reversal"
    return TopUp("debit", original.account, -amount, currency, fee, kind, message.payment_status or status)
