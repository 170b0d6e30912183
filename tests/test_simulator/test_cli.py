"""``axepta demo`` (CliRunner) and ``axepta simulator serve`` (a subprocess with a bounded
lifetime, stopped by SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from axepta.cli import app
from axepta.cli.simulator import (
    MERCHANTS_ENV,
    load_merchants_file,
    merchants_from_env,
    parse_merchant,
)
from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.demo import EXPECTED_STEPS, DemoReport, DemoStep, run_demo
from axepta.errors import ConfigurationError
from axepta.simulator import Simulator
from axepta.simulator._codes import NOTHING_CAPTURED
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID

ROOT = Path(__file__).resolve().parents[2]
ENV = {"AXEPTA_MERCHANT_ID": DEMO_MID, "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC}
NO_ENV = {"AXEPTA_MERCHANT_ID": "", "AXEPTA_BLOWFISH_KEY": "", "AXEPTA_HMAC_KEY": "", "AXEPTA_PROFILE": ""}
OTHER = ("SHOP2_t", "other-blowfish16", "hmac:with:colons")


def test_demo_table_and_exit_0() -> None:
    res = CliRunner().invoke(app, ["demo"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    for words in ("paypalorders", "cbPayPal", "URLNotify", "Authorize", "capture", "credit", "reverse",
                  "paypalreftrans", "AUTHORIZE_REQUEST", "21500067", "Overcapture", "refunded on TID",
                  f"All {EXPECTED_STEPS} steps behaved as expected"):
        assert words in out, words
    assert out.count("✓") == EXPECTED_STEPS


def test_demo_json() -> None:
    res = CliRunner().invoke(app, ["--json", "demo"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["notifications"] == 3 and len(data["steps"]) == EXPECTED_STEPS
    assert data["steps"][11]["code"] == "21500067" and all(s["ok"] for s in data["steps"])


def test_demo_reports_a_misbehaving_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    from axepta.simulator import engine

    def refuse(self: Simulator, merchant: object, params: object) -> dict[str, str]:
        raise engine._Refusal(NOTHING_CAPTURED)

    monkeypatch.setattr(Simulator, "_op_credit", refuse)
    report = run_demo()
    assert not report.ok and len(report.steps) == 6 and report.error and "21500069" in report.error
    res = CliRunner().invoke(app, ["demo"])
    assert res.exit_code == 1
    assert "demo failed" in res.stderr and "21500069" in res.stderr


def test_demo_exit_1_when_a_step_is_not_as_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = DemoReport("M", (DemoStep(1, "t", "capture", None, "OK", "00000000", "wrong", False),), expected_steps=1)
    monkeypatch.setattr("axepta.cli.demo.run_demo", lambda on_step=None: bad)
    res = CliRunner().invoke(app, ["demo"])
    assert res.exit_code == 1 and "steps not as expected: [1]" in res.stderr


def test_parse_merchant() -> None:
    creds = parse_merchant(":".join(OTHER))
    assert creds.merchant_id == "SHOP2_t" and creds.hmac_key.get_secret_value() == "hmac:with:colons"
    for bad in ("ONLY_MID", "MID::HMAC", "MID:abc:HMAC"):
        with pytest.raises(ConfigurationError) as exc:
            parse_merchant(bad)
        assert "abc" not in str(exc.value) and "HMAC" not in str(exc.value).replace("MID:BLOWFISH:HMAC", "")
    env = {MERCHANTS_ENV: f"# extra merchants\n{':'.join(OTHER)}\n\n  THIRD_t:third-blowfish-k:h3  \n"}
    assert [m.merchant_id for m in merchants_from_env(env)] == ["SHOP2_t", "THIRD_t"]
    with pytest.raises(ConfigurationError, match=f"{MERCHANTS_ENV} line 2: expected MID:BLOWFISH:HMAC"):
        merchants_from_env({MERCHANTS_ENV: f"{':'.join(OTHER)}\nBROKEN"})


def merchants_toml(path: Path, *entries: dict[str, object]) -> Path:
    lines = []
    for entry in entries:
        lines.append("[[merchant]]")
        lines.extend(f"{k} = {json.dumps(v)}" for k, v in entry.items())
    path.write_text("\n".join(lines) + "\n", "utf-8")
    path.chmod(0o600)
    return path


OTHER_ENTRY = {"merchant_id": OTHER[0], "blowfish_key": OTHER[1], "hmac_key": OTHER[2], "charset": "utf-8"}


def test_load_merchants_file(tmp_path: Path) -> None:
    [creds] = load_merchants_file(merchants_toml(tmp_path / "m.toml", OTHER_ENTRY))
    assert creds.merchant_id == "SHOP2_t" and creds.charset == "utf-8"
    cases = [
        ({**OTHER_ENTRY, "hmac_key": ["a", "b"]}, "merchant 1: hmac_key must be a non-empty string"),
        ({**OTHER_ENTRY, "blowfish_key": 12345678}, "merchant 1: blowfish_key must be a non-empty string"),
        ({**OTHER_ENTRY, "blowfish_key": "abc"}, "merchant 1: "),
        ({**OTHER_ENTRY, "port": 1}, "merchant 1: unknown keys port"),
    ]
    for entry, message in cases:
        with pytest.raises(ConfigurationError, match=message) as exc:
            load_merchants_file(merchants_toml(tmp_path / "bad.toml", entry))
        assert OTHER[2] not in str(exc.value) and OTHER[1] not in str(exc.value)
    with pytest.raises(ConfigurationError, match="cannot read the merchants file"):
        load_merchants_file(tmp_path / "missing.toml")
    (tmp_path / "x.toml").write_text("merchant = [", "utf-8")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_merchants_file(tmp_path / "x.toml")
    (tmp_path / "y.toml").write_text("[profiles.a]\nx = 1\n", "utf-8")
    with pytest.raises(ConfigurationError, match=r"must hold \[\[merchant\]\] tables .*; unknown top-level keys: profiles"):
        load_merchants_file(tmp_path / "y.toml")


@contextmanager
def serving(*args: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``axepta simulator serve`` in a subprocess; yield it with its first output line."""
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "axepta", *args], cwd=ROOT, env=full_env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        yield proc, first
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # never hang the suite
            proc.kill()
            proc.wait(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The rest of both outputs once the process ended. (``communicate`` reads the pipes below
    the text buffer that ``readline`` already filled, and would lose the lines it holds.)"""
    proc.wait(timeout=10)
    assert proc.stdout is not None and proc.stderr is not None
    return proc.stdout.read(), proc.stderr.read()


def test_serve_answers_the_real_client_and_stops_on_sigterm(credentials: Credentials) -> None:
    with serving("simulator", "serve", "--port", "0", "--time-factor", "0.0001",
                 env={**ENV, MERCHANTS_ENV: ":".join(OTHER)}) as (proc, first):
        # no key in the process list: /proc/<pid>/cmdline is what ps shows to every user
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert all(secret not in cmdline for secret in (DEMO_BLOWFISH, DEMO_HMAC, OTHER[1], OTHER[2]))
        assert first.startswith("Axepta simulator listening on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1].strip()
        with AxeptaClient(credentials, base_url=url, browser_base_url=url, timeout=5) as client:
            created = client.create_paypal_order(
                trans_id="CLI-1", amount=2500, currency="EUR", order_desc="serve", capture="Manual", tx_type="Auth",
                url_success=url + "ok", url_failure=url + "ko", url_notify="http://127.0.0.1:9/notify",
            )
            assert created.order_id is not None
            approve = client.paypal_button_params(
                trans_id="x", amount=100, currency="EUR", order_desc="x",
                url_success=url + "ok", url_failure=url + "ko", url_notify=url + "n",
            ).approve_url(created.pay_id or "", created.order_id)
            with httpx.Client() as browser:
                landed = browser.get(approve)
            assert landed.status_code == 302 and landed.headers["Location"].startswith(url + "ok?Len=")
            assert client.capture(pay_id=created.pay_id or "", trans_id="CLI-1", amount=2500, currency="EUR").status == "OK"
        other = Credentials(*OTHER)
        with AxeptaClient(other, base_url=url, timeout=5) as client2:
            assert client2.credit_without_reference(trans_id="P", amount=100, currency="EUR", payer_id="X").status == "OK"
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc)
    assert proc.returncode == 0, err
    assert "merchants: BNP_DEMO_AXEPTA, SHOP2_t" in out and "simulator stopped" in out
    for secret in (DEMO_BLOWFISH, DEMO_HMAC, OTHER[1], OTHER[2]):
        assert secret not in out + err + first


def test_serve_json_and_merchant_only(credentials: Credentials, tmp_path: Path) -> None:
    path = merchants_toml(tmp_path / "merchants.toml", OTHER_ENTRY)
    with serving("--json", "simulator", "serve", "--port", "0", "--merchants-file", str(path), env=NO_ENV) as (proc, first):
        info = json.loads(first)
        assert info["merchants"] == ["SHOP2_t"] and info["url"].startswith("http://127.0.0.1:")
        with httpx.Client() as http:
            assert "SHOP2_t" in http.get(info["url"]).text
        proc.send_signal(signal.SIGTERM)
        out, _ = finish(proc)
    assert proc.returncode == 0 and "stopped" not in out


def test_serve_refusals() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["simulator", "serve", "--port", "0"], env=NO_ENV)
    assert res.exit_code == 3 and "AXEPTA_MERCHANT_ID" in res.stderr
    res = runner.invoke(app, ["simulator", "serve", "--merchant", "JUSTONE"], env=NO_ENV)
    assert res.exit_code == 2
    res = runner.invoke(app, ["simulator", "serve", "--merchant", ":".join(OTHER)], env=ENV)
    assert res.exit_code == 2 and "--merchants-file" in res.stderr and MERCHANTS_ENV in res.stderr
    assert "every user of the machine sees them (ps, /proc)" in res.stderr
    assert OTHER[1] not in res.output and OTHER[2] not in res.output
    res = runner.invoke(app, ["simulator", "serve", "--port", "0"], env={**NO_ENV, MERCHANTS_ENV: "SHOP2_t:ab3:hm"})
    assert res.exit_code == 3 and f"{MERCHANTS_ENV} line 1: merchant 'SHOP2_t'" in res.stderr
    assert "ab3" not in res.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        res = runner.invoke(app, ["simulator", "serve", "--port", str(port)], env=ENV)
    assert res.exit_code == 3 and f"cannot listen on 127.0.0.1:{port}" in res.stderr


def test_demo_shop_rejects_and_times_out(tmp_path: Path) -> None:
    from axepta.demo import _Shop
    from axepta.ledger import Ledger

    with Ledger(f"sqlite:///{tmp_path / 'books.db'}") as ledger:
        ledger.migrate()
        shop = _Shop(Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC), ledger)
        response = shop.handle(httpx.Request("POST", "https://shop.example/n", content=b"Len=8&Data=00"))
        assert response.status_code == 400 and len(shop.rejected) == 1 and shop.rejected[0].startswith("rejected: decrypt")
    with pytest.raises(TimeoutError, match="no OK notification"):
        shop.wait_for("a" * 32, "OK", timeout=0.01)


def test_demo_need_and_browser_errors(credentials: Credentials) -> None:
    from axepta.demo import _Journey, _need, _Shop

    assert _need("x", "PayID") == "x"
    with pytest.raises(RuntimeError, match="carries no PayID"):
        _need(None, "PayID")
    with Simulator(credentials) as sim, httpx.Client(transport=sim.transport()) as http, AxeptaClient(
        credentials, http_client=http
    ) as client:
        journey = _Journey(credentials, client, sim, _Shop(credentials, None), None, client)  # type: ignore[arg-type]
        with pytest.raises(RuntimeError, match="HTTP 404"):
            journey.browser("https://gw.example/nothing.aspx")


def test_demo_catches_a_platform_that_accepts_an_overcapture(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Simulator._op_capture

    def lenient(self: Simulator, merchant: object, params: object) -> dict[str, str]:
        self._payments[params["PayID"]].authorized = 10**9  # type: ignore[index]
        return original(self, merchant, params)  # type: ignore[arg-type]

    monkeypatch.setattr(Simulator, "_op_capture", lenient)
    report = run_demo()
    assert not report.ok and report.error is None and len(report.steps) == EXPECTED_STEPS
    # step 12 (the platform accepted it) and step 13 (the books see the platform captured too much)
    assert [s.number for s in report.steps if not s.ok] == [12, 13]
