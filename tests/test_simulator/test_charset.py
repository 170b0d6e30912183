"""Charset mismatch, said plainly (issue 12 item 2): a UTF-8 integration sending ``Teststraße``
to an ISO-8859-1 merchant gets ``20120044`` — ``Len`` counts characters, the platform decodes
more of them than that, and the end of the text (the MAC, where the peer puts it last) falls
outside ``Len``. The simulator's log names the charset as the likely cause; so does the client's
explanation when its own request carrying non-ASCII text is refused with a MAC code."""

from __future__ import annotations

import logging

import httpx
import pytest
from Crypto.Cipher import Blowfish

from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.crypto import parse_params, sign
from axepta.protocol import GatewayAuthenticationError
from axepta.simulator import Simulator
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_simulator.conftest import URLS, Shop


def utf8_peer_complete(pay_id: str, street: str) -> dict[str, str]:
    """A paypalComplete as a UTF-8 integration builds it (computop-node-client's way: the MAC
    last, ``Len`` = the number of characters, the text encoded in UTF-8)."""
    fields = {
        "Response": "encrypt", "PayID": pay_id, "TransID": "T-1", "Amount": "10000", "Currency": "EUR",
        "FirstName": "Erika", "LastName": "Muster", "AddrStreet": street, "AddrCity": "Berlin", "AddrZip": "10115",
        "AddrCountryCode": "DE",
    }
    fields["MAC"] = sign(DEMO_HMAC.encode(), pay_id, "T-1", DEMO_MID, "10000", "EUR")
    text = "&".join(f"{k}={v}" for k, v in fields.items())
    raw = text.encode("utf-8")
    raw += b"\x00" * (-len(raw) % 8)
    data = Blowfish.new(DEMO_BLOWFISH.encode(), Blowfish.MODE_ECB).encrypt(raw).hex()
    return {"MerchantID": DEMO_MID, "Len": str(len(text)), "Data": data}


def shortcut_order(client: AxeptaClient, sim: Simulator) -> str:
    order = client.create_paypal_order(
        trans_id="T-1", amount=10000, currency="EUR", order_desc="Mug", paypal_method="shortcut", **URLS
    )
    sim.approve(order.pay_id)
    return order.pay_id


@pytest.mark.parametrize(("street", "code"), [("Teststraße 1", "20120044"), ("Teststrasse 1", "00000000")])
def test_utf8_integration_against_an_iso_merchant(
    sim: Simulator, credentials: Credentials, caplog: pytest.LogCaptureFixture, street: str, code: str
) -> None:
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http) as client:
        pay_id = shortcut_order(client, sim)
        with caplog.at_level(logging.WARNING, logger="axepta.simulator"):
            reply = http.post("https://gw.example/paypalComplete.aspx", data=utf8_peer_complete(pay_id, street))
    outer = parse_params(reply.text)
    assert parse_params(credentials.codec.decrypt(outer["Data"], outer["Len"]))["Code"] == code
    hints = [r.getMessage() for r in caplog.records if "charset" in r.getMessage()]
    if code == "00000000":
        assert hints == []
        return
    [hint] = hints
    assert "20120044" in hint and "AddrStreet" in hint and "iso-8859-1" in hint and "UTF-8" in hint
    assert DEMO_HMAC not in hint and DEMO_BLOWFISH not in hint and "Data" not in hint.replace("Data was", "")


def test_the_same_request_from_a_utf8_merchant_is_accepted(shop: Shop) -> None:
    utf8 = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC, "utf-8")
    with Simulator(utf8, notify_transport=shop.transport(), time_factor=1e-7, pending_timeout_minutes=1e9) as sim, \
            httpx.Client(transport=sim.transport()) as http, AxeptaClient(utf8, http_client=http) as client:
        pay_id = shortcut_order(client, sim)
        reply = parse_params(http.post("https://gw.example/paypalComplete.aspx", data=utf8_peer_complete(pay_id, "Teststraße 1")).text)
        assert parse_params(utf8.codec.decrypt(reply["Data"], reply["Len"]))["Code"] == "00000000"


@pytest.mark.parametrize(("note", "hinted"), [("Rückerstattung", True), ("Refund", False)])
def test_client_names_the_charset_when_a_request_with_non_ascii_text_is_refused_with_a_mac_code(
    sim: Simulator, credentials: Credentials, note: str, hinted: bool
) -> None:
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http) as client:
        order = client.create_paypal_order(trans_id="T-2", amount=10000, currency="EUR", order_desc="Mug", **URLS)
        sim.approve(order.pay_id)  # Capture=Auto: captured
        sim.faults.decline("20120044", path="credit")  # as the platform answers a MAC it cannot verify
        with pytest.raises(GatewayAuthenticationError) as exc:
            client.credit(pay_id=order.pay_id, trans_id="T-2", amount=1000, currency="EUR", note=note)
    explanation = exc.value.explanation or ""
    assert exc.value.code == "20120044"
    if hinted:
        assert "non-ASCII text (Note)" in explanation and "charset" in explanation
        assert "iso-8859-1" in explanation and "AXEPTA_CHARSET" in explanation and "charset" in str(exc.value)
    else:
        assert "charset" not in explanation
