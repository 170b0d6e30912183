"""``Ledger``: the books' facade. It drives the store's units of work the way a client drives
``ProtocolCore``: decisions are made by the pure modules (:mod:`.machine`), SQL lives in
:mod:`.store`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from axepta.errors import AxeptaError, ConfigurationError
from axepta.ledger.machine import GROUPS, STATES
from axepta.ledger.receiving import ReceivingMixin
from axepta.ledger.reconcile import RESEND, ReconcileItem, ReconcileReport, judge
from axepta.ledger.records import Operation, Payment, PaymentId, Transition
from axepta.ledger.store import Store, queries, redacted_url, units

if TYPE_CHECKING:
    from axepta.client import AxeptaClient
    from axepta.models.requests import Request
    from axepta.models.results import Result

__all__ = ["Ledger", "normalise_group"]


def normalise_group(group: str) -> str:
    """``not-finished`` / ``not_finished`` / ``Not-Finished`` → ``not_finished``; an unknown
    group raises ``ValueError`` naming the known ones."""
    key = group.strip().lower().replace("-", "_")
    if key not in GROUPS:
        raise ValueError(f"unknown group {group!r}; known: not-finished, finished, failed")
    return key


def _payment(row: Any) -> Payment:
    return Payment(**{name: getattr(row, name) for name in Payment.__dataclass_fields__})


def _operation(row: Any) -> Operation:
    values = {name: getattr(row, name) for name in Operation.__dataclass_fields__}
    values["request"] = dict(row.request or {})
    return Operation(**values)


def _transition(row: Any) -> Transition:
    return Transition(**{name: getattr(row, name) for name in Transition.__dataclass_fields__})


class Ledger(ReceivingMixin):
    """The books at ``url`` (SQLAlchemy spelling: ``sqlite:///path.db``, ``postgresql://…``);
    ``None`` reads ``AXEPTA_DATABASE_URL``, else ``sqlite:///axepta.db``.

    Opening never touches the database; the first read or write checks the schema and raises
    :class:`~axepta.errors.ConfigurationError` naming ``axepta ledger migrate`` when the books
    are missing or older than the code. A context manager (closing releases the connections)."""

    def __init__(self, url: str | None = None) -> None:
        self._store = Store(url)

    def __repr__(self) -> str:
        return f"Ledger({redacted_url(self._store.url)!r})"

    @property
    def url(self) -> str:
        """The database URL (it may hold a password: show :attr:`redacted_url` instead)."""
        return self._store.url

    @property
    def redacted_url(self) -> str:
        return redacted_url(self._store.url)

    @property
    def store(self) -> Store:
        """The store (units of work) under this facade."""
        return self._store

    def close(self) -> None:
        self._store.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------------

    def migrate(self) -> tuple[str | None, str | None]:
        """Create or upgrade the schema (Alembic). Returns the revisions before and after."""
        from axepta.ledger.store import migrate  # Alembic loads only when migrating

        return migrate.upgrade(self._store)

    def revision(self) -> str | None:
        """The schema revision of the database (``None``: no books yet)."""
        return self._store.revision()

    # -- reading ------------------------------------------------------------------------------

    def payment(self, trans_id: str, *, merchant_id: str | None = None) -> Payment | None:
        """The payment with this ``TransID`` (of ``merchant_id`` when given; else the newest)."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            return None if row is None else _payment(row)

    def payments(
        self,
        *,
        group: str | None = None,
        state: str | None = None,
        merchant_id: str | None = None,
        limit: int = 100,
    ) -> list[Payment]:
        """Payments, newest first, filtered by ``group`` (``not_finished``/``not-finished``,
        ``finished``, ``failed``) and/or ``state``."""
        states: Iterable[str] | None = None
        if group is not None:
            states = GROUPS[normalise_group(group)]
        if state is not None:
            if state not in STATES:
                raise ValueError(f"unknown state {state!r}; known: {', '.join(STATES)}")
            states = [s for s in (states or STATES) if s == state]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError("limit must be a positive integer")
        with self._store.read() as conn:
            rows = queries.list_payments(conn, states=states, merchant_id=merchant_id, limit=limit)
            return [_payment(row) for row in rows]

    def operations(self, trans_id: str, *, merchant_id: str | None = None) -> list[Operation]:
        """The operations of one payment, oldest first."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            return [] if row is None else [_operation(r) for r in queries.operations_of(conn, row.id)]

    def transitions(self, trans_id: str, *, merchant_id: str | None = None) -> list[Transition]:
        """The transitions of one payment, oldest first."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            return [] if row is None else [_transition(r) for r in queries.transitions_of(conn, row.id)]

    def payment_ids(self, trans_id: str, *, merchant_id: str | None = None) -> list[PaymentId]:
        """The PayPal ids the payment holds, each with its source."""
        with self._store.read() as conn:
            row = queries.payment_by_trans_id_any(conn, trans_id, merchant_id)
            if row is None:
                return []
            return [PaymentId(r.kind, r.value, r.source) for r in queries.payment_ids_of(conn, row.id)]

    def show(self, trans_id: str, *, merchant_id: str | None = None) -> dict[str, Any] | None:
        """One payment with its operations, messages, transitions and PayPal ids, as the JSON
        of ``axepta ledger show`` (without ``ok``); ``None`` when the books do not hold it."""
        payment = self.payment(trans_id, merchant_id=merchant_id)
        if payment is None:
            return None
        merchant = payment.merchant_id
        return {
            "payment": payment.as_json(),
            "operations": [o.as_json() for o in self.operations(trans_id, merchant_id=merchant)],
            "messages": units.payment_messages(self._store, payment.id),
            "transitions": [t.as_json() for t in self.transitions(trans_id, merchant_id=merchant)],
            "ids": [i.as_json() for i in self.payment_ids(trans_id, merchant_id=merchant)],
        }

    def prune(self, *, older_than_days: float = 400) -> tuple[int, int]:
        """Delete personal data older than ``older_than_days`` (LEDGER.md "Retention": message
        bodies and decoded fields, payers' e-mail and id); money records stay. Returns the
        number of messages and payments pruned."""
        if older_than_days < 0:
            raise ValueError("older_than_days must be >= 0")
        return units.prune(self._store, units.now() - timedelta(days=older_than_days))

    # -- reconcile ----------------------------------------------------------------------------

    def reconcile(
        self,
        client: AxeptaClient,
        *,
        min_age: float = 60.0,
        stale_after: float = 1500.0,
        dry_run: bool = False,
    ) -> ReconcileReport:
        """Settle operations left ``intent``/``sent``/``unknown`` for more than ``min_age``
        seconds and inquire Not-Finished payments unchanged for more than ``stale_after``
        seconds (LEDGER.md "Exactly once"; rules in :mod:`axepta.ledger.reconcile`).
        ``client`` is a sync :class:`~axepta.AxeptaClient` of the merchant whose books these
        are; with ``dry_run`` nothing is sent and the report says what would be done."""
        from axepta.client import AxeptaClient

        if not isinstance(client, AxeptaClient):
            raise ConfigurationError("reconcile needs an axepta.AxeptaClient (sync)")
        if min_age < 0 or stale_after < 0:
            raise ValueError("min_age and stale_after must be >= 0 seconds")
        started = units.now()
        ops, stale = units.reconcile_candidates(
            self._store, started - timedelta(seconds=min_age), started - timedelta(seconds=stale_after)
        )
        report = ReconcileReport(dry_run=dry_run)
        for op in ops:
            if op.merchant_id != client.merchant_id:
                continue
            payment = units.payment_row(self._store, op.payment_id)
            item = _Settler(self._store, client, op, payment, dry_run).run()
            (report.settled if item.outcome in ("succeeded", "declined") else report.left).append(item)
        for payment in stale:
            if payment.merchant_id != client.merchant_id:
                continue
            item = _inquire_payment(self._store, client, payment, dry_run)
            (report.settled if item.outcome == "moved" else report.left).append(item)
        return report


def _request_of(op: Any) -> Request:
    """Rebuild the request model an operation recorded (same fields, same ReqId)."""
    from axepta.models import requests as models

    classes: dict[str, type[Request]] = {
        "paypal_orders": models.PayPalOrderRequest,
        "paypal_complete": models.CompleteRequest,
        "authorize": models.AuthorizeRequest,
        "capture": models.CaptureRequest,
        "credit": models.CreditRequest,
        "credit_ex": models.CreditExRequest,
        "reverse": models.ReverseRequest,
        "paypal_reftrans": models.ReferenceTransactionRequest,
    }
    stored = op.request or {}
    cls = classes[stored["operation"]]
    request: Request = cls.model_validate(stored["fields"])
    return request


class _Settler:
    """Settles one open operation (resend with its ReqId, or inquire first)."""

    def __init__(self, store: Store, client: AxeptaClient, op: Any, payment: Any, dry_run: bool) -> None:
        self.store, self.client, self.op, self.payment, self.dry_run = store, client, op, payment, dry_run

    def item(self, action: str, outcome: str, note: str | None = None) -> ReconcileItem:
        return ReconcileItem(
            trans_id=self.payment.trans_id, kind=self.op.kind, action=action, outcome=outcome, note=note,
            req_id=self.op.req_id, operation_id=self.op.id,
        )  # fmt: skip

    def run(self) -> ReconcileItem:
        if self.op.kind in RESEND:
            if self.dry_run:
                return self.item("none", self.op.outcome, f"would resend with ReqId {self.op.req_id}")
            return self.resend()
        if self.dry_run:
            return self.item("none", self.op.outcome, "would inquire before anything is sent again")
        return self.inquire_first()

    def resend(self) -> ReconcileItem:
        try:
            prepared = self.client.prepare(_request_of(self.op))
        except (AxeptaError, ValueError, KeyError) as exc:
            note = f"cannot rebuild the request: {type(exc).__name__}: {exc}"
            units.mark_attention(self.store, self.op.id, note)
            return self.item("none", self.op.outcome, note)
        result: Result | None = None
        error: AxeptaError | None = None
        try:
            result = self.client.send(prepared, journal=False)
        except AxeptaError as exc:
            error = exc
        units.journal_outcome(self.store, self.op.id, result, error)
        after = units.operation_row(self.store, self.op.id)
        return self.item("resent", after.outcome, after.error)

    def inquire_first(self) -> ReconcileItem:
        fields = (self.op.request or {}).get("fields", {})
        pay_id = self.payment.pay_id or fields.get("pay_id")
        books = (self.payment.amount_authorized, self.payment.amount_captured, self.payment.amount_refunded)
        try:
            inquiry = self.client.inquire(trans_id=self.payment.trans_id, pay_id=pay_id)
        except AxeptaError as exc:
            return self.for_a_person(f"the inquiry failed ({type(exc).__name__}: {exc})")
        if not inquiry.found:
            units.record_inquiry(self.store, self.payment.id, totals=None, code=inquiry.code, note="not found")
            if not inquiry.available:
                return self.for_a_person("inquiries are not available on this merchant (D-INQ-7)")
            if self.op.kind == "reftrans":  # its own TransID: unknown to the platform, never charged
                return self.resend()
            return self.for_a_person("the platform does not know the payment")
        totals = (inquiry.amount_authorized or 0, inquiry.amount_captured or 0, inquiry.amount_refunded or 0)
        verdict = judge(self.op.kind, self.op.amount, books=books, inquired=totals, tx_type=self.payment.tx_type)
        if verdict == "happened":
            units.record_inquiry(
                self.store, self.payment.id, totals=totals, code=inquiry.code, note=None, settles=self.op.id
            )
            return self.item("inquired", "succeeded", f"the inquiry shows it happened {totals}")
        units.record_inquiry(self.store, self.payment.id, totals=totals, code=inquiry.code, note=verdict)
        if verdict == "not_happened":
            return self.resend()
        return self.for_a_person(f"the inquiry's amounts {totals} do not tell (books {books})")

    def for_a_person(self, note: str) -> ReconcileItem:
        units.mark_attention(self.store, self.op.id, note)
        return self.item("inquired", self.op.outcome, f"for a person: {note}")


def _inquire_payment(store: Store, client: AxeptaClient, payment: Any, dry_run: bool) -> ReconcileItem:
    def item(action: str, outcome: str, note: str) -> ReconcileItem:
        return ReconcileItem(trans_id=payment.trans_id, kind="payment", action=action, outcome=outcome, note=note)

    if dry_run:
        return item("none", payment.state, "would inquire (Not-Finished)")
    try:
        inquiry = client.inquire(trans_id=payment.trans_id, pay_id=payment.pay_id)
    except AxeptaError as exc:
        return item("inquired", payment.state, f"the inquiry failed ({type(exc).__name__}: {exc})")
    if not inquiry.found:
        units.record_inquiry(store, payment.id, totals=None, code=inquiry.code, note="not found")
        why = "unavailable on this merchant" if not inquiry.available else "not found"
        return item("inquired", payment.state, f"abandoned: inquiry {why}; stays {payment.state} (never expired by an inquiry)")
    totals = (inquiry.amount_authorized or 0, inquiry.amount_captured or 0, inquiry.amount_refunded or 0)
    decision = units.record_inquiry(store, payment.id, totals=totals, code=inquiry.code, note=None)
    if decision is not None and decision.changes:
        return item("inquired", "moved", f"{payment.state} -> {decision.state} on the inquiry's amounts {totals}")
    return item("inquired", payment.state, f"abandoned: nothing authorised {totals}; stays {payment.state}")
