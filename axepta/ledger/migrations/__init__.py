"""Alembic migrations of the books (run by ``axepta ledger migrate`` / ``Ledger.migrate()``)."""
