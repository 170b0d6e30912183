"""the books: payments, operations, transitions, messages, events, accounts

Revision ID: 0001_books
Revises: (none)
Create Date: 2026-11-30

The first schema of the books (LEDGER.md "Records"): every table at once, so that the receiver,
the accounts and the journal start from one revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_books"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "axepta_accounts",
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", name=op.f("pk_axepta_accounts")),
    )
    op.create_table(
        "axepta_payments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trans_id", sa.String(length=64), nullable=False),
        sa.Column("pay_id", sa.String(length=32), nullable=True),
        sa.Column("ref_nr", sa.String(length=30), nullable=True),
        sa.Column("reference", sa.String(length=255), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("capture", sa.String(length=8), nullable=True),
        sa.Column("tx_type", sa.String(length=8), nullable=True),
        sa.Column("paypal_method", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("amount_authorized", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount_captured", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("charged_back", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("payer_id", sa.String(length=64), nullable=True),
        sa.Column("payer_email", sa.String(length=255), nullable=True),
        sa.Column("attention", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('order', 'payout', 'reference')", name=op.f("ck_axepta_payments_kind")
        ),
        sa.CheckConstraint(
            "amount_authorized >= 0 AND amount_captured >= 0 AND amount_refunded >= 0",
            name=op.f("ck_axepta_payments_totals"),
        ),
        sa.CheckConstraint(
            "amount_refunded <= amount_captured", name=op.f("ck_axepta_payments_refunds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axepta_payments")),
        sa.UniqueConstraint(
            "merchant_id", "pay_id", name=op.f("uq_axepta_payments_merchant_id_pay_id")
        ),
        sa.UniqueConstraint(
            "merchant_id", "trans_id", name=op.f("uq_axepta_payments_merchant_id_trans_id")
        ),
    )
    with op.batch_alter_table("axepta_payments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_payments_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_axepta_payments_state_created_at"), ["state", "created_at"], unique=False
        )

    op.create_table(
        "axepta_account_links",
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["axepta_accounts.account"],
            name=op.f("fk_axepta_account_links_account_axepta_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_axepta_account_links")),
    )
    with op.batch_alter_table("axepta_account_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_account_links_account"), ["account"], unique=False
        )

    op.create_table(
        "axepta_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("cause", sa.String(length=128), nullable=False),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("account", sa.String(length=128), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["axepta_payments.id"],
            name=op.f("fk_axepta_events_payment_id_axepta_payments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axepta_events")),
        sa.UniqueConstraint("kind", "cause", name=op.f("uq_axepta_events_kind_cause")),
    )
    with op.batch_alter_table("axepta_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_events_state_next_attempt_at"),
            ["state", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "axepta_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(length=128), nullable=True),
        sa.Column("verification", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("fields", sa.JSON(none_as_null=True), nullable=True),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("account", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pruned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account"],
            ["axepta_accounts.account"],
            name=op.f("fk_axepta_messages_account_axepta_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["axepta_payments.id"],
            name=op.f("fk_axepta_messages_payment_id_axepta_payments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axepta_messages")),
        sa.UniqueConstraint(
            "merchant_id",
            "source",
            "dedup_key",
            name=op.f("uq_axepta_messages_merchant_id_source_dedup_key"),
        ),
    )
    with op.batch_alter_table("axepta_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_messages_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_axepta_messages_received_at"), ["received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_axepta_messages_state_next_attempt_at"),
            ["state", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "axepta_operations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("merchant_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("req_id", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("tid", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attention", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('intent', 'sent', 'succeeded', 'declined', 'unknown')",
            name=op.f("ck_axepta_operations_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["axepta_payments.id"],
            name=op.f("fk_axepta_operations_payment_id_axepta_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axepta_operations")),
        sa.UniqueConstraint(
            "merchant_id", "req_id", name=op.f("uq_axepta_operations_merchant_id_req_id")
        ),
    )
    with op.batch_alter_table("axepta_operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_operations_outcome_created_at"),
            ["outcome", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_axepta_operations_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "axepta_account_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("txn_id", sa.String(length=64), nullable=True),
        sa.Column(
            "cause_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account"],
            ["axepta_accounts.account"],
            name=op.f("fk_axepta_account_entries_account_axepta_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["cause_message_id"],
            ["axepta_messages.id"],
            name=op.f("fk_axepta_account_entries_cause_message_id_axepta_messages"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axepta_account_entries")),
        sa.UniqueConstraint(
            "cause_message_id", name=op.f("uq_axepta_account_entries_cause_message_id")
        ),
    )
    with op.batch_alter_table("axepta_account_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_account_entries_account_currency"),
            ["account", "currency"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_axepta_account_entries_txn_id"), ["txn_id"], unique=False
        )

    op.create_table(
        "axepta_payment_ids",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "operation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["axepta_operations.id"],
            name=op.f("fk_axepta_payment_ids_operation_id_axepta_operations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["axepta_payments.id"],
            name=op.f("fk_axepta_payment_ids_payment_id_axepta_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axepta_payment_ids")),
        sa.UniqueConstraint(
            "payment_id", "kind", "value", name=op.f("uq_axepta_payment_ids_payment_id_kind_value")
        ),
    )
    with op.batch_alter_table("axepta_payment_ids", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_payment_ids_kind_value"), ["kind", "value"], unique=False
        )

    op.create_table(
        "axepta_transitions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("delta_authorized", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delta_captured", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("delta_refunded", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cause", sa.String(length=16), nullable=False),
        sa.Column(
            "operation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["axepta_messages.id"],
            name=op.f("fk_axepta_transitions_message_id_axepta_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["axepta_operations.id"],
            name=op.f("fk_axepta_transitions_operation_id_axepta_operations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["axepta_payments.id"],
            name=op.f("fk_axepta_transitions_payment_id_axepta_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_axepta_transitions")),
    )
    with op.batch_alter_table("axepta_transitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_axepta_transitions_payment_id_id"), ["payment_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("axepta_transitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_transitions_payment_id_id"))

    op.drop_table("axepta_transitions")
    with op.batch_alter_table("axepta_payment_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_payment_ids_kind_value"))

    op.drop_table("axepta_payment_ids")
    with op.batch_alter_table("axepta_account_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_account_entries_txn_id"))
        batch_op.drop_index(batch_op.f("ix_axepta_account_entries_account_currency"))

    op.drop_table("axepta_account_entries")
    with op.batch_alter_table("axepta_operations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_operations_payment_id"))
        batch_op.drop_index(batch_op.f("ix_axepta_operations_outcome_created_at"))

    op.drop_table("axepta_operations")
    with op.batch_alter_table("axepta_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_messages_state_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_axepta_messages_received_at"))
        batch_op.drop_index(batch_op.f("ix_axepta_messages_payment_id"))

    op.drop_table("axepta_messages")
    with op.batch_alter_table("axepta_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_events_state_next_attempt_at"))

    op.drop_table("axepta_events")
    with op.batch_alter_table("axepta_account_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_account_links_account"))

    op.drop_table("axepta_account_links")
    with op.batch_alter_table("axepta_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_axepta_payments_state_created_at"))
        batch_op.drop_index(batch_op.f("ix_axepta_payments_created_at"))

    op.drop_table("axepta_payments")
    op.drop_table("axepta_accounts")
