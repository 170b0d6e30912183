"""Alembic environment: always given a connection by :mod:`axepta.ledger.store.migrate`."""

from __future__ import annotations

from alembic import context

from axepta.ledger.store.schema import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the books' migrations with `axepta ledger migrate`")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
