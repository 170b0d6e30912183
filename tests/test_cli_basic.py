"""CLI commands of the foundation: codes explain, crypto encrypt|decrypt|mac."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from axepta.cli import app
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID

ENV = {"AXEPTA_MERCHANT_ID": DEMO_MID, "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_codes_explain_json(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "codes", "explain", "21500061"])
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["detail_text"] == "Not found" and "unknown PayID" in data["advice"]


def test_codes_explain_bad_code_is_usage_error(runner: CliRunner) -> None:
    res = runner.invoke(app, ["codes", "explain", "12"])
    assert res.exit_code == 2


def test_crypto_round_trip_and_mac(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "crypto", "encrypt", "MerchantID=BNP_DEMO_AXE"], env=ENV)
    assert res.exit_code == 0, res.output
    enc = json.loads(res.stdout)
    assert enc == {"ok": True, "len": 23, "data": "43AD07F58FF6A5F9EBBDD42E361D2C853E81F81B65DF010C"}
    res = runner.invoke(app, ["--json", "crypto", "decrypt", enc["data"], "--len", "23"], env=ENV)
    assert json.loads(res.stdout)["fields"] == {"MerchantID": "BNP_DEMO_AXE"}
    res = runner.invoke(app, ["--json", "crypto", "mac", "", "TX-2024-0001", DEMO_MID, "1234", "EUR"], env=ENV)
    assert json.loads(res.stdout)["mac"] == "D8D23D6CC2543857BD1E1546BECECC92B37A67E494CD111880E1FA20AA387D7A"
    for out in (res.stdout, res.stderr):
        assert DEMO_BLOWFISH not in out and DEMO_HMAC not in out


def test_crypto_decrypt_bad_data_exit_1_json_error(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "crypto", "decrypt", "ABC"], env=ENV)
    assert res.exit_code == 1
    assert json.loads(res.stdout)["error"]["type"] == "CryptoError"
    assert "odd number" in res.stderr


def test_missing_credentials_exit_3(runner: CliRunner) -> None:
    res = runner.invoke(app, ["crypto", "encrypt", "A=1"], env={"AXEPTA_MERCHANT_ID": "", "AXEPTA_BLOWFISH_KEY": "", "AXEPTA_HMAC_KEY": ""})
    assert res.exit_code == 3
    assert "AXEPTA_MERCHANT_ID (empty), AXEPTA_BLOWFISH_KEY (empty) and AXEPTA_HMAC_KEY (empty)" in " ".join(res.stderr.split())


def test_profile_credentials(runner: CliRunner, tmp_path: object) -> None:
    from pathlib import Path

    cfg = Path(str(tmp_path)) / "config.toml"
    cfg.write_text(
        f'[profiles.demo]\nmerchant_id = "{DEMO_MID}"\nblowfish_key = "{DEMO_BLOWFISH}"\nhmac_key = "{DEMO_HMAC}"\nenvironment = "test"\n'
    )
    res = runner.invoke(app, ["--profile", "demo", "--json", "crypto", "encrypt", "Merchan"], env={"AXEPTA_CONFIG": str(cfg)})
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["data"] == "1C50A22B76019F72"
    res = runner.invoke(app, ["--profile", "nope", "crypto", "encrypt", "A"], env={"AXEPTA_CONFIG": str(cfg)})
    assert res.exit_code == 3 and "profile 'nope' is not in" in res.stderr


def test_python_m_axepta_version() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "axepta", "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.startswith("axepta ")
