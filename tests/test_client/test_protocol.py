"""The pure core without any HTTP: plaintext order and content, the MAC on official vectors,
and every way a reply is refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from axepta.credentials import Credentials
from axepta.crypto import encode_params, parse_params, sign
from axepta.errors import (
    CryptoError,
    GatewayError,
    InvalidRequestError,
    ProtocolError,
    SignatureError,
    TransportError,
)
from axepta.models import (
    Address,
    AuthorizeRequest,
    BasketLine,
    CaptureRequest,
    CompleteRequest,
    CreditExRequest,
    CreditRequest,
    CreditResult,
    OrderItem,
    PaymentUnit,
    PayPalOrderRequest,
    PayPalOrderResult,
    ReferenceTransactionRequest,
    ReverseRequest,
)
from axepta.protocol import MAX_REPLY_BYTES, ProtocolCore, RawReply, Send, SendFailure, Sleep
from tests.conftest import load_vectors
from tests.test_client._support import ORDER_ID, PAY_ID, URLS, XID, Gateway

ORDER: dict[str, Any] = {"trans_id": "T-1", "amount": 1999, "currency": "EUR", "order_desc": "Book", **URLS}


@pytest.fixture
def core(credentials: Credentials) -> ProtocolCore:
    return ProtocolCore(credentials, req_id_factory=lambda: "f" * 32)


def _vector(case: str) -> dict[str, Any]:
    return next(v for v in load_vectors("quoted.json") if v["case"] == case)


def test_official_request_mac_vector() -> None:
    vector = _vector("official_request")  # *TID-4453732122167114558*YourMerchantID*1234*EUR
    core = ProtocolCore(Credentials("YourMerchantID", "aB3dEf9hJk2mNp5q", vector["hmac_key"]))
    prepared = core.prepare(
        PayPalOrderRequest(**{**ORDER, "trans_id": "TID-4453732122167114558", "amount": 1234})
    )
    assert prepared.fields["MAC"] == vector["mac"]
    credit_ex = core.prepare(
        CreditExRequest(trans_id="TID-4453732122167114558", amount=1234, currency="EUR", payer_id="P1")
    )
    assert credit_ex.fields["MAC"] == vector["mac"]


def test_official_notify_vector_verifies_a_capture_reply() -> None:
    vector = _vector("official_notify_authorized")  # PayID*TransID*MID*AUTHORIZED*00000000
    pay_id, trans_id, mid, status, code = vector["mac_message"].split("*")
    creds = Credentials(mid, "aB3dEf9hJk2mNp5q", vector["hmac_key"])
    core = ProtocolCore(creds)
    prepared = core.prepare(CaptureRequest(pay_id=pay_id, trans_id=trans_id, amount=1000, currency="EUR"))
    fields = {"mid": mid, "PayID": pay_id, "TransID": trans_id, "Status": status, "Code": code, "MAC": vector["mac"]}
    reply = Gateway(creds).encrypted(fields)
    result = core.parse_reply(prepared, RawReply(200, reply.encode()))
    assert result.status == "AUTHORIZED"
    tampered = {**fields, "Status": "OK"}
    with pytest.raises(SignatureError):
        core.parse_reply(prepared, RawReply(200, Gateway(creds).encrypted(tampered).encode()))


def test_full_order_plaintext_order(core: ProtocolCore, credentials: Credentials) -> None:
    unit = PaymentUnit(merchant_id="XVRKM94GQDXB2", items=[OrderItem(name="Pen", quantity=2, unit_amount=999, tax=100)], shipping_amount=490)
    request = PayPalOrderRequest(
        **{**ORDER, "amount": 2688},
        ref_nr="4711",
        capture="Manual",
        tx_type="Auth",
        paypal_method="shortcut",
        basket=(
            BasketLine(name="Pen", amount=999, number="P1", quantity=2, tax=100),
        ),
        shipping_amount=490,
        user_data="c2Vzc2lvbj0x",
        req_id="Order4711",
        account="shop@example.com",
        language="FR",
        address=Address(first_name="Jane", last_name="Doe", street="1 Main St", city="San Jose", state="CA", zip="95131", country_code="US", phone="+1 408 555 0100"),
        no_shipping=True,
        risk_evaluation={"sender_first_name": "Jane"},
        payment_units=(unit,),
        mode="redirect",
    )  # fmt: skip
    prepared = core.prepare(request)
    assert list(prepared.fields) == [
        "MerchantID", "TransID", "RefNr", "Amount", "Currency", "MAC", "Capture", "TxType",
        "PayPalMethod", "OrderDesc", "OrderDesc2", "TaxTotal", "ItemTotal", "ShAmount",
        "URLSuccess", "URLFailure", "Response", "URLNotify", "UserData", "ReqId", "Account",
        "Language", "FirstName", "LastName", "AddrStreet", "AddrCity", "AddrState", "AddrZip",
        "AddrCountryCode", "Phone", "NoShipping", "RiskEvaluation", "PaymentUnit1", "mode",
    ]  # fmt: skip
    f = prepared.fields
    assert (f["OrderDesc2"], f["TaxTotal"], f["ItemTotal"], f["ShAmount"]) == ("Pen,999,P1,2,,100", "200", "1998", "490")
    assert (f["Capture"], f["TxType"], f["PayPalMethod"], f["mode"], f["NoShipping"]) == ("Manual", "Auth", "shortcut", "redirect", "1")
    assert f["Phone"] == "0014085550100"
    assert json.loads(base64.b64decode(f["PaymentUnit1"]))["amount"] == "2688"
    assert json.loads(base64.b64decode(f["RiskEvaluation"])) == {"additional_data": [{"key": "sender_first_name", "value": "Jane"}]}
    assert prepared.req_id == "Order4711"
    # the clear form decrypts to exactly these fields, in this order
    assert credentials.codec.decrypt(prepared.form["Data"], prepared.form["Len"]) == encode_params(prepared.fields)
    assert prepared.form["Len"] == str(len(encode_params(prepared.fields)))
    assert prepared.money_moving is False


def test_basket_without_tax_and_shipping_sends_zero_tax_total(core: ProtocolCore) -> None:
    request = PayPalOrderRequest(**{**ORDER, "amount": 1998}, basket=[BasketLine(name="Pen", amount=999, number="P1", quantity=2)])
    f = core.prepare(request).fields
    assert (f["OrderDesc2"], f["TaxTotal"], f["ItemTotal"]) == ("Pen,999,P1,2,,", "0", "1998")
    assert "ShAmount" not in f


def test_baid_sends_no_capture(core: ProtocolCore) -> None:
    f = core.prepare(PayPalOrderRequest(**ORDER, tx_type="BAID", ref_nr="BA1")).fields
    assert "Capture" not in f and f["TxType"] == "BAID" and f["RefNr"] == "BA1"


def test_complete_address_sends_empty_optional_parts(core: ProtocolCore) -> None:
    address = Address(first_name="Jane", last_name="Doe", street="Rue 1", city="Paris", zip="75001", country_code="FR")
    f = core.prepare(CompleteRequest(pay_id=PAY_ID, trans_id="T-1", amount=2499, currency="EUR", address=address)).fields
    assert list(f)[-9:] == ["FirstName", "LastName", "AddrStreet", "AddrStreet2", "AddrCity", "AddrState", "AddrZip", "AddrCountryCode", "Phone"]
    assert (f["AddrStreet2"], f["AddrState"], f["Phone"]) == ("", "", "")
    plain = core.prepare(CompleteRequest(pay_id=PAY_ID, trans_id="T-1", amount=2499, currency="EUR", address=Address()))
    assert "FirstName" not in plain.fields


def test_follow_up_plaintexts(core: ProtocolCore) -> None:
    def fresh() -> ProtocolCore:  # one ReqId, one operation: the fixture's ReqId is a constant
        return ProtocolCore(core.credentials, req_id_factory=lambda: "f" * 32)

    common: dict[str, Any] = {"trans_id": "T-1", "amount": 1000, "currency": "EUR"}
    auth = fresh().prepare(AuthorizeRequest(**common, pay_id=PAY_ID, address=Address(city="Paris")))
    assert auth.fields["TxType"] == "Auth" and auth.fields["AddrCity"] == "Paris" and auth.req_id is None
    cap = fresh().prepare(CaptureRequest(**common, pay_id=PAY_ID, ref_nr="INV-1", tid="111", complete=True))
    assert list(cap.fields)[-4:] == ["RefNr", "ReqId", "TID", "CompleteType"]
    assert cap.fields["CompleteType"] == "YES" and cap.req_id == "f" * 32
    assert "CompleteType" not in fresh().prepare(CaptureRequest(**common, pay_id=PAY_ID)).fields
    credit = fresh().prepare(CreditRequest(**common, pay_id=PAY_ID, tid="222", note="sorry"))
    assert list(credit.fields)[-3:] == ["ReqId", "TID", "Note"]
    mass = fresh().prepare(CreditExRequest(**common, payer="buyer@example.com", note="n", subject="s", account="a", ref_nr="1"))
    assert list(mass.fields) == ["MerchantID", "TransID", "RefNr", "Amount", "Currency", "MAC", "ReqId", "Account", "Note", "Subject", "Payer"]
    rev = fresh().prepare(ReverseRequest(**common, pay_id=PAY_ID))
    assert rev.money_moving and rev.url.endswith("/reverse.aspx")
    ref = fresh().prepare(ReferenceTransactionRequest(**common, billing_agreement_id="B-1", ref_nr="9", order_desc="Monthly"))
    assert list(ref.fields) == ["MerchantID", "TransID", "Amount", "Currency", "MAC", "RefNr", "OrderDesc", "BillingAgreementID"]
    assert ref.req_id is None


def test_req_id_generated_once_per_prepare(credentials: Credentials) -> None:
    core = ProtocolCore(credentials)
    request = CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=1000, currency="EUR")
    first, second = core.prepare(request), core.prepare(request)
    assert first.req_id != second.req_id
    for prepared in (first, second):
        assert prepared.req_id is not None and len(prepared.req_id) == 32
        assert prepared.req_id == prepared.req_id.lower() and int(prepared.req_id, 16) >= 0
        assert prepared.fields["ReqId"] == prepared.req_id


def test_omit_mac_switch(credentials: Credentials) -> None:
    core = ProtocolCore(credentials, omit_mac=["authorize"])
    assert "MAC" not in core.prepare(AuthorizeRequest(pay_id=PAY_ID, trans_id="T", amount=1000, currency="EUR")).fields
    assert "MAC" in core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T", amount=1000, currency="EUR")).fields


def test_prepare_refuses_a_non_request(core: ProtocolCore) -> None:
    with pytest.raises(InvalidRequestError, match="not a request model"):
        core.prepare(Address())  # type: ignore[arg-type]


def test_redacted_and_repr_hide_mac_and_data(core: ProtocolCore) -> None:
    prepared = core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=1000, currency="EUR"))
    shown = prepared.redacted()
    assert shown["fields"]["MAC"] == "<redacted>" and shown["form"]["Data"] == "<redacted>"
    assert shown["fields"]["PayID"] == PAY_ID and shown["form"]["Len"] == prepared.form["Len"]
    json.dumps(shown)
    text = repr(prepared)
    assert prepared.form["Data"] not in text and prepared.fields["MAC"] not in text and "PayID" not in text
    assert prepared.pay_id == PAY_ID and prepared.trans_id == "T-1"


# -- replies ---------------------------------------------------------------------------------


def _capture(core: ProtocolCore) -> Any:
    return core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=1000, currency="EUR"))


def _ok(**changes: str | None) -> dict[str, str]:
    fields: dict[str, str | None] = {"mid": "BNP_DEMO_AXEPTA", "PayID": PAY_ID, "XID": XID, "TransID": "T-1", "Status": "OK", "Code": "00000000"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (404, b"not found", ProtocolError, "HTTP status 404"),
        (500, b"oops", TransportError, "outcome is unknown"),
        (503, b"", TransportError, "HTTP 503"),
        (302, b"", ProtocolError, "unexpected redirect"),
        (200, b"", ProtocolError, "empty"),
        (200, b"  \r\n", ProtocolError, "empty"),
        (200, b"<html><body>Error</body></html>", ProtocolError, "HTML"),
        (200, b"PayID=" + PAY_ID.encode() + b"&Code=00000000", ProtocolError, "no Data"),
        (200, b"Len=16&Data=XYZ", CryptoError, "odd number"),
        (200, b"Len=16&Data=00112233445566778899AABBCCDDEEFF-00", CryptoError, "AES"),
        (200, b"Len=999&Data=0011223344556677", CryptoError, "Len"),
        (200, b"x" * (MAX_REPLY_BYTES + 1), ProtocolError, "larger than"),
    ],
)
def test_unusable_replies(core: ProtocolCore, status: int, body: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        core.parse_reply(_capture(core), RawReply(status, body))


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        (_ok(mid="OTHER_MID"), ProtocolError, "another merchant ID"),
        (_ok(mid=None, MerchantID="OTHER_MID"), ProtocolError, "another merchant ID"),
        (_ok(TransID="T-2"), ProtocolError, "TransID 'T-2' does not echo"),
        (_ok(PayID="f" * 32), ProtocolError, "PayID .* does not echo"),
        (_ok(Code=None), ProtocolError, "no Code"),
        (_ok(PayID=None), ProtocolError, "no PayID"),
        (_ok(Code="2150006"), GatewayError, "malformed"),
        (_ok(MAC="00" * 32), SignatureError, "does not verify"),
        (_ok(MAC="not hex"), SignatureError, "does not verify"),
        (_ok(Code="22720040", Status="FAILED"), GatewayError, "22720040"),
        (_ok(Code="00000001"), GatewayError, "00000001"),
    ],
)
def test_refused_encrypted_replies(core: ProtocolCore, gateway: Gateway, fields: dict[str, str], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        core.parse_reply(_capture(core), RawReply(200, gateway.encrypted(fields).encode()))


def test_clear_refusal_is_a_gateway_error_but_clear_success_is_refused(core: ProtocolCore) -> None:
    with pytest.raises(GatewayError) as info:
        core.parse_reply(_capture(core), RawReply(200, b"Code=20100044&Status=FAILED&Description=MAC missing"))
    assert info.value.code == "20100044"
    with pytest.raises(ProtocolError, match="no Data"):
        core.parse_reply(_capture(core), RawReply(200, f"PayID={PAY_ID}&TransID=T-1&Status=OK&Code=00000000".encode()))
    with pytest.raises(ProtocolError, match="another merchant"):
        core.parse_reply(_capture(core), RawReply(200, b"mid=OTHER&Code=22720040"))


def test_clear_foreign_mid_next_to_data(core: ProtocolCore, gateway: Gateway) -> None:
    body = "mid=OTHER&" + gateway.encrypted(_ok(mid=None))
    with pytest.raises(ProtocolError, match="another merchant ID"):
        core.parse_reply(_capture(core), RawReply(200, body.encode()))
    body = "MerchantID=BNP_DEMO_AXEPTA&" + gateway.encrypted(_ok(mid=None))
    # the clear MerchantID may refuse a reply, never fill the result (the encrypted part decides)
    assert core.parse_reply(_capture(core), RawReply(200, body.encode())).mid is None


def test_only_encrypted_fields_are_read(core: ProtocolCore, gateway: Gateway) -> None:
    body = "Status=FAILED&Custom=x&" + gateway.encrypted(_ok())
    result = core.parse_reply(_capture(core), RawReply(200, body.encode()))
    assert result.status == "OK" and "Custom" not in result.raw


def test_duplicate_critical_key_is_a_protocol_error(core: ProtocolCore, gateway: Gateway) -> None:
    text = encode_params(_ok()) + "&code=22720040"
    body = f"Len={len(text)}&Data={gateway.credentials.codec.encrypt(text).data}"
    with pytest.raises(ProtocolError, match="twice"):
        core.parse_reply(_capture(core), RawReply(200, body.encode()))


def test_parameter_code_names_the_relaxed_rule(core: ProtocolCore, gateway: Gateway) -> None:
    prepared = core.prepare(ReferenceTransactionRequest(billing_agreement_id="B-1", trans_id="T-1", amount=1000, currency="EUR", ref_nr="INV-A"))
    body = gateway.encrypted(_ok(Code="20110986", Status="FAILED", PayID="a" * 32))
    with pytest.raises(GatewayError) as info:
        core.parse_reply(prepared, RawReply(200, body.encode()))
    assert "Q16" in (info.value.explanation or "") and "Q17" in (info.value.explanation or "")
    complete = core.prepare(CompleteRequest(pay_id=PAY_ID, trans_id="T-1", amount=1000, currency="EUR",
                                            address=Address(first_name="J", last_name="D", street="S", city="C", zip="1", country_code="DE")))  # fmt: skip
    with pytest.raises(GatewayError) as info:
        core.parse_reply(complete, RawReply(200, gateway.encrypted(_ok(Code="20140032", Status="FAILED")).encode()))
    assert "AddrStreet2, AddrState, Phone sent empty with FirstName (Q10)" in (info.value.explanation or "")
    # a non-parameter code does not mention relaxed rules
    with pytest.raises(GatewayError) as info:
        core.parse_reply(prepared, RawReply(200, gateway.encrypted(_ok(Code="21500061", PayID="a" * 32)).encode()))
    assert "relaxed" not in (info.value.explanation or "")


def test_credit_result_amounts(core: ProtocolCore, gateway: Gateway) -> None:
    prepared = core.prepare(CreditRequest(pay_id=PAY_ID, trans_id="T-1", amount=1000, currency="EUR"))
    body = gateway.encrypted(_ok(FeeRefundAmount="35", GrossRefundAmount="1000", NetRefundAmount="965", CodeExt=""))
    result = core.parse_reply(prepared, RawReply(200, body.encode()))
    assert isinstance(result, CreditResult)
    assert (result.fee_refund_amount, result.gross_refund_amount, result.net_refund_amount) == (35, 1000, 965)
    assert result.code_ext is None
    # the model is lenient (text kept in raw), the call is not: a refund must say it refunded 1000
    odd = CreditResult.from_params(_ok(GrossRefundAmount="10.00"))
    assert odd.gross_refund_amount is None and odd.raw["GrossRefundAmount"] == "10.00"
    with pytest.raises(ProtocolError, match=r"GrossRefundAmount 10\.00, not the 1000 requested"):
        core.parse_reply(prepared, RawReply(200, gateway.encrypted(_ok(GrossRefundAmount="10.00")).encode()))
    with pytest.raises(ProtocolError, match=r"no refund \(no GrossRefundAmount\)"):
        core.parse_reply(prepared, RawReply(200, gateway.encrypted(_ok()).encode()))


def test_remembered_req_ids_are_bounded(credentials: Credentials, monkeypatch: pytest.MonkeyPatch) -> None:
    import axepta.protocol

    monkeypatch.setattr(axepta.protocol, "MAX_REMEMBERED_REQ_IDS", 3)
    core = ProtocolCore(credentials)
    for n in range(5):
        core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=100 + n, currency="EUR", req_id=f"R{n}"))
    core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=100 + 4, currency="EUR", req_id="R4"))  # a retry
    with pytest.raises(InvalidRequestError, match=r"another operation \(other parameters: Amount\)") as info:
        core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=999, currency="EUR", req_id="R4"))
    assert info.value.field == "ReqId" and info.value.rule == "one ReqId, one operation"
    with pytest.raises(InvalidRequestError, match="another operation"):
        core.prepare(ReverseRequest(pay_id=PAY_ID, trans_id="T-1", amount=104, currency="EUR", req_id="R4"))
    # R0 and R1 were forgotten (only the last 3 are kept)
    core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=999, currency="EUR", req_id="R0"))


def test_reftrans_result_fields(core: ProtocolCore, gateway: Gateway) -> None:
    prepared = core.prepare(ReferenceTransactionRequest(billing_agreement_id="B-1", trans_id="T-1", amount=1000, currency="EUR"))
    body = gateway.encrypted(_ok(PayID="b" * 32, OrderID="9XK12345", TID="3C6", Name="Jane Doe", FirstName="Jane", LastName="Doe",
                                 **{"e-mail": "jane@example.com"}, BillingName="Jane", BillingAddrCountryCode="US", PayerID="PAYER1", refnr="R1"))  # fmt: skip
    result = core.parse_reply(prepared, RawReply(200, body.encode()))
    data = result.model_dump()
    assert (data["order_id"], data["tid"], data["email"], data["payer_id"], data["ref_nr"]) == ("9XK12345", "3C6", "jane@example.com", "PAYER1", "R1")
    assert (data["name"], data["billing_name"], data["billing_addr_country_code"]) == ("Jane Doe", "Jane", "US")


# -- paypalorders replies ----------------------------------------------------------------------


def _order(core: ProtocolCore, **changes: Any) -> Any:
    return core.prepare(PayPalOrderRequest(**{**ORDER, **changes}))


def test_plain_order_reply(core: ProtocolCore) -> None:
    body = f"mid=BNP_DEMO_AXEPTA&PayID={PAY_ID}&XID={XID}&TransID=T-1&orderid={ORDER_ID}&Status=&UserData=abc"
    result = core.parse_reply(_order(core), RawReply(200, body.encode()))
    assert isinstance(result, PayPalOrderResult)
    assert (result.pay_id, result.order_id, result.status, result.user_data) == (PAY_ID, ORDER_ID, None, "abc")
    assert result.approval_url is None and result.succeeded and not result.awaiting_completion


def test_baid_reply_with_percent_encoded_paypal_url(core: ProtocolCore) -> None:
    url = "https%3A%2F%2Fwww.sandbox.paypal.com%2Fagreements%2Fapprove%3Fba_token%3DBA-1"
    body = f"PayID={PAY_ID}&TransID=T-1&paypalurl={url}"
    result = core.parse_reply(_order(core, tx_type="BAID", ref_nr="B1"), RawReply(200, body.encode()))
    assert isinstance(result, PayPalOrderResult)
    assert result.paypal_url == "https://www.sandbox.paypal.com/agreements/approve?ba_token=BA-1"
    assert result.approval_url == result.paypal_url


def test_encrypted_order_reply(core: ProtocolCore, gateway: Gateway) -> None:
    body = gateway.encrypted({"mid": "BNP_DEMO_AXEPTA", "PayID": PAY_ID, "TransID": "T-1", "orderid": ORDER_ID, "Code": "00000000"})
    assert core.parse_reply(_order(core), RawReply(200, body.encode())).pay_id == PAY_ID
    failed = gateway.encrypted({"PayID": PAY_ID, "TransID": "T-1", "Code": "21500987", "Status": "FAILED"})
    with pytest.raises(GatewayError) as info:
        core.parse_reply(_order(core), RawReply(200, failed.encode()))
    assert info.value.code == "21500987" and info.value.pay_id == PAY_ID


@pytest.mark.parametrize(
    ("changes", "body", "message"),
    [
        ({}, f"PayID=short&TransID=T-1&orderid={ORDER_ID}", "not 32 letters"),
        ({}, f"PayID={PAY_ID}&XID=bad&orderid={ORDER_ID}", "XID"),
        ({}, f"PayID={PAY_ID}&TransID=T-9&orderid={ORDER_ID}", "does not echo"),
        ({}, f"PayID={PAY_ID}&TransID=T-1", "no orderid"),
        ({}, "Description=error&Status=FAILED", "no PayID, no Code"),
        ({}, f"mid=OTHER&PayID={PAY_ID}&orderid={ORDER_ID}", "another merchant"),
        ({"tx_type": "BAID", "ref_nr": "B1"}, f"PayID={PAY_ID}&TransID=T-1", "no approval URL"),
        ({"tx_type": "BAID", "ref_nr": "B1"}, f"PayID={PAY_ID}&paypalurl=https://evil.example/x", "paypal.com"),
        ({"tx_type": "BAID", "ref_nr": "B1"}, f"PayID={PAY_ID}&paypalurl=http://www.paypal.com/x", "paypal.com"),
        ({"tx_type": "BAID", "ref_nr": "B1"}, f"PayID={PAY_ID}&paypalurl=https://paypal.com.evil.example/", "paypal.com"),
    ],
)
def test_refused_order_replies(core: ProtocolCore, changes: dict[str, Any], body: str, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        core.parse_reply(_order(core, **changes), RawReply(200, body.encode()))


def test_plain_order_error_reply_without_pay_id(core: ProtocolCore) -> None:
    with pytest.raises(GatewayError) as info:
        core.parse_reply(_order(core), RawReply(200, b"Code=20110011&Status=FAILED&Description=OrderDesc missing"))
    assert info.value.code == "20110011" and info.value.description == "OrderDesc missing"


def test_redirect_mode_returns_location(core: ProtocolCore) -> None:
    location = "https://www.sandbox.paypal.com/checkoutnow?token=5O190127TN364715T"
    result = core.parse_reply(_order(core, mode="redirect"), RawReply(302, b"", location))
    assert isinstance(result, PayPalOrderResult)
    assert result.redirect_url == location and result.pay_id is None and result.trans_id == "T-1"
    assert result.approval_url == location and result.req_id == "f" * 32
    assert core.parse_reply(_order(core, mode="redirect"), RawReply(302, b"", "http://127.0.0.1:8000/pp")).redirect_url
    for bad in (None, "", "javascript:alert(1)", "http://www.paypal.com/x"):
        with pytest.raises(ProtocolError, match="Location"):
            core.parse_reply(_order(core, mode="redirect"), RawReply(302, b"", bad))


def test_result_fields_do_not_depend_on_case() -> None:
    upper = parse_params("PAYID=a&TRANSID=b&STATUS=OK&CODE=00000000&TID=t&E-MAIL=x@y")
    lower = parse_params("payid=a&transid=b&status=OK&code=00000000&tid=t&e-mail=x@y")
    from axepta.models import ResultFields

    assert ResultFields.from_params(upper).model_dump(exclude={"raw"}) == ResultFields.from_params(lower).model_dump(exclude={"raw"})


# -- the exchange generator ------------------------------------------------------------------


def test_exchange_without_backoff_sleep(credentials: Credentials, gateway: Gateway) -> None:
    core = ProtocolCore(credentials, retry_backoff=0.25, max_retries=1)
    prepared = _capture(core)
    steps = core.exchange(prepared)
    assert isinstance(next(steps), Send)
    assert steps.send(SendFailure("could not connect", sent=False, retryable=True)) == Sleep(0.25)
    step = steps.send(None)
    assert isinstance(step, Send) and step.attempt == 2
    with pytest.raises(StopIteration) as stop:
        steps.send(RawReply(200, gateway.encrypted(_ok()).encode()))
    assert stop.value.value.code == "00000000"


def test_exchange_refuses_a_wrong_answer(core: ProtocolCore) -> None:
    steps = core.exchange(_capture(core))
    next(steps)
    with pytest.raises(TypeError):
        steps.send("not a reply")  # type: ignore[arg-type]


def test_non_retryable_unsent_failure(core: ProtocolCore) -> None:
    steps = core.exchange(_capture(core))
    next(steps)
    with pytest.raises(TransportError, match="never reached") as info:
        steps.send(SendFailure("unsupported URL scheme", sent=False, retryable=False))
    assert info.value.sent is False


def test_sign_helper_matches_core(core: ProtocolCore, credentials: Credentials) -> None:
    prepared = _capture(core)
    assert prepared.fields["MAC"] == sign(credentials.hmac_key_bytes(), PAY_ID, "T-1", credentials.merchant_id, "1000", "EUR")


def test_result_fields_of_a_browser_result() -> None:
    from axepta.models import ResultFields

    ok = base64.b64encode(json.dumps({"status": "COMPLETED", "id": "3C679366HH908993F1", "invoiceid": "PU1"}).encode()).decode()
    failed = base64.b64encode(b'{"status":"FAILED", "id":"na", "invoiceid":""}').decode()
    params = parse_params(
        f"mid=M&PayID={PAY_ID}&XID={XID}&TransID=T-1&Status=OK&Description=ok&Code=00000000&UserData=u"
        "&Name=Jane Doe&FirstName=Jane&LastName=Doe&e-mail=jane@example.com&AddrStreet=1 Main St&AddrStreet2="
        "&AddrCity=San Jose&AddrState=CA&AddrZip=95131&AddrCountryCode=US&Phone=+1 408 555 0100"
        "&BillingAgreementID=B-5YM15616XX0983012&BillingName=Jane&BillingAddrStreet=2 Side St&BillingAddrZIP=95132"
        "&BillingAddrCountryCode=US&payerStatus=verified&InfoText=thanks&PayerID=PAYER1&GrossAmount=19.99"
        "&FeeAmount=0.93&ExchangeRate=&TID=3C6&TransactionID=5O19&CodeExt=10417&refnr=R1"
        f"&OrderStatus1={ok}&OrderStatus2={failed}&OrderStatus3=!!notbase64&OrderStatus5={ok}"
    )
    result = ResultFields.from_params(params)
    assert (result.email, result.addr_street2, result.addr_state, result.phone) == ("jane@example.com", None, "CA", "+1 408 555 0100")
    assert (result.billing_agreement_id, result.billing_addr_zip, result.payer_status) == ("B-5YM15616XX0983012", "95132", "verified")
    assert (result.gross_amount, result.fee_amount, result.exchange_rate) == ("19.99", "0.93", None)
    assert (result.tid, result.transaction_id, result.code_ext, result.ref_nr) == ("3C6", "5O19", "10417", "R1")
    assert result.succeeded and result.info_text == "thanks" and result.user_data == "u"
    first, second, third = result.order_status  # stops at the first missing number
    assert first.completed and first.capture_id == "3C679366HH908993F1" and first.invoice_id == "PU1"
    assert not second.completed and second.capture_id is None and second.invoice_id is None
    assert third.status is None and third.encoded == "!!notbase64"
    assert ResultFields.from_params({"Code": "22720040", "PayID": PAY_ID}).succeeded is False
    as_list = base64.b64encode(b'["COMPLETED"]').decode()
    assert ResultFields.from_params({"OrderStatus1": as_list}).order_status[0].status is None
    assert ResultFields.from_params({"Status": "AUTHORIZE_REQUEST", "Code": "00000000"}).awaiting_completion
