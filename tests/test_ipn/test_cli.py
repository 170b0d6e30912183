"""``axepta ipn parse`` and ``axepta ipn verify`` (exit 0 verified, 1 invalid, 4 unverified)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from axepta.cli import app
from tests.test_ipn.conftest import FIXTURES, FakePayPal, fixture

ENV = {"COLUMNS": "200"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_parse_file_as_a_table(runner: CliRunner) -> None:
    res = runner.invoke(app, ["ipn", "parse", str(FIXTURES / "masspay_three_records.txt")], env=ENV)
    assert res.exit_code == 0, res.output
    assert "IPN masspay" in res.stdout and "Processed" in res.stdout
    assert "mass payment 3" in res.stdout and "carol@example.com 7.25 EUR Failed unique_id=PAYOUT0003" in res.stdout
    assert "mass payment 5" in res.stdout and "not 1..n" in res.stdout


def test_parse_stdin_as_json(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "ipn", "parse"], input=fixture("windows1252_names.txt") + b"\n", env=ENV)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["first_name"] == "René" and data["items"][0]["item_name"] == "Café crème — 5 € offerts"
    assert data["environment"] == "production" and data["charset"] == "cp1252"


def test_parse_content_type_and_warnings(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "ipn.txt"
    path.write_bytes(b"first_name=Ren%C3%A9&mc_gross=1%2C00&fraud_management_pending_filters_1=Max")
    res = runner.invoke(app, ["ipn", "parse", str(path), "--content-type", "application/x-www-form-urlencoded; charset=utf-8"], env=ENV)
    assert res.exit_code == 0 and "René" in res.stdout and "mc_gross is not a decimal amount" in res.stdout
    assert "fraud_management_pending_filters" in res.stdout


def test_parse_cart_items(runner: CliRunner) -> None:
    res = runner.invoke(app, ["ipn", "parse", str(FIXTURES / "windows1252_names.txt")], env=ENV)
    assert "item 2" in res.stdout and "Œuvre #OEU-2 x1 30.00" in res.stdout


def test_parse_errors(runner: CliRunner, tmp_path: Path) -> None:
    assert runner.invoke(app, ["ipn", "parse", str(tmp_path / "missing.txt")], env=ENV).exit_code == 2
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"\n")
    res = runner.invoke(app, ["ipn", "parse", str(empty)], env=ENV)
    assert res.exit_code == 1 and "empty" in res.stderr


def test_verify_outcomes_and_exit_codes(runner: CliRunner, fake_paypal: FakePayPal) -> None:
    path = str(FIXTURES / "utf8_names.txt")
    ok = runner.invoke(app, ["ipn", "verify", path, "--verify-url", fake_paypal.url("/verified")], env=ENV)
    assert ok.exit_code == 0 and "verified" in ok.stdout
    assert fake_paypal.received[-1].body == b"cmd=_notify-validate&" + fixture("utf8_names.txt")
    invalid = runner.invoke(app, ["ipn", "verify", path, "--verify-url", fake_paypal.url("/invalid")], env=ENV)
    assert invalid.exit_code == 1 and "INVALID" in invalid.stderr
    error = runner.invoke(app, ["--json", "ipn", "verify", path, "--verify-url", fake_paypal.url("/error")], env=ENV)
    assert error.exit_code == 4
    assert json.loads(error.stdout)["error"]["type"] == "TransportError" and "HTTP 500" in error.stderr
    slow = runner.invoke(app, ["ipn", "verify", path, "--verify-url", fake_paypal.url("/slow"), "--timeout", "0.3"], env=ENV)
    assert slow.exit_code == 4 and "timeout" in slow.stderr


def test_verify_json_from_stdin(runner: CliRunner, fake_paypal: FakePayPal) -> None:
    res = runner.invoke(app, ["--json", "ipn", "verify", "--verify-url", fake_paypal.url("/verified")],
                        input=fixture("fmf_denied.txt") + b"\r\n", env=ENV)
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["outcome"] == "verified" and data["status_code"] == 200
    assert fake_paypal.received[-1].body.endswith(b"notify_version=2.4")  # the newline was dropped


def test_verify_refuses_plain_http_elsewhere(runner: CliRunner) -> None:
    res = runner.invoke(app, ["ipn", "verify", str(FIXTURES / "fmf_denied.txt"), "--verify-url", "http://paypal.example/"], env=ENV)
    assert res.exit_code == 3 and "must use https" in res.stderr
