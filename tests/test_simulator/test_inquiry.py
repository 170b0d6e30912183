"""The simulator's status inquiry (PROTOCOL.md §4.15.8): ``inquire.aspx`` and ``inquire24.aspx``
answered from its books, on the wire (crypto core only) and through both real clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from axepta import AsyncAxeptaClient, AxeptaClient, Credentials, GatewayError, TransportError
from axepta.crypto import Params, encode_params, parse_params, sign
from axepta.simulator import Simulator
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC
from tests.test_simulator.conftest import FAST, URLS, Shop, envelope, order_fields

OTHER = Credentials("OTHER_SHOP", "Other*Blowfish1", "other-hmac-key-0123456789")
TEST_MID = Credentials("SHOP_DEMO_t", DEMO_BLOWFISH, DEMO_HMAC)


@pytest.fixture
def sim(credentials: Credentials, shop: Shop) -> Iterator[Simulator]:
    with Simulator(
        [credentials, OTHER, TEST_MID], time_factor=FAST, notify_transport=shop.transport(), seed=7,
        pending_timeout_minutes=1e9,
    ) as simulator:
        yield simulator


def reply_of(credentials: Credentials, response: httpx.Response) -> Params:
    assert response.status_code == 200
    outer = dict(parse_qsl(response.text))
    assert set(outer) == {"Len", "Data"}, "an inquiry's reply is always encrypted"
    return parse_params(credentials.codec.decrypt(outer["Data"], outer["Len"]))


def ask(
    http: httpx.Client, credentials: Credentials, path: str, fields: dict[str, Any], *, mac: bool | str = True,
    method: str = "POST", inner_mid: bool = True,
) -> Params:
    """Send an inquiry built with the crypto core only; ``mac=True`` signs Computop's form."""
    if mac is True:
        mac = sign(
            credentials.hmac_key_bytes(), fields.get("PayID", "") if path == "inquire.aspx" else "",
            fields.get("TransID", ""), credentials.merchant_id, "", "",
        )  # fmt: skip
    plain = {"MerchantID": credentials.merchant_id, **fields} if inner_mid else dict(fields)
    if mac:
        plain["MAC"] = mac
    enc = credentials.codec.encrypt(encode_params(plain))
    form = {"MerchantID": credentials.merchant_id, "Len": str(enc.length), "Data": enc.data}
    if method == "GET":
        return reply_of(credentials, http.get(path, params=form))
    return reply_of(credentials, http.post(path, data=form))


def create(http: httpx.Client, credentials: Credentials, trans_id: str = "T-1", amount: int = 10000, **extra: Any) -> str:
    response = http.post("ExternalServices/paypalorders.aspx", data=envelope(credentials, order_fields(trans_id, amount, **extra), pay_id=False))
    pay_id = dict(parse_qsl(response.text))["PayID"]
    assert len(pay_id) == 32
    return pay_id


def s2s(http: httpx.Client, credentials: Credentials, path: str, fields: dict[str, Any]) -> Params:
    return reply_of(credentials, http.post(path, data=envelope(credentials, fields)))


def amounts(reply: Params) -> tuple[int, int, int]:
    return int(reply["AmountAuth"]), int(reply["AmountCap"]), int(reply["AmountCred"])


# -- the wire -----------------------------------------------------------------------------------


def test_found_reply_carries_what_the_books_hold(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    pay_id = create(http, credentials, "T-1", 2500, Capture="Manual", TxType="Auth")
    sim.approve(pay_id)
    r = ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1"})
    assert list(r) == [
        "mid", "PayID", "XID", "TransID", "Status", "Code", "Description", "AmountAuth", "AmountCap",
        "AmountCred", "Currency", "LastStatus",
    ]  # no MAC
    assert (r["mid"], r["PayID"], r["TransID"], r["Status"], r["Code"]) == (credentials.merchant_id, pay_id, "T-1", "OK", "00000000")
    assert amounts(r) == (2500, 0, 0) and r["Currency"] == "EUR" and r["LastStatus"] == "OK"
    assert len(r["XID"]) == 32


def test_get_and_post_and_any_key_case(http: httpx.Client, credentials: Credentials) -> None:
    pay_id = create(http, credentials)
    for method in ("GET", "POST"):
        for key in ("PayID", "payID", "PayId"):
            r = ask(http, credentials, "inquire.aspx", {key: pay_id, "transID": "T-1"}, method=method, mac=False)
            assert r["Status"] == "OK" and r["PayID"] == pay_id


def test_data_without_merchant_id_and_unknown_extras_are_accepted(http: httpx.Client, credentials: Credentials) -> None:
    pay_id = create(http, credentials)
    # magento2 sends PayId and TransID only; spryker adds ReqID and RefNr (and a MAC over an amount)
    r = ask(http, credentials, "inquire.aspx", {"PayId": pay_id, "TransID": "T-1"}, mac=False, inner_mid=False)
    assert r["Status"] == "OK"
    spryker_mac = sign(credentials.hmac_key_bytes(), pay_id, "T-1", credentials.merchant_id, "10000", "EUR")
    r = ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1", "ReqID": "abc-1", "RefNr": "R1", "EtiID": "x"}, mac=spryker_mac, inner_mid=False)
    assert r["Status"] == "OK"
    # FATCHIP's library: payID only, no TransID: the stored TransID comes back
    r = ask(http, credentials, "inquire.aspx", {"payID": pay_id}, mac=False)
    assert r["Status"] == "OK" and r["TransID"] == "T-1"


def test_an_inner_merchant_id_that_differs_is_refused(http: httpx.Client, credentials: Credentials) -> None:
    pay_id = create(http, credentials)
    plain = {"MerchantID": "SOMEONE_ELSE", "PayID": pay_id, "TransID": "T-1"}
    enc = credentials.codec.encrypt(encode_params(plain))
    r = reply_of(credentials, http.post("inquire.aspx", data={"MerchantID": credentials.merchant_id, "Len": str(enc.length), "Data": enc.data}))
    assert (r["Status"], r["Code"]) == ("FAILED", "20120003")


def test_mac_is_optional_and_counted(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    pay_id = create(http, credentials)
    ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1"}, mac=False)
    ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1"})
    ask(http, credentials, "inquire24.aspx", {"TransID": "T-1"})
    r = ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1"}, mac="A" * 64)
    assert r["Status"] == "OK"  # never refused by default (D-INQ-1)
    stats = sim.stats()
    assert (stats["inquiry_mac:absent"], stats["inquiry_mac:valid"], stats["inquiry_mac:invalid"]) == (1, 2, 1)


def test_strict_switch_refuses_an_invalid_mac(credentials: Credentials, shop: Shop) -> None:
    with Simulator(credentials, notify_transport=shop.transport(), inquiry_mac_strict=True) as strict, httpx.Client(
        transport=strict.transport(), base_url="https://paymentpage.axepta.bnpparibas/"
    ) as http:
        pay_id = create(http, credentials)
        assert ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1"})["Status"] == "OK"
        assert ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1"}, mac=False)["Status"] == "OK"
        r = ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-1"}, mac="B" * 64)
        assert (r["Status"], r["Code"]) == ("FAILED", "20120044")


@pytest.mark.parametrize(
    ("path", "fields", "code"),
    [
        ("inquire.aspx", {"TransID": "T-1"}, "20100001"),
        ("inquire.aspx", {"PayID": "short", "TransID": "T-1"}, "20110001"),
        ("inquire.aspx", {"PayID": "g" * 31 + "!", "TransID": "T-1"}, "20110001"),
        ("inquire24.aspx", {}, "20100002"),
        ("inquire24.aspx", {"TransID": ""}, "20100002"),
    ],
)
def test_validation(http: httpx.Client, credentials: Credentials, path: str, fields: dict[str, str], code: str) -> None:
    r = ask(http, credentials, path, fields, mac=False)
    assert (r["Status"], r["Code"]) == ("FAILED", code)
    assert "AmountAuth" not in r


def test_unknown_merchant_and_bad_data_as_on_other_endpoints(http: httpx.Client, credentials: Credentials) -> None:
    r = http.post("inquire.aspx", data={"MerchantID": "NOBODY", "Len": "8", "Data": "00" * 8})
    assert "Code=20120003" in r.text and "Data=" not in r.text
    r = http.post("inquire24.aspx", data={"MerchantID": credentials.merchant_id, "Len": "8", "Data": "zz"})
    assert reply_of(credentials, r)["Code"] == "20010007"
    r = http.post("inquire24.aspx", data={"MerchantID": credentials.merchant_id, "Len": "8"})
    assert reply_of(credentials, r)["Code"] == "20100007"


def test_not_found(http: httpx.Client, credentials: Credentials) -> None:
    r = ask(http, credentials, "inquire.aspx", {"PayID": "0" * 32, "TransID": "T-X"})
    assert dict(r) == {
        "mid": credentials.merchant_id, "PayID": "0" * 32, "TransID": "T-X", "Status": "FAILED",
        "Code": "21500061", "Description": "PAYMENT NOT FOUND",
    }  # fmt: skip
    r = ask(http, credentials, "inquire24.aspx", {"TransID": "T-X"})
    assert (r["Status"], r["Code"], r["Description"], r["TransID"]) == ("FAILED", "21500061", "PAYMENT NOT FOUND", "T-X")
    assert "PayID" not in r


def test_another_merchant_s_payment_is_not_found(http: httpx.Client, credentials: Credentials) -> None:
    pay_id = create(http, OTHER, "SHARED")
    assert ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "SHARED"})["Code"] == "21500061"
    assert ask(http, credentials, "inquire24.aspx", {"TransID": "SHARED"})["Code"] == "21500061"
    assert ask(http, OTHER, "inquire24.aspx", {"TransID": "SHARED"})["PayID"] == pay_id


def test_inquire24_picks_the_most_recent_payment_with_that_trans_id(http: httpx.Client, credentials: Credentials) -> None:
    first = create(http, credentials, "SAME", 1000)
    second = create(http, credentials, "SAME", 2000)
    create(http, OTHER, "SAME", 3000)
    r = ask(http, credentials, "inquire24.aspx", {"TransID": "SAME"})
    assert r["PayID"] == second != first


def test_the_stored_trans_id_is_echoed(http: httpx.Client, credentials: Credentials) -> None:
    pay_id = create(http, credentials, "ORIGINAL")
    r = ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "REFUND-2"})
    assert (r["Status"], r["TransID"]) == ("OK", "ORIGINAL")


def test_unavailable_switch_is_per_merchant(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    pay_id = create(http, credentials)
    other = create(http, OTHER, "O-1")
    sim.set_inquiry_available(credentials.merchant_id, False)
    for path, fields in (("inquire.aspx", {"PayID": pay_id, "TransID": "T-1"}), ("inquire24.aspx", {"TransID": "T-1"})):
        r = ask(http, credentials, path, fields)
        assert (r["Status"], r["Code"]) == ("FAILED", "20500081") and "AmountAuth" not in r
    assert ask(http, OTHER, "inquire.aspx", {"PayID": other, "TransID": "O-1"})["Status"] == "OK"
    sim.set_inquiry_available(credentials.merchant_id, True)
    assert ask(http, credentials, "inquire24.aspx", {"TransID": "T-1"})["Status"] == "OK"
    with pytest.raises(KeyError):
        sim.set_inquiry_available("NOBODY", False)


def test_amounts_follow_the_books(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    def inquired(pay_id: str) -> tuple[int, int, int]:
        return amounts(ask(http, credentials, "inquire.aspx", {"PayID": pay_id}))

    auto = create(http, credentials, "AUTO", 5000)
    assert inquired(auto) == (0, 0, 0)  # created: nothing held
    sim.approve(auto)
    assert inquired(auto) == (5000, 5000, 0)  # Capture=Auto: A = the order amount

    order = create(http, credentials, "ORDER", 4000, Capture="Manual", TxType="Order")
    sim.approve(order)
    assert inquired(order) == (0, 0, 0)  # Order approved, not authorised
    s2s(http, credentials, "Authorize.aspx", {"PayID": order, "TransID": "ORDER", "TxType": "Auth", "Amount": "4000", "Currency": "EUR"})
    assert inquired(order) == (4000, 0, 0)
    s2s(http, credentials, "capture.aspx", {"PayID": order, "TransID": "ORDER", "Amount": "1500", "Currency": "EUR"})
    s2s(http, credentials, "capture.aspx", {"PayID": order, "TransID": "ORDER", "Amount": "1000", "Currency": "EUR"})
    assert inquired(order) == (4000, 2500, 0)

    reversed_ = create(http, credentials, "REV", 3000, Capture="Manual", TxType="Auth")
    sim.approve(reversed_)
    s2s(http, credentials, "reverse.aspx", {"PayID": reversed_, "TransID": "REV", "Amount": "3000", "Currency": "EUR"})
    assert inquired(reversed_) == (0, 0, 0)  # Q-INQ-4: A falls to 0

    cancelled = create(http, credentials, "CANCEL", 3000)
    sim.cancel(cancelled)
    assert inquired(cancelled) == (0, 0, 0)

    expired = create(http, credentials, "EXP", 3000, PayPalMethod="shortcut")
    sim.approve(expired)
    assert sim.expire(expired)
    assert inquired(expired) == (0, 0, 0)

    r = s2s(http, credentials, "creditex.aspx", {"TransID": "PAYOUT", "Amount": "1500", "Currency": "EUR", "PayerID": "XVRKM94GQDXB2"})
    assert inquired(r["PayID"]) == (0, 0, 1500)  # creditex: R = its amount


def test_last_status_records_a_refused_credit(http: httpx.Client, sim: Simulator, credentials: Credentials) -> None:
    pay_id = create(http, credentials, "T-7", 3000, Capture="Manual", TxType="Auth")
    sim.approve(pay_id)
    s2s(http, credentials, "capture.aspx", {"PayID": pay_id, "TransID": "T-7", "Amount": "3000", "Currency": "EUR"})
    s2s(http, credentials, "credit.aspx", {"PayID": pay_id, "TransID": "T-7", "Amount": "1000", "Currency": "EUR"})
    refused = s2s(http, credentials, "credit.aspx", {"PayID": pay_id, "TransID": "T-7", "Amount": "5000", "Currency": "EUR"})
    assert refused["Status"] == "FAILED"
    r = ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-7"})
    # CT-INQ's example: A and C > 0, LastStatus FAILED; XID names that refused step
    assert amounts(r) == (3000, 3000, 1000) and r["LastStatus"] == "FAILED" and r["XID"] == refused["XID"]
    assert sim.payment(pay_id).last_status == "FAILED"
    ok = s2s(http, credentials, "credit.aspx", {"PayID": pay_id, "TransID": "T-7", "Amount": "500", "Currency": "EUR"})
    r = ask(http, credentials, "inquire24.aspx", {"TransID": "T-7"})
    assert r["LastStatus"] == "OK" and r["XID"] == ok["XID"] and amounts(r) == (3000, 3000, 1500)


def test_inquiries_are_read_only(http: httpx.Client, sim: Simulator, shop: Shop, credentials: Credentials) -> None:
    pay_id = create(http, credentials, "T-R", 3000, Capture="Manual", TxType="Auth")
    sim.approve(pay_id)
    s2s(http, credentials, "capture.aspx", {"PayID": pay_id, "TransID": "T-R", "Amount": "1000", "Currency": "EUR", "ReqId": "cap1"})
    assert sim.wait_for_notifications(5)
    before, posts, replays = sim.payments(), len(shop.posts), sim.stats().get("replays", 0)
    for _ in range(3):
        # a ReqId already used by the capture: an inquiry neither replays nor stores it
        r = ask(http, credentials, "inquire.aspx", {"PayID": pay_id, "TransID": "T-R", "ReqId": "cap1"})
        assert r["Status"] == "OK" and amounts(r) == (3000, 1000, 0)
        ask(http, credentials, "inquire24.aspx", {"TransID": "T-R", "ReqId": "inq1"})
    assert sim.wait_for_notifications(5)
    assert sim.payments() == before and len(shop.posts) == posts and sim.stats().get("replays", 0) == replays
    again = s2s(http, credentials, "capture.aspx", {"PayID": pay_id, "TransID": "T-R", "Amount": "1000", "Currency": "EUR", "ReqId": "inq1"})
    assert again["Status"] == "OK" and sim.payment(pay_id).captured == 2000  # inq1 was never taken


# -- through the real clients -------------------------------------------------------------------


def test_sync_client_found_partial_capture_refund_and_refused_credit(client: AxeptaClient, sim: Simulator) -> None:
    order = client.create_paypal_order(trans_id="C-1", amount=3000, currency="EUR", order_desc="Books", capture="Manual", tx_type="Auth", **URLS)
    assert client.inquire(trans_id="C-1", pay_id=order.pay_id).state == "none"
    sim.approve(order.pay_id)
    assert client.inquire(trans_id="C-1", pay_id=order.pay_id).state == "authorized"
    client.capture(pay_id=order.pay_id, trans_id="C-1", amount=1000, currency="EUR")
    got = client.inquire(trans_id="C-1", pay_id=order.pay_id, currency="EUR")
    assert (got.state, got.fully_captured, got.amount_captured) == ("captured", False, 1000)
    client.credit(pay_id=order.pay_id, trans_id="C-1", amount=400, currency="EUR")
    with pytest.raises(GatewayError):
        client.credit(pay_id=order.pay_id, trans_id="C-1", amount=4000, currency="EUR")
    for got in (client.inquire(trans_id="C-1", pay_id=order.pay_id), client.inquire(trans_id="C-1")):
        assert (got.found, got.state, got.amount_authorized, got.amount_captured, got.amount_refunded) == (True, "refunded", 3000, 1000, 400)
        assert got.last_status == "FAILED" and not got.last_step_failed and got.pay_id == order.pay_id


def test_sync_client_not_found(client: AxeptaClient) -> None:
    for got in (client.inquire(trans_id="NOPE"), client.inquire(trans_id="NOPE", pay_id="1" * 32)):
        assert (got.found, got.available, got.not_found, got.not_found_rule) == (False, True, True, "code")
        assert got.description == "PAYMENT NOT FOUND"


def test_sync_client_unavailable_and_test_mid(sim: Simulator, credentials: Credentials) -> None:
    sim.set_inquiry_available(credentials.merchant_id, False)
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http) as client:
        # a production MID: a failed inquiry that is not "not found" is an error
        with pytest.raises(GatewayError) as excinfo:
            client.inquire(trans_id="T-1")
        assert excinfo.value.code == "20500081"
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(TEST_MID, http_client=http) as client:
        assert client.inquire(trans_id="NOPE").available is False  # test MID: never not_found (D-INQ-7)
        sim.set_inquiry_available(TEST_MID.merchant_id, False)
        got = client.inquire(trans_id="T-1")
        assert (got.found, got.available, got.code) == (False, False, "20500081")


async def test_async_client_every_case(sim: Simulator, credentials: Credentials) -> None:
    async with httpx.AsyncClient(transport=sim.transport()) as http, AsyncAxeptaClient(credentials, http_client=http) as client:
        order = await client.create_paypal_order(trans_id="A-1", amount=3000, currency="EUR", order_desc="Books", capture="Manual", tx_type="Auth", **URLS)
        sim.approve(order.pay_id)
        await client.capture(pay_id=order.pay_id, trans_id="A-1", amount=1000, currency="EUR")
        await client.credit(pay_id=order.pay_id, trans_id="A-1", amount=400, currency="EUR")
        with pytest.raises(GatewayError):
            await client.credit(pay_id=order.pay_id, trans_id="A-1", amount=4000, currency="EUR")
        got = await client.inquire(trans_id="A-1", pay_id=order.pay_id)
        assert (got.state, got.amount_captured, got.amount_refunded, got.last_status) == ("refunded", 1000, 400, "FAILED")
        assert (await client.inquire(trans_id="A-1")).pay_id == order.pay_id
        missing = await client.inquire(trans_id="A-404")
        assert missing.not_found
        sim.set_inquiry_available(credentials.merchant_id, False)
        with pytest.raises(GatewayError):
            await client.inquire(trans_id="A-1")
    async with httpx.AsyncClient(transport=sim.transport()) as http, AsyncAxeptaClient(TEST_MID, http_client=http) as client:
        sim.set_inquiry_available(TEST_MID.merchant_id, False)
        assert (await client.inquire(trans_id="A-1")).available is False


def test_transport_faults_are_retried_against_the_simulator(sim: Simulator, credentials: Credentials) -> None:
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http, inquiry_backoff=(0, 0)) as client:
        order = client.create_paypal_order(trans_id="F-1", amount=1000, currency="EUR", order_desc="Books", **URLS)
        sim.faults.server_error(503, path="inquire", count=1)
        sim.faults.drop_connection(path="inquire", count=1)
        got = client.inquire(trans_id="F-1", pay_id=order.pay_id)  # 503, dropped, then answered
        assert got.found and got.state == "none"
        assert sim.stats()["requests:inquire"] == 2  # the 503 came before the platform (after_acting=False)
        sim.faults.drop_connection(path="inquire24", count=None)
        with pytest.raises(TransportError, match="asking again is safe"):
            client.inquire(trans_id="F-1")
        assert sim.stats()["requests:inquire24"] == 3
