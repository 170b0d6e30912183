"""Shared fixtures: demo credentials (public test keys from the vendor sample) and vectors."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from axepta.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"

DEMO_MID = "BNP_DEMO_AXEPTA"
DEMO_BLOWFISH = "Tc5*2D_xs7B[6E?w"
DEMO_HMAC = "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8"


def load_vectors(name: str) -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text("utf-8"))
    vectors: list[dict[str, Any]] = data["vectors"]
    return vectors


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)


@pytest.fixture
def secrets() -> tuple[str, str]:
    """The two secret keys, for tests that assert they never appear in output."""
    return DEMO_BLOWFISH, DEMO_HMAC


# -- the books: one database fixture over SQLite and PostgreSQL ---------------------------------


def _postgres_unavailable(reason: str) -> NoReturn:
    """Skip locally; fail when CI requires PostgreSQL (``AXEPTA_REQUIRE_POSTGRES=1``)."""
    if os.environ.get("AXEPTA_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (AXEPTA_REQUIRE_POSTGRES=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def books_templates(postgres_server_or_none: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Migrated empty books made once per session: a SQLite file and a PostgreSQL template."""
    from axepta.ledger import Ledger

    path = tmp_path_factory.mktemp("books-template") / "books.db"
    with Ledger(f"sqlite:///{path}") as ledger:
        ledger.migrate()
    templates = {"sqlite": str(path)}
    if postgres_server_or_none is not None:
        url = postgres_server_or_none.create_database(name="axepta_books_template")
        with Ledger(url) as ledger:
            ledger.migrate()
        templates["postgresql"] = "axepta_books_template"
    return templates


@pytest.fixture(scope="session")
def postgres_server_or_none(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The session's PostgreSQL server, or ``None`` when it cannot start (then the PostgreSQL
    half of :func:`books_url` skips or, with ``AXEPTA_REQUIRE_POSTGRES=1``, fails)."""
    from tests._postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        request.config.stash[_PG_REASON] = str(exc)
        yield None
        return
    yield server
    server.stop()


_PG_REASON = pytest.StashKey[str]()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_name(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql`` (each test that uses the books runs on both)."""
    return str(request.param)


@pytest.fixture
def books_url(
    engine_name: str,
    books_templates: dict[str, str],
    postgres_server_or_none: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> str:
    """A migrated, empty database of the books: a fresh SQLite file or a fresh PostgreSQL
    database copied from the session's template."""
    if engine_name == "sqlite":
        path = tmp_path / "books.db"
        shutil.copyfile(books_templates["sqlite"], path)
        return f"sqlite:///{path}"
    if postgres_server_or_none is None:
        _postgres_unavailable(request.config.stash.get(_PG_REASON, "the server did not start"))
    url: str = postgres_server_or_none.create_database(template=books_templates["postgresql"])
    return url


@pytest.fixture
def empty_db_url(engine_name: str, postgres_server_or_none: Any, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database with no books at all (for migration tests), on each engine."""
    if engine_name == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    if postgres_server_or_none is None:
        _postgres_unavailable(request.config.stash.get(_PG_REASON, "the server did not start"))
    url: str = postgres_server_or_none.create_database()
    return url
