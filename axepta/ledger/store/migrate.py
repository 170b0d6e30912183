"""Alembic, driven from code: the migrations ship inside the package (``axepta/ledger/migrations``)
and run against the store's own engine, with the version kept in ``axepta_schema_version``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from axepta.ledger.store import Store
from axepta.ledger.store.schema import VERSION_TABLE

__all__ = ["alembic_config", "head", "upgrade"]


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", "axepta.ledger:migrations")
    config.set_main_option("version_table", VERSION_TABLE)
    return config


def head() -> str:
    """The newest revision the shipped migrations reach."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


def upgrade(store: Store, revision: str = "head") -> tuple[str | None, str | None]:
    """Create or upgrade the books to ``revision``; returns (before, after)."""
    before = store.revision()
    config = alembic_config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    store.forget_schema_check()
    return before, store.revision()
