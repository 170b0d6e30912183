"""docs/receiving.md runs as written: each Python block (named by its first line) is executed and
exercised, and the console blocks are the commands' real output."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from axepta.cli import app
from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.simulator.ipn_standin import IpnStandIn, build_ipn
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_receive._support import SHOP, add_payment, result

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

DOC = (Path(__file__).resolve().parents[2] / "docs" / "receiving.md").read_text("utf-8")
ENV = {"AXEPTA_MERCHANT_ID": DEMO_MID, "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC}


def block(name: str) -> ModuleType:
    (source,) = [b for b in re.findall(r"```python\n(.*?)```", DOC, re.S) if b.startswith(f"# {name}\n")]
    module = ModuleType(name.removesuffix(".py"))
    exec(compile(source, f"docs/receiving.md:{name}", "exec"), module.__dict__)  # noqa: S102
    return module


def console(index: int) -> list[tuple[str, list[str]]]:
    """The commands of the index-th console block, each with the lines it printed."""
    blocks = re.findall(r"```console\n(.*?)```", DOC, re.S)
    commands: list[tuple[str, list[str]]] = []
    for raw in blocks[index].replace("\\\n", " ").splitlines():
        if raw.startswith("$ "):
            commands.append((" ".join(raw[2:].split()), []))
        else:
            commands[-1][1].append(raw)
    return commands


def test_every_python_block_is_exercised() -> None:
    names = {b.split("\n", 1)[0][2:] for b in re.findall(r"```python\n(.*?)```", DOC, re.S)}
    assert names == {"receive_mount.py", "receive_starlette.py", "receive_flask.py", "receive_ipn.py",
                     "receive_events.py", "receive_accounts.py"}


@pytest.fixture
def engine_name() -> str:
    """SQLite only here: what differs between the engines (locks, SKIP LOCKED, concurrent
    deliveries) is proven on both in test_notifications.py, test_events.py and on PostgreSQL in
    test_concurrency.py; this file tests the logic above them (and keeps make test short)."""
    return "sqlite"


@pytest.fixture
def ledger(books_url: str) -> Any:
    with Ledger(books_url) as books:
        yield books


def _client(app: Any) -> TestClient:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return TestClient(app)


def test_mount_and_starlette_and_flask_handlers(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "DOC1")
    add_payment(ledger, "DOC2")
    mounted = _client(block("receive_mount.py").make_app(ledger, credentials))
    assert mounted.get("/healthz").status_code == 200
    starlette = _client(block("receive_starlette.py").make_app(ledger, credentials))
    answer = starlette.post("/axepta/notify", content=result("DOC1", "1" * 32))
    assert (answer.status_code, answer.text) == (200, "applied")
    assert starlette.get("/axepta/notify?" + result("DOC1", "1" * 32).decode()).text == "duplicate"
    assert starlette.post("/axepta/notify", content=b"Data=00").status_code == 400
    flask = block("receive_flask.py").make_app(ledger, credentials).test_client()
    answer = flask.post("/axepta/notify", data=result("DOC2", "2" * 32),
                        content_type="application/x-www-form-urlencoded")
    assert (answer.status_code, answer.text) == (200, "applied")
    assert flask.get("/axepta/notify?" + result("UNKNOWN", "3" * 32).decode()).status_code == 404


def test_ipn_view_and_worker(ledger: Ledger) -> None:
    module = block("receive_ipn.py")
    ledger.accounts.link_email("acme", "alice@example.com")
    with IpnStandIn() as paypal:
        body = build_ipn(payer_email="alice@example.com", mc_gross="5.00", receiver_email=SHOP, txn_type="web_accept")
        paypal.remember(body)
        assert module.ipn_view(ledger, body, "application/x-www-form-urlencoded") == 200
        (receipt,) = module.ipn_worker(ledger, paypal.verify_url)
    assert receipt.outcome == "applied" and ledger.accounts.balance("acme", "EUR") == 500


def test_events_block(ledger: Ledger, credentials: Credentials, capsys: pytest.CaptureFixture[str]) -> None:
    module = block("receive_events.py")
    module.register(ledger)
    add_payment(ledger, "DOC3")
    ledger.receive_notification(result("DOC3", "4" * 32), credentials)
    ledger.accounts.link_email("acme", "alice@example.com")
    with IpnStandIn() as paypal:
        body = build_ipn(payer_email="alice@example.com", mc_gross="5.00", receiver_email=SHOP, txn_type="web_accept")
        paypal.remember(body)
        ledger.receive_ipn(body, receivers=[SHOP], verify_url=paypal.verify_url)
    assert ledger.deliver_events() == 2
    assert list(module.ENROLLED.values()) == ["DOC3"]
    assert capsys.readouterr().out == "acme +500 EUR\n"


def test_accounts_block_and_its_console_output(books_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert block("receive_accounts.py").top_up_twice(books_url) == (2500, "applied", "duplicate")
    assert "`top_up_twice` returns `(2500, 'applied', 'duplicate')`" in DOC
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("AXEPTA_DATABASE_URL", books_url)
    for command, expected in console(1):
        args = command.split()[1:]
        res = CliRunner().invoke(app, args, env={**ENV, "COLUMNS": "200"})
        assert res.exit_code == 0, (command, res.output)
        assert res.stdout.splitlines() == expected, command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_and_ipn_send_console(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'books.db'}"
    with Ledger(url) as ledger:
        ledger.migrate()
        ledger.accounts.link_email("cust-42", "alice@example.com")
    port, verify_port = _free_port(), _free_port()
    env = {**os.environ, **ENV, "AXEPTA_DATABASE_URL": url, "AXEPTA_CONFIG": str(tmp_path / "absent.toml"),
           "COLUMNS": "200"}
    (serve_line, _), (send_line, send_out) = console(2)
    serve_args = serve_line.rstrip(" &").split()[1:]
    serve_args = [a.replace("8766", str(verify_port)) for a in serve_args] + ["--port", str(port), "--interval", "0.1"]
    process = subprocess.Popen([sys.executable, "-m", "axepta", *serve_args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        send_args = [a.replace("8000", str(port)).replace("8766", str(verify_port)) for a in send_line.split()[1:]]
        sent = subprocess.run([sys.executable, "-m", "axepta", *send_args], env=env, capture_output=True, text=True,
                              timeout=60, check=False)
        assert sent.returncode == 0, sent.stderr
        shape = [re.escape(line).replace("5N8R0JY3Q0TSRL2WB", "[A-Z0-9]{17}") for line in send_out]
        got = [line.replace(str(port), "8000").replace(str(verify_port), "8766") for line in sent.stdout.splitlines()]
        assert len(got) == len(shape) and all(re.fullmatch(p, g) for p, g in zip(shape, got, strict=True)), got
        with Ledger(url) as ledger:
            deadline = time.monotonic() + 20
            while ledger.accounts.balance("cust-42", "EUR") != 2500 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert ledger.accounts.balance("cust-42", "EUR") == 2500
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    lines = out.splitlines()
    assert lines[0] == f"axepta receiver on http://127.0.0.1:{port}/ (1 worker), books {url}"
    assert lines[1] == "  routes: /axepta/notify, /paypal/ipn, /healthz"


def test_serve_console_block_shows_the_real_first_lines() -> None:
    ((command, serve_out),) = console(0)
    assert command == "axepta serve --workers 4 --paypal-receiver shop@example.com"
    assert serve_out[0] == "axepta receiver on http://127.0.0.1:8000/ (4 workers), books sqlite:///axepta.db"
    assert serve_out[1:] == ["  routes: /axepta/notify, /paypal/ipn, /healthz", "  Ctrl-C or SIGTERM stops it"]
