"""Requests as four production integrations build them (PROTOCOL.md §3.1, §4.0; issue 12):
each peer's own envelope — where ``MerchantID`` goes, hex case, padding, key spellings, GET or
POST, empty and unknown fields — is accepted by the simulator; its strict switch refuses the
three that leave ``MerchantID`` out of ``Data`` with ``20100003``, as 004 literally reads.

The field sets follow each peer's request-building code (re-expressed here, not copied):

* pretix/pretix-computop ``execute_refund``: POST to credit.aspx, ``MerchantID`` inside and in
  clear, a form-encoded plaintext with ``OrderDesc`` (unknown to credit), PKCS#7 padding,
  upper-case hex and MAC.
* a-bobkov's solution on computop-node-client: GET with ``MerchantID``, ``Data``, ``Len`` and
  ``URLBack`` in the query, ``Mac`` spelled so, ``shAmount``, ``MerchantID`` only in clear,
  UTF-8 text (``Straße``) with ``Len`` in characters, a ``RefNr`` such as ``DE--099222773``.
* spryker-eco/computop-api capture/refund mappers: ``PayID``, ``TransID``, ``ReqID``, ``RefNr``,
  ``Amount``, ``Currency``, ``MAC``; ``MerchantID`` only in clear; zero padding, lower-case hex
  (``bin2hex``), upper-case MAC.
* FATCHIP-GmbH/library-computop ``getCaptureParams``/``getRefundParams``: a GET with the query
  ``MerchantID``/``Len``/``Data``; keys ``payID``, ``amount``, ``currency``, ``transID``, empty
  ``xID``/``orderDesc``/``schemeReferenceID``, ``Date``, ``Reason``; lower-case MAC
  (``hash_hmac``); openssl's PKCS#7 block after the zero padding (padding beyond ``Len``);
  lower-case hex.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from Crypto.Cipher import Blowfish

from axepta.credentials import Credentials
from axepta.crypto import Params, parse_params, sign
from axepta.simulator import Simulator
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_simulator.conftest import FAST, URLS, Shop, envelope, order_fields

ORDERS = "ExternalServices/paypalorders.aspx"


def peer_encrypt(plaintext: str, *, charset: str = "iso-8859-1", padding: str = "zero", upper: bool = False) -> tuple[str, int]:
    """Blowfish-ECB as the peers do it: ``padding`` is ``zero``, ``pkcs7`` or ``zero+pkcs7``
    (zeros to a whole block, then openssl's full PKCS#7 block); ``Len`` is in characters."""
    raw = plaintext.encode(charset)
    if padding in ("zero", "zero+pkcs7"):
        raw += b"\x00" * (-len(raw) % 8)
    if padding in ("pkcs7", "zero+pkcs7"):
        n = 8 - len(raw) % 8
        raw += bytes([n]) * n
    data = Blowfish.new(DEMO_BLOWFISH.encode(), Blowfish.MODE_ECB).encrypt(raw).hex()
    return (data.upper() if upper else data), len(plaintext)


def peer_mac(pay_id: str, trans_id: str, amount: str, currency: str, *, upper: bool) -> str:
    mac = sign(DEMO_HMAC.encode(), pay_id, trans_id, DEMO_MID, amount, currency)
    return mac.upper() if upper else mac.lower()


def plain(fields: dict[str, str]) -> str:
    """``key=value&…`` without percent-encoding (computop-node-client, Spryker, FATCHIP)."""
    return "&".join(f"{k}={v}" for k, v in fields.items())


def reply(response: httpx.Response, credentials: Credentials) -> Params:
    assert response.status_code == 200, response.text
    outer = parse_params(response.text)
    if "Data" not in outer:
        return outer
    return parse_params(credentials.codec.decrypt(outer["Data"], outer["Len"]))


@pytest.fixture(params=[False, True], ids=["lenient", "strict"])
def strict(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def peer_sim(credentials: Credentials, shop: Shop, strict: bool) -> Iterator[Simulator]:
    with Simulator(
        credentials, time_factor=FAST, notify_transport=shop.transport(), seed=3,
        pending_timeout_minutes=1e9, require_inner_merchant_id=strict,
    ) as simulator:
        yield simulator


@pytest.fixture
def peer_http(peer_sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=peer_sim.transport(), base_url="https://www.computop-paygate.com/") as client:
        yield client


def authorized_order(http: httpx.Client, sim: Simulator, credentials: Credentials, **extra: str) -> str:
    """An order created the way our client does, approved by the buyer."""
    form = envelope(credentials, order_fields(**extra), pay_id=False)
    pay_id = parse_params(http.post(ORDERS, data=form).text)["PayID"]
    sim.approve(pay_id)
    return pay_id


def test_pretix_refund(peer_http: httpx.Client, peer_sim: Simulator, credentials: Credentials) -> None:
    pay_id = authorized_order(peer_http, peer_sim, credentials, TransID="ABC12-P-1")  # Capture=Auto
    data = {
        "MerchantID": DEMO_MID, "Amount": "2500", "Currency": "EUR",
        "MAC": peer_mac(pay_id, "ABC12-R-1", "2500", "EUR", upper=True),
        "PayID": pay_id, "TransID": "ABC12-R-1", "RefNr": "ABC12-R-1", "OrderDesc": "Order DEMO-ABC12-R-1",
    }
    text = urlencode(data)
    hex_data, length = peer_encrypt(text, charset="utf-8", padding="pkcs7", upper=True)
    answer = reply(peer_http.post("credit.aspx", data={"MerchantID": DEMO_MID, "Len": str(length), "Data": hex_data}), credentials)
    # pretix sends MerchantID inside Data: accepted in both modes
    assert answer["Code"] == "00000000", answer.get("Description")
    assert peer_sim.payment(pay_id).refunded == 2500


def test_spryker_capture_and_refund(peer_http: httpx.Client, peer_sim: Simulator, credentials: Credentials, strict: bool) -> None:
    pay_id = authorized_order(peer_http, peer_sim, credentials, Capture="Manual", TxType="Auth")

    def call(path: str, amount: str, req_id: str) -> Params:
        fields = {
            "PayID": pay_id, "TransID": "T-1", "ReqID": req_id, "RefNr": "DE--1",
            "Amount": amount, "Currency": "EUR", "MAC": peer_mac(pay_id, "T-1", amount, "EUR", upper=True),
        }
        hex_data, length = peer_encrypt(plain(fields))
        return reply(peer_http.post(path, data={"Data": hex_data, "Len": str(length), "MerchantID": DEMO_MID}), credentials)

    captured = call("capture.aspx", "6000", "5e884898da28047151d0e56f8dc62927")
    if strict:
        assert captured["Code"] == "20100003" and captured["Status"] == "FAILED"
        assert peer_sim.payment(pay_id).captured == 0
        return
    assert captured["Code"] == "00000000", captured.get("Description")
    assert call("capture.aspx", "6000", "5e884898da28047151d0e56f8dc62927") == captured  # ReqID replays
    assert peer_sim.payment(pay_id).captured == 6000 and peer_sim.stats()["replays"] == 1
    assert call("credit.aspx", "1000", "0d1b08c34858921bc7c662b228acb7ba")["Code"] == "00000000"
    assert peer_sim.payment(pay_id).refunded == 1000


def test_fatchip_capture_and_refund_by_get(peer_http: httpx.Client, peer_sim: Simulator, credentials: Credentials, strict: bool) -> None:
    pay_id = authorized_order(peer_http, peer_sim, credentials, Capture="Manual", TxType="Auth")

    def call(path: str, params: dict[str, str]) -> Params:
        text = plain(params) + "&MAC=" + peer_mac(pay_id, "T-1", params["amount"], "EUR", upper=False)
        hex_data, length = peer_encrypt(text, padding="zero+pkcs7")
        query = f"MerchantID={DEMO_MID}&Len={length}&Data={hex_data}"
        return reply(peer_http.get(f"{path}?{query}"), credentials)

    capture = {
        "payID": pay_id, "amount": "10000", "currency": "EUR", "Date": "2026-11-30", "transID": "T-1",
        "xID": "", "orderDesc": "", "schemeReferenceID": "",
    }
    captured = call("capture.aspx", capture)
    if strict:
        assert captured["Code"] == "20100003"
        assert peer_sim.payment(pay_id).captured == 0
        return
    assert captured["Code"] == "00000000", captured.get("Description")
    assert peer_sim.payment(pay_id).state == "closed"
    refund = {**capture, "amount": "4000", "invNo": "", "Reason": "WIDERRUF_TEILWEISE", "Custom": ""}
    assert call("credit.aspx", refund)["Code"] == "00000000"
    assert peer_sim.payment(pay_id).refunded == 4000


def test_node_client_shortcut_by_get(shop: Shop, strict: bool) -> None:
    utf8 = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC, "utf-8")
    with Simulator(
        utf8, time_factor=FAST, notify_transport=shop.transport(), seed=5, pending_timeout_minutes=1e9,
        require_inner_merchant_id=strict,
    ) as sim, httpx.Client(transport=sim.transport(), base_url="https://www.computop-paygate.com/") as http:

        def call(path: str, fields: dict[str, str]) -> Params:
            fields["Mac"] = peer_mac(fields.get("PayID", ""), fields["TransID"], fields["Amount"], fields["Currency"], upper=True)
            text = plain(fields)
            hex_data, length = peer_encrypt(text, charset="utf-8")
            query = urlencode({"MerchantID": DEMO_MID, "Data": hex_data, "Len": length, "URLBack": "https://shop.example/back"})
            return reply(http.get(f"{path}?{query}"), utf8)

        order = call(ORDERS, {
            "TransID": "2a8fd193977e8e1bab618eedb5e25b0f", "PayPalMethod": "shortcut", "Capture": "Auto",
            "URLSuccess": URLS["url_success"], "URLFailure": URLS["url_failure"], "URLNotify": URLS["url_notify"],
            "Response": "encrypt", "OrderDesc": "Name:Tee-spoon-Sku:2894323-00011-Quantity:2", "Currency": "EUR",
            "Amount": "2199", "TaxTotal": "351", "ItemTotal": "1848", "shAmount": "0",
        })
        if strict:
            assert order["Code"] == "20100003" and order["Status"] == "FAILED"
            assert sim.payments() == []
            return
        assert order.get("Code") is None and len(order["PayID"]) == 32, order.get("Description")
        sim.approve(order["PayID"])
        completed = call("paypalComplete.aspx", {
            "Response": "encrypt", "PayID": order["PayID"], "TransID": "2a8fd193977e8e1bab618eedb5e25b0f",
            "Amount": "2199", "Currency": "EUR", "FirstName": "Andrey", "LastName": "Bobkov",
            "AddrStreet": "St.-Martin-Straße 102", "AddrStreet2": "c/o Mediawave", "AddrCity": "München",
            "AddrZip": "81669", "AddrCountryCode": "DE", "RefNr": "DE--099222773",
        })
        assert completed["Code"] == "00000000", completed.get("Description")
        assert sim.payment(order["PayID"]).state == "closed" and sim.payment(order["PayID"]).captured == 2199


def test_strict_switch_still_refuses_a_differing_inner_merchant(credentials: Credentials, shop: Shop) -> None:
    for strict in (False, True):
        with Simulator(credentials, notify_transport=shop.transport(), require_inner_merchant_id=strict) as sim, \
                httpx.Client(transport=sim.transport(), base_url="https://x.example/") as http:
            form = envelope(credentials, {"MerchantID": "SOMEONE", **order_fields()}, pay_id=False)
            assert parse_params(http.post(ORDERS, data=form).text)["Code"] == "20120003"


@pytest.mark.parametrize("req_id", ["order-123-capture-1", "a.b_c-d", "R" * 32])
def test_req_id_is_ans_32(http: httpx.Client, sim: Simulator, credentials: Credentials, req_id: str) -> None:
    pay_id = authorized_order(http, sim, credentials, Capture="Manual", TxType="Auth")
    fields = {"PayID": pay_id, "TransID": "T-1", "Amount": "3000", "Currency": "EUR", "ReqId": req_id}
    first = http.post("capture.aspx", data=envelope(credentials, fields))
    again = http.post("capture.aspx", data=envelope(credentials, fields))
    assert reply(first, credentials)["Code"] == "00000000"
    assert first.content == again.content and sim.payment(pay_id).captured == 3000
