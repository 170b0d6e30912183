"""Import fences: the client, the CLI's start and the state machine load no SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _loaded(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import axepta.client",
        "import axepta; axepta.AxeptaClient",
        "import axepta.ledger.machine",
        "import axepta.ledger.records",
        "import axepta.ledger",
    ],
)
def test_no_sqlalchemy_without_a_ledger(statement: str) -> None:
    loaded = _loaded(statement)
    assert not {m for m in loaded if m.split(".")[0] in ("sqlalchemy", "alembic", "psycopg")}


def test_the_facade_loads_sqlalchemy_but_not_alembic_until_migrate() -> None:
    loaded = _loaded("from axepta.ledger import Ledger")
    assert "sqlalchemy" in loaded
    assert "alembic" not in loaded
