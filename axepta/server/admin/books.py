"""What the pages show, read from the books: plain frozen values, no SQL here (the queries are in
:mod:`axepta.ledger.store.browse`), nothing a template has to compute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from axepta.ledger import Ledger
from axepta.ledger.machine import GROUPS
from axepta.ledger.records import Operation, Payment, PaymentId, Transition
from axepta.ledger.store import browse, queries

__all__ = [
    "INBOX_STATES",
    "AccountsOverview",
    "Balance",
    "Entry",
    "Field",
    "MessagePage",
    "MessageView",
    "PaymentDetail",
    "PaymentPage",
    "accounts_overview",
    "find_payments",
    "inbox",
    "operation_by_req_id",
    "payment_detail",
]

#: Messages that need a person: not applied and not a harmless duplicate or stale copy.
INBOX_STATES = ("unmatched", "rejected", "failed", "parked", "conflict", "unverified", "invalid")
#: Messages whose stored body can be applied again.
REPLAYABLE = frozenset({"unmatched", "failed", "parked", "unverified"})


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    bound: bool


@dataclass(frozen=True)
class MessageView:
    id: int
    source: str
    state: str
    verification: str
    reason: str | None
    dedup_key: str | None
    received_at: datetime
    attempts: int
    trans_id: str | None
    account: str | None
    fields: tuple[Field, ...]
    pruned: bool

    def value(self, name: str) -> str:
        """The value of variable ``name`` as received ('' when absent)."""
        return next((f.value for f in self.fields if f.name == name), "")

    @property
    def replayable(self) -> bool:
        return self.state in REPLAYABLE and not self.pruned


@dataclass(frozen=True)
class _Paging:
    """Where one page stands among ``total`` items (pages count from 1)."""

    total: int
    page: int
    page_size: int

    @property
    def has_next(self) -> bool:
        return self.page * self.page_size < self.total


@dataclass(frozen=True)
class PaymentPage(_Paging):
    payments: tuple[Payment, ...]

    @property
    def first(self) -> int:
        return 0 if not self.payments else (self.page - 1) * self.page_size + 1

    @property
    def last(self) -> int:
        return (self.page - 1) * self.page_size + len(self.payments)


@dataclass(frozen=True)
class PaymentDetail:
    payment: Payment
    operations: tuple[Operation, ...]
    transitions: tuple[Transition, ...]
    ids: tuple[PaymentId, ...]
    messages: tuple[MessageView, ...]

    @property
    def capture_tids(self) -> tuple[str, ...]:
        """TIDs of the successful captures (what a refund refers to), newest first."""
        return tuple(
            op.tid for op in reversed(self.operations) if op.kind == "capture" and op.outcome == "succeeded" and op.tid
        )


@dataclass(frozen=True)
class Balance:
    account: str
    currency: str
    balance: int
    entries: int


@dataclass(frozen=True)
class Entry:
    id: int
    account: str
    currency: str
    amount: int
    kind: str
    txn_id: str | None
    message_id: int
    created_at: datetime


@dataclass(frozen=True)
class AccountsOverview:
    balances: tuple[Balance, ...]
    entries: tuple[Entry, ...]
    links: tuple[tuple[str, str], ...]
    unmatched: tuple[MessageView, ...]


def _payment(row: Any) -> Payment:
    return Payment(**{name: getattr(row, name) for name in Payment.__dataclass_fields__})


def _fields(raw: Any) -> tuple[Field, ...]:
    if not isinstance(raw, dict):
        return ()
    out = []
    for name, item in raw.items():
        if isinstance(item, dict):
            out.append(Field(str(name), str(item.get("value", "")), bool(item.get("bound", False))))
        else:
            out.append(Field(str(name), str(item), False))
    return tuple(out)


def _message(row: Any, trans_id: str | None) -> MessageView:
    return MessageView(
        id=row.id,
        source=row.source,
        state=row.state,
        verification=row.verification,
        reason=row.reason,
        dedup_key=row.dedup_key,
        received_at=row.received_at,
        attempts=row.attempts,
        trans_id=trans_id,
        account=row.account,
        fields=_fields(row.fields),
        pruned=getattr(row, "pruned_at", None) is not None,
    )


def operation_by_req_id(ledger: Ledger, merchant_id: str, req_id: str) -> Operation | None:
    with ledger.store.read() as conn:
        row = queries.operation_by_req_id(conn, merchant_id, req_id)
    if row is None:
        return None
    values = {name: getattr(row, name) for name in Operation.__dataclass_fields__}
    values["request"] = dict(row.request or {})
    return Operation(**values)


def find_payments(
    ledger: Ledger, *, group: str | None, text: str | None, page: int, page_size: int
) -> PaymentPage:
    """One page of payments of a group (all when ``None``), newest first, optionally those whose
    TransID, PayID, RefNr or payer e-mail is ``text``."""
    states = GROUPS[group] if group is not None else None
    with ledger.store.read() as conn:
        rows, total = browse.search_payments(
            conn, states=states, text=text, offset=(page - 1) * page_size, limit=page_size
        )
    return PaymentPage(total, page, page_size, payments=tuple(_payment(r) for r in rows))


def payment_detail(ledger: Ledger, trans_id: str, merchant_id: str | None) -> PaymentDetail | None:
    if not trans_id or len(trans_id) > 64:
        return None
    payment = ledger.payment(trans_id, merchant_id=merchant_id)
    if payment is None:
        return None
    with ledger.store.read() as conn:
        messages = tuple(_message(r, payment.trans_id) for r in queries.messages_of(conn, payment.id))
    return PaymentDetail(
        payment=payment,
        operations=tuple(ledger.operations(trans_id, merchant_id=payment.merchant_id)),
        transitions=tuple(ledger.transitions(trans_id, merchant_id=payment.merchant_id)),
        ids=tuple(ledger.payment_ids(trans_id, merchant_id=payment.merchant_id)),
        messages=messages,
    )


@dataclass(frozen=True)
class MessagePage(_Paging):
    messages: tuple[MessageView, ...]


def inbox(ledger: Ledger, *, page: int, page_size: int) -> MessagePage:
    with ledger.store.read() as conn:
        rows, total = browse.messages_in(
            conn, states=INBOX_STATES, offset=(page - 1) * page_size, limit=page_size
        )
        views = []
        for row in rows:
            trans_id = None
            if row.payment_id is not None:
                p = queries.payment_by_id(conn, row.payment_id)
                trans_id = None if p is None else p.trans_id
            views.append(_message(row, trans_id))
    return MessagePage(total, page, page_size, messages=tuple(views))


def accounts_overview(ledger: Ledger, *, entries: int = 50) -> AccountsOverview:
    with ledger.store.read() as conn:
        balances = tuple(Balance(r.account, r.currency, int(r.balance), int(r.entries)) for r in browse.balances(conn))
        recent = tuple(
            Entry(r.id, r.account, r.currency, r.amount, r.kind, r.txn_id, r.cause_message_id, r.created_at)
            for r in browse.account_entries(conn, limit=entries)
        )
        links = tuple((r.account, r.email) for r in browse.account_links(conn))
    unmatched = tuple(_message(m, None) for m in ledger.accounts.unmatched(limit=100))
    return AccountsOverview(balances, recent, links, unmatched)
