"""The books' tables (SQLAlchemy Core), as LEDGER.md "Records" lists them.

Every table is prefixed ``axepta_`` so the books can share a database with the shop's own tables;
Alembic keeps its revision in ``axepta_schema_version``. Amounts are ``BIGINT`` minor units, times are
UTC (``DateTime(timezone=True)``), JSON columns hold request fields, decoded message fields and event
payloads. :data:`SCHEMA_REVISION` is the Alembic head this code reads and writes (a test proves that
applying every migration yields exactly these tables).

| table | one row per | unique |
|---|---|---|
| ``axepta_payments`` | payment (order, payout, reference charge) | (merchant_id, trans_id); (merchant_id, pay_id) |
| ``axepta_payment_ids`` | PayPal id a payment holds (TID, order id, billing agreement …) with its source | (payment_id, kind, value) |
| ``axepta_operations`` | server-to-server call, with every field needed to resend it | (merchant_id, req_id) |
| ``axepta_transitions`` | state or money change of a payment (append only) | — |
| ``axepta_messages`` | inbound notification, IPN or Mass Pay record | (merchant_id, source, dedup_key); NULL key when not authenticated |
| ``axepta_events`` | fact a shop reacts to (outbox) | (kind, cause) |
| ``axepta_accounts`` | customer account topped up from PayPal | account |
| ``axepta_account_links`` | PayPal e-mail linked to an account | email |
| ``axepta_account_entries`` | top-up or its reversal | cause_message_id |
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "ACCOUNTS",
    "ACCOUNT_ENTRIES",
    "ACCOUNT_LINKS",
    "EVENTS",
    "MESSAGES",
    "OPERATIONS",
    "PAYMENTS",
    "PAYMENT_IDS",
    "SCHEMA_REVISION",
    "KNOWN_REVISIONS",
    "TRANSITIONS",
    "VERSION",
    "VERSION_TABLE",
    "metadata",
]

#: The Alembic revision this code expects (the head of ``axepta/ledger/migrations``).
SCHEMA_REVISION: Final = "0001_books"
#: Every revision this code knows, oldest first (an unknown one was written by newer code).
KNOWN_REVISIONS: Final = ("0001_books",)
#: Alembic's version table for the books (not ``alembic_version``: the shop may use Alembic too).
VERSION_TABLE: Final = "axepta_schema_version"
#: Alembic's table, declared apart from :data:`metadata` (Alembic creates and owns it).
VERSION = Table(VERSION_TABLE, MetaData(), Column("version_num", String(32), primary_key=True))

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT primary keys on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")
Money = BigInteger


class UtcDateTime(TypeDecorator[datetime]):
    """``TIMESTAMP WITH TIME ZONE``; aware UTC ``datetime`` in and out on both engines (SQLite
    stores naive UTC text, PostgreSQL a ``timestamptz``)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("the books store timezone-aware datetimes only")
        moment: datetime = value.astimezone(UTC)
        return moment.replace(tzinfo=None) if dialect.name == "sqlite" else moment

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


When = UtcDateTime()


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


PAYMENTS = Table(
    "axepta_payments",
    metadata,
    _id(),
    Column("merchant_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # order, payout, reference
    Column("trans_id", String(64), nullable=False),
    Column("pay_id", String(32)),
    Column("ref_nr", String(30)),
    Column("reference", String(255)),  # the shop's own reference (UserData or its order number)
    Column("amount", Money, nullable=False),  # the amount the shop ordered
    Column("currency", String(3), nullable=False),
    Column("capture", String(8)),  # Auto, Manual
    Column("tx_type", String(8)),  # Order, Auth, BAID
    Column("paypal_method", String(16)),  # shortcut
    Column("state", String(32), nullable=False),
    Column("amount_authorized", Money, nullable=False, server_default="0"),
    Column("amount_captured", Money, nullable=False, server_default="0"),
    Column("amount_refunded", Money, nullable=False, server_default="0"),
    Column("charged_back", Boolean, nullable=False, server_default=false()),
    Column("payer_id", String(64)),
    Column("payer_email", String(255)),
    Column("attention", Text),  # set when a person must look (conflict, discrepancy, no inquiry)
    Column("created_at", When, nullable=False),
    Column("updated_at", When, nullable=False),
    UniqueConstraint("merchant_id", "trans_id"),
    UniqueConstraint("merchant_id", "pay_id"),
    CheckConstraint("kind IN ('order', 'payout', 'reference')", name="kind"),
    CheckConstraint(
        "amount_authorized >= 0 AND amount_captured >= 0 AND amount_refunded >= 0", name="totals"
    ),
    CheckConstraint("amount_refunded <= amount_captured", name="refunds"),
    Index(None, "state", "created_at"),
    Index(None, "created_at"),
)

PAYMENT_IDS = Table(
    "axepta_payment_ids",
    metadata,
    _id(),
    Column("payment_id", Id, ForeignKey("axepta_payments.id", ondelete="CASCADE"), nullable=False),
    # tid, authorization_id, order_id, transaction_id, billing_agreement_id, txn_id (IPN)
    Column("kind", String(32), nullable=False),
    Column("value", String(64), nullable=False),
    # reply, notification, ipn, inquiry: who reported it (PROTOCOL.md D14)
    Column("source", String(16), nullable=False),
    Column("operation_id", Id, ForeignKey("axepta_operations.id", ondelete="SET NULL")),
    Column("created_at", When, nullable=False),
    UniqueConstraint("payment_id", "kind", "value"),
    Index(None, "kind", "value"),
)

OPERATIONS = Table(
    "axepta_operations",
    metadata,
    _id(),
    Column("payment_id", Id, ForeignKey("axepta_payments.id", ondelete="CASCADE"), nullable=False),
    Column("merchant_id", String(64), nullable=False),
    # paypal_order, complete, authorize, capture, credit, credit_ex, reverse, reftrans, inquire
    Column("kind", String(16), nullable=False),
    Column("req_id", String(32)),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    # every request field needed to send the same request again (never keys, Data or MAC)
    Column("request", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),  # intent, sent, succeeded, declined, unknown
    Column("code", String(8)),
    Column("status", String(32)),
    Column("tid", String(64)),  # PayPal's id from the reply (capture, authorisation, refund)
    Column("error", Text),  # why the outcome is unknown (no key, no Data)
    Column("attention", Text),  # marked for a person by reconcile
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", When, nullable=False),
    Column("sent_at", When),
    Column("settled_at", When),
    Column("updated_at", When, nullable=False),
    UniqueConstraint("merchant_id", "req_id"),
    CheckConstraint(
        "outcome IN ('intent', 'sent', 'succeeded', 'declined', 'unknown')", name="outcome"
    ),
    Index(None, "outcome", "created_at"),
    Index(None, "payment_id"),
)

MESSAGES = Table(
    "axepta_messages",
    metadata,
    _id(),
    # the merchant the message is for; for IPN and Mass Pay the receiver address ('' if none)
    Column("merchant_id", String(255), nullable=False),
    Column("source", String(16), nullable=False),  # axepta, ipn, masspay
    # de-duplication key (LEDGER.md "Inbound"); NULL for a message that is not authenticated
    Column("dedup_key", String(255)),
    Column("body", LargeBinary),  # as received; NULL once pruned
    Column("content_type", String(128)),
    # authenticated, rejected (axepta); verified, invalid, unverified, pending (ipn)
    Column("verification", String(16), nullable=False),
    Column("reason", Text),  # why rejected / not verified
    # decoded fields: {"Name": {"value": "...", "bound": true|false}} (PROTOCOL.md D14)
    Column("fields", JSON(none_as_null=True)),
    Column("payment_id", Id, ForeignKey("axepta_payments.id", ondelete="SET NULL")),
    Column("account", String(128), ForeignKey("axepta_accounts.account", ondelete="SET NULL")),
    # received, applied, duplicate, stale, unmatched, rejected, unverified, invalid, conflict,
    # failed, parked
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_owner", String(64)),
    Column("lease_until", When),
    Column("next_attempt_at", When),
    Column("received_at", When, nullable=False),
    Column("updated_at", When, nullable=False),
    Column("pruned_at", When),
    UniqueConstraint("merchant_id", "source", "dedup_key"),
    Index(None, "state", "next_attempt_at"),
    Index(None, "payment_id"),
    Index(None, "received_at"),
)

TRANSITIONS = Table(
    "axepta_transitions",
    metadata,
    _id(),
    Column("payment_id", Id, ForeignKey("axepta_payments.id", ondelete="CASCADE"), nullable=False),
    Column("from_state", String(32)),  # NULL for the row that records the payment's creation
    Column("to_state", String(32), nullable=False),
    Column("delta_authorized", Money, nullable=False, server_default="0"),
    Column("delta_captured", Money, nullable=False, server_default="0"),
    Column("delta_refunded", Money, nullable=False, server_default="0"),
    Column("cause", String(16), nullable=False),  # operation, message, inquiry, person
    Column("operation_id", Id, ForeignKey("axepta_operations.id", ondelete="SET NULL")),
    Column("message_id", Id, ForeignKey("axepta_messages.id", ondelete="SET NULL")),
    Column("note", Text),
    Column("created_at", When, nullable=False),
    Index(None, "payment_id", "id"),
)

EVENTS = Table(
    "axepta_events",
    metadata,
    _id(),
    Column("kind", String(64), nullable=False),  # payment.captured, account.credited, …
    # what caused it, unique per kind: "operation:12", "message:7", "transition:30"
    Column("cause", String(128), nullable=False),
    Column("payment_id", Id, ForeignKey("axepta_payments.id", ondelete="SET NULL")),
    Column("account", String(128)),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # pending, delivered, parked
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("lease_owner", String(64)),
    Column("lease_until", When),
    Column("next_attempt_at", When),
    Column("created_at", When, nullable=False),
    Column("delivered_at", When),
    UniqueConstraint("kind", "cause"),
    Index(None, "state", "next_attempt_at"),
)

ACCOUNTS = Table(
    "axepta_accounts",
    metadata,
    Column("account", String(128), primary_key=True),
    Column("created_at", When, nullable=False),
)

ACCOUNT_LINKS = Table(
    "axepta_account_links",
    metadata,
    Column("email", String(255), primary_key=True),  # lower-cased payer_email
    Column(
        "account",
        String(128),
        ForeignKey("axepta_accounts.account", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", When, nullable=False),
    Index(None, "account"),
)

ACCOUNT_ENTRIES = Table(
    "axepta_account_entries",
    metadata,
    _id(),
    Column(
        "account",
        String(128),
        ForeignKey("axepta_accounts.account", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("currency", String(3), nullable=False),
    Column("amount", Money, nullable=False),  # signed minor units: top-up > 0, reversal < 0
    Column("fee", Money),  # the merchant's fee beside it (never deducted)
    Column("kind", String(32), nullable=False),  # topup, refund, reversal, canceled_reversal
    Column("txn_id", String(64)),
    Column(
        "cause_message_id",
        Id,
        ForeignKey("axepta_messages.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("created_at", When, nullable=False),
    UniqueConstraint("cause_message_id"),
    Index(None, "account", "currency"),
    Index(None, "txn_id"),
)
