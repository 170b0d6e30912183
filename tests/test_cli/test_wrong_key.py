"""Issue 13 item 4: a reply or a notification that decrypts only to noise with the configured
key is a configuration error (exit 3) naming the Blowfish key, with no internal log line
("Len cut …") on stderr."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx
from typer.testing import CliRunner

from axepta.cli import app
from axepta.credentials import Credentials
from axepta.crypto import encode_params
from tests.conftest import DEMO_MID
from tests.test_cli.conftest import BASE, PAY_ID, decrypt_form, env
from tests.test_notify._support import body, encrypt, result_fields, with_mac

OTHER_KEY = "0ther-Blowfish-k"
CAPTURE = ["capture", PAY_ID, "--trans-id", "TX-1", "--amount", "12.34", "--currency", "EUR", "--yes"]


@pytest.fixture(autouse=True)
def _unconfigured_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in a fresh process: no handler anywhere, so a library warning would reach stderr."""
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr("axepta.client.time.sleep", lambda seconds: None)


def _reply_with_other_key(creds: Credentials, request: httpx.Request) -> httpx.Response:
    sent = decrypt_form(creds, request.content)
    other = Credentials(DEMO_MID, OTHER_KEY, "h" * 32)
    plain = encode_params({"mid": DEMO_MID, "PayID": PAY_ID, "TransID": sent["TransID"], "Status": "OK", "Code": "00000000"})
    enc = other.codec.encrypt(plain)
    # a Len shorter than the text: the decoder would cut "characters that do not look like padding"
    return httpx.Response(200, text=f"Len={enc.length - 5}&Data={enc.data}")


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_payment_reply_in_noise_exit_3_names_the_blowfish_key(
    creds: Credentials, json_flag: list[str], capfd: pytest.CaptureFixture[str]
) -> None:
    with respx.mock(assert_all_mocked=True) as mock:
        mock.post(BASE + "capture.aspx").mock(side_effect=lambda r: _reply_with_other_key(creds, r))
        res = CliRunner().invoke(app, [*json_flag, *CAPTURE], env=env())
    assert res.exit_code == 3, res.output
    err = " ".join(res.stderr.split())
    assert "Blowfish key" in err and "AXEPTA_BLOWFISH_KEY" in err
    assert "Len cut" not in res.output and "Len cut" not in capfd.readouterr().err
    assert "retry" not in err.lower() or "ReqId" in err
    if json_flag:
        data = json.loads(res.stdout)
        assert data["ok"] is False and data["exit_code"] == 3


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_notification_in_noise_exit_3_names_the_blowfish_key(json_flag: list[str], capfd: pytest.CaptureFixture[str]) -> None:
    data, length = encrypt(encode_params(with_mac(result_fields())), key=OTHER_KEY)
    payload = body(data, length - 5).decode()
    res = CliRunner().invoke(app, [*json_flag, "notify", "decode", payload], env=env())
    assert res.exit_code == 3, res.output
    err = " ".join(res.stderr.split())
    assert "Blowfish key" in err and "AXEPTA_BLOWFISH_KEY" in err
    assert "Len cut" not in res.output and "Len cut" not in capfd.readouterr().err
