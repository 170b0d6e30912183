"""``axepta inquire`` (PROTOCOL.md §4.15) against the simulator's in-process transport: found,
after a partial capture and refund, after a refused credit, not found, unavailable; the JSON
shape of CONTRACT.md, exit 0 for every answer, dry runs, bad input and failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner, Result

from axepta import AxeptaClient, Credentials, GatewayError
from axepta.cli import _common, app
from axepta.simulator import Simulator
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC
from tests.test_cli.conftest import BASE, assert_clean, env

#: a production merchant (where "not found" is an answer; on a test MID it is "unavailable")
LIVE = Credentials("SHOP_LIVE", DEMO_BLOWFISH, DEMO_HMAC)
LIVE_ENV = {"AXEPTA_MERCHANT_ID": LIVE.merchant_id}
URLS = {"url_success": "https://shop.example/ok", "url_failure": "https://shop.example/ko", "url_notify": "https://shop.example/notify"}
CONTRACT_KEYS = ["ok", "found", "available", "state", "amount_authorized", "amount_captured", "amount_refunded", "currency", "last_status"]


@pytest.fixture
def sim(creds: Credentials, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    with Simulator([creds, LIVE], seed=3, notify_transport=httpx.MockTransport(lambda r: httpx.Response(200)), pending_timeout_minutes=1e9) as simulator:
        monkeypatch.setattr(_common, "make_http_client", lambda: httpx.Client(transport=simulator.transport(), follow_redirects=False))
        yield simulator


def paid(sim: Simulator, merchant: Credentials, trans_id: str, *, refused_credit: bool = False) -> str:
    """A payment of 30.00 EUR, 10.00 captured, 4.00 refunded (and a refused credit of 50.00)."""
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(merchant, http_client=http) as client:
        order = client.create_paypal_order(trans_id=trans_id, amount=3000, currency="EUR", order_desc="Books", capture="Manual", tx_type="Auth", **URLS)
        assert order.pay_id is not None
        sim.approve(order.pay_id)
        client.capture(pay_id=order.pay_id, trans_id=trans_id, amount=1000, currency="EUR")
        client.credit(pay_id=order.pay_id, trans_id=trans_id, amount=400, currency="EUR")
        if refused_credit:
            with pytest.raises(GatewayError):
                client.credit(pay_id=order.pay_id, trans_id=trans_id, amount=5000, currency="EUR")
        return order.pay_id


def run(runner: CliRunner, *args: str, **overrides: str) -> Result:
    result = runner.invoke(app, list(args), env=env(**overrides))
    assert_clean(result)
    return result


def as_json(result: Result) -> dict[str, Any]:
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # exactly one JSON object
    data: dict[str, Any] = json.loads(lines[0])
    return data


def test_found_after_partial_capture_and_refund_json(runner: CliRunner, sim: Simulator, creds: Credentials) -> None:
    pay_id = paid(sim, creds, "CLI-1")
    result = run(runner, "--json", "inquire", "--trans-id", "CLI-1", "--pay-id", pay_id)
    assert result.exit_code == 0, result.output
    data = as_json(result)
    assert list(data)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert {k: data[k] for k in CONTRACT_KEYS} == {
        "ok": True, "found": True, "available": True, "state": "refunded", "amount_authorized": 3000,
        "amount_captured": 1000, "amount_refunded": 400, "currency": "EUR", "last_status": "OK",
    }  # fmt: skip
    assert data["operation"] == "inquire" and data["pay_id"] == pay_id and data["url"] == BASE + "inquire.aspx"
    assert sim.stats()["requests:inquire"] == 1


def test_found_by_trans_id_alone_uses_inquire24(runner: CliRunner, sim: Simulator, creds: Credentials) -> None:
    pay_id = paid(sim, creds, "CLI-2")
    data = as_json(run(runner, "--json", "inquire", "--trans-id", "CLI-2"))
    assert (data["operation"], data["pay_id"], data["state"]) == ("inquire24", pay_id, "refunded")
    assert sim.stats()["requests:inquire24"] == 1


def test_found_for_people(runner: CliRunner, sim: Simulator, creds: Credentials) -> None:
    pay_id = paid(sim, creds, "CLI-3", refused_credit=True)
    result = run(runner, "inquire", "--trans-id", "CLI-3", "--pay-id", pay_id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "inquire (by PayID): found" in out
    for line in ("refunded (partly)", "30.00 EUR (3000)", "10.00 EUR (1000)", "4.00 EUR (400)", "FAILED", pay_id):
        assert line in out
    assert "LastStatus names the last step only" in out  # the refused credit does not decide (D-INQ-3)
    assert f"sending inquire (by PayID) to {BASE}inquire.aspx" in result.stderr


def test_after_a_refused_credit_json(runner: CliRunner, sim: Simulator, creds: Credentials) -> None:
    pay_id = paid(sim, creds, "CLI-4", refused_credit=True)
    data = as_json(run(runner, "--json", "inquire", "--trans-id", "CLI-4", "--pay-id", pay_id))
    assert (data["state"], data["amount_captured"], data["amount_refunded"], data["last_status"]) == ("refunded", 1000, 400, "FAILED")


def test_not_found_exits_0(runner: CliRunner, sim: Simulator) -> None:
    result = run(runner, "--json", "inquire", "--trans-id", "NOPE", **LIVE_ENV)
    assert result.exit_code == 0, result.output
    data = as_json(result)
    assert {k: data[k] for k in CONTRACT_KEYS} == {
        "ok": True, "found": False, "available": True, "state": None, "amount_authorized": None,
        "amount_captured": None, "amount_refunded": None, "currency": None, "last_status": None,
    }  # fmt: skip
    assert (data["code"], data["not_found_rule"]) == ("21500061", "code")
    people = run(runner, "inquire", "--trans-id", "NOPE", "--pay-id", "0" * 32, **LIVE_ENV)
    assert people.exit_code == 0 and "inquire (by PayID): not found" in people.stdout
    assert "This alone cancels nothing" in people.stdout


def test_unavailable_on_a_test_merchant_exits_0(runner: CliRunner, sim: Simulator, creds: Credentials) -> None:
    pay_id = paid(sim, creds, "CLI-5")
    sim.set_inquiry_available(creds.merchant_id, False)
    result = run(runner, "--json", "inquire", "--trans-id", "CLI-5", "--pay-id", pay_id)  # BNP_DEMO_AXEPTA: a test MID
    assert result.exit_code == 0, result.output
    data = as_json(result)
    assert (data["ok"], data["found"], data["available"], data["state"], data["code"]) == (True, False, False, None, "20500081")
    people = run(runner, "inquire", "--trans-id", "CLI-5")
    assert people.exit_code == 0 and "unavailable" in people.stdout and "D-INQ-7" in people.stdout
    # on a test merchant even an unknown payment is "unavailable", never "not found"
    sim.set_inquiry_available(creds.merchant_id, True)
    assert as_json(run(runner, "--json", "inquire", "--trans-id", "UNKNOWN"))["available"] is False


def test_a_failed_inquiry_on_a_production_merchant_exits_1(runner: CliRunner, sim: Simulator) -> None:
    sim.set_inquiry_available(LIVE.merchant_id, False)
    result = run(runner, "--json", "inquire", "--trans-id", "X-1", **LIVE_ENV)
    assert result.exit_code == 1
    data = as_json(result)
    assert data["ok"] is False and data["error"]["code"] == "20500081" and data["error"]["type"] == "GatewayError"


def test_dry_run_sends_nothing(runner: CliRunner, sim: Simulator) -> None:
    result = run(runner, "--json", "inquire", "--trans-id", "CLI-6", "--pay-id", "a" * 32, "--dry-run")
    assert result.exit_code == 0, result.output
    data = as_json(result)
    assert (data["dry_run"], data["sent"], data["req_id"], data["money_moving"]) == (True, False, None, False)
    assert data["fields"] == {"MerchantID": "BNP_DEMO_AXEPTA", "PayID": "a" * 32, "TransID": "CLI-6", "MAC": "<redacted>"}
    assert data["form"]["Data"] == "<redacted>"
    people = run(runner, "inquire", "--trans-id", "CLI-6", "--dry-run")
    assert people.exit_code == 0 and "inquire24.aspx" in people.stdout and "Dry run: nothing sent" in people.stdout
    assert sim.stats().get("requests", 0) == 0


@pytest.mark.parametrize(
    ("args", "field"),
    [(["--trans-id", "T", "--pay-id", "short"], "PayID"), (["--trans-id", "x" * 65], "TransID")],
)
def test_bad_input_exits_2_and_sends_nothing(runner: CliRunner, sim: Simulator, args: list[str], field: str) -> None:
    result = run(runner, "--json", "inquire", *args)
    assert result.exit_code == 2
    assert as_json(result)["error"]["field"] == field
    assert sim.stats().get("requests", 0) == 0


def test_currency_check(runner: CliRunner, sim: Simulator, creds: Credentials) -> None:
    pay_id = paid(sim, creds, "CLI-7")
    assert run(runner, "--json", "inquire", "--trans-id", "CLI-7", "--pay-id", pay_id, "--currency", "EUR").exit_code == 0
    result = run(runner, "--json", "inquire", "--trans-id", "CLI-7", "--pay-id", pay_id, "--currency", "USD")
    assert result.exit_code == 1 and as_json(result)["error"]["type"] == "ProtocolError"


def test_network_failure_exits_4_after_three_attempts(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("axepta.client.time.sleep", lambda seconds: None)
    with respx.mock(base_url=BASE) as mock:
        route = mock.post("inquire.aspx").mock(side_effect=httpx.ReadTimeout("slow"))
        result = run(runner, "--json", "inquire", "--trans-id", "T-1", "--pay-id", "b" * 32)
    assert result.exit_code == 4 and route.call_count == 3
    error = as_json(result)["error"]
    assert error["type"] == "TransportError" and "asking again is safe" in error["message"] and "req_id" not in error


def test_timeout_option(runner: CliRunner, sim: Simulator, creds: Credentials) -> None:
    pay_id = paid(sim, creds, "CLI-8")
    assert as_json(run(runner, "--json", "inquire", "--trans-id", "CLI-8", "--pay-id", pay_id, "--timeout", "2.5"))["found"] is True
    result = run(runner, "--json", "inquire", "--trans-id", "CLI-8", "--timeout", "0")
    assert result.exit_code == 2 and as_json(result)["error"]["field"] == "timeout"
    assert "requests:inquire24" not in sim.stats()  # refused before anything was sent


def test_help_imports_no_client() -> None:
    from tests.test_cli.test_startup import _heavy, _modules_after

    out, modules = _modules_after("inquire", "--help")
    assert "--trans-id" in out and "--pay-id" in out
    assert _heavy(modules) == []
