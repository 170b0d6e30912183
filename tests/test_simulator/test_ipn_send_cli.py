"""``axepta simulator ipn send``: posts to a real loopback listener that verifies by postback at
the stand-in's verify URL; exit 0 only when the listener answered 200 and verified."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from axepta.cli import app
from axepta.ipn import parse_ipn, verify_ipn


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _listener(verify_url: str, *, status: int = 200) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A sync-mode IPN listener: verify by postback, then answer ``status``."""
    received: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            outcome = verify_ipn(raw, verify_url=verify_url, timeout=5).outcome
            received.append((parse_ipn(raw).txn_id or "", outcome))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/paypal/ipn", received
    finally:
        server.shutdown()
        server.server_close()


ARGS = ["--txn-type", "send_money", "--payment-status", "Completed", "--payer-email", "alice@example.com",
        "--mc-gross", "25.00", "--mc-currency", "EUR", "--receiver-email", "shop@example.com"]


def test_send_verified_json() -> None:
    port = _free_port()
    with _listener(f"http://127.0.0.1:{port}/cgi-bin/webscr") as (url, received):
        res = CliRunner().invoke(
            app, ["--json", "simulator", "ipn", "send", "--to", url, *ARGS, "--txn-id", "TOPUP1",
                  "--verify-port", str(port), "--wait", "5"],
        )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["status_code"] == 200 and data["postbacks"] == ["VERIFIED"]
    assert data["txn_id"] == "TOPUP1" and data["verify_url"] == f"http://127.0.0.1:{port}/cgi-bin/webscr"
    assert received == [("TOPUP1", "verified")]


def test_send_for_people_and_answer_invalid_exits_1() -> None:
    port = _free_port()
    with _listener(f"http://127.0.0.1:{port}/cgi-bin/webscr") as (url, received):
        res = CliRunner().invoke(
            app, ["simulator", "ipn", "send", "--to", url, *ARGS, "--verify-port", str(port), "--answer", "invalid",
                  "--wait", "2"],
        )
    assert res.exit_code == 1, res.output
    assert "HTTP 200" in res.stdout and "INVALID" in res.stdout
    assert received[0][1] == "invalid"


def test_listener_answering_500_exits_1() -> None:
    port = _free_port()
    with _listener(f"http://127.0.0.1:{port}/cgi-bin/webscr", status=500) as (url, _):
        res = CliRunner().invoke(
            app, ["simulator", "ipn", "send", "--to", url, *ARGS, "--verify-port", str(port), "--wait", "0.2"],
        )
    assert res.exit_code == 1 and "HTTP 500" in res.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--mc-gross", "1.234"], "mc_gross"), (["--field", "novalue"], "--field"), (["--answer", "maybe"], "--answer")],
)
def test_bad_input_is_a_usage_error_naming_the_field(args: list[str], needle: str) -> None:
    res = CliRunner().invoke(
        app, ["simulator", "ipn", "send", "--to", "http://127.0.0.1:9/ipn", *ARGS, *args, "--verify-port", "0"],
    )
    assert res.exit_code == 2, res.output
    assert needle in res.output


def test_non_loopback_http_is_refused() -> None:
    res = CliRunner().invoke(
        app, ["simulator", "ipn", "send", "--to", "http://example.com/ipn", *ARGS, "--verify-port", "0"],
    )
    assert res.exit_code == 2 and "loopback" in res.output
