"""No key in the output of any ``axepta`` command: stdout and stderr, for people and ``--json``,
``--dry-run``, successes and every kind of failure, ``config show``/``check`` (environment and
profile), ``simulator serve`` (a subprocess). Commands other than ``crypto`` (whose job is to
show Data, a MAC or a plaintext) print no ``Data`` and no ``MAC`` either.

Payments run against the simulator's in-process transport (the CLI's HTTP seam is pointed at
it); ``ipn verify`` asks a loopback stand-in for PayPal.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from axepta.cli import _common, app
from axepta.credentials import Credentials
from axepta.simulator import Simulator
from tests.test_security.conftest import BLOWFISH, HMAC, MID, assert_no_secret

ROOT = Path(__file__).resolve().parents[2]
IPN_FIXTURE = ROOT / "tests" / "test_ipn" / "fixtures" / "express_checkout_completed.txt"
#: 48 or more hex digits in a row: Data or a MAC (PayIDs and ReqIds are 32 characters)
LONG_HEX = re.compile(r"[0-9A-Fa-f]{48,}")
SHOP = ["--url-success", "https://shop.example/ok", "--url-failure", "https://shop.example/ko",
        "--url-notify", "https://shop.example/notify"]  # fmt: skip
ENV = {
    "AXEPTA_MERCHANT_ID": MID, "AXEPTA_BLOWFISH_KEY": BLOWFISH, "AXEPTA_HMAC_KEY": HMAC,
    "AXEPTA_CHARSET": "", "AXEPTA_ENVIRONMENT": "", "AXEPTA_BASE_URL": "", "AXEPTA_PROFILE": "",
    "AXEPTA_TEST_MERCHANT_IDS": "", "AXEPTA_SMALL_AMOUNTS_ENABLED": "", "AXEPTA_ALLOW_ENVIRONMENT_MISMATCH": "",
    "COLUMNS": "250",
}  # fmt: skip


class Cli:
    """Runs commands, checks each output, and keeps every result for a final look."""

    def __init__(self, runner: CliRunner) -> None:
        self.runner = runner
        self.results: list[tuple[list[str], Result]] = []

    def __call__(self, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> Result:
        result = self.runner.invoke(app, list(args), env={**ENV, **(env or {})}, input=stdin)
        self.results.append((list(args), result))
        where = " ".join(args)[:100]
        for stream in (result.stdout, result.stderr):
            assert_no_secret(stream, f"the output of `axepta {where}`")
            if "crypto" not in args:
                assert LONG_HEX.search(stream) is None, f"Data or a MAC in the output of `axepta {where}`"
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        return result

    def json(self, *args: str, **kwargs: Any) -> tuple[dict[str, Any], int]:
        result = self("--json", *args, **kwargs)
        return json.loads(result.stdout), result.exit_code

    def both(self, *args: str, **kwargs: Any) -> dict[str, Any]:
        """Run for people and with --json; return the JSON object (exit code in ``_exit``)."""
        self(*args, **kwargs)
        data, code = self.json(*args, **kwargs)
        data["_exit"] = code
        return data


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Simulator]:
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    merchant = Credentials(MID, BLOWFISH, HMAC)
    with Simulator(merchant, time_factor=1e-7, seed=6, pending_timeout_minutes=1e9,
                   notify_transport=httpx.MockTransport(lambda r: httpx.Response(200))) as simulator:  # fmt: skip
        monkeypatch.setattr(
            _common, "make_http_client", lambda: httpx.Client(transport=simulator.transport(), follow_redirects=False)
        )
        monkeypatch.setattr("axepta.client.time.sleep", lambda seconds: None)
        yield simulator


@pytest.fixture
def cli() -> Cli:
    return Cli(CliRunner())


def order(cli: Cli, sim: Simulator, trans_id: str, *options: str) -> list[tuple[str, str]]:
    """Two orders, one created for people and one with --json (after a --dry-run of each),
    both approved by the buyer: ``[(pay_id, trans_id), (pay_id, trans_id)]``."""
    made = []
    for flags, tid in (([], trans_id), (["--json"], trans_id + "J")):
        args = ["order", "--trans-id", tid, "--amount", "50", "--currency", "EUR", "--order-desc", "Books", *SHOP, *options]
        cli(*flags, *args, "--dry-run")
        assert cli(*flags, *args, "--yes").exit_code == 0
        [view] = [p for p in sim.payments() if p.trans_id == tid]
        sim.approve(view.pay_id)
        made.append((view.pay_id, tid))
    return made


def each(cli: Cli, made: list[tuple[str, str]], command: str, *args: str, pay_id: bool = True) -> list[int]:
    """``command`` for people on the first payment and with --json on the second, each after
    a --dry-run; returns the two exit codes."""
    codes = []
    for flags, (pid, tid) in zip(([], ["--json"]), made, strict=True):
        target = [pid] if pay_id else []
        cli(*flags, command, *target, "--trans-id", tid, *args, "--dry-run")
        codes.append(cli(*flags, command, *target, "--trans-id", tid, *args, "--yes").exit_code)
    return codes


def test_payment_commands_print_no_key(cli: Cli, sim: Simulator) -> None:
    auth = order(cli, sim, "CLI-AUTH", "--capture", "manual", "--tx-type", "auth")
    eur = ["--currency", "EUR"]
    assert each(cli, auth, "capture", "--amount", "10", *eur) == [0, 0]
    tids = [sim.payment(p).captures[0].tid for p, _ in auth]
    for command in ("credit", "refund"):
        for flags, (pid, tid), capture in zip(([], ["--json"]), auth, tids, strict=True):
            args = [command, pid, "--trans-id", tid, "--amount", "2.50", *eur, "--tid", capture, "--note", "sorry"]
            cli(*flags, *args, "--dry-run")
            assert cli(*flags, *args, "--yes").exit_code == 0
    held = order(cli, sim, "CLI-ORDER", "--capture", "manual", "--tx-type", "order")
    assert each(cli, held, "authorize", "--amount", "50", *eur) == [0, 0]
    assert each(cli, held, "reverse", "--amount", "50", *eur) == [0, 0]
    assert {sim.payment(p).state for p, _ in held} == {"reversed"}
    quick = order(cli, sim, "CLI-SC", "--paypal-method", "shortcut")
    assert each(cli, quick, "complete", "--amount", "55", *eur) == [0, 0]
    baid = order(cli, sim, "CLI-BA", "--tx-type", "baid", "--ref-nr", "R1")
    agreements = [(str(sim.payment(p).billing_agreement_id), f"RT-{i}") for i, (p, _) in enumerate(baid)]
    assert each(cli, [("", t) for _, t in agreements], "reftrans", "--billing-agreement", agreements[0][0], "--amount", "9.90", *eur, pay_id=False) == [0, 0]
    assert each(cli, [("", "CX-1"), ("", "CX-2")], "credit-ex", "--amount", "15", *eur, "--payer-id", "XVRKM94GQDXB2", pay_id=False) == [0, 0]

    # failures: declined (1), usage (2), configuration (3), network with a retry command (4)
    pid, tid = auth[0]
    money = ["--trans-id", tid, "--amount", "10", *eur, "--yes"]
    assert cli.both("capture", "f" * 32, *money)["_exit"] == 1
    assert cli.both("capture", pid, *money[:3], "-1", *money[4:])["_exit"] == 2
    assert cli.both("capture", pid, *money, env={"AXEPTA_HMAC_KEY": ""})["_exit"] == 3
    assert cli.both("capture", pid, *money, env={"AXEPTA_BLOWFISH_KEY": BLOWFISH * 4})["_exit"] == 3
    sim.faults.drop_connection(path="capture", count=2)
    lost = cli.both("capture", pid, *money, "--req-id", "cliretry1")
    assert lost["_exit"] == 4 and "cliretry1" in lost["error"]["retry_command"]
    sim.faults.server_error(503, path="credit", count=2)
    assert cli.both("credit", pid, *money, "--tid", tids[0])["_exit"] == 4
    assert sim.payment(pid).captured == 2000  # the lost capture acted once, the replay added nothing
    assert len(cli.results) > 50


def test_config_crypto_notify_ipn_batch_codes_and_demo_print_no_key(
    cli: Cli, sim: Simulator, tmp_path: Path, ipn_paypal: str
) -> None:
    cli.both("config", "show")
    cli.both("config", "check")
    cli.both("config", "check", "--online")
    config = tmp_path / "config.toml"
    config.write_text(
        f"[profiles.shop]\nmerchant_id = '{MID}'\nblowfish_key = '{BLOWFISH}'\nhmac_key = '{HMAC}'\n"
        f"[profiles.broken]\nmerchant_id = '{MID}'\nblowfish_key = '{BLOWFISH * 4}'\nhmac_key = '{HMAC}'\n",
        "utf-8",
    )
    profile_env = {"AXEPTA_CONFIG": str(config), "AXEPTA_MERCHANT_ID": "", "AXEPTA_BLOWFISH_KEY": "", "AXEPTA_HMAC_KEY": ""}
    shown = cli.both("--profile", "shop", "config", "show", env=profile_env)
    assert shown["blowfish_key"] == {"value": shown["blowfish_key"]["value"], "length": len(BLOWFISH)}
    cli.both("--profile", "broken", "config", "check", env=profile_env)
    cli.both("--profile", "missing", "config", "show", env=profile_env)

    encrypted = cli("crypto", "encrypt", "MerchantID=X&TransID=1&Amount=100")
    data = re.search(r"[0-9A-F]{16,}", encrypted.stdout)
    assert data is not None
    cli.both("crypto", "decrypt", data.group(0))
    cli.both("crypto", "mac", "", "T-1", MID, "100", "EUR")
    cli("crypto", "decrypt", "NOT-HEX")

    [(pay_id, _), _] = order(cli, sim, "CLI-NOTE")
    assert sim.wait_for_notifications(5)
    body = next(d.body for d in sim.deliveries if d.pay_id == pay_id)
    assert cli.both("notify", "decode", body.decode("ascii"))["_exit"] == 0
    assert cli.both("notify", "decode", stdin=body)["_exit"] == 0
    tampered = body.decode("ascii").replace("Data=", "Data=00000000")
    assert cli.both("notify", "decode", tampered)["_exit"] == 1
    assert cli.both("notify", "decode", body.decode("ascii"), env={"AXEPTA_HMAC_KEY": "another-hmac-key"})["_exit"] == 1

    cli.both("ipn", "parse", str(IPN_FIXTURE))
    verified = cli.both("ipn", "verify", str(IPN_FIXTURE), "--verify-url", ipn_paypal)
    assert verified["_exit"] == 0

    source = tmp_path / "in.csv"
    source.write_text(f"Action,Amount,Currency,TransID,PayID\nCapture,1999,EUR,ORDER-1,{pay_id}\n", "utf-8")
    cli.both("batch", "build", str(source), "-o", str(tmp_path), "--date", "2024-01-31")
    built = next(tmp_path.glob("*.dat"))
    cli.both("batch", "parse", str(built))
    cli.both("codes", "explain", "21500067")
    cli.both("codes", "explain", "20120044")
    assert cli.both("demo")["_exit"] == 0
    cli("--version")
    cli("--help")
    for group in ("config", "crypto", "notify", "ipn", "batch", "simulator", "capture"):
        cli(group, "--help")


@pytest.fixture
def ipn_paypal() -> Iterator[str]:
    """A loopback stand-in for PayPal's postback endpoint: answers VERIFIED."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"VERIFIED")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/cgi-bin/webscr"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["people", "json"])
def test_simulator_serve_prints_no_key(json_flag: list[str]) -> None:
    """``axepta simulator serve`` with the keys of two merchants in the environment (never on
    the command line: issue 11 item 10) (a subprocess, bounded: SIGTERM after its first line)."""
    env = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1", "AXEPTA_CONFIG": "/nonexistent/axepta.toml",
           "AXEPTA_SIMULATOR_MERCHANTS": f"OTHER_t:{BLOWFISH[::-1]}:{HMAC[::-1]}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "axepta", *json_flag, "simulator", "serve", "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "127.0.0.1" in first
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    for text in (first + out, err):
        assert_no_secret(text, "the output of axepta simulator serve")
        assert BLOWFISH[::-1] not in text and HMAC[::-1] not in text


def test_simulator_serve_refuses_a_bad_merchant_without_echoing_its_keys(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(self: object) -> None:  # bounded: a spec that is accepted must not serve forever
        raise AssertionError("the simulator started with a bad --merchant")

    monkeypatch.setattr("axepta.cli.simulator.SimulatorServer.serve_forever", never)
    for spec in (f"BAD_t:abc:{HMAC}", f"BAD_t:{BLOWFISH * 4}:{HMAC}", f"BAD_t:{BLOWFISH}", f"BAD_t::{HMAC}",
                 f"GOOD_t:{BLOWFISH}:{HMAC}"):
        result = cli("simulator", "serve", "--port", "0", "--merchant", spec)  # keys in argv: always refused
        assert result.exit_code == 2, result.output
        for stream in (result.stdout, result.stderr):
            assert HMAC not in stream and BLOWFISH not in stream and ":abc:" not in stream
        if spec.startswith("GOOD"):
            continue
        monkeypatch.setenv("AXEPTA_SIMULATOR_MERCHANTS", spec)
        result = cli("simulator", "serve", "--port", "0")
        assert result.exit_code == 3, result.output
        for stream in (result.stdout, result.stderr):
            assert HMAC not in stream and BLOWFISH not in stream and ":abc:" not in stream
