"""``axepta notify decode``: argument or stdin, tables or one JSON object, exit 1 with the reason,
never a key, Data or MAC in any output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from axepta.cli import app
from axepta.crypto import encode_params
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_notify._support import (
    PAY_ID,
    TRANS_ID,
    body,
    encrypt,
    genuine_body,
    result_fields,
    with_mac,
)

ENV = {
    "AXEPTA_MERCHANT_ID": DEMO_MID,
    "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH,
    "AXEPTA_HMAC_KEY": DEMO_HMAC,
    "AXEPTA_PROFILE": "",
    "AXEPTA_CHARSET": "",
    "AXEPTA_ENVIRONMENT": "",
    "COLUMNS": "200",
}
LONG_HEX = re.compile(r"[0-9A-Fa-f]{48,}")


@pytest.fixture(autouse=True)
def _no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def clean(*outputs: str) -> None:
    for out in outputs:
        assert DEMO_BLOWFISH not in out and DEMO_HMAC not in out
        assert not LONG_HEX.search(out), "Data or a MAC was printed"


def test_decode_argument_as_a_table(runner: CliRunner) -> None:
    res = runner.invoke(app, ["notify", "decode", genuine_body().decode()], env=ENV)
    assert res.exit_code == 0, res.output
    assert "Notification (MAC verified)" in res.stdout and "completed" in res.stdout
    assert PAY_ID in res.stdout and TRANS_ID in res.stdout and "Bâtiment B" in res.stdout
    assert "1: COMPLETED 7TS45464Y1234567A" in res.stdout and "MerchantID" in res.stdout
    clean(res.stdout, res.stderr)


def test_decode_stdin_as_json(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "notify", "decode"], input=genuine_body() + b"\n", env=ENV)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["notification"]["succeeded"] is True
    assert data["notification"]["mc_gross"] == "12.34" and data["notification"]["raw"]["NewField"] == "kept"
    clean(res.stdout, res.stderr)


def test_not_successful_exits_1_with_the_reason(runner: CliRunner) -> None:
    failed = genuine_body(Status="FAILED", Code="22150053").decode()
    res = runner.invoke(app, ["notify", "decode", failed], env=ENV)
    assert res.exit_code == 1
    assert "failed" in res.stdout and "not a success: failed, Code 22150053" in res.stderr
    assert "Cancel by User" in res.stderr
    clean(res.stdout, res.stderr)
    res = runner.invoke(app, ["--json", "notify", "decode", failed], env=ENV)
    data = json.loads(res.stdout)
    assert res.exit_code == 1 and data["ok"] is False and data["exit_code"] == 1
    assert data["error"]["type"] == "GatewayError" and data["error"]["code"] == "22150053"
    assert data["notification"]["state"] == "failed"
    expired = runner.invoke(app, ["notify", "decode", genuine_body(Status="Timeout").decode()], env=ENV)
    assert expired.exit_code == 1 and "expired (Status Timeout)" in expired.stderr


def test_approved_is_exit_0(runner: CliRunner) -> None:
    res = runner.invoke(app, ["notify", "decode", genuine_body(Status="AUTHORIZE_REQUEST").decode()], env=ENV)
    assert res.exit_code == 0 and "approved" in res.stdout


def test_rejected_exits_1_with_the_reason(runner: CliRunner) -> None:
    tampered = genuine_body().replace(b"MerchantID=BNP_DEMO_AXEPTA", b"MerchantID=SOMEONE_ELSE").decode()
    res = runner.invoke(app, ["notify", "decode", tampered], env=ENV)
    assert res.exit_code == 1 and "another merchant ID" in res.stderr and res.stdout == ""
    res = runner.invoke(app, ["--json", "notify", "decode", tampered], env=ENV)
    data = json.loads(res.stdout)
    assert data["error"] == {
        "type": "NotificationError",
        "message": "the notification names another merchant ID ('SOMEONE_ELSE')",
        "reason": "merchant",
    }
    wrong_key = {**ENV, "AXEPTA_HMAC_KEY": "not-the-right-key"}
    res = runner.invoke(app, ["notify", "decode", genuine_body().decode()], env=wrong_key)
    assert res.exit_code == 1 and "MAC does not verify" in res.stderr
    clean(res.stdout, res.stderr)


def test_clear_results_need_allow_clear(runner: CliRunner) -> None:
    clear = encode_params(with_mac(result_fields()))
    res = runner.invoke(app, ["notify", "decode", clear], env=ENV)
    assert res.exit_code == 1 and "in clear are refused" in res.stderr
    res = runner.invoke(app, ["notify", "decode", "--allow-clear", clear], env=ENV)
    assert res.exit_code == 0 and "accepted in clear" in res.stdout


def test_missing_credentials_exit_3(runner: CliRunner) -> None:
    data, length = encrypt(encode_params(with_mac(result_fields())))
    res = runner.invoke(app, ["notify", "decode", body(data, length).decode()], env={**ENV, "AXEPTA_HMAC_KEY": ""})
    assert res.exit_code == 3 and "AXEPTA_HMAC_KEY" in res.stderr
