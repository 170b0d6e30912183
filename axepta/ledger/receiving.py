"""Receiving into the books: Axepta results, PayPal IPN and Mass Pay exactly once, events through
the outbox, customer accounts topped up from PayPal (LEDGER.md "Exactly once", "Receiving").

:class:`ReceivingMixin` gives :class:`~axepta.ledger.Ledger` its receiving methods. Decisions come
from the pure plans (:mod:`.inbox`, :mod:`.accounts`, :mod:`.outbox`, :mod:`.machine`); SQL lives in
:mod:`.store.receiving`. Every message is written in one transaction with everything it causes
(the payment's change, its transition, its events, an account entry), and that transaction commits
before the answer is given. Duplicates are stopped by unique keys, not by lookups: a delivery that
finds its key taken reads the stored outcome and changes nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from axepta.credentials import Credentials
from axepta.errors import ConfigurationError, NotificationError
from axepta.ipn import IpnMessage, IpnVerification, check_ipn, parse_ipn, verify_ipn
from axepta.ledger import inbox
from axepta.ledger.accounts import NO_ACCOUNT, Original, TopUp, normalise_email, plan_topup
from axepta.ledger.machine import Decision, Fact, decide
from axepta.ledger.outbox import EVENT_RETRY, VERIFY_RETRY, RetryPolicy, check_kind, handlers_for
from axepta.ledger.receipts import Entry, Event, EventRecord, Message, Receipt
from axepta.ledger.records import Payment
from axepta.ledger.store import express, queries
from axepta.ledger.store import receiving as sql
from axepta.ledger.store.units import apply_decision, books_of
from axepta.ledger.store.units import now as clock
from axepta.notify import Notification, decode_notification

if TYPE_CHECKING:
    import httpx

    from axepta.ledger.store import Store

__all__ = ["Accounts", "Handler", "ReceivingMixin"]

logger = logging.getLogger("axepta.ledger")
logger.addHandler(logging.NullHandler())

Handler = Callable[[Event], object]
#: A connection inside a unit of work, and one of its rows (SQLAlchemy's types stay in the store).
Connection = Any
Row = Any
_MAX_REASON = 500


def _payment(row: Any) -> Payment:
    return Payment(**{name: getattr(row, name) for name in Payment.__dataclass_fields__})


def _message(row: Any) -> Message:
    values = {name: getattr(row, name) for name in Message.__dataclass_fields__ if name != "fields"}
    return Message(**values, fields=dict(row.fields or {}))


def _owner() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _body_of(payload: bytes | str | Mapping[str, str]) -> bytes:
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("iso-8859-1", "replace")
    return urlencode(list(payload.items()), encoding="iso-8859-1", errors="replace").encode("ascii")


def _short(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _failure(exc: BaseException) -> str:
    # the type only: a driver's message can quote the statement's parameters (the body, Data)
    return f"the books could not be written ({type(exc).__name__})"


class ReceivingMixin:
    """The receiving methods of :class:`~axepta.ledger.Ledger` (it provides ``_store``)."""

    _store: Store

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _handlers(self) -> dict[str, list[Handler]]:
        registry: dict[str, list[Handler]] | None = self.__dict__.get("_axepta_handlers")
        if registry is None:
            registry = self.__dict__.setdefault("_axepta_handlers", {})
        return registry

    def _payment_by_id(self, conn: Connection, payment_id: int | None) -> Payment | None:
        if payment_id is None:
            return None
        row = queries.payment_by_id(conn, payment_id)
        return None if row is None else _payment(row)

    # -- Axepta results (PROTOCOL.md §7.3) ----------------------------------------------------

    def receive_notification(
        self, payload: bytes | str | Mapping[str, str], credentials: Credentials, *, now: datetime | None = None
    ) -> Receipt:
        """Store and apply an Axepta result (``URLNotify``, ``URLSuccess``, ``URLFailure``).

        Authenticated and its payment found: applied, ``duplicate``, ``stale`` or ``conflict``,
        answered 200. ``TransID`` unknown: ``unmatched``, 404 (the platform retries; the retry
        applies once the payment exists). Not authenticated: ``rejected``, 400, stored without a
        key. The books could not be written: ``failed``, 500. The message and its effects are
        committed before this returns. Never raises for a bad message."""
        if now is not None and now.tzinfo is None:
            raise ValueError("now: must be a timezone-aware datetime (the books store UTC instants)")
        when = now or clock()
        try:
            notification = decode_notification(payload, credentials)
        except NotificationError as exc:
            return self._reject_notification(payload, credentials.merchant_id, exc, when)
        key = inbox.notification_key(notification)
        body = _body_of(payload)
        try:
            receipt = self._express_notification(notification, key, body, when)
        except ConfigurationError:
            raise
        except Exception as exc:
            if express.unavailable(exc):  # another attempt now would only wait as long again
                logger.error("notification for TransID %s not applied: %s", notification.trans_id, _failure(exc))
                return Receipt(inbox.STORAGE_FAILURE, "failed", reason=_failure(exc))
            # the general unit below decides again (and records a failure if it fails too)
            logger.warning("express lane for TransID %s failed: %s", notification.trans_id, _failure(exc))
            receipt = None
        if receipt is not None:
            return receipt
        try:
            with self._store.write() as conn:
                return self._notification_unit(conn, notification, key, body, when)
        except ConfigurationError:
            raise
        except Exception as exc:
            logger.error("notification for TransID %s not applied: %s", notification.trans_id, _failure(exc))
            return self._record_failure(notification, key, body, when, exc)

    def _reject_notification(self, payload: Any, merchant_id: str, exc: NotificationError, when: datetime) -> Receipt:
        reason = _short(f"{exc.reason}: {exc}")
        logger.warning("notification rejected (%s)", exc.reason)
        try:
            body = _body_of(payload)
            with self._store.write() as conn:
                message_id = sql.insert_message(conn, {
                    "merchant_id": merchant_id, "source": "axepta", "dedup_key": None,
                    "body": body if len(body) <= inbox_max_body() else None, "verification": "rejected",
                    "reason": reason, "state": "rejected", "attempts": 1, "received_at": when, "updated_at": when,
                })
        except ConfigurationError:
            raise
        except Exception as failure:
            logger.error("rejected notification not stored: %s", _failure(failure))
            return Receipt(inbox.ANSWERS["rejected"], "rejected", reason=reason)
        return Receipt(inbox.ANSWERS["rejected"], "rejected", message_id=message_id, reason=reason)

    def _record_failure(
        self, notification: Notification, key: str, body: bytes, when: datetime, exc: BaseException
    ) -> Receipt:
        reason = _failure(exc)
        try:
            with self._store.write() as conn:
                message_id = sql.insert_message_once(conn, {
                    "merchant_id": notification.merchant_id, "source": "axepta", "dedup_key": key, "body": body,
                    "verification": "authenticated", "reason": reason, "state": "failed", "attempts": 1,
                    "fields": inbox.notification_fields(notification), "received_at": when, "updated_at": when,
                })
        except Exception:
            message_id = None
        return Receipt(inbox.STORAGE_FAILURE, "failed", message_id=message_id, reason=reason)

    def _express_notification(
        self, notification: Notification, key: str, body: bytes, when: datetime
    ) -> Receipt | None:
        """The common case (:mod:`.store.express`): a new result that moves a payment the books
        hold, in two statements on PostgreSQL. ``None`` for every other case, and when the
        payment or the key changed between the read and the write (nothing written): the
        general unit then decides under the row lock."""
        if not notification.trans_id:
            return None
        with self._store.express() as lane:
            if lane is None:
                return None
            found = lane.read(notification.merchant_id, notification.trans_id, key)
            if found is None or found.seen:
                return None
            payment = found.payment
            outcome, decision, note = _plan_notification(payment, notification)
            if decision is None or not decision.changes:
                return None
            learnt = notification.pay_id if payment.pay_id is None and notification.pay_id else None
            effects = express.Effects(
                key=key, body=body, fields=inbox.notification_fields(notification), decision=decision, pay_id=learnt,
                ids=_reported_ids(notification), when=when,
            )  # fmt: skip
            if not lane.write(found, effects):
                return None
        return Receipt(inbox.ANSWERS[outcome], outcome, _after(payment, decision, when, learnt), found.message_id, note)

    def _notification_unit(
        self, conn: Connection, notification: Notification, key: str, body: bytes, when: datetime
    ) -> Receipt:
        """One transaction: lock the payment (one writer per payment), decide (pure), claim the
        key with the message and its outcome, then write the effects. A delivery that finds the
        key settled changes nothing; one that finds it waiting (unmatched, failed) takes it over."""
        merchant_id = notification.merchant_id
        payment = None
        if notification.trans_id:
            payment = queries.payment_by(conn, merchant_id, trans_id=notification.trans_id, lock=True)
        target, outcome, decision, note = payment, "unmatched", None, None
        if payment is None:
            note = "no payment with this TransID yet (the notification may have overtaken the shop's commit)"
            if notification.pay_id:
                # the bound TransID and PayID name one payment: a PayID the books hold for another
                # TransID is a contradiction for a person, never a reason to apply
                target = queries.payment_by(conn, merchant_id, pay_id=notification.pay_id, lock=True)
                if target is not None:
                    outcome = "conflict"
                    note = f"PayID {notification.pay_id} belongs to TransID {target.trans_id}, not {notification.trans_id}"
        else:
            outcome, decision, note = _plan_notification(payment, notification)
        values = {
            "merchant_id": merchant_id, "source": "axepta", "dedup_key": key, "body": body,
            "verification": "authenticated", "state": outcome, "reason": note,
            "payment_id": None if target is None else target.id, "attempts": 1,
            "fields": inbox.notification_fields(notification), "received_at": when, "updated_at": when,
        }
        message_id = sql.insert_message_once(conn, values)
        if message_id is None:
            row = sql.message_by_key(conn, merchant_id, "axepta", key, lock=True)
            assert row is not None
            if inbox.redelivery(row.state) == "settled":
                return Receipt(200, "duplicate", None if target is None else _payment(target), row.id)
            message_id = int(row.id)
            sql.update_message(conn, message_id, {"state": outcome, "reason": note, "payment_id": values["payment_id"],
                                                  "attempts": row.attempts + 1, "updated_at": when})
        if target is None:
            return Receipt(inbox.ANSWERS["unmatched"], "unmatched", None, message_id, note)
        if decision is None:  # a conflict found before the state machine: kept for a person
            queries.update_payment(conn, target.id, {"attention": note, "updated_at": when})
            return Receipt(inbox.ANSWERS[outcome], outcome, replace(_payment(target), attention=note, updated_at=when),
                           message_id, note)
        apply_decision(conn, target, decision, cause="message", when=when, message_id=message_id)
        learnt = None
        if decision.verdict != "conflict":
            learnt = self._remember_ids(conn, target, notification, when)
        return Receipt(inbox.ANSWERS[outcome], outcome, _after(target, decision, when, learnt), message_id, note)

    @staticmethod
    def _remember_ids(conn: Connection, payment: Row, notification: Notification, when: datetime) -> str | None:
        """Store the PayPal ids the result reports; returns the PayID when the payment learnt it."""
        learnt = None
        # PayID is MAC-bound: a Smart Button order learns it from its first result
        if (payment.pay_id is None and notification.pay_id
                and queries.payment_by(conn, payment.merchant_id, pay_id=notification.pay_id) is None):
            queries.update_payment(conn, payment.id, {"pay_id": notification.pay_id, "updated_at": when})
            learnt = notification.pay_id
        # reported by a notification only: kept with that source (D14), never used to select the
        # payment a message applies to
        sql.add_payment_ids(conn, payment.id, _reported_ids(notification), "notification", when)
        return learnt

    # -- PayPal IPN (PROTOCOL.md §9) ------------------------------------------------------------

    def receive_ipn(
        self,
        raw: bytes,
        *,
        receivers: Sequence[str],
        content_type: str | None = None,
        verify: bool = True,
        verify_url: str | None = None,
        sandbox: bool | None = None,
        environment: Literal["test", "production"] | None = None,
        http_client: httpx.Client | None = None,
        now: datetime | None = None,
    ) -> Receipt:
        """Store a PayPal IPN, verify it by postback, check it and apply it.

        ``receivers`` are the shop's own PayPal addresses (or ``receiver_id``\\ s): required, an IPN
        for anybody else is ``rejected``. ``environment`` (``test``/``production``), when given,
        rejects a message whose ``test_ipn`` says otherwise before verifying (§9.3).
        ``verify=False`` only stores the message (``stored``, 200: the queue mode of §9.2;
        :meth:`verify_ipn_messages` verifies and applies it later). With ``verify=True`` the
        postback runs inline: ``unverified`` (PayPal could not be asked) answers 500 so that PayPal
        resends, and the stored message is retried with backoff; ``invalid`` is recorded, never
        applied. Applying follows LEDGER.md: a matched payment (§9.9), Mass Pay records one by
        one, else a top-up. Never raises for a bad message."""
        receivers = _receivers(receivers)
        when = now or clock()
        body = bytes(raw)
        try:
            message = parse_ipn(body, content_type)
        except NotificationError as exc:
            return self._store_ipn(None, body, content_type, when, rejected=f"{exc.reason}: {exc}")
        rejected = None
        if environment is not None and message.environment != environment:
            rejected = f"environment: a {message.environment} message (test_ipn) at a {environment} listener"
        receipt = self._store_ipn(message, body, content_type, when, rejected=rejected)
        if not verify or receipt.outcome != "stored" or receipt.message_id is None:
            return receipt
        verification = verify_ipn(body, sandbox=sandbox, verify_url=verify_url, http_client=http_client)
        return self._settle_ipn(receipt.message_id, verification, receivers, when)

    def _store_ipn(
        self, message: IpnMessage | None, body: bytes, content_type: str | None, when: datetime, *, rejected: str | None
    ) -> Receipt:
        merchant = ""
        if message is not None:
            merchant = (message.receiver_email or message.business or message.payer_email or "").strip().lower()[:255]
        values: dict[str, Any] = {
            "merchant_id": merchant, "source": "ipn", "dedup_key": None,
            "body": body if len(body) <= inbox_max_body() else None,
            "content_type": (content_type or "")[:128] or None,
            "verification": "rejected" if rejected else "pending", "reason": _short(rejected) if rejected else None,
            "fields": None if message is None else inbox.ipn_fields(message, verified=False),
            "state": "rejected" if rejected else "received", "attempts": 0,
            "received_at": when, "updated_at": when, "next_attempt_at": None if rejected else when,
        }
        try:
            with self._store.write() as conn:
                message_id = sql.insert_message(conn, values)
        except ConfigurationError:
            raise
        except Exception as exc:
            logger.error("IPN not stored: %s", _failure(exc))
            return Receipt(inbox.STORAGE_FAILURE, "failed", reason=_failure(exc))
        if rejected:
            logger.warning("IPN %s rejected: %s", message_id, rejected)
            return Receipt(inbox.IPN_ANSWERS["rejected"], "rejected", message_id=message_id, reason=rejected)
        return Receipt(inbox.IPN_ANSWERS["stored"], "stored", message_id=message_id, verification="pending")

    def verify_ipn_messages(
        self,
        *,
        receivers: Sequence[str],
        verify_url: str | None = None,
        sandbox: bool | None = None,
        http_client: httpx.Client | None = None,
        limit: int = 20,
        policy: RetryPolicy = VERIFY_RETRY,
        now: Callable[[], datetime] = clock,
    ) -> list[Receipt]:
        """Verify and apply stored IPN whose (re)verification is due — ``received`` ones and
        ``unverified`` ones whose backoff has passed — claiming each with a lease (a worker that
        dies holding one lets another take it once the lease expires). Returns their receipts."""
        receivers = _receivers(receivers)
        owner = _owner()
        start = now()
        with self._store.write() as conn:
            claimed = sql.claim_messages(
                conn, sources=("ipn",), states=("received", "unverified"), now=start, owner=owner,
                until=policy.lease_until(start), limit=limit,
            )
        receipts = []
        for row in claimed:
            if row.body is None:
                verification = IpnVerification("unverified", "", detail="the body was not kept")
            else:
                verification = verify_ipn(bytes(row.body), sandbox=sandbox, verify_url=verify_url, http_client=http_client)
            receipts.append(self._settle_ipn(int(row.id), verification, receivers, now(), owner=owner, policy=policy))
        return receipts

    def _settle_ipn(
        self,
        message_id: int,
        verification: IpnVerification,
        receivers: Sequence[str],
        when: datetime,
        *,
        owner: str | None = None,
        policy: RetryPolicy = VERIFY_RETRY,
    ) -> Receipt:
        try:
            with self._store.write() as conn:
                row = sql.message_by_id(conn, message_id, lock=True)
                assert row is not None
                if row.state not in ("received", "unverified") or (owner is not None and row.lease_owner != owner):
                    # settled meanwhile, or our lease expired and another worker took it
                    return Receipt(200, "duplicate", self._payment_by_id(conn, row.payment_id), row.id,
                                   account=row.account, verification=row.verification)
                return self._verified_unit(conn, row, verification, receivers, when, policy)
        except ConfigurationError:
            raise
        except Exception as exc:
            logger.error("IPN %s not applied: %s", message_id, _failure(exc))
            return Receipt(inbox.STORAGE_FAILURE, "failed", message_id=message_id, reason=_failure(exc))

    def _verified_unit(
        self, conn: Connection, row: Row, verification: IpnVerification, receivers: Sequence[str],
        when: datetime, policy: RetryPolicy,
    ) -> Receipt:
        message_id = int(row.id)
        base: dict[str, Any] = {"lease_owner": None, "lease_until": None, "updated_at": when}
        if verification.outcome == "invalid":
            sql.update_message(conn, message_id, {**base, "state": "invalid", "verification": "invalid",
                                                  "reason": "PayPal answered INVALID", "next_attempt_at": None})
            logger.warning("IPN %s: PayPal answered INVALID", message_id)
            return Receipt(200, "invalid", message_id=message_id, verification="invalid", reason="PayPal answered INVALID")
        if verification.outcome != "verified":
            attempts = row.attempts + 1
            retry = policy.after_failure(attempts, when)
            state = "unverified" if retry.action == "retry" else "parked"
            reason = _short(f"postback: {verification.detail or 'no answer'}")
            sql.update_message(conn, message_id, {**base, "state": state, "verification": "unverified",
                                                  "attempts": attempts, "reason": reason, "next_attempt_at": retry.at})
            logger.warning("IPN %s unverified (%s); %s", message_id, verification.detail,
                           "retried later" if retry.at else "parked for a person")
            return Receipt(500, "unverified", message_id=message_id, verification="unverified", reason=reason)
        message = parse_ipn(bytes(row.body), row.content_type)
        base.update(verification="verified", fields=inbox.ipn_fields(message, verified=True), next_attempt_at=None,
                    attempts=row.attempts + 1)
        check = check_ipn(message, receiver_emails=[r for r in receivers if "@" in r],
                          receiver_ids=[r for r in receivers if "@" not in r])
        if not check.ok:
            reason = _short("; ".join(p.message for p in check.problems))
            sql.update_message(conn, message_id, {**base, "state": "rejected", "reason": reason})
            logger.warning("IPN %s rejected after VERIFIED: %s", message_id, reason)
            return Receipt(400, "rejected", message_id=message_id, verification="verified", reason=reason)
        if not sql.set_message_key(conn, message_id, inbox.ipn_key(message)):
            sql.update_message(conn, message_id, {**base, "state": "duplicate", "reason": "a resend of a stored IPN"})
            return Receipt(200, "duplicate", message_id=message_id, verification="verified")
        sql.update_message(conn, message_id, base)
        return self._apply_ipn(conn, message_id, message, when)

    def _apply_ipn(self, conn: Connection, message_id: int, message: IpnMessage, when: datetime) -> Receipt:
        if message.mass_payments:
            return self._apply_masspay(conn, message_id, message, when)
        payment_id = _match_payment(conn, message)
        if isinstance(payment_id, str):
            return self._settle(conn, message_id, "conflict", payment_id, when)
        if payment_id is not None:
            return self._apply_ipn_to_payment(conn, message_id, message, payment_id, when)
        return self._apply_topup(conn, message_id, message, None, when)

    def _settle(
        self, conn: Connection, message_id: int, state: str, reason: str | None, when: datetime, *,
        payment_id: int | None = None, account: str | None = None,
    ) -> Receipt:
        sql.update_message(conn, message_id, {"state": state, "reason": _short(reason) if reason else None,
                                              "payment_id": payment_id, "account": account, "updated_at": when})
        return Receipt(inbox.IPN_ANSWERS[state], state, self._payment_by_id(conn, payment_id), message_id,
                       reason, account, "verified")

    def _apply_ipn_to_payment(
        self, conn: Connection, message_id: int, message: IpnMessage, payment_id: int, when: datetime
    ) -> Receipt:
        payment = queries.lock_payment(conn, payment_id)
        if message.mc_currency and message.mc_currency.upper() != payment.currency:
            note = f"IPN in {message.mc_currency}, the payment is in {payment.currency}"
            return self._settle(conn, message_id, "conflict", note, when, payment_id=payment_id)
        fact = inbox.ipn_payment_fact(message, known_refund_ids=sql.refund_ids_of(conn, payment_id))
        if message.txn_id:
            queries.add_payment_id(conn, payment_id, "txn_id", message.txn_id[:64], "ipn", when)
        if fact.kind == "confirm":
            expected = sql.operation_amount(conn, payment_id, message.txn_id) if message.txn_id else None
            mismatch = inbox.ipn_amount_mismatch(
                message, currency=payment.currency, expected=payment.amount if expected is None else expected
            )
            if mismatch is not None:  # a person looks; nothing moves on an amount the books did not expect
                logger.warning("IPN %s for TransID %s: %s", message.txn_id, payment.trans_id, mismatch)
                return self._settle(conn, message_id, "conflict", mismatch, when, payment_id=payment_id)
            return self._settle(conn, message_id, "duplicate", fact.reason, when, payment_id=payment_id)
        if fact.kind == "conflict":
            return self._settle(conn, message_id, "conflict", fact.reason, when, payment_id=payment_id)
        decision = decide(books_of(payment), Fact(fact.kind, "ipn", amount=fact.amount))
        apply_decision(conn, payment, decision, cause="message", when=when, message_id=message_id)
        return self._settle(conn, message_id, decision.verdict, decision.note or fact.reason or None, when,
                            payment_id=payment_id)

    def _apply_masspay(self, conn: Connection, message_id: int, message: IpnMessage, when: datetime) -> Receipt:
        parent_key = inbox.ipn_key(message)
        merchant = (message.payer_email or message.receiver_email or "").strip().lower()[:255]
        for record in message.mass_payments:
            fields = {name: {"value": value, "bound": True} for name, value in record.as_dict().items()}
            child = sql.insert_message_once(conn, {
                "merchant_id": merchant, "source": "masspay", "dedup_key": inbox.masspay_key(record, parent_key),
                "body": None, "verification": "verified", "fields": fields, "state": "received", "attempts": 1,
                "reason": f"record {record.index} of message {message_id}", "received_at": when, "updated_at": when,
            })
            if child is None:
                continue  # this record with this status is in the books already
            payouts = sql.payout_by_unique_id(conn, record.unique_id) if record.unique_id else []
            if len(payouts) != 1:
                why = "no payout with this unique_id" if not payouts else "several payouts match"
                sql.update_message(conn, child, {"state": "unmatched", "reason": why})
                continue
            payment = queries.lock_payment(conn, payouts[0])
            fact = inbox.masspay_fact(record)
            state, note = "duplicate", fact.reason
            if fact.kind != "confirm":
                decision = decide(books_of(payment), Fact(fact.kind, "ipn"))
                apply_decision(conn, payment, decision, cause="message", when=when, message_id=child)
                state, note = decision.verdict, decision.note or fact.reason
            sql.update_message(conn, child, {"state": state, "reason": note or None, "payment_id": payment.id})
        return self._settle(conn, message_id, "applied", f"{len(message.mass_payments)} Mass Pay records", when)

    def _apply_topup(
        self, conn: Connection, message_id: int, message: IpnMessage, assigned: str | None, when: datetime
    ) -> Receipt:
        linked = assigned
        if linked is None and message.payer_email:
            linked = sql.account_for_email(conn, normalise_email(message.payer_email))
        plan = plan_topup(message, linked_account=linked, original=_original(conn, message))
        if plan.action in ("credit", "debit"):
            return self._enter(conn, message_id, message, plan, when)
        if plan.action == "conflict":
            return self._settle(conn, message_id, "conflict", plan.reason, when)
        reason = plan.reason if plan.action == "unmatched" else f"matches no payment; {plan.reason}"
        return self._settle(conn, message_id, "unmatched", reason, when)

    def _enter(self, conn: Connection, message_id: int, message: IpnMessage, plan: TopUp, when: datetime) -> Receipt:
        assert plan.account is not None and plan.currency is not None and plan.event is not None
        sql.ensure_account(conn, plan.account, when)
        sql.insert_entry(conn, {
            "account": plan.account, "currency": plan.currency, "amount": plan.amount, "fee": plan.fee,
            "kind": plan.entry_kind, "txn_id": (message.txn_id or "")[:64] or None, "cause_message_id": message_id,
            "created_at": when,
        })
        balance = sql.balance(conn, plan.account, plan.currency)
        queries.insert_event(conn, kind=plan.event, cause=f"message:{message_id}", payment_id=None, account=plan.account,
                             now=when, payload={
                                 "account": plan.account, "amount": plan.amount, "currency": plan.currency,
                                 "fee": plan.fee, "entry": plan.entry_kind, "txn_id": message.txn_id,
                                 "parent_txn_id": message.parent_txn_id, "balance": balance,
                                 "payer_email": message.payer_email,
                             })
        return self._settle(conn, message_id, "applied", plan.reason, when, account=plan.account)

    # -- replay ------------------------------------------------------------------------------

    def replay(
        self,
        message_id: int,
        *,
        credentials: Credentials | None = None,
        receivers: Sequence[str] = (),
        verify_url: str | None = None,
        http_client: httpx.Client | None = None,
    ) -> Receipt:
        """Process a stored message again: an ``unmatched`` result once its payment exists, a
        ``failed`` one, an IPN that is ``received``/``unverified`` (verified again) or verified
        and ``unmatched``. A settled message is answered ``duplicate`` and changes nothing (a
        replay never counts money twice). Axepta results need their merchant's ``credentials``
        (the stored body is decrypted and verified again); IPN need ``receivers``."""
        with self._store.read() as conn:
            row = sql.message_by_id(conn, message_id)
        if row is None:
            raise LookupError(f"no message {message_id} in the books")
        if row.state == "rejected" or row.state not in inbox.REPROCESS:
            outcome = "rejected" if row.state == "rejected" else "duplicate"
            return Receipt(inbox.IPN_ANSWERS[outcome], outcome, None, message_id, row.reason, row.account,
                           row.verification)
        if row.source == "masspay":
            raise ValueError(f"message {message_id} is a Mass Pay record: replay its IPN (the record's reason names it)")
        if row.body is None:
            raise ValueError(f"message {message_id}: its body was pruned; it cannot be processed again")
        if row.source == "axepta":
            if credentials is None or credentials.merchant_id != row.merchant_id:
                raise ConfigurationError(f"message {message_id} is for merchant {row.merchant_id}: give its credentials")
            return self.receive_notification(bytes(row.body), credentials)
        receivers = _receivers(receivers)
        if row.verification != "verified":
            verification = verify_ipn(bytes(row.body), verify_url=verify_url, http_client=http_client)
            return self._settle_ipn(message_id, verification, receivers, clock())
        with self._store.write() as conn:
            locked = sql.message_by_id(conn, message_id, lock=True)
            assert locked is not None
            if locked.state not in inbox.REPROCESS:
                return Receipt(200, "duplicate", None, message_id, locked.reason, locked.account, "verified")
            return self._apply_ipn(conn, message_id, parse_ipn(bytes(locked.body), locked.content_type), clock())

    # -- reading -----------------------------------------------------------------------------

    def messages(self, *, state: str | None = None, source: str | None = None, limit: int = 100) -> list[Message]:
        """Stored inbound messages, newest first, by ``state`` and ``source`` (``axepta``,
        ``ipn``, ``masspay``)."""
        if state is not None and state not in inbox.MESSAGE_STATES:
            raise ValueError(f"unknown message state {state!r}; known: {', '.join(inbox.MESSAGE_STATES)}")
        if source is not None and source not in ("axepta", "ipn", "masspay"):
            raise ValueError("source must be axepta, ipn or masspay")
        _check_limit(limit)
        with self._store.read() as conn:
            rows = sql.list_messages(conn, states=None if state is None else [state], source=source, limit=limit)
            return [_message(r) for r in rows]

    def message(self, message_id: int) -> Message | None:
        with self._store.read() as conn:
            row = sql.message_by_id(conn, message_id)
            return None if row is None else _message(row)

    def events(self, *, pending: bool = False, state: str | None = None, limit: int = 100) -> list[EventRecord]:
        """The outbox, newest first (``pending`` only, or one ``state``: ``pending``,
        ``delivered``, ``parked``)."""
        _check_limit(limit)
        states = ["pending"] if pending else None if state is None else [state]
        with self._store.read() as conn:
            return [
                EventRecord(
                    id=r.id, kind=r.kind, cause=r.cause, trans_id=r.trans_id, account=r.account, state=r.state,
                    attempts=r.attempts, last_error=r.last_error, created_at=r.created_at,
                    delivered_at=r.delivered_at, next_attempt_at=r.next_attempt_at, payload=dict(r.payload or {}),
                )
                for r in sql.list_events(conn, states=states, limit=limit)
            ]

    # -- events (the outbox) -----------------------------------------------------------------

    def on(self, kind: str) -> Callable[[Handler], Handler]:
        """Register a handler for events of ``kind`` (``payment.captured``, ``account.credited``,
        a pattern such as ``payment.*``, or ``*`` for all)::

            @ledger.on("payment.captured")
            def enrol(event): ...

        Handlers run in :meth:`deliver_events`, after the change that caused the event is
        committed, at least once: use ``event.id`` to make them idempotent. A handler that raises
        is retried with backoff and parked after a bound."""
        pattern = check_kind(kind)

        def register(handler: Handler) -> Handler:
            if not callable(handler):
                raise TypeError("an event handler must be callable")
            self._handlers.setdefault(pattern, []).append(handler)
            return handler

        return register

    def deliver_events(
        self, *, limit: int = 100, policy: RetryPolicy = EVENT_RETRY, now: Callable[[], datetime] = clock
    ) -> int:
        """Deliver due pending events to the registered handlers; returns how many were
        delivered. Events of kinds nobody registered for stay pending (another process may
        handle them). Each batch is claimed with a lease (``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL): workers never deliver the same event at the same time, and an event held by
        a worker that died is delivered by another once the lease expires."""
        registry = {k: list(v) for k, v in self._handlers.items()}
        if not registry:
            return 0
        kinds = None if any(k == "*" or any(c in k for c in "*?[") for k in registry) else list(registry)
        owner = _owner()
        start = now()
        with self._store.write() as conn:
            claimed = sql.claim_events(conn, kinds=kinds, now=start, owner=owner, until=policy.lease_until(start), limit=limit)
        delivered = 0
        for row in claimed:
            handlers = handlers_for(row.kind, registry)
            if not handlers:
                with self._store.write() as conn:
                    sql.finish_event(conn, row.id, owner, {})
                continue
            delivered += self._deliver_one(row, handlers, owner, policy, now)
        return delivered

    def _deliver_one(
        self, row: Row, handlers: Sequence[Handler], owner: str, policy: RetryPolicy, now: Callable[[], datetime]
    ) -> int:
        with self._store.read() as conn:
            payment = self._payment_by_id(conn, row.payment_id)
        event = Event(row.id, row.kind, payment, row.account, dict(row.payload or {}), row.attempts, row.created_at)
        try:
            for handler in handlers:
                handler(event)
        except Exception as exc:
            attempts = row.attempts + 1
            retry = policy.after_failure(attempts, now())
            error = _short(f"{type(exc).__name__}: {exc}")
            values: dict[str, Any] = {"attempts": attempts, "last_error": error, "next_attempt_at": retry.at}
            if retry.action == "park":
                values["state"] = "parked"
            logger.warning("event %s (%s) handler failed (attempt %s): %s", row.id, row.kind, attempts, type(exc).__name__)
            with self._store.write() as conn:
                sql.finish_event(conn, row.id, owner, values)
            return 0
        with self._store.write() as conn:
            sql.finish_event(conn, row.id, owner, {"state": "delivered", "delivered_at": now(),
                                                   "attempts": row.attempts + 1, "last_error": None})
        return 1

    # -- accounts ----------------------------------------------------------------------------

    @property
    def accounts(self) -> Accounts:
        """Customer accounts topped up from PayPal (seed 000)."""
        return Accounts(self)


class Accounts:
    """``ledger.accounts``: link PayPal e-mail addresses to accounts, read balances (minor units,
    per currency) and entries, list top-ups that wait for an account and assign them."""

    def __init__(self, ledger: ReceivingMixin) -> None:
        self._ledger = ledger
        self._store = ledger._store

    def link_email(self, account: str, email: str) -> None:
        """Link ``email`` (compared case-insensitively) to ``account`` (created when new). An
        address already linked to another account raises ``ValueError``: money never follows a
        silent re-link."""
        account = _account_name(account)
        address = normalise_email(email)
        if "@" not in address or len(address) > 255:
            raise ValueError(f"email {email[:80]!r} is not an e-mail address")
        with self._store.write() as conn:
            other = sql.link_email(conn, address, account, clock())
        if other is not None:
            raise ValueError(f"{address} is already linked to account {other!r}")

    def balance(self, account: str, currency: str) -> int:
        """The balance of ``account`` in ``currency``, in minor units (0 when nothing was entered)."""
        with self._store.read() as conn:
            return sql.balance(conn, _account_name(account), _currency(currency))

    def entries(self, account: str) -> list[Entry]:
        """Every entry of ``account``, oldest first."""
        with self._store.read() as conn:
            return [
                Entry(r.id, r.account, r.currency, r.amount, r.fee, r.kind, r.txn_id, r.cause_message_id, r.created_at)
                for r in sql.entries_of(conn, _account_name(account))
            ]

    def unmatched(self, *, limit: int = 100) -> list[Message]:
        """Verified top-ups from addresses linked to no account, newest first."""
        _check_limit(limit)
        with self._store.read() as conn:
            rows = sql.list_messages(conn, states=["unmatched"], source="ipn", reason_prefix=NO_ACCOUNT, limit=limit)
            return [_message(r) for r in rows]

    def assign(self, message_id: int, account: str) -> Receipt:
        """Credit a waiting top-up (:meth:`unmatched`) to ``account`` now. The payer's address is
        not linked by this (use :meth:`link_email` for the next ones)."""
        account = _account_name(account)
        with self._store.write() as conn:
            row = sql.message_by_id(conn, message_id, lock=True)
            if row is None:
                raise LookupError(f"no message {message_id} in the books")
            if row.source != "ipn" or row.state != "unmatched" or not (row.reason or "").startswith(NO_ACCOUNT):
                raise ValueError(f"message {message_id} is not a top-up waiting for an account (state {row.state})")
            message = parse_ipn(bytes(row.body), row.content_type)
            return self._ledger._apply_topup(conn, message_id, message, account, clock())


# -- helpers ------------------------------------------------------------------------------------


def _reported_ids(notification: Notification) -> list[tuple[str, str]]:
    """The PayPal ids a result reports (kept with the source ``notification``, D14)."""
    return [(kind, value[:64]) for kind, value in (
        ("tid", notification.tid), ("transaction_id", notification.transaction_id),
        ("billing_agreement_id", notification.billing_agreement_id)) if value]


def _plan_notification(payment: Row, notification: Notification) -> tuple[str, Decision | None, str | None]:
    """The outcome of an authenticated result for its payment, decided without writing."""
    if payment.pay_id and notification.pay_id and payment.pay_id != notification.pay_id:
        return "conflict", None, (
            f"another PayID ({notification.pay_id}) for TransID {payment.trans_id} (the books hold {payment.pay_id})"
        )
    kind = inbox.notification_fact(
        notification, capture=payment.capture, tx_type=payment.tx_type, paypal_method=payment.paypal_method
    )
    if kind is None:
        return "conflict", None, f"result code {notification.code} status {notification.status} needs a person (D12)"
    decision = decide(books_of(payment), Fact(kind, "notification"))
    return decision.verdict, decision, decision.note


def _after(payment: Row, decision: Decision, when: datetime, pay_id: str | None) -> Payment:
    """The payment as :func:`apply_decision` left it (no second read)."""
    before = _payment(payment)
    if decision.verdict == "conflict":
        return replace(before, attention=decision.note, updated_at=when)
    if not decision.changes:
        return before if pay_id is None else replace(before, pay_id=pay_id, updated_at=when)
    return replace(
        before,
        state=decision.state,
        amount_authorized=before.amount_authorized + decision.delta_authorized,
        amount_captured=before.amount_captured + decision.delta_captured,
        amount_refunded=before.amount_refunded + decision.delta_refunded,
        charged_back=before.charged_back if decision.charged_back is None else decision.charged_back,
        attention=decision.note or before.attention,
        pay_id=pay_id or before.pay_id,
        updated_at=when,
    )


def inbox_max_body() -> int:
    """Bodies larger than this are not kept (the size caps refuse them before this point)."""
    return 256 * 1024


def _receivers(receivers: Iterable[str]) -> list[str]:
    if isinstance(receivers, str):
        receivers = [receivers]
    found = [r.strip() for r in receivers if r and r.strip()]
    if not found:
        raise ConfigurationError("IPN needs the shop's own PayPal addresses (receivers / --paypal-receiver)")
    return found


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("limit must be a positive integer")


def _account_name(account: str) -> str:
    name = account.strip() if isinstance(account, str) else ""
    if not 1 <= len(name) <= 128:
        raise ValueError("account must be 1 to 128 characters")
    return name


def _currency(currency: str) -> str:
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"currency {currency!r} must be a 3-letter ISO 4217 code")
    return code


def _match_payment(conn: Connection, message: IpnMessage) -> int | str | None:
    """PROTOCOL.md §9.9 steps 1-4: the payment holding ``txn_id``, else ``parent_txn_id``, else
    ``auth_id``, else the agreement ``mp_id``. Several payments for one id: a reason (str)."""
    steps: list[tuple[str | None, Sequence[str] | None]] = [
        (message.txn_id, None), (message.parent_txn_id, None), (message.auth_id, None),
        (message.mp_id, ("billing_agreement_id",)),
    ]
    for value, kinds in steps:
        if not value:
            continue
        found = sql.payments_by_paypal_id(conn, value, kinds=kinds)
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            return f"PayPal id {value} belongs to {len(found)} payments"
    return None


def _original(conn: Connection, message: IpnMessage) -> Original | None:
    if not message.parent_txn_id:
        return None
    entry = sql.topup_entry(conn, message.parent_txn_id)
    if entry is None:
        return None
    follow = sql.follow_ups_of(conn, entry.account, message.parent_txn_id)
    debited = sum(int(r.amount) for r in follow)
    reversed_ = sum(int(r.amount) for r in follow if r.kind in ("reversal", "canceled_reversal"))
    return Original(entry.account, entry.currency, int(entry.amount), debited, reversed_)

