"""Whole PayPal flows through the ``axepta`` command line against the simulator's in-process
transport (the CLI's HTTP seam, ``axepta.cli._common.make_http_client``, is pointed at it)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from axepta.cli import _common, app
from axepta.credentials import Credentials
from axepta.simulator import Simulator
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_cli.conftest import LONG_HEX, env

SHOP = ["--url-success", "https://shop.example/ok", "--url-failure", "https://shop.example/ko", "--url-notify", "https://shop.example/notify"]


@pytest.fixture
def sim(creds: Credentials, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    notified: list[httpx.Request] = []

    def shop(request: httpx.Request) -> httpx.Response:
        notified.append(request)
        return httpx.Response(200)

    with Simulator(creds, time_factor=1e-7, notify_transport=httpx.MockTransport(shop), seed=11, pending_timeout_minutes=1e9) as simulator:
        monkeypatch.setattr(
            _common,
            "make_http_client",
            lambda: httpx.Client(transport=simulator.transport(), follow_redirects=False),
        )
        monkeypatch.setattr("axepta.client.time.sleep", lambda seconds: None)
        yield simulator


def axepta(runner: CliRunner, *args: str, **overrides: str) -> dict[str, Any]:
    """Run ``axepta --json ARGS --yes`` and return its JSON object (exit code in ``_exit``)."""
    res = runner.invoke(app, ["--json", *args], env=env(**overrides))
    assert_no_secrets(res)
    data: dict[str, Any] = json.loads(res.stdout)
    data["_exit"] = res.exit_code
    data["_stderr"] = res.stderr
    return data


def assert_no_secrets(res: Result) -> None:
    for stream in (res.stdout, res.stderr):
        assert DEMO_BLOWFISH not in stream and DEMO_HMAC not in stream
        assert LONG_HEX.search(stream) is None


def order(runner: CliRunner, trans_id: str, amount: str, *extra: str, base_url: str = "") -> dict[str, Any]:
    out = axepta(
        runner, "order", "--trans-id", trans_id, "--amount", amount, "--currency", "EUR", "--order-desc", "Books",
        *SHOP, *extra, "--yes", AXEPTA_BASE_URL=base_url,
    )  # fmt: skip
    assert out["_exit"] == 0, out
    return out


def test_sale_refund_and_over_refund(runner: CliRunner, sim: Simulator) -> None:
    out = order(runner, "SALE-1", "30.00", base_url="http://127.0.0.1:8765/")
    pay_id = out["result"]["pay_id"]
    assert out["result"]["order_id"] and len(out["req_id"]) == 32
    # the printed cbPayPal URL is what the Smart Button's onApprove opens: it approves the order
    approve = out["result"]["approve_url"]
    assert approve.startswith("http://127.0.0.1:8765/cbPayPal.aspx?rd=")
    with httpx.Client(transport=sim.transport()) as browser:
        assert browser.get(approve).status_code == 302
    assert sim.payment(pay_id).captured == 3000
    tid = sim.payment(pay_id).captures[0].tid
    out = axepta(runner, "refund", pay_id, "--trans-id", "SALE-1", "--amount", "10", "--currency", "EUR", "--tid", tid, "--yes")
    assert out["_exit"] == 0 and out["result"]["status"] == "OK"
    assert sim.payment(pay_id).refunded == 1000
    out = axepta(runner, "credit", pay_id, "--trans-id", "SALE-1", "--amount", "25", "--currency", "EUR", "--yes")
    assert out["_exit"] == 1
    assert out["error"]["type"] == "GatewayError" and out["error"]["code"].startswith("2")
    assert out["error"]["req_id"] and "explanation" in out["error"]
    assert sim.payment(pay_id).refunded == 1000


def test_auth_partial_captures_replay_and_refused_reverse(runner: CliRunner, sim: Simulator) -> None:
    pay_id = order(runner, "AUTH-1", "100.00", "--capture", "Manual", "--tx-type", "Auth")["result"]["pay_id"]
    sim.approve(pay_id)
    out = axepta(runner, "capture", pay_id, "--trans-id", "AUTH-1", "--amount", "40", "--currency", "EUR", "--req-id", "CAP1", "--yes")
    assert out["_exit"] == 0 and out["req_id"] == "CAP1" and out["result"]["tid"]
    # the same ReqId again: the platform answers the first outcome and does not capture twice
    again = axepta(runner, "capture", pay_id, "--trans-id", "AUTH-1", "--amount", "40", "--currency", "EUR", "--req-id", "CAP1", "--yes")
    assert again["_exit"] == 0 and again["result"]["xid"] == out["result"]["xid"]
    assert sim.payment(pay_id).captured == 4000
    # a reversal after a capture is refused by the platform (capture active): exit 1, explained
    out = axepta(runner, "reverse", pay_id, "--trans-id", "AUTH-1", "--amount", "60", "--currency", "EUR", "--yes")
    assert out["_exit"] == 1 and out["error"]["code"] == "21500065"
    assert out["error"]["explanation"].endswith("capture active")


def test_reverse_an_open_authorisation(runner: CliRunner, sim: Simulator) -> None:
    pay_id = order(runner, "REV-1", "60.00", "--capture", "Manual", "--tx-type", "Auth")["result"]["pay_id"]
    sim.approve(pay_id)
    out = axepta(runner, "reverse", pay_id, "--trans-id", "REV-1", "--amount", "60", "--currency", "EUR", "--yes")
    assert out["_exit"] == 0, out
    assert out["result"]["status"] == "OK" and len(out["req_id"]) == 32


def test_order_then_authorize_then_capture_complete(runner: CliRunner, sim: Simulator) -> None:
    pay_id = order(runner, "ORD-1", "50.00", "--capture", "Manual", "--tx-type", "Order")["result"]["pay_id"]
    sim.approve(pay_id)
    out = axepta(runner, "authorize", pay_id, "--trans-id", "ORD-1", "--amount", "50", "--currency", "EUR", "--yes")
    assert out["_exit"] == 0 and out["req_id"] is None
    out = axepta(runner, "capture", pay_id, "--trans-id", "ORD-1", "--amount-minor", "5000", "--currency", "EUR", "--complete", "--yes")
    assert out["_exit"] == 0
    assert sim.payment(pay_id).captured == 5000


def test_shortcut_complete(runner: CliRunner, sim: Simulator) -> None:
    pay_id = order(runner, "SC-1", "20.00", "--paypal-method", "shortcut")["result"]["pay_id"]
    sim.approve(pay_id)
    out = axepta(
        runner, "complete", pay_id, "--trans-id", "SC-1", "--amount", "20", "--currency", "EUR",
        "--first-name", "Ada", "--last-name", "Lovelace", "--addr-street", "1 Rue de la Paix",
        "--addr-city", "Paris", "--addr-zip", "75002", "--addr-country-code", "FR", "--yes",
    )  # fmt: skip
    assert out["_exit"] == 0, out
    assert out["result"]["status"] == "OK"


def test_billing_agreement_and_reference_transaction(runner: CliRunner, sim: Simulator) -> None:
    out = order(runner, "BA-1", "1.00", "--tx-type", "BAID", "--ref-nr", "9001")
    assert out["result"]["approval_url"]
    sim.approve(out["result"]["pay_id"])
    agreement = sim.payment(out["result"]["pay_id"]).billing_agreement_id
    assert agreement
    out = axepta(runner, "reftrans", "--billing-agreement", agreement, "--trans-id", "BA-1-1", "--amount", "9.99", "--currency", "EUR", "--order-desc", "Monthly", "--yes")
    assert out["_exit"] == 0, out
    assert out["result"]["pay_id"] and out["req_id"] is None


def test_credit_without_reference(runner: CliRunner, sim: Simulator) -> None:
    out = axepta(runner, "credit-ex", "--trans-id", "PAYOUT-1", "--payer-id", "PAYERID12345", "--amount", "5", "--currency", "EUR", "--yes")
    assert out["_exit"] == 0, out
    assert out["result"]["pay_id"]


def test_huf_is_sent_without_decimals(runner: CliRunner, sim: Simulator) -> None:
    out = axepta(runner, "order", "--trans-id", "HUF-1", "--amount", "1500", "--currency", "HUF", "--order-desc", "x", *SHOP, "--dry-run")
    assert out["fields"]["Amount"] == "1500"
    out = order(runner, "HUF-2", "1500", "--currency", "HUF")
    assert sim.payment(out["result"]["pay_id"]).amount == 1500


def test_unknown_pay_id(runner: CliRunner, sim: Simulator) -> None:
    out = axepta(runner, "capture", "0" * 32, "--trans-id", "X", "--amount", "1", "--currency", "EUR", "--yes")
    assert out["_exit"] == 1
    assert out["error"]["code"] == "21500061" and "unknown PayID" in out["error"]["advice"]


def test_wrong_hmac_key_is_a_configuration_error(runner: CliRunner, sim: Simulator) -> None:
    out = axepta(runner, "capture", "0" * 32, "--trans-id", "X", "--amount", "1", "--currency", "EUR", "--yes", AXEPTA_HMAC_KEY="another-hmac-key-0123456789abcdef")
    assert out["_exit"] == 3
    assert out["error"]["code"] == "20120044"
    assert "check the HMAC key and the merchant ID" in out["error"]["advice"]


def test_lost_reply_then_retry_with_the_printed_command(runner: CliRunner, sim: Simulator) -> None:
    pay_id = order(runner, "LOST-1", "80.00", "--capture", "Manual", "--tx-type", "Auth")["result"]["pay_id"]
    sim.approve(pay_id)
    sim.faults.drop_connection(path="capture", after_acting=True)
    res = runner.invoke(app, ["capture", pay_id, "--trans-id", "LOST-1", "--amount", "80", "--currency", "EUR", "--yes"], env=env())
    assert res.exit_code == 4
    assert sim.payment(pay_id).captured == 8000  # the platform acted; the CLI cannot know
    command = next(ln for ln in res.stderr.splitlines() if "retry with:" in ln).split("retry with:", 1)[1]
    argv = shlex.split(command)
    assert argv[0] == "axepta" and "--req-id" in argv
    res = runner.invoke(app, argv[1:], env=env())
    assert res.exit_code == 0, res.output
    assert sim.payment(pay_id).captured == 8000  # replayed, not captured twice
    assert sim.stats()["replays"] == 1


def test_config_check_online_against_the_simulator(runner: CliRunner, sim: Simulator) -> None:
    out = axepta(runner, "config", "check", "--online")
    assert out["_exit"] == 0, out
    assert out["online"]["verdict"] == "ok" and out["online"]["reply_decrypted"] is True
    assert out["online"]["code"].endswith("0001")  # PayID missing: authenticated, nothing done
    assert sim.payments() == []
    out = axepta(runner, "config", "check", "--online", AXEPTA_HMAC_KEY="another-hmac-key-0123456789abcdef")
    assert out["_exit"] == 3 and out["online"]["code"] == "20120044"
    out = axepta(runner, "config", "check", "--online", AXEPTA_BLOWFISH_KEY="another-key-1234")
    assert out["_exit"] == 3 and "Blowfish key" in out["online"]["meaning"]


def test_unknown_merchant(runner: CliRunner, sim: Simulator) -> None:
    out = axepta(runner, "capture", "0" * 32, "--trans-id", "X", "--amount", "1", "--currency", "EUR", "--yes", AXEPTA_MERCHANT_ID="OTHER_t")
    assert out["_exit"] in (1, 3)
    assert out["error"]["code"][4:] == "0003"  # MerchantID
    assert DEMO_MID not in out["_stderr"]
