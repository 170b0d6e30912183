"""The payment commands against respx mocks of the gateway (strict mode): request fields,
amounts, JSON shape, confirmation, dry runs, ReqId and retry, errors and exit codes."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner, Result

from axepta.cli import app, payments
from axepta.credentials import Credentials
from axepta.crypto import verify
from tests.conftest import DEMO_HMAC, DEMO_MID
from tests.test_cli.conftest import (
    BASE,
    PAY_ID,
    assert_clean,
    decrypt_form,
    encrypted_reply,
    env,
    ok_reply,
)

URLS = {
    "order": BASE + "ExternalServices/paypalorders.aspx",
    "complete": BASE + "paypalComplete.aspx",
    "authorize": BASE + "Authorize.aspx",
    "capture": BASE + "capture.aspx",
    "credit": BASE + "credit.aspx",
    "refund": BASE + "credit.aspx",
    "credit-ex": BASE + "creditex.aspx",
    "reverse": BASE + "reverse.aspx",
    "reftrans": BASE + "paypalreftrans.aspx",
}
MONEY = ["--amount", "12.34", "--currency", "EUR"]
ORDER_ARGS = [
    "order", "--trans-id", "TX-1", *MONEY, "--order-desc", "Two books",
    "--url-success", "https://shop.example/ok", "--url-failure", "https://shop.example/ko",
    "--url-notify", "https://shop.example/notify",
]  # fmt: skip
#: one valid invocation of every command (without --yes)
COMMANDS: dict[str, list[str]] = {
    "order": ORDER_ARGS,
    "complete": ["complete", PAY_ID, "--trans-id", "TX-1", *MONEY],
    "authorize": ["authorize", PAY_ID, "--trans-id", "TX-1", *MONEY],
    "capture": ["capture", PAY_ID, "--trans-id", "TX-1", *MONEY],
    "credit": ["credit", PAY_ID, "--trans-id", "TX-1", *MONEY],
    "refund": ["refund", PAY_ID, "--trans-id", "TX-1", *MONEY],
    "credit-ex": ["credit-ex", "--trans-id", "TX-2", "--payer-id", "PAYER123", *MONEY],
    "reverse": ["reverse", PAY_ID, "--trans-id", "TX-1", *MONEY],
    "reftrans": ["reftrans", "--billing-agreement", "B-12345678901234567", "--trans-id", "TX-3", *MONEY],
}
WITH_REQ_ID = {"order", "capture", "credit", "refund", "credit-ex", "reverse"}
MONEY_MOVING = set(COMMANDS) - {"order"}


class Gateway:
    """A respx gateway: every endpoint answers success (paypalorders with its plain reply),
    unless a test sets ``reply`` for one; ``sent`` decrypts what the CLI posted."""

    def __init__(self, mock: respx.MockRouter, creds: Credentials) -> None:
        self.creds = creds
        self.mock = mock
        self.routes: dict[str, respx.Route] = {}
        self.replies: dict[str, Callable[[httpx.Request], httpx.Response] | httpx.Response | BaseException] = {}
        for name, url in URLS.items():
            if name != "refund":  # same endpoint as credit
                self.routes[name] = mock.post(url).mock(side_effect=self._answer(name))
        self.routes["refund"] = self.routes["credit"]

    def _answer(self, name: str) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            custom = self.replies.get(name)
            if isinstance(custom, BaseException):
                raise custom
            if isinstance(custom, httpx.Response):
                return custom
            if custom is not None:
                return custom(request)
            if name == "order":
                sent = decrypt_form(self.creds, request.content)
                return httpx.Response(
                    200, text=f"mid={sent['MerchantID']}&PayID={PAY_ID}&XID={PAY_ID}&TransID={sent['TransID']}&orderid=5O190127TN364715T"
                )
            extra = {"TID": "3CE11111AB222222C"} if name in ("capture", "authorize", "reftrans") else {}
            if name in ("credit", "credit-ex"):
                extra = {"GrossRefundAmount": "1234", "FeeRefundAmount": "40", "NetRefundAmount": "1194"}
            return httpx.Response(200, text=ok_reply(self.creds, request.content, **extra))

        return answer

    def sent(self, name: str) -> dict[str, str]:
        return decrypt_form(self.creds, self.routes[name].calls.last.request.content)

    def raw(self, name: str) -> tuple[str, str]:
        """The Data and MAC of the last request to ``name`` (never to be printed)."""
        body = self.routes[name].calls.last.request.content.decode()
        return body.split("Data=")[1], self.sent(name)["MAC"]

    @property
    def calls(self) -> int:
        return sum(len(r.calls) for r in {id(r): r for r in self.routes.values()}.values())


@pytest.fixture
def gateway(creds: Credentials) -> Iterator[Gateway]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield Gateway(mock, creds)


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client waits between connect retries; not in tests."""
    monkeypatch.setattr("axepta.client.time.sleep", lambda seconds: None)


def invoke(runner: CliRunner, args: list[str], *, input: str | None = None, **overrides: str) -> Result:
    return runner.invoke(app, args, env=env(**overrides), input=input)


def as_json(res: Result) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(res.stdout)
    return data


def clean(res: Result, gateway: Gateway, name: str) -> None:
    """No key, Data or MAC of the request to ``name`` in any output."""
    data, mac = gateway.raw(name)
    assert_clean(res, data, mac)


# ------------------------------------------------------------------------------ every command


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_sends_and_prints_one_json_object(runner: CliRunner, gateway: Gateway, name: str) -> None:
    res = invoke(runner, ["--json", *COMMANDS[name], "--yes"])
    assert res.exit_code == 0, res.output
    data = as_json(res)
    assert data["ok"] is True and data["merchant_id"] == DEMO_MID and data["environment"] == "test"
    assert data["url"] == URLS[name]
    assert data["amount"] == {"minor": 1234, "currency": "EUR", "major": "12.34"}
    assert data["result"]["pay_id"] == PAY_ID and data["warnings"] == []
    sent = gateway.sent(name)
    assert sent["Amount"] == "1234" and sent["Currency"] == "EUR" and sent["MerchantID"] == DEMO_MID
    assert "mac" not in {k.lower() for k in data["result"]["raw"]}
    if name in WITH_REQ_ID:
        assert len(data["req_id"]) == 32 and data["req_id"] == sent["ReqId"] == data["result"]["req_id"]
        assert f"with ReqId {data['req_id']}" in res.stderr
    else:
        assert data["req_id"] is None and "ReqId" not in sent
    clean(res, gateway, name)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_people_output(runner: CliRunner, gateway: Gateway, name: str) -> None:
    res = invoke(runner, [*COMMANDS[name], "--yes"])
    assert res.exit_code == 0, res.output
    assert PAY_ID in res.stdout and "12.34 EUR (Amount=1234)" in res.stdout
    assert "req_id" in res.stdout
    if name in WITH_REQ_ID:
        assert gateway.sent(name)["ReqId"] in res.stdout
    else:
        assert "(none: this operation has no ReqId)" in res.stdout
    assert f"sending {payments.LABELS[{'order': 'paypal_orders', 'complete': 'paypal_complete', 'credit-ex': 'credit_ex', 'reftrans': 'paypal_reftrans', 'refund': 'credit'}.get(name, name)]}" in res.stderr
    clean(res, gateway, name)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_dry_run_sends_nothing(runner: CliRunner, gateway: Gateway, name: str) -> None:
    res = invoke(runner, ["--json", *COMMANDS[name], "--dry-run"])
    assert res.exit_code == 0, res.output
    assert gateway.calls == 0
    data = as_json(res)
    assert data["dry_run"] is True and data["sent"] is False and data["url"] == URLS[name]
    assert data["fields"]["MAC"] == "<redacted>" and data["form"]["Data"] == "<redacted>"
    assert data["fields"]["Amount"] == "1234" and data["form"]["MerchantID"] == DEMO_MID
    assert data["money_moving"] is (name in MONEY_MOVING)
    assert (data["req_id"] is not None) is (name in WITH_REQ_ID)
    if name in WITH_REQ_ID:
        assert data["fields"]["ReqId"] == data["req_id"]
    assert_clean(res)
    res = invoke(runner, [*COMMANDS[name], "--dry-run"])
    assert res.exit_code == 0 and gateway.calls == 0
    assert "Dry run: nothing sent" in res.stdout and "<redacted>" in res.stdout and URLS[name] in res.stdout
    assert_clean(res)


@pytest.mark.parametrize("name", sorted(MONEY_MOVING))
def test_money_moving_without_terminal_refuses(runner: CliRunner, gateway: Gateway, name: str) -> None:
    res = invoke(runner, ["--json", *COMMANDS[name]])
    assert res.exit_code == 2
    assert gateway.calls == 0
    assert "stdin is not a terminal; pass --yes" in res.stderr
    assert as_json(res)["error"]["type"] == "UsageFailure"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_of_every_command(runner: CliRunner, name: str) -> None:
    res = runner.invoke(app, [name, "--help"])
    assert res.exit_code == 0
    for option in ("--amount", "--amount-minor", "--currency", "--trans-id", "--yes", "--dry-run"):
        assert option in res.stdout
    assert URLS[name].rsplit("/", 1)[1].lower() in res.stdout.lower()
    assert "transport" not in res.stdout.lower()


def test_root_help_lists_every_command(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    for name in [*COMMANDS, "config", "codes", "crypto"]:
        assert f" {name} " in res.stdout


# ---------------------------------------------------------------------------- request fields


def test_capture_options_become_wire_fields(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(
        runner,
        ["capture", PAY_ID, "--trans-id", "TX-1", "--amount-minor", "500", "--currency", "eur", "--ref-nr", "INV-7",
         "--req-id", "abc123", "--tid", "3CE11111AB222222C", "--complete", "--yes"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    sent = gateway.sent("capture")
    assert sent == {
        "MerchantID": DEMO_MID, "PayID": PAY_ID, "TransID": "TX-1", "MAC": sent["MAC"], "Amount": "500",
        "Currency": "EUR", "RefNr": "INV-7", "ReqId": "abc123", "TID": "3CE11111AB222222C", "CompleteType": "YES",
    }  # fmt: skip
    assert list(sent) == ["MerchantID", "PayID", "TransID", "MAC", "Amount", "Currency", "RefNr", "ReqId", "TID", "CompleteType"]
    assert verify(DEMO_HMAC, sent["MAC"], PAY_ID, "TX-1", DEMO_MID, "500", "EUR")
    assert "abc123" in res.stdout
    clean(res, gateway, "capture")


def test_credit_and_credit_ex_fields(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ["credit", PAY_ID, "--trans-id", "TX-1", *MONEY, "--tid", "CAPTURE2", "--note", "sorry", "--ref-nr", "R1", "--yes"])
    assert res.exit_code == 0, res.output
    sent = gateway.sent("credit")
    assert (sent["TID"], sent["Note"], sent["RefNr"]) == ("CAPTURE2", "sorry", "R1")
    assert "gross_refund_amount" in res.stdout
    res = invoke(
        runner,
        ["--json", "credit-ex", "--trans-id", "TX-2", *MONEY, "--payer", "buyer@example.com", "--note", "thanks",
         "--subject", "Refund", "--account", "shop@example.com", "--ref-nr", "77", "--yes"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    sent = gateway.sent("credit-ex")
    assert (sent["Payer"], sent["Note"], sent["Subject"], sent["Account"], sent["RefNr"]) == ("buyer@example.com", "thanks", "Refund", "shop@example.com", "77")
    assert "PayerID" not in sent
    assert as_json(res)["result"]["gross_refund_amount"] == 1234


def test_credit_ex_needs_exactly_one_recipient(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ["--json", "credit-ex", "--trans-id", "TX-2", *MONEY, "--yes"])
    assert res.exit_code == 2
    assert as_json(res)["error"]["rule"] == "exactly one of PayerID, Payer"
    res = invoke(runner, ["credit-ex", "--trans-id", "TX-2", *MONEY, "--payer-id", "P1", "--payer", "a@b.c", "--yes"])
    assert res.exit_code == 2 and gateway.calls == 0


def test_complete_and_authorize_address(runner: CliRunner, gateway: Gateway) -> None:
    address = ["--first-name", "Ada", "--last-name", "Lovelace", "--addr-street", "1 Rue de la Paix", "--addr-city", "Paris", "--addr-zip", "75002", "--addr-country-code", "fr", "--phone", "+33 1 23 45 67 89"]
    res = invoke(runner, ["complete", PAY_ID, "--trans-id", "TX-1", *MONEY, "--ref-nr", "42", *address, "--yes"])
    assert res.exit_code == 0, res.output
    sent = gateway.sent("complete")
    assert (sent["FirstName"], sent["AddrCountryCode"], sent["Phone"], sent["RefNr"]) == ("Ada", "FR", "0033123456789", "42")
    assert sent["AddrStreet2"] == "" and sent["Response"] == "encrypt"
    res = invoke(runner, ["authorize", PAY_ID, "--trans-id", "TX-1", *MONEY, *address, "--addr-street2", "Bât. B", "--addr-state", "IDF", "--yes"])
    assert res.exit_code == 0, res.output
    sent = gateway.sent("authorize")
    assert (sent["TxType"], sent["AddrStreet2"], sent["AddrState"]) == ("Auth", "Bât. B", "IDF")


def test_complete_address_without_first_name_is_refused(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ["--json", "complete", PAY_ID, "--trans-id", "TX-1", *MONEY, "--addr-city", "Paris", "--yes"])
    assert res.exit_code == 2 and gateway.calls == 0
    assert as_json(res)["error"]["field"] == "FirstName"


def test_reverse_and_reftrans_fields(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ["reverse", PAY_ID, "--trans-id", "TX-1", *MONEY, "--req-id", "R3V", "--yes"])
    assert res.exit_code == 0, res.output
    assert gateway.sent("reverse")["ReqId"] == "R3V"
    res = invoke(runner, ["reftrans", "--billing-agreement", "B-1X2Y3Z", "--trans-id", "TX-9", *MONEY, "--order-desc", "Monthly", "--ref-nr", "9", "--yes"])
    assert res.exit_code == 0, res.output
    sent = gateway.sent("reftrans")
    assert (sent["BillingAgreementID"], sent["OrderDesc"], sent["RefNr"]) == ("B-1X2Y3Z", "Monthly", "9")
    assert verify(DEMO_HMAC, sent["MAC"], "", "TX-9", DEMO_MID, "1234", "EUR")


def test_order_every_option(runner: CliRunner, gateway: Gateway) -> None:
    unit = json.dumps({"merchantid": "SELLER1", "amount": "1234", "shippingamount": "100", "invoiceid": "I-1", "orderitems": [{"name": "Book", "quantity": 2, "unitamount": "500", "tax": "67", "category": "PHYSICAL_GOODS"}]})
    res = invoke(
        runner,
        [
            "--json", "order", "--trans-id", "TX-1", "--amount-minor", "1234", "--currency", "EUR", "--order-desc", "Two books",
            "--url-success", "https://shop.example/ok", "--url-failure", "https://shop.example/ko", "--url-notify", "https://shop.example/notify",
            "--capture", "manual", "--tx-type", "order", "--paypal-method", "shortcut", "--ref-nr", "1001", "--req-id", "ORDER1",
            "--user-data", "cart=7", "--account", "shop@example.com", "--language", "fr", "--no-shipping",
            "--basket-line", "Book,500,B-1,2,Paperback,67", "--basket-line", "Gift wrap,0,W,1", "--sh-amount", "1.00",
            "--payment-unit", unit, "--risk-evaluation", "sender_account_id=A1", "--risk-evaluation", "sender_first_name=Ada",
            "--first-name", "Ada", "--last-name", "Lovelace", "--addr-street", "1 Main St", "--addr-city", "Austin",
            "--addr-state", "TX", "--addr-zip", "73301", "--addr-country-code", "US", "--phone", "+1 512 555 0100", "--yes",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    sent = gateway.sent("order")
    expected = {
        "TransID": "TX-1", "RefNr": "1001", "Amount": "1234", "Capture": "Manual", "TxType": "Order",
        "PayPalMethod": "shortcut", "OrderDesc": "Two books", "OrderDesc2": "Book,500,B-1,2,Paperback,67",
        "OrderDesc3": "Gift wrap,0,W,1,,", "TaxTotal": "134", "ItemTotal": "1000", "ShAmount": "100",
        "URLNotify": "https://shop.example/notify", "UserData": "cart=7", "ReqId": "ORDER1", "Account": "shop@example.com",
        "Language": "FR", "FirstName": "Ada", "AddrState": "TX", "AddrCountryCode": "US", "Phone": "0015125550100", "NoShipping": "1",
    }  # fmt: skip
    assert {k: sent.get(k) for k in expected} == expected
    assert sent["PaymentUnit1"] and sent["RiskEvaluation"]
    data = as_json(res)
    assert data["result"]["order_id"] == "5O190127TN364715T" and data["req_id"] == "ORDER1"
    assert data["result"]["approve_url"].startswith("https://epayment.axepta.bnpparibas/cbPayPal.aspx?rd=")
    clean(res, gateway, "order")


def test_order_redirect_mode_returns_location(runner: CliRunner, gateway: Gateway) -> None:
    gateway.replies["order"] = httpx.Response(302, headers={"Location": "https://www.sandbox.paypal.com/checkoutnow?token=EC-1"})
    res = invoke(runner, ["--json", *ORDER_ARGS, "--mode", "redirect"])
    assert res.exit_code == 0, res.output
    assert gateway.sent("order")["mode"] == "redirect"
    data = as_json(res)
    assert data["result"]["approval_url"] == "https://www.sandbox.paypal.com/checkoutnow?token=EC-1"


def test_order_baid(runner: CliRunner, gateway: Gateway) -> None:
    gateway.replies["order"] = lambda request: httpx.Response(
        200, text=f"PayID={PAY_ID}&TransID=TX-1&paypalurl=https%3A%2F%2Fwww.sandbox.paypal.com%2Fagreements%2Fapprove%3Fba_token%3DBA-1"
    )
    res = invoke(runner, [*ORDER_ARGS, "--tx-type", "BAID", "--ref-nr", "5001"])
    assert res.exit_code == 0, res.output
    sent = gateway.sent("order")
    assert sent["TxType"] == "BAID" and "Capture" not in sent
    assert "https://www.sandbox.paypal.com/agreements/approve?ba_token=BA-1" in res.stdout


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (["--basket-line", "Book,5x,B,1"], "OrderDesc2"),
        (["--basket-line", "Book,500"], "OrderDesc2"),
        (["--basket-line", "Book,1234,B,1", "--sh-amount", "1", "--sh-amount-minor", "100"], "Amount"),
        (["--payment-unit", "{nope"], "PaymentUnit1"),
        (["--payment-unit", "[1]"], "PaymentUnit1"),
        (["--payment-unit", '{"merchantid": "S", "amount": "1234", "color": "red"}'], "PaymentUnit1"),
        (["--payment-unit", '{"merchantid": "S", "orderitems": 3}'], "PaymentUnit1"),
        (["--risk-evaluation", "novalue"], "RiskEvaluation"),
        (["--capture", "Manual"], "TxType"),
        (["--url-notify", "http://shop.example/notify"], "URLNotify"),
        (["--addr-country-code", "US", "--first-name", "Ada"], "LastName"),
    ],
)
def test_order_bad_options_exit_2(runner: CliRunner, gateway: Gateway, extra: list[str], field: str) -> None:
    args = list(ORDER_ARGS)
    if "--url-notify" in extra:
        i = args.index("--url-notify")
        del args[i : i + 2]
    res = invoke(runner, ["--json", *args, *extra, "--yes"])
    assert res.exit_code == 2, res.output
    assert as_json(res)["error"]["field"] == field
    assert gateway.calls == 0


def test_bad_enum_choice_is_a_usage_error(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, [*ORDER_ARGS, "--capture", "later"])
    assert res.exit_code == 2 and gateway.calls == 0


# ------------------------------------------------------------------------------------ amounts


@pytest.mark.parametrize(
    ("amount", "currency", "wire"),
    [("12.34", "EUR", "1234"), ("100", "HUF", "100"), ("100.00", "HUF", "100"), ("1500", "JPY", "1500"), ("250", "TWD", "250"), ("1.5", "usd", "150")],
)
def test_amount_major_units(runner: CliRunner, gateway: Gateway, amount: str, currency: str, wire: str) -> None:
    res = invoke(runner, ["capture", PAY_ID, "--trans-id", "T", "--amount", amount, "--currency", currency, "--yes"])
    assert res.exit_code == 0, res.output
    assert gateway.sent("capture")["Amount"] == wire


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--amount", "100.50", "--currency", "HUF"], "PayPal sends HUF, JPY and TWD without decimals"),
        (["--amount", "12.345", "--currency", "EUR"], "more than 2 decimal places"),
        (["--amount", "twelve", "--currency", "EUR"], "--amount: 'twelve' is not a plain decimal amount"),
        (["--amount", "-1", "--currency", "EUR"], "--amount: '-1' is not a plain decimal amount"),
        (["--amount", "1e3", "--currency", "EUR"], "--amount: '1e3' is not a plain decimal amount; write digits with an optional decimal point, e.g. 12, 12.5 or 12.50"),
        (["--amount", "1_000", "--currency", "EUR"], "--amount: '1_000' is not a plain decimal amount"),
        (["--amount", "+12", "--currency", "EUR"], "--amount: '+12' is not a plain decimal amount"),
        (["--amount", "1 000", "--currency", "EUR"], "--amount: '1 000' is not a plain decimal amount"),
        (["--amount", "١٢", "--currency", "EUR"], "--amount: '١٢' is not a plain decimal amount"),
        (["--amount", "１２", "--currency", "EUR"], "--amount: '１２' is not a plain decimal amount"),
        (["--amount-minor", "1e3", "--currency", "EUR"], "--amount-minor: '1e3' is not a whole number of minor units; write ASCII digits only"),
        (["--amount-minor", "1_000", "--currency", "EUR"], "--amount-minor: '1_000' is not a whole number"),
        (["--amount-minor", "+1000", "--currency", "EUR"], "--amount-minor: '+1000' is not a whole number"),
        (["--amount-minor", "1000.0", "--currency", "EUR"], "--amount-minor: '1000.0' is not a whole number"),
        (["--amount-minor", "١٠٠٠", "--currency", "EUR"], "--amount-minor: '١٠٠٠' is not a whole number"),
        (["--amount", "0.50", "--currency", "EUR"], "below 100 minor units, which needs helpdesk approval (set AXEPTA_SMALL_AMOUNTS_ENABLED=true"),
        (["--amount", "12", "--amount-minor", "1200", "--currency", "EUR"], "give exactly one of --amount and --amount-minor"),
        (["--currency", "EUR"], "give exactly one of --amount and --amount-minor"),
        (["--amount", "12", "--currency", "EURO"], "3-letter ISO 4217"),
        (["--amount", "12", "--currency", "XYZ"], "not an ISO 4217 currency"),
    ],
)
def test_amount_errors_exit_2(runner: CliRunner, gateway: Gateway, args: list[str], text: str) -> None:
    res = invoke(runner, ["capture", PAY_ID, "--trans-id", "T", *args, "--yes"])
    assert res.exit_code == 2, res.output
    assert text in res.stderr
    assert gateway.calls == 0


def test_small_amounts_when_enabled(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ["capture", PAY_ID, "--trans-id", "T", "--amount", "0.50", "--currency", "EUR", "--yes"], AXEPTA_SMALL_AMOUNTS_ENABLED="true")
    assert res.exit_code == 0, res.output
    assert gateway.sent("capture")["Amount"] == "50"


def test_currency_outside_paypal_list_warns(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ["--json", "capture", PAY_ID, "--trans-id", "T", "--amount", "1.000", "--currency", "KWD", "--yes"])
    assert res.exit_code == 0, res.output
    assert gateway.sent("capture")["Amount"] == "1000"
    assert as_json(res)["warnings"] == ["KWD is not in PayPal's published currency list"]
    assert "warning: KWD is not in PayPal's published currency list" in res.stderr


# ------------------------------------------------------------------------------- confirmation


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payments, "stdin_is_interactive", lambda: True)


@pytest.mark.usefixtures("terminal")
def test_prompt_yes_sends(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ["--json", *COMMANDS["capture"]], input="y\n")
    assert res.exit_code == 0, res.output
    # CliRunner echoes the typed answer on stdout (a terminal would echo it itself)
    echoed, _, json_line = res.stdout.partition("\n")
    assert echoed.strip() == "y"
    assert "About to send" in res.stderr and "Send this capture?" in res.stderr
    assert "12.34 EUR (Amount=1234)" in res.stderr and PAY_ID in res.stderr
    req_id = gateway.sent("capture")["ReqId"]
    assert req_id in res.stderr  # the ReqId is shown before anything is sent
    assert json.loads(json_line)["req_id"] == req_id
    clean(res, gateway, "capture")


@pytest.mark.usefixtures("terminal")
@pytest.mark.parametrize("answer", ["n\n", "\n", ""])
def test_prompt_no_sends_nothing(runner: CliRunner, gateway: Gateway, answer: str) -> None:
    res = invoke(runner, ["--json", *COMMANDS["credit"]], input=answer)
    assert res.exit_code == 1
    assert gateway.calls == 0
    assert "not confirmed: nothing was sent" in res.stderr
    last_line = res.stdout.strip().splitlines()[-1]  # after the answer CliRunner echoes
    assert json.loads(last_line)["error"]["type"] == "NotConfirmed"


@pytest.mark.usefixtures("terminal")
def test_yes_skips_the_prompt(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, [*COMMANDS["reverse"], "-y"])
    assert res.exit_code == 0, res.output
    assert "About to send" not in res.stderr


def test_order_in_test_environment_needs_no_confirmation(runner: CliRunner, gateway: Gateway) -> None:
    res = invoke(runner, ORDER_ARGS)
    assert res.exit_code == 0, res.output
    assert gateway.routes["order"].called


def test_production_order_needs_confirmation(runner: CliRunner, gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    res = invoke(runner, ORDER_ARGS, AXEPTA_MERCHANT_ID="LIVESHOP")
    assert res.exit_code == 2 and gateway.calls == 0
    assert "a request to a production merchant" in res.stderr
    monkeypatch.setattr(payments, "stdin_is_interactive", lambda: True)
    res = invoke(runner, ORDER_ARGS, input="y\n", AXEPTA_MERCHANT_ID="LIVESHOP")
    assert res.exit_code == 0, res.output
    assert "PRODUCTION" in res.stderr and "real money moves" in res.stderr
    res = invoke(runner, [*ORDER_ARGS, "--yes"], AXEPTA_MERCHANT_ID="LIVESHOP")
    assert res.exit_code == 0


# ----------------------------------------------------------------------- ReqId, retry, errors


def test_network_failure_prints_the_retry_command(runner: CliRunner, gateway: Gateway) -> None:
    gateway.replies["capture"] = httpx.ReadTimeout("read timed out")
    args = ["capture", PAY_ID, "--trans-id", "TX 1", "--amount", "12.34", "--currency", "EUR", "--ref-nr", "INV-7", "--complete", "--yes"]
    res = invoke(runner, args)
    assert res.exit_code == 4
    req_id = gateway.sent("capture")["ReqId"]
    assert "outcome is unknown" in res.stderr and f"ReqId: {req_id}" in res.stderr
    line = next(ln for ln in res.stderr.splitlines() if "retry with:" in ln)
    command = line.split("retry with:", 1)[1].strip()
    assert command == (
        f"axepta capture {PAY_ID} --trans-id 'TX 1' --currency EUR --amount 12.34 --ref-nr INV-7 --complete --yes --req-id {req_id}"
    )
    clean(res, gateway, "capture")
    # the retry, run as printed, sends the same operation with the same ReqId
    gateway.replies.pop("capture")
    argv = shlex.split(command)[1:]
    res = invoke(runner, argv)
    assert res.exit_code == 0, res.output
    assert gateway.sent("capture")["ReqId"] == req_id
    assert len(gateway.routes["capture"].calls) == 2


def test_network_failure_json_error(runner: CliRunner, gateway: Gateway) -> None:
    gateway.replies["credit"] = httpx.ConnectError("connection refused")
    res = invoke(runner, ["--json", *COMMANDS["credit"], "--req-id", "FIXED1", "--yes"])
    assert res.exit_code == 4
    error = as_json(res)["error"]
    assert error["type"] == "TransportError" and error["req_id"] == "FIXED1" and error["sent"] is False
    assert error["retry_command"] == f"axepta --json credit {PAY_ID} --trans-id TX-1 --currency EUR --amount 12.34 --yes --req-id FIXED1"
    assert "never reached the gateway" in error["message"]
    assert len(gateway.routes["credit"].calls) == 3  # the client retried connect errors itself, same ReqId
    assert {decrypt_form(gateway.creds, c.request.content)["ReqId"] for c in gateway.routes["credit"].calls} == {"FIXED1"}


def test_network_failure_without_req_id_support(runner: CliRunner, gateway: Gateway) -> None:
    gateway.replies["complete"] = httpx.ReadTimeout("read timed out")
    res = invoke(runner, ["--json", *COMMANDS["complete"], "--yes"])
    assert res.exit_code == 4
    error = as_json(res)["error"]
    assert "retry_command" not in error and "req_id" not in error
    assert "reconcile" in error["message"]
    assert "retry with" not in res.stderr


def test_server_error_is_outcome_unknown(runner: CliRunner, gateway: Gateway) -> None:
    gateway.replies["reverse"] = httpx.Response(502, text="bad gateway")
    res = invoke(runner, [*COMMANDS["reverse"], "--yes"])
    assert res.exit_code == 4
    assert "retry with: axepta reverse" in res.stderr


def test_untrustworthy_reply_exit_1_with_retry(runner: CliRunner, gateway: Gateway, creds: Credentials) -> None:
    gateway.replies["capture"] = lambda request: httpx.Response(
        200, text=encrypted_reply(creds, {"mid": "SOMEONE_ELSE", "PayID": PAY_ID, "TransID": "TX-1", "Code": "00000000"})
    )
    res = invoke(runner, ["--json", *COMMANDS["capture"], "--yes"])
    assert res.exit_code == 1
    error = as_json(res)["error"]
    assert error["type"] == "ProtocolError" and "another merchant ID" in error["message"]
    assert error["retry_command"].startswith("axepta --json capture ")
    clean(res, gateway, "capture")


@pytest.mark.parametrize(
    ("code", "exit_code", "advice"),
    [
        ("21500061", 1, "unknown PayID"),
        ("21500067", 1, "115%"),
        ("20120044", 3, "check the HMAC key and the merchant ID"),
        ("20100044", 3, "this merchant enforces HMAC"),
        ("20110005", 1, "check the format of the field"),
    ],
)
def test_gateway_codes_explained(runner: CliRunner, gateway: Gateway, creds: Credentials, code: str, exit_code: int, advice: str) -> None:
    gateway.replies["capture"] = lambda request: httpx.Response(
        200,
        text=encrypted_reply(creds, {"mid": DEMO_MID, "PayID": PAY_ID, "TransID": "TX-1", "Status": "FAILED", "Code": code, "Description": "[refused]"}),
    )
    res = invoke(runner, [*COMMANDS["capture"], "--yes"])
    assert res.exit_code == exit_code
    req_id = gateway.sent("capture")["ReqId"]
    assert f"code {code}:" in res.stderr and "  advice: " in res.stderr and advice in res.stderr
    assert f"ReqId: {req_id}" in res.stderr and "[refused]" in res.stderr
    assert "retry with" not in res.stderr  # a definitive answer is not retried
    res = invoke(runner, ["--json", *COMMANDS["capture"], "--yes"])
    error = as_json(res)["error"]
    assert error["code"] == code and advice in error["advice"] and len(error["req_id"]) == 32
    assert error["explanation"]
    clean(res, gateway, "capture")


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"AXEPTA_MERCHANT_ID": "SHOP_t", "AXEPTA_ENVIRONMENT": "production"}, "ends in _t"),
        ({"AXEPTA_MERCHANT_ID": "SHOP", "AXEPTA_ENVIRONMENT": "test"}, "does not end in _t"),
        ({"AXEPTA_MERCHANT_ID": "LIVE", "AXEPTA_BASE_URL": "http://127.0.0.1:9/"}, "refused in production"),
        ({"AXEPTA_BASE_URL": "ftp://gateway.example/"}, "must use https"),
        ({"AXEPTA_HMAC_KEY": ""}, "environment variable AXEPTA_HMAC_KEY (empty) must be set"),
        ({"AXEPTA_BLOWFISH_KEY": "abc"}, "4 to 56 bytes"),
    ],
)
def test_configuration_errors_exit_3_before_sending(runner: CliRunner, gateway: Gateway, overrides: dict[str, str], text: str) -> None:
    for extra in (["--yes"], ["--dry-run"]):
        res = invoke(runner, ["--json", *COMMANDS["capture"], *extra], **overrides)
        assert res.exit_code == 3, res.output
        assert text in res.stderr and as_json(res)["ok"] is False
    assert gateway.calls == 0


def test_profile_base_url_and_confirmation(runner: CliRunner, gateway: Gateway, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import DEMO_BLOWFISH

    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[profiles.live]\nmerchant_id = "{DEMO_MID}"\nblowfish_key = \'{DEMO_BLOWFISH}\'\nhmac_key = \'{DEMO_HMAC}\'\n'
        'environment = "production"\nbase_url = "https://paymentpage.axepta.bnpparibas/"\n'
    )
    monkeypatch.setenv("AXEPTA_CONFIG", str(cfg))
    res = runner.invoke(app, ["--profile", "live", "--json", *COMMANDS["order"], "--yes"], env={"AXEPTA_CONFIG": str(cfg)})
    assert res.exit_code == 0, res.output
    assert as_json(res)["environment"] == "production"


def test_retry_command_keeps_global_options(runner: CliRunner, gateway: Gateway, tmp_path: Any) -> None:
    from tests.conftest import DEMO_BLOWFISH

    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[profiles.t]\nmerchant_id = "{DEMO_MID}"\nblowfish_key = \'{DEMO_BLOWFISH}\'\nhmac_key = \'{DEMO_HMAC}\'\nenvironment = "test"\n')
    gateway.replies["order"] = httpx.ReadTimeout("slow")
    res = runner.invoke(
        app,
        ["--profile", "t", "--base-url", BASE, *ORDER_ARGS, "--capture", "Manual", "--tx-type", "Auth", "--basket-line", "A,1234,N,1", "--dry-run"],
        env={"AXEPTA_CONFIG": str(cfg)},
    )
    assert res.exit_code == 0 and gateway.calls == 0
    res = runner.invoke(
        app,
        ["--profile", "t", "--base-url", BASE, *ORDER_ARGS, "--capture", "Manual", "--tx-type", "Auth", "--basket-line", "A,1234,N,1"],
        env={"AXEPTA_CONFIG": str(cfg)},
    )
    assert res.exit_code == 4
    req_id = gateway.sent("order")["ReqId"]
    line = next(ln for ln in res.stderr.splitlines() if "retry with:" in ln)
    argv = shlex.split(line.split("retry with:", 1)[1])
    assert argv[:6] == ["axepta", "--base-url", BASE, "--profile", "t", "order"]
    assert argv[argv.index("--capture") + 1] == "Manual" and argv[argv.index("--tx-type") + 1] == "Auth"
    assert argv[argv.index("--basket-line") + 1] == "A,1234,N,1"
    assert argv[-2:] == ["--req-id", req_id] and "--dry-run" not in argv


def test_interrupt_while_sending_is_outcome_unknown(runner: CliRunner, gateway: Gateway) -> None:
    gateway.replies["capture"] = KeyboardInterrupt()
    res = invoke(runner, ["--json", *COMMANDS["capture"], "--req-id", "CTRLC1", "--yes"])
    assert res.exit_code == 4
    error = as_json(res)["error"]
    assert "interrupted while waiting for the gateway; the outcome is unknown" in error["message"]
    assert error["retry_command"].endswith("--yes --req-id CTRLC1")


def test_configured_logging_still_receives_the_client_line(runner: CliRunner, gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="axepta"):
        res = invoke(runner, [*COMMANDS["capture"], "--yes"])
    assert res.exit_code == 0
    assert any("axepta call operation=capture" in r.getMessage() for r in caplog.records)


def test_unconfigured_logging_does_not_repeat_the_error(runner: CliRunner, gateway: Gateway, creds: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without logging configured, Python prints warnings through ``logging.lastResort``; the
    CLI keeps the client's line out of it (its own report says the same)."""
    import io
    import logging

    from axepta.client import AxeptaClient

    sink = io.StringIO()
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging, "lastResort", logging.StreamHandler(sink))
    gateway.replies["capture"] = lambda request: httpx.Response(
        200, text=encrypted_reply(creds, {"mid": DEMO_MID, "PayID": PAY_ID, "TransID": "TX-1", "Status": "FAILED", "Code": "21500061"})
    )
    res = invoke(runner, [*COMMANDS["capture"], "--yes"])
    assert res.exit_code == 1
    assert sink.getvalue() == ""
    # control: the same call outside the CLI does reach lastResort
    with AxeptaClient(creds) as client, pytest.raises(Exception, match="21500061"):
        client.capture(pay_id=PAY_ID, trans_id="TX-1", amount=1234, currency="EUR")
    assert "axepta call operation=capture" in sink.getvalue()


# ------------------------------------------------------------------ messages in the CLI's words


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["credit-ex", "--trans-id", "T", *MONEY], "error: --payer-id: give exactly one recipient: --payer-id, or --payer (MassPay)"),
        (["credit-ex", "--trans-id", "T", "--payer-id", "P1", "--note", "n", *MONEY], "error: --note: is a MassPay field; it needs --payer, not --payer-id"),
        ([*ORDER_ARGS, "--capture", "Manual"], "error: --tx-type: is mandatory with --capture=Manual"),
        ([*ORDER_ARGS, "--tx-type", "BAID"], "error: --ref-nr: is mandatory with --tx-type=BAID"),
        (["capture", "0123", "--trans-id", "T", *MONEY], "error: PAYID: must be exactly 32 characters long"),
    ],
)
def test_messages_name_options_not_python_fields(runner: CliRunner, gateway: Gateway, args: list[str], text: str) -> None:
    res = invoke(runner, [*args, "--yes"])
    assert res.exit_code == 2, res.output
    assert text in " ".join(res.stderr.split())
    assert "payer_id" not in res.stderr and "Value error" not in res.stderr
    assert gateway.calls == 0


# ------------------------------------------------------- exit 5: output failed after money moved


class _Broken:
    """A stdout that fails like a closed pipe or /dev/full."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, text: str) -> int:
        raise self.error

    def flush(self) -> None:
        raise self.error

    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize("error", [BrokenPipeError(32, "Broken pipe"), OSError(28, "No space left on device")], ids=["closed-pipe", "dev-full"])
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["table", "json"])
def test_output_failure_after_success_exits_5(
    runner: CliRunner, gateway: Gateway, monkeypatch: pytest.MonkeyPatch, error: OSError, json_flag: list[str]
) -> None:
    from rich.console import Console


    broken = _Broken(error)
    monkeypatch.setattr(payments, "emit_json", lambda obj: broken.write("x"))
    monkeypatch.setattr(payments, "stdout", lambda: Console(file=broken, soft_wrap=True))  # type: ignore[arg-type]
    res = invoke(runner, [*json_flag, "capture", PAY_ID, "--trans-id", "TX-1", *MONEY, "--req-id", "REQ5", "--yes"])
    assert gateway.calls == 1
    assert res.exit_code == 5, res.output
    err = " ".join(res.stderr.split())
    assert "capture succeeded" in err and "could not be written" in err and "do not retry" in err.lower()
    assert "ReqId: REQ5" in err and PAY_ID in err and "Code 00000000" in err
    assert "Traceback" not in res.output


# ----------------------------------------------------------------------------- --timeout SECONDS


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_payment_command_passes_timeout_to_the_client(
    runner: CliRunner, gateway: Gateway, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    seen: list[Any] = []
    real = payments.make_client

    def spy(settings: Any, credentials: Any, http: Any, timeout: float | None = None) -> Any:
        seen.append(timeout)
        return real(settings, credentials, http, timeout)

    monkeypatch.setattr(payments, "make_client", spy)
    res = invoke(runner, [*COMMANDS[name], "--timeout", "7.5", "--yes"])
    assert res.exit_code == 0, res.output
    assert seen == [7.5]
    client = real(*[None] * 0, settings=_settings(), credentials=_creds(), http=None, timeout=7.5)  # type: ignore[misc]
    assert client._deadline == 7.5


def _settings() -> Any:
    from axepta.cli.config import Settings

    return Settings(
        source="environment", profile=None, config_path=None, merchant_id=DEMO_MID, blowfish_key=None, hmac_key=None,  # type: ignore[arg-type]
        charset="iso-8859-1", declared_environment="test", base_url=BASE, base_url_source="default",
    )


def _creds() -> Credentials:
    from tests.conftest import DEMO_BLOWFISH

    return Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1e3", "nan"])
def test_timeout_must_be_a_positive_number_of_seconds(runner: CliRunner, gateway: Gateway, value: str) -> None:
    res = invoke(runner, [*COMMANDS["capture"], "--timeout", value, "--yes"])
    assert res.exit_code == 2, res.output
    assert "--timeout" in res.stderr and "seconds" in res.stderr
    assert gateway.calls == 0


@pytest.mark.parametrize("extra", [["--yes"], ["--dry-run"]])
def test_people_output_is_readable_at_80_columns(runner: CliRunner, gateway: Gateway, extra: list[str]) -> None:
    res = invoke(runner, [*COMMANDS["capture"], *extra], COLUMNS="80")
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "…" not in res.stdout
