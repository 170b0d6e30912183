"""The simulator on the wire, driven with the crypto core only (an independent client side):
envelopes, padding, key spellings, MAC rules, format codes, ReqId replay, the buyer's side."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from axepta.credentials import Credentials
from axepta.crypto import Params, parse_params, sign
from axepta.simulator import Simulator
from axepta.simulator import _codes as codes
from tests.test_simulator.conftest import URLS, Shop, decode_result, envelope, order_fields

ORDERS = "ExternalServices/paypalorders.aspx"
DICTIONARY = json.loads((Path(__file__).parents[2] / "axepta/data/response_codes.json").read_text("utf-8"))


def s2s(credentials: Credentials, response: httpx.Response) -> tuple[Params, bytes]:
    """An encrypted S2S reply: the outer form and the raw decrypted bytes (padding kept)."""
    assert response.status_code == 200
    outer = parse_params(response.text)
    assert set(outer) == {"Len", "Data"}
    data = outer["Data"]
    assert data == data.upper()
    from Crypto.Cipher import Blowfish

    raw = Blowfish.new(credentials.blowfish_key.get_secret_value().encode(), Blowfish.MODE_ECB).decrypt(
        bytes.fromhex(data)
    )
    return parse_params(credentials.codec.decrypt(data, outer["Len"])), raw


def create(http: httpx.Client, credentials: Credentials, **extra: object) -> Params:
    response = http.post(ORDERS, data=envelope(credentials, order_fields(**extra), pay_id=False))
    assert response.status_code == 200, response.text
    return parse_params(response.text)


def test_every_detail_code_is_in_the_dictionary() -> None:
    for name, detail in codes.DETAILS.items():
        assert detail in DICTIONARY["details"], name
    for code in (codes.NOT_FOUND, codes.OVERCAPTURE, codes.NOTHING_CAPTURED, codes.ALREADY_REVERSED,
                 codes.MAC_MISSING, codes.MAC_INVALID, codes.DATA_INVALID, codes.TID_UNKNOWN):
        assert code[0] == "2" and code[1:4] in DICTIONARY["modules"] and code[4:] in DICTIONARY["details"]
    assert (codes.MAC_MISSING, codes.MAC_INVALID, codes.OVERCAPTURE) == ("20100044", "20120044", "21500067")
    assert (codes.NOT_FOUND, codes.NOTHING_CAPTURED, codes.ALREADY_REVERSED) == ("21500061", "21500069", "21501519")


def test_plain_order_reply_mixed_case_keys(http: httpx.Client, credentials: Credentials) -> None:
    reply = create(http, credentials)
    assert list(reply) == ["mid", "PayID", "XID", "TransID", "orderid"]
    assert reply["mid"] == credentials.merchant_id and reply["TransID"] == "T-1"
    assert len(reply["PayID"]) == 32 and reply["PayID"].isalnum()
    assert 1 <= len(reply["orderid"]) <= 17


def test_s2s_reply_is_space_padded_uppercase_hex_without_mac(
    http: httpx.Client, sim: Simulator, credentials: Credentials
) -> None:
    order = create(http, credentials, Capture="Manual", TxType="Auth")
    sim.approve(order["PayID"])
    fields = {"PayID": order["PayID"], "TransID": "T-1", "Amount": "4000", "Currency": "EUR"}
    params, raw = s2s(credentials, http.post("capture.aspx", data=envelope(credentials, fields)))
    assert list(params)[:7] == ["mid", "PayID", "XID", "TransID", "Status", "Description", "Code"]
    assert params["Code"] == "00000000" and params["Status"] == "OK" and "MAC" not in params
    assert len(params["TID"]) == 17
    text = raw.decode("iso-8859-1")
    pad = len(raw) - len(text.rstrip(" "))
    assert raw.endswith(b" " * pad) and b"\x00" not in raw and len(raw) % 8 == 0


def test_s2s_reply_mac_when_configured(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), s2s_reply_mac=True) as sim, httpx.Client(
        transport=sim.transport(), base_url="https://x.example/"
    ) as http:
        order = create(http, credentials, Capture="Manual", TxType="Auth")
        sim.approve(order["PayID"])
        fields = {"PayID": order["PayID"], "TransID": "T-1", "Amount": "100", "Currency": "EUR"}
        params, _ = s2s(credentials, http.post("capture.aspx", data=envelope(credentials, fields)))
        assert params["MAC"] == sign(credentials.hmac_key_bytes(), params["PayID"], "T-1",
                                     credentials.merchant_id, "OK", "00000000")


@pytest.mark.parametrize(("mac", "code"), [(False, "20100044"), ("0" * 64, "20120044"), ("nonsense", "20120044")])
def test_mac_rejections(http: httpx.Client, credentials: Credentials, mac: bool | str, code: str) -> None:
    reply = parse_params(http.post(ORDERS, data=envelope(credentials, order_fields(), mac=mac)).text)
    assert reply["Code"] == code and reply["Status"] == "FAILED" and "PayID" not in reply
    fields = {"PayID": "a" * 32, "TransID": "T", "Amount": "100", "Currency": "EUR"}
    params, _ = s2s(credentials, http.post("capture.aspx", data=envelope(credentials, fields, mac=mac)))
    assert params["Code"] == code


def test_mac_over_the_wrong_message_is_refused(http: httpx.Client, credentials: Credentials) -> None:
    # paypalorders signs *TransID*…: a MAC that includes a PayID is wrong
    fields = order_fields()
    wrong = sign(credentials.hmac_key_bytes(), "x", "T-1", credentials.merchant_id, "10000", "EUR")
    reply = parse_params(http.post(ORDERS, data=envelope(credentials, fields, mac=wrong)).text)
    assert reply["Code"] == "20120044"


def test_mac_optional_when_not_required(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), mac_required=()) as sim, httpx.Client(
        transport=sim.transport(), base_url="https://x.example/"
    ) as http:
        reply = parse_params(http.post(ORDERS, data=envelope(credentials, order_fields(), mac=False)).text)
        assert "PayID" in reply and "Code" not in reply
    with pytest.raises(ValueError, match="unknown operations"):
        Simulator(credentials, mac_required=("nope",))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Amount": None}, "20100005"),
        ({"Amount": "12.50"}, "20110005"),
        ({"Amount": "0100"}, "20110005"),
        ({"Amount": "0"}, "20120005"),
        ({"Amount": "12345678901"}, "20140005"),
        ({"Currency": "eur"}, "20110006"),
        ({"Currency": "XYZ"}, "20120006"),
        ({"Currency": None}, "20100006"),
        ({"TransID": None}, "20100002"),
        ({"TransID": "x" * 65}, "20140002"),
        ({"OrderDesc": None}, "20100011"),
        ({"OrderDesc": "d" * 128}, "20140011"),
        ({"OrderDesc2": "l" * 2049}, "20140012"),
        ({"URLNotify": "http://shop.example/notify"}, "20110022"),
        ({"URLSuccess": "https://shop.example/ok?x=1"}, "20110020"),
        ({"URLFailure": None}, "20100021"),
        ({"Capture": "Later"}, "20120009"),
        ({"Capture": "Manual"}, "20100981"),
        ({"TxType": "Order"}, "20120981"),
        ({"Capture": "Manual", "TxType": "Sale"}, "20120981"),
        ({"PayPalMethod": "express"}, "20120987"),
        ({"Language": "XX"}, "20121365"),
        ({"ReqId": "tab\tinside"}, "20110004"),
        ({"ReqId": "a" * 33}, "20140004"),
        ({"AddrCountryCode": "FRA"}, "20140973"),
        ({"AddrCountryCode": "F"}, "20130973"),
        ({"AddrCountryCode": "US", "FirstName": "A"}, "20100976"),
        ({"Phone": "+33 1"}, "20111364"),
        ({"TxType": "BAID", "Capture": None}, "20100032"),
        ({"ItemTotal": "5000", "TaxTotal": "0"}, "20120005"),
        ({"UserData": "u" * 1025}, "20141283"),
    ],
)
def test_order_format_codes(http: httpx.Client, credentials: Credentials, change: dict[str, str | None], code: str) -> None:
    fields = order_fields()
    fields.update(change)
    fields = {k: v for k, v in fields.items() if v is not None}
    reply = parse_params(http.post(ORDERS, data=envelope(credentials, fields, pay_id=False)).text)
    assert reply.get("Code") == code, reply.get("Description")
    assert reply["Status"] == "FAILED" and reply["Description"]


def test_unknown_and_missing_merchant_get_plain_failures(http: httpx.Client, credentials: Credentials) -> None:
    form = envelope(credentials, order_fields())
    reply = parse_params(http.post(ORDERS, data={**form, "MerchantID": "OTHER"}).text)
    assert reply["Code"] == "20120003"
    reply = parse_params(http.post(ORDERS, data={k: v for k, v in form.items() if k != "MerchantID"}).text)
    assert reply["Code"] == "20100003"


@pytest.mark.parametrize(
    ("form_change", "code"),
    [
        ({"Data": ""}, "20100007"),
        ({"Len": ""}, "20100008"),
        ({"Len": "x1"}, "20110008"),
        ({"Data": "ABC"}, "20010007"),
        ({"Len": "99999"}, "20010007"),
    ],
)
def test_envelope_errors(http: httpx.Client, credentials: Credentials, form_change: dict[str, str], code: str) -> None:
    fields = {"PayID": "a" * 32, "TransID": "T", "Amount": "100", "Currency": "EUR"}
    form = {**envelope(credentials, fields), **form_change}
    params, _ = s2s(credentials, http.post("capture.aspx", data=form))
    assert params["Code"] == code and params["Status"] == "FAILED"


def test_inner_merchant_must_match(http: httpx.Client, credentials: Credentials) -> None:
    form = envelope(credentials, {"MerchantID": "SOMEONE", **order_fields()})
    assert parse_params(http.post(ORDERS, data=form).text)["Code"] == "20120003"


def test_unknown_endpoint_and_index(http: httpx.Client) -> None:
    assert http.get("nothing.aspx").status_code == 404
    index = http.get("/")
    assert index.status_code == 200 and "cbPayPal.aspx" in index.text and "BNP_DEMO_AXEPTA" in index.text
    assert http.request("PUT", "capture.aspx").status_code == 405
    assert http.post("capture.aspx", content=b"x" * ((1 << 20) + 1)).status_code == 413


def test_req_id_replay_returns_the_first_answer_and_acts_once(
    http: httpx.Client, sim: Simulator, credentials: Credentials
) -> None:
    order = create(http, credentials, Capture="Manual", TxType="Auth")
    sim.approve(order["PayID"])
    fields = {"PayID": order["PayID"], "TransID": "T-1", "Amount": "3000", "Currency": "EUR", "ReqId": "abc123"}
    first = http.post("capture.aspx", data=envelope(credentials, fields))
    again = http.post("capture.aspx", data=envelope(credentials, fields))
    assert first.content == again.content
    assert sim.payment(order["PayID"]).captured == 3000
    assert sim.stats()["replays"] == 1
    # the same ReqId with another amount still answers the first outcome
    other = http.post("capture.aspx", data=envelope(credentials, {**fields, "Amount": "100"}))
    assert other.content == first.content and sim.payment(order["PayID"]).captured == 3000
    # a failed outcome is replayed too
    over = {**fields, "Amount": "999999", "ReqId": "over1"}
    r1, r2 = (http.post("capture.aspx", data=envelope(credentials, over)) for _ in range(2))
    assert r1.content == r2.content and s2s(credentials, r1)[0]["Code"] == "21500067"


def test_req_id_memory_is_bounded(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), max_req_ids=2) as sim, httpx.Client(
        transport=sim.transport(), base_url="https://x.example/"
    ) as http:
        first = [create(http, credentials, TransID=f"T{i}", ReqId=f"r{i}")["PayID"] for i in range(3)]
        again = create(http, credentials, TransID="T0", ReqId="r0")["PayID"]
        assert again != first[0]  # r0 was forgotten: a new order
        assert create(http, credentials, TransID="T2", ReqId="r2")["PayID"] == first[2]


def test_payments_are_bounded_oldest_finished_first(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), max_payments=3, time_factor=1e-7) as sim, httpx.Client(
        transport=sim.transport(), base_url="https://x.example/"
    ) as http:
        a, b, c = (create(http, credentials, TransID=f"T{i}")["PayID"] for i in range(3))
        sim.approve(b)  # Capture=Auto: closed, i.e. finished
        d = create(http, credentials, TransID="T3")["PayID"]
        assert {p.pay_id for p in sim.payments()} == {a, c, d}
        create(http, credentials, TransID="T4")  # none finished: the oldest goes
        assert a not in {p.pay_id for p in sim.payments()}
        assert sim.stats()["evicted"] == 2
        with pytest.raises(KeyError):
            sim.payment(a)


def test_redirect_mode_answers_302_to_the_approval_page(
    http: httpx.Client, sim: Simulator, credentials: Credentials, shop: Shop
) -> None:
    form = envelope(credentials, order_fields(mode="redirect"), pay_id=False)
    response = http.get(ORDERS, params=form)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://www.sandbox.paypal.com/checkoutnow?token=")
    back = http.get(location)
    assert back.status_code == 302
    target = urlsplit(back.headers["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == URLS["url_success"]
    result = decode_result(credentials, target.query)
    assert result["Status"] == "OK" and result["Code"] == "00000000"


def test_baid_plain_reply_has_paypalurl(http: httpx.Client, credentials: Credentials) -> None:
    reply = create(http, credentials, TxType="BAID", Capture=None, RefNr="BA-1")
    assert "orderid" not in reply
    assert reply["paypalurl"].startswith("https://www.sandbox.paypal.com/agreements/approve?ba_token=BA-")


def rd(mid: str, pay_id: str, order_id: str) -> str:
    return base64.b64encode(f"MerchantId={mid}&PayId={pay_id}&OrderId={order_id}".encode()).decode()


def test_cbpaypal_approves_and_redirects_with_the_encrypted_result(
    http: httpx.Client, sim: Simulator, credentials: Credentials, shop: Shop
) -> None:
    order = create(http, credentials, UserData="cart=42", RefNr="INV-7")
    url = f"https://epayment.axepta.bnpparibas/cbPayPal.aspx?rd={rd(credentials.merchant_id, order['PayID'], order['orderid'])}"
    response = http.get(url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(URLS["url_success"] + "?Len=") and location.count("?") == 1
    query = dict(parse_qsl(urlsplit(location).query))
    assert set(query) == {"Len", "Data"}
    result = decode_result(credentials, urlsplit(location).query)
    assert [k for k in result][:7] == ["mid", "PayID", "XID", "TransID", "Status", "Description", "Code"]
    assert result["UserData"] == "cart=42" and result["RefNr"] == "INV-7"
    assert result["TransactionID"] == order["orderid"] and len(result["TID"]) == 17
    assert result["E-Mail"] and result["AddrStreet2"] == "" and "MAC" in result
    # a second click: same redirect, no second capture, no second notification
    assert http.get(url).headers["Location"] == location
    assert sim.wait_for_notifications(2)
    assert len(shop.posts) == 1 and sim.payment(order["PayID"]).captured == 10000
    post = shop.posts[0]
    assert post.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=iso-8859-1"
    assert post.content.decode() == urlsplit(location).query


def test_cbpaypal_cancel_variant(http: httpx.Client, sim: Simulator, credentials: Credentials, shop: Shop) -> None:
    order = create(http, credentials)
    r = rd(credentials.merchant_id, order["PayID"], order["orderid"])
    response = http.get(f"cbPayPal.aspx?rd={r}&ua=cancel&token={order['orderid']}")
    location = response.headers["Location"]
    assert location.startswith(URLS["url_failure"] + "?")
    result = decode_result(credentials, urlsplit(location).query)
    assert (result["Status"], result["Code"]) == ("FAILED", "21500053")
    assert sim.payment(order["PayID"]).state == "cancelled"


@pytest.mark.parametrize("bad", ["%%%", base64.b64encode(b"MerchantId=X").decode()])
def test_cbpaypal_bad_rd(http: httpx.Client, bad: str) -> None:
    assert http.get("cbPayPal.aspx", params={"rd": bad}).status_code == 400


def test_cbpaypal_unknown_payment_or_wrong_order(http: httpx.Client, credentials: Credentials) -> None:
    order = create(http, credentials)
    assert http.get("cbPayPal.aspx", params={"rd": rd(credentials.merchant_id, "b" * 32, "X")}).status_code == 404
    assert http.get("cbPayPal.aspx", params={"rd": rd(credentials.merchant_id, order["PayID"], "WRONG")}).status_code == 400
    assert http.get("checkoutnow", params={"token": "nope"}).status_code == 404


def test_clear_results_when_response_encrypt_is_missing(
    http: httpx.Client, sim: Simulator, credentials: Credentials
) -> None:
    order = create(http, credentials, Response=None)
    redirect = sim.approve(order["PayID"])
    assert "Data" not in redirect.query and redirect.query["Status"] == "OK"
    assert redirect.query["MAC"] == sign(credentials.hmac_key_bytes(), order["PayID"], "T-1",
                                         credentials.merchant_id, "OK", "00000000")


def test_paypal_complete_plain_without_response_encrypt(
    http: httpx.Client, sim: Simulator, credentials: Credentials
) -> None:
    order = create(http, credentials, PayPalMethod="shortcut")
    assert sim.approve(order["PayID"]).status == "AUTHORIZE_REQUEST"
    fields = {"PayID": order["PayID"], "TransID": "T-1", "Amount": "10500", "Currency": "EUR"}
    reply = parse_params(http.post("paypalComplete.aspx", data=envelope(credentials, fields)).text)
    assert reply["Status"] == "OK" and "Data" not in reply
    view = sim.payment(order["PayID"])
    assert view.state == "closed" and view.captured == 10500


def test_approve_helper_errors(sim: Simulator) -> None:
    with pytest.raises(KeyError):
        sim.approve("0" * 32)
    assert sim.expire("0" * 32) is False
    assert sim.revoke_billing_agreement("B-NOPE") is False


def test_simulator_argument_checks(credentials: Credentials) -> None:
    with pytest.raises(ValueError, match="time_factor"):
        Simulator(credentials, time_factor=0)
    with pytest.raises(ValueError, match="max_payments"):
        Simulator(credentials, max_payments=0)
    with pytest.raises(TypeError):
        Simulator().add_merchant("nope")  # type: ignore[arg-type]
    with Simulator() as sim:
        sim.add_merchant(credentials)
        assert sim.merchant_ids == [credentials.merchant_id]
        assert "BNP_DEMO_AXEPTA" in repr(sim) and "Tc5" not in repr(sim)


def test_cbpaypal_tolerates_plus_decoded_as_space(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    order = create(http, credentials)
    base = f"MerchantId={credentials.merchant_id}&PayId={order['PayID']}&OrderId={order['orderid']}"
    # extra fields are ignored; pick one that puts a '+' into the base64 text
    encoded = next(
        e for e in (base64.b64encode(f"{base}&x={'>' * n}".encode()).decode() for n in range(1, 30)) if "+" in e[:-4] and "+" in e[-4:]
    )
    response = http.get(f"cbPayPal.aspx?rd={encoded}")  # a literal '+' reads as a space in a query
    assert response.status_code == 302 and sim.payment(order["PayID"]).state == "closed"


def test_inner_merchant_missing(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    fields = order_fields()
    mac = sign(credentials.hmac_key_bytes(), "", "T-1", credentials.merchant_id, "10000", "EUR")
    enc = credentials.codec.encrypt("&".join(f"{k}={v}" for k, v in fields.items()) + f"&MAC={mac}")
    form = {"MerchantID": credentials.merchant_id, "Len": str(enc.length), "Data": enc.data}
    # the clear MerchantID suffices (PROTOCOL.md §3.1) ...
    assert len(parse_params(http.post(ORDERS, data=form).text)["PayID"]) == 32
    # ... unless the strict switch reads 004 literally
    sim.require_inner_merchant_id = True
    assert parse_params(http.post(ORDERS, data=form).text)["Code"] == "20100003"


def test_paypal_complete_refusals(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    order = create(http, credentials, PayPalMethod="shortcut")
    sim.approve(order["PayID"])
    base = {"PayID": order["PayID"], "TransID": "T-1", "Amount": "10000", "Currency": "EUR"}
    # without Response=encrypt a refusal is plain too; address fields need FirstName
    reply = parse_params(http.post("paypalComplete.aspx", data=envelope(credentials, {**base, "AddrCity": "Lyon"})).text)
    assert reply["Code"] == "20100037" and "Data" not in reply
    params, _ = s2s(credentials, http.post(
        "paypalComplete.aspx", data=envelope(credentials, {**base, "Response": "encrypt", "Currency": "USD"})
    ))
    assert params["Code"] == "20120006"


@pytest.mark.parametrize(
    ("extra", "code"), [({}, "20100980"), ({"PayerID": "P1", "Payer": "a@example.com"}, "20120980")]
)
def test_credit_ex_recipient_rules(http: httpx.Client, credentials: Credentials, extra: dict[str, str], code: str) -> None:
    fields = {"TransID": "X-1", "Amount": "500", "Currency": "EUR", **extra}
    params, _ = s2s(credentials, http.post("creditex.aspx", data=envelope(credentials, fields, pay_id=False)))
    assert params["Code"] == code and len(params["PayID"]) == 32


@pytest.mark.parametrize(("agreement", "code"), [("B-" + "1" * 18, "20140986"), ("B_123", "20110986")])
def test_billing_agreement_id_format(http: httpx.Client, credentials: Credentials, agreement: str, code: str) -> None:
    fields = {"TransID": "R-1", "Amount": "500", "Currency": "EUR", "BillingAgreementID": agreement}
    params, _ = s2s(credentials, http.post("paypalreftrans.aspx", data=envelope(credentials, fields, pay_id=False)))
    assert params["Code"] == code


def test_agreements_are_bounded(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), max_payments=1) as sim, httpx.Client(
        transport=sim.transport(), base_url="https://x.example/"
    ) as http:
        first = create(http, credentials, TxType="BAID", Capture=None, RefNr="A1")["PayID"]
        ba1 = sim.approve(first)
        second = create(http, credentials, TransID="T-2", TxType="BAID", Capture=None, RefNr="A2")["PayID"]
        sim.approve(second)
        ids = [decode_result(credentials, r.payload)["BillingAgreementID"] for r in (ba1, sim.approve(second))]
        assert not sim.billing_agreement_active(ids[0]) and sim.billing_agreement_active(ids[1])


def test_approval_payload_decodes_with_decode_notification(sim: Simulator, http: httpx.Client, credentials: Credentials) -> None:
    from axepta.notify import decode_notification

    redirect = sim.approve(create(http, credentials)["PayID"])
    note = decode_notification(redirect.payload, credentials)
    assert note.succeeded and note.pay_id == redirect.pay_id and redirect.success
