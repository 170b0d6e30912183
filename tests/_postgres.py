"""A throwaway PostgreSQL server for the tests (and the ledger benchmark), started from the
machine's own binaries: ``initdb`` into a temp directory, ``pg_ctl start`` on 127.0.0.1 and a free
port, trust authentication, ``fsync=off`` (a test server, not the books of a shop).

As root, ``initdb`` refuses to run: the server then runs as the ``postgres`` user
(``runuser -u postgres --``) in a directory it owns. Binaries: ``AXEPTA_PG_BINDIR``, else the
newest ``/usr/lib/postgresql/*/bin``, else ``initdb`` on ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

__all__ = ["PostgresServer", "PostgresUnavailable", "find_bindir"]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started here (the reason says why)."""


def find_bindir() -> Path:
    configured = os.environ.get("AXEPTA_PG_BINDIR")
    if configured:
        return Path(configured)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for bindir in reversed(candidates):
        if (bindir / "initdb").exists():
            return bindir
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise PostgresUnavailable(
        "no PostgreSQL binaries (initdb, pg_ctl) found: install postgresql or set AXEPTA_PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """``start()`` / ``stop()``; :meth:`create_database` makes a fresh database (optionally from
    a template) and returns its SQLAlchemy URL."""

    def __init__(self, *, durable: bool = False) -> None:
        #: ``durable``: PostgreSQL's own defaults (fsync, synchronous_commit, full_page_writes on),
        #: as a shop's server runs; otherwise the test settings (all three off)
        self.durable = durable
        self.bindir = find_bindir()
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="axepta-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "server.log"
        self._as_user: list[str] = []
        self.started = False

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [*self._as_user, *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise PostgresUnavailable(f"{Path(args[0]).name} failed: {' | '.join(detail)}")

    def start(self) -> PostgresServer:
        self.sockets.mkdir()
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and there is no postgres user") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PostgresUnavailable("running as root and runuser is missing")
            for path in (self.root, self.sockets):
                os.chown(path, user.pw_uid, user.pw_gid)
            self._as_user = [runuser, "-u", "postgres", "--"]
        try:
            self._run(
                str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                "-E", "UTF8", "--no-sync", "--no-instructions",
            )  # fmt: skip
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c max_connections=60"
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                "-w", "-t", "60", "start",
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.stop()
            raise PostgresUnavailable(f"could not start PostgreSQL: {exc}") from None
        except PostgresUnavailable:
            self.stop()
            raise
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(PostgresUnavailable, OSError, subprocess.TimeoutExpired):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())

    def create_database(self, template: str | None = None, name: str | None = None) -> str:
        """A new database (a copy of ``template`` when given); its SQLAlchemy URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        suffix = f" TEMPLATE {template}" if template else ""
        self.admin(f'CREATE DATABASE "{name}"{suffix}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
