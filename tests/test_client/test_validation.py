"""Every request rule: a violation raises InvalidRequestError naming the wire field and the rule,
and nothing is sent (respx has no route: any request would fail the test)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import respx

from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import InvalidRequestError
from axepta.models import (
    Address,
    AuthorizeRequest,
    BasketLine,
    CaptureRequest,
    CompleteRequest,
    CreditExRequest,
    CreditRequest,
    OrderItem,
    PaymentUnit,
    PayPalOrderRequest,
    ReferenceTransactionRequest,
    ReverseRequest,
)
from tests.test_client._support import OPERATIONS, PAY_ID, URLS

ORDER: dict[str, Any] = {"trans_id": "T-1", "amount": 1999, "currency": "EUR", "order_desc": "Book", **URLS}
US_ADDRESS = Address(
    first_name="Jane", last_name="Doe", street="1 Main St", city="San Jose", state="CA", zip="95131", country_code="US"
)


def order(**changes: Any) -> dict[str, Any]:
    kwargs = dict(ORDER)
    kwargs.update(changes)
    return {k: v for k, v in kwargs.items() if v is not None}


@pytest.fixture
def sync_client(credentials: Credentials) -> Any:
    with respx.mock(assert_all_mocked=True, assert_all_called=False), AxeptaClient(credentials) as c:
        yield c


ORDER_CASES: list[tuple[dict[str, Any], str, str]] = [
    (order(trans_id=None), "TransID", "mandatory"),
    (order(trans_id=""), "TransID", "ans..64"),
    (order(trans_id="x" * 65), "TransID", "ans..64"),
    (order(trans_id="a&b"), "TransID", "ans..64"),
    (order(trans_id="a\nb"), "TransID", "ans..64"),
    (order(trans_id=42), "TransID", "ans..64"),
    (order(amount=19.99), "Amount", "integer minor units"),
    (order(amount=True), "Amount", "integer minor units"),
    (order(amount="1999"), "Amount", "integer minor units"),
    (order(amount=0), "Amount", "n..10"),
    (order(amount=10_000_000_000), "Amount", "n..10"),
    (order(currency="eur"), "Currency", "a3 upper case"),
    (order(currency="EURO"), "Currency", "a3"),
    (order(currency="XYZ"), "Currency", "ISO 4217"),
    (order(order_desc=None), "OrderDesc", "mandatory"),
    (order(order_desc="x" * 128), "OrderDesc", "ans..127"),
    (order(url_success="http://shop.example/ok"), "URLSuccess", "https"),
    (order(url_failure="https://shop.example/ko?x=1"), "URLFailure", "no query string"),
    (order(url_notify="https://shop.example/n#frag"), "URLNotify", "no query string"),
    (order(url_notify="https://shop.example/" + "n" * 250), "URLNotify", "ans..256"),
    (order(url_notify="https://shop.example:8443/n"), "URLNotify", "port 443"),
    (order(url_notify="ftp://shop.example/n"), "URLNotify", "https"),
    (order(url_notify=None), "URLNotify", "mandatory"),
    (order(capture="Later"), "Capture", "one of Auto|Manual"),
    (order(capture="Manual"), "TxType", "mandatory with Capture=Manual"),
    (order(tx_type="Auth"), "TxType", "absent with Capture=Auto"),
    (order(capture="Manual", tx_type="Sale"), "TxType", "one of Order|Auth|BAID"),
    (order(tx_type="BAID"), "RefNr", "mandatory with TxType=BAID"),
    (order(tx_type="BAID", ref_nr="BA1", capture="Manual"), "Capture", "no Capture with TxType=BAID"),
    (order(paypal_method="express"), "PayPalMethod", "one of shortcut"),
    (order(mode="popup"), "mode", "one of redirect"),
    (order(ref_nr="é" * 3), "RefNr", "ns..30"),
    (order(ref_nr="1" * 31), "RefNr", "ns..30"),
    (order(req_id="not-alnum"), "ReqId", "[A-Za-z0-9]{1,32} (alphanumeric ans..32)"),
    (order(req_id="a" * 33), "ReqId", "[A-Za-z0-9]{1,32} (alphanumeric ans..32)"),
    (order(user_data="u" * 1025), "UserData", "ans..1024"),
    (order(account="a" * 129), "Account", "ans..128"),
    (order(language="NL"), "Language", "one of AU|DE|FR|IT|GB|ES|US"),
    (order(no_shipping=1), "NoShipping", "bool"),
    (order(address=Address(first_name="Jane", country_code="US")), "LastName", "when AddrCountryCode is US"),
    (order(address=US_ADDRESS.model_copy(update={"zip": None})), "AddrZip", "when AddrCountryCode is US"),
    (order(address="Main Street 1"), "Address", "mapping"),
    (order(address=BasketLine(name="Pen", amount=1, number="1", quantity=1)), "Address", "model_type"),
    (order(shipping_amount=500), "ShAmount", "ShAmount needs basket lines"),
    (order(basket=[BasketLine(name="Pen", amount=999, number="P1", quantity=2)]), "Amount",
     "Amount = ItemTotal + TaxTotal + ShAmount"),
    (order(amount=2100, basket=[BasketLine(name="Pen", amount=1000, number="P1", quantity=2)]), "Amount",
     "Amount = ItemTotal + TaxTotal + ShAmount"),
    (order(amount=99 * 100, basket=[BasketLine(name="L", amount=100, number="1", quantity=1)] * 99), "OrderDesc99",
     "at most 98 basket lines"),
    (order(amount=2100, basket=[BasketLine(name="N" * 2040, amount=2100, number="1", quantity=1, description="d")]),
     "OrderDesc2", "ans..2048"),
    (order(risk_evaluation={}), "RiskEvaluation", "non-empty mapping"),
    (order(risk_evaluation={"sender_first_name": "x" * 2000}), "RiskEvaluation", "ans..2048"),
    (order(risk_evaluation={"k": 1}), "RiskEvaluation", "text key/value pairs"),
    (order(payment_units=[PaymentUnit(merchant_id="X1", amount=1000)]), "Amount", "Amount = Σ PaymentUnit(n).amount"),
    (order(amount=2000, payment_units=[
        PaymentUnit(merchant_id="X1", items=[OrderItem(name="a", quantity=1, unit_amount=1000, category="DONATION")]),
        PaymentUnit(merchant_id="X2", items=[OrderItem(name="b", quantity=1, unit_amount=1000, category="DIGITAL_GOODS")]),
    ]), "PaymentUnit.orderitems.category", "DONATION not mixed"),
    (order(amount=2000, payment_units=[
        PaymentUnit(merchant_id="X1", invoice_id="I1", amount=1000),
        PaymentUnit(merchant_id="X1", invoice_id="I1", amount=1000),
    ]), "PaymentUnit.invoiceid", "unique invoiceid per merchantid"),
    (order(amount=10000, payment_units=[PaymentUnit(merchant_id="X1", order_description="d" * 127,
                                                    items=[OrderItem(name="n" * 127, quantity=1, unit_amount=1000,
                                                                     description="e" * 127)] * 10)]),
     "PaymentUnit1", "ans..2048"),
    (order(basket=["Pen,999,P1,2"]), "OrderDesc(n)", "mapping"),
    (order(basket=BasketLine(name="Pen", amount=1999, number="P1", quantity=1)), "OrderDesc(n)", "sequence"),
    (order(colour="red"), "colour", "unknown field"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "field", "rule"), ORDER_CASES)
def test_order_rules(kwargs: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        PayPalOrderRequest(**kwargs)
    assert info.value.field == field
    assert info.value.rule == rule
    assert field.split(".")[0] in str(info.value)


MANDATORY = ("trans_id", "amount", "currency", "order_desc", "url_success", "url_failure", "url_notify")


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [c for c in ORDER_CASES if "colour" not in c[0] and all(k in c[0] for k in MANDATORY)],
)
def test_client_refuses_before_sending(sync_client: AxeptaClient, kwargs: dict[str, Any], field: str, rule: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        sync_client.create_paypal_order(**kwargs)
    assert info.value.field == field


VALID_ORDERS: list[dict[str, Any]] = [
    order(capture="manual", tx_type="order"),
    order(capture="Manual", tx_type="Auth"),
    order(tx_type="BAID", ref_nr="BA-2024-1"),
    order(paypal_method="SHORTCUT", language="fr", no_shipping=True, account="shop@example.com"),
    order(mode="redirect", address=US_ADDRESS),
    order(address=Address(first_name="Jean", country_code="fr", phone="+33 (0)1-23.45/67")),
    order(amount=2 * 999 + 2 * 100 + 490, shipping_amount=490,
          basket=[BasketLine(name="Pen", amount=999, number="P1", quantity=2, description="", tax=100)]),
    order(url_notify="http://127.0.0.1:8080/notify", url_success="http://localhost/ok"),
    order(ref_nr="DE--099222773"),
]  # fmt: skip


@pytest.mark.parametrize("kwargs", VALID_ORDERS)
def test_valid_orders(kwargs: dict[str, Any]) -> None:
    request = PayPalOrderRequest(**kwargs)
    assert request.capture in ("Auto", "Manual")


def test_normalised_values() -> None:
    r = PayPalOrderRequest(**order(capture="manual", tx_type="order", paypal_method="SHORTCUT", language="fr",
                                   address=Address(first_name="Jean", country_code="fr", phone="+33 (0)1-23.45/67")))  # fmt: skip
    assert (r.capture, r.tx_type, r.paypal_method, r.language) == ("Manual", "Order", "shortcut", "FR")
    assert r.address is not None
    assert r.address.country_code == "FR" and r.address.phone == "0033012345" + "67"
    assert r.sdk_intent == "authorize"
    assert PayPalOrderRequest(**order()).sdk_intent == "capture"
    assert PayPalOrderRequest(**order(tx_type="BAID", ref_nr="B1")).sdk_intent is None


def test_address_rules() -> None:
    with pytest.raises(InvalidRequestError) as info:
        Address(state="California", country_code="US")
    assert (info.value.field, info.value.rule) == ("AddrState", "PayPal state/province code")
    with pytest.raises(InvalidRequestError) as info:
        Address(state="qc", country_code="CA")
    assert info.value.field == "AddrState"
    assert Address(state="Bavaria", country_code="DE").state == "Bavaria"
    with pytest.raises(InvalidRequestError) as info:
        Address(country_code="USA")
    assert info.value.field == "AddrCountryCode"
    with pytest.raises(InvalidRequestError) as info:
        Address(phone="call me")
    assert (info.value.field, info.value.rule) == ("Phone", "n..20")
    with pytest.raises(InvalidRequestError) as info:
        Address(phone=12345)
    assert info.value.field == "Phone"
    with pytest.raises(InvalidRequestError) as info:
        Address(zip="1" * 21)
    assert info.value.field == "AddrZip"


def test_basket_line_rules() -> None:
    for kwargs, field, rule in [
        ({"name": "a,b", "amount": 1, "number": "1", "quantity": 1}, "OrderDesc(n).Name", "no comma"),
        ({"name": "a", "amount": 1, "number": "1,2", "quantity": 1}, "OrderDesc(n).Number", "no comma"),
        ({"name": "a", "amount": 1, "number": "1", "quantity": 1, "description": "x,y"}, "OrderDesc(n).Description", "no comma"),
        ({"name": "a", "amount": 1, "number": "1", "quantity": 0}, "OrderDesc(n).Quantity", "n..10"),
        ({"name": "a", "amount": 1.5, "number": "1", "quantity": 1}, "OrderDesc(n).Amount", "integer minor units"),
        ({"name": "a", "amount": 1, "number": "1", "quantity": 1, "tax": -1}, "OrderDesc(n).Tax", "n..10"),
        ({"name": "a&b", "amount": 1, "number": "1", "quantity": 1}, "OrderDesc(n).Name", "ans..2048"),
    ]:
        with pytest.raises(InvalidRequestError) as info:
            BasketLine(**kwargs)
        assert (info.value.field, info.value.rule) == (field, rule)
    assert BasketLine(name="Pen", amount=0, number="P1", quantity=3).wire() == "Pen,0,P1,3,,"
    assert BasketLine(name="Pen", amount=5, number="P1", quantity=3, description="blue", tax=1).wire() == "Pen,5,P1,3,blue,1"


def test_payment_unit_rules_and_json() -> None:
    unit = PaymentUnit(
        merchant_email="merchant@example.com",
        merchant_id="XVRKM94GQDXB2",
        shipping_amount=1000,
        invoice_id="xxxxx",
        order_description="yyyyy",
        items=[
            OrderItem(name="zzzzz", quantity=1, unit_amount=3000, tax=1000, description="xxxx", category="PHYSICAL_GOODS"),
            OrderItem(name="xxxxx", quantity=2, unit_amount=2500, tax=500, description="yyyyy", category="digital_goods"),
        ],
    )
    # 004's example: amount 11000 = itemtotal 8000 + taxtotal 2000 + shipping 1000
    assert (unit.amount, unit.item_total, unit.tax_total) == (11000, 8000, 2000)
    data = unit.as_json()
    assert data["amount"] == "11000" and data["orderitems"][1]["category"] == "DIGITAL_GOODS"
    request = PayPalOrderRequest(**order(amount=11000, payment_units=[unit]))
    (encoded,) = request.payment_units_wire()
    assert json.loads(base64.b64decode(encoded)) == data
    for kwargs, field in [
        ({"amount": 100}, "PaymentUnit.merchantid"),
        ({"merchant_id": "X", "amount": 100, "item_total": 50, "tax_total": 0}, "PaymentUnit.amount"),
        ({"merchant_id": "X", "items": [OrderItem(name="a", quantity=1, unit_amount=100)], "item_total": 99}, "PaymentUnit.itemtotal"),
        ({"merchant_id": "X", "items": [OrderItem(name="a", quantity=2, unit_amount=100, tax=5)], "tax_total": 5}, "PaymentUnit.taxtotal"),
        ({"merchant_id": "X"}, "PaymentUnit.amount"),
        ({"merchant_id": "X" * 14, "amount": 100}, "PaymentUnit.merchantid"),
    ]:
        with pytest.raises(InvalidRequestError) as info:
            PaymentUnit(**kwargs)
        assert info.value.field == field
    with pytest.raises(InvalidRequestError) as info:
        OrderItem(name="a", quantity=1, unit_amount=1, category="FOOD")
    assert info.value.field == "PaymentUnit.orderitems.category"


def test_risk_evaluation_json() -> None:
    request = PayPalOrderRequest(**order(risk_evaluation={"sender_first_name": "John", "sender_last_name": "Doe"}))
    decoded = json.loads(base64.b64decode(request.risk_evaluation_wire() or ""))
    assert decoded == {"additional_data": [{"key": "sender_first_name", "value": "John"},
                                           {"key": "sender_last_name", "value": "Doe"}]}  # fmt: skip


FOLLOW_UP_CASES: list[tuple[type[Any], dict[str, Any], str, str]] = [
    (CompleteRequest, {"pay_id": "short"}, "PayID", "an32"),
    (CompleteRequest, {"pay_id": PAY_ID[:-1] + "-"}, "PayID", "an32"),
    (CompleteRequest, {"pay_id": PAY_ID, "address": Address(last_name="Doe", city="Paris")}, "FirstName",
     "address fields need FirstName"),
    (CompleteRequest, {"pay_id": PAY_ID, "address": Address(first_name="Jane", last_name="Doe")}, "AddrStreet",
     "when FirstName is sent"),
    (CompleteRequest, {"pay_id": PAY_ID, "address": Address(first_name="J", last_name="D", street="S", city="C", zip="Z")},
     "AddrCountryCode", "when FirstName is sent"),
    (CompleteRequest, {"pay_id": PAY_ID, "address": Address(first_name="J", last_name="D", street="S", city="C", zip="Z",
                                                            country_code="US")}, "AddrState", "when AddrCountryCode is US"),
    (CompleteRequest, {"pay_id": PAY_ID, "ref_nr": "x" * 31}, "RefNr", "ns..30"),
    (AuthorizeRequest, {"pay_id": None}, "PayID", "mandatory"),
    (CaptureRequest, {"pay_id": PAY_ID, "tid": "x" * 18}, "TID", "ans..17"),
    (CaptureRequest, {"pay_id": PAY_ID, "complete": "YES"}, "CompleteType", "bool"),
    (CaptureRequest, {"pay_id": PAY_ID, "ref_nr": "r" * 31}, "RefNr", "ans..30"),
    (CaptureRequest, {"pay_id": PAY_ID, "req_id": "with space"}, "ReqId", "[A-Za-z0-9]{1,32} (alphanumeric ans..32)"),
    (CreditRequest, {"pay_id": PAY_ID, "note": "n" * 769}, "Note", "ans..768"),
    (CreditRequest, {"pay_id": PAY_ID, "amount": 12.5}, "Amount", "integer minor units"),
    (CreditExRequest, {}, "Payer", "exactly one of PayerID, Payer"),
    (CreditExRequest, {"payer_id": "P1", "payer": "a@b.example"}, "PayerID", "exactly one of PayerID, Payer"),
    (CreditExRequest, {"payer_id": "P1", "note": "thanks"}, "Note", "MassPay only"),
    (CreditExRequest, {"payer_id": "P1", "subject": "refund"}, "Subject", "MassPay only"),
    (CreditExRequest, {"payer_id": "P" * 14}, "PayerID", "ans..13"),
    (CreditExRequest, {"payer": "p" * 101}, "Payer", "ans..100"),
    (CreditExRequest, {"payer": "a@b.example", "subject": "s" * 256}, "Subject", "ans..255"),
    (CreditExRequest, {"payer": "a@b.example", "account": "a" * 129}, "Account", "ans..128"),
    (ReverseRequest, {"pay_id": PAY_ID, "currency": "eur"}, "Currency", "a3 upper case"),
    (ReferenceTransactionRequest, {"billing_agreement_id": "B_123"}, "BillingAgreementID", "[A-Za-z0-9-]{1,19}"),
    (ReferenceTransactionRequest, {"billing_agreement_id": "B-" + "1" * 18}, "BillingAgreementID", "[A-Za-z0-9-]{1,19}"),
    (ReferenceTransactionRequest, {"billing_agreement_id": "B-1", "order_desc": "d" * 31}, "OrderDesc", "ans..30"),
    (ReferenceTransactionRequest, {}, "BillingAgreementID", "mandatory"),
]  # fmt: skip


@pytest.mark.parametrize(("model", "changes", "field", "rule"), FOLLOW_UP_CASES)
def test_follow_up_rules(model: type[Any], changes: dict[str, Any], field: str, rule: str) -> None:
    kwargs: dict[str, Any] = {"trans_id": "T-1", "amount": 1000, "currency": "EUR"}
    kwargs.update(changes)
    with pytest.raises(InvalidRequestError) as info:
        model(**{k: v for k, v in kwargs.items() if v is not None})
    assert (info.value.field, info.value.rule) == (field, rule)


def test_follow_up_valid_cases() -> None:
    base: dict[str, Any] = {"trans_id": "T-1", "amount": 1000, "currency": "EUR"}
    assert CompleteRequest(**base, pay_id=PAY_ID, address=Address()).address is not None
    full = Address(first_name="J", last_name="D", street="S", city="C", zip="Z", country_code="DE")
    assert CompleteRequest(**base, pay_id=PAY_ID, address=full).address == full
    assert AuthorizeRequest(**base, pay_id=PAY_ID, address=Address(city="Paris")).address is not None
    assert CreditExRequest(**base, payer="a@b.example", note="n", subject="s").payer == "a@b.example"
    assert ReferenceTransactionRequest(**base, billing_agreement_id="B-5YM15616XX0983012").order_desc is None


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_every_client_method_refuses_a_float_amount(sync_client: AxeptaClient, operation: str) -> None:
    method, kwargs, _ = OPERATIONS[operation]
    with pytest.raises(InvalidRequestError) as info:
        getattr(sync_client, method)(**{**kwargs, "amount": float(kwargs["amount"])})
    assert (info.value.field, info.value.rule) == ("Amount", "integer minor units")


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_small_amounts_need_the_option(credentials: Credentials, operation: str) -> None:
    method, kwargs, _ = OPERATIONS[operation]
    small = {**kwargs, "amount": 99}
    with respx.mock(assert_all_mocked=True, assert_all_called=False), AxeptaClient(credentials) as c:
        with pytest.raises(InvalidRequestError) as info:
            getattr(c, method)(**small)
        assert info.value.rule == "at least 100 minor units"
    with AxeptaClient(credentials, small_amounts_enabled=True) as c:
        from axepta.models import (
            AuthorizeRequest as A,
        )

        model = {
            "paypal_orders": PayPalOrderRequest,
            "paypal_complete": CompleteRequest,
            "authorize": A,
            "capture": CaptureRequest,
            "credit": CreditRequest,
            "credit_ex": CreditExRequest,
            "reverse": ReverseRequest,
            "paypal_reftrans": ReferenceTransactionRequest,
        }[operation]
        assert c.prepare(model(**small)).fields["Amount"] == "99"


def test_charset_is_checked_when_encrypting(credentials: Credentials) -> None:
    request = PayPalOrderRequest(**order(order_desc="Mug 10 €"))
    with AxeptaClient(credentials) as c, pytest.raises(InvalidRequestError) as info:
        c.prepare(request)
    assert info.value.field == "OrderDesc"
    assert "iso-8859-1" in str(info.value)
    utf8 = Credentials(credentials.merchant_id, "Tc5*2D_xs7B[6E?w", "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8", "utf-8")
    with AxeptaClient(utf8) as c:
        assert c.prepare(request).fields["OrderDesc"] == "Mug 10 €"
    # e + combining accent is one Latin-1 character after NFC
    with AxeptaClient(credentials) as c:
        assert c.prepare(PayPalOrderRequest(**order(order_desc="Cafe\u0301"))).fields["OrderDesc"] == "Café"


def test_non_paypal_currency_warns(credentials: Credentials) -> None:
    with AxeptaClient(credentials) as c, pytest.warns(UserWarning, match="PayPal"):
        c.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T", amount=1000, currency="KES"))


def test_models_are_frozen() -> None:
    request = CaptureRequest(pay_id=PAY_ID, trans_id="T", amount=1000, currency="EUR")
    with pytest.raises(Exception, match="frozen"):
        request.amount = 5  # type: ignore[misc]


def test_model_validate_with_a_non_mapping() -> None:
    with pytest.raises(InvalidRequestError) as info:
        CaptureRequest.model_validate(["not", "a", "mapping"])
    assert info.value.rule == "mapping"
