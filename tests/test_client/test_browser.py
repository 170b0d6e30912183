"""Browser side: the Smart Button page's MerchantID/Len/Data and cbPayPal approve URL, and the
redirect-mode GET URL (or POST form). Nothing is sent: respx has no route."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import respx

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.crypto import parse_params
from axepta.errors import InvalidRequestError
from axepta.models import BasketLine
from axepta.protocol import MAX_REDIRECT_URL_LENGTH, approve_url
from tests.test_client._support import ORDER_ID, PAY_ID, URLS

ORDER: dict[str, Any] = {"trans_id": "T-1", "amount": 1999, "currency": "EUR", "order_desc": "Book", **URLS}


@pytest.fixture(params=["sync", "async"])
async def any_client(request: pytest.FixtureRequest, credentials: Credentials) -> Any:
    with respx.mock(assert_all_mocked=True, assert_all_called=False):
        if request.param == "sync":
            with AxeptaClient(credentials) as sync_client:
                yield sync_client
        else:
            async with AsyncAxeptaClient(credentials) as async_client:
                yield async_client


def test_button_params(any_client: Any, credentials: Credentials) -> None:
    params = any_client.paypal_button_params(**ORDER, capture="Manual", tx_type="Auth", req_id="Btn1")
    assert params.merchant_id == credentials.merchant_id
    assert params.url == "https://paymentpage.axepta.bnpparibas/ExternalServices/paypalorders.aspx"
    assert params.sdk_intent == "authorize"
    assert params.req_id == "Btn1" and params.trans_id == "T-1"
    fields = parse_params(credentials.codec.decrypt(params.data, params.len))
    assert fields["TransID"] == "T-1" and fields["Response"] == "encrypt" and "mode" not in fields
    assert params.form() == {"MerchantID": credentials.merchant_id, "Len": str(params.len), "Data": params.data}
    assert params.data not in repr(params)

    url = params.approve_url(PAY_ID, ORDER_ID)
    base, rd = url.split("?rd=")
    assert base == "https://epayment.axepta.bnpparibas/cbPayPal.aspx"
    assert base64.b64decode(rd, validate=True).decode() == f"MerchantId={credentials.merchant_id}&PayId={PAY_ID}&OrderId={ORDER_ID}"


def test_button_params_sale_intent(any_client: Any) -> None:
    assert any_client.paypal_button_params(**ORDER).sdk_intent == "capture"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"mode": "redirect"}, "mode"), ({"tx_type": "BAID", "ref_nr": "B1"}, "TxType"), ({"amount": 1.5}, "Amount")],
)
def test_button_params_refusals(any_client: Any, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        any_client.paypal_button_params(**{**ORDER, **kwargs})
    assert info.value.field == field


@pytest.mark.parametrize(("pay_id", "order_id", "field"), [("short", ORDER_ID, "PayID"), (PAY_ID, "a&b", "OrderId"), (PAY_ID, "x" * 18, "OrderId")])
def test_approve_url_checks_its_inputs(pay_id: str, order_id: str, field: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        approve_url("https://epayment.axepta.bnpparibas/cbPayPal.aspx", "MID", pay_id, order_id)
    assert info.value.field == field


def test_redirect_get_url(any_client: Any, credentials: Credentials) -> None:
    redirect = any_client.paypal_redirect(**ORDER)
    assert redirect.method == "GET"
    parts = urlsplit(redirect.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://paymentpage.axepta.bnpparibas/ExternalServices/paypalorders.aspx"
    query = dict(parse_qsl(parts.query))
    assert set(query) == {"MerchantID", "Len", "Data"} and query == dict(redirect.form)
    fields = parse_params(credentials.codec.decrypt(query["Data"], query["Len"]))
    assert fields["mode"] == "redirect" and list(fields)[-1] == "mode"
    assert redirect.req_id == fields["ReqId"]
    assert len(redirect.url) <= MAX_REDIRECT_URL_LENGTH
    page = redirect.html()
    assert 'method="get"' in page and "paypalorders.aspx" in page and query["Data"] in page
    assert query["Data"] not in repr(redirect)


def test_redirect_falls_back_to_post_for_long_requests(any_client: Any) -> None:
    lines = [BasketLine(name=f"Item {n}", amount=100, number=f"A{n}", quantity=1, description="x" * 40) for n in range(20)]
    redirect = any_client.paypal_redirect(**{**ORDER, "amount": 2000}, basket=lines)
    assert redirect.method == "POST"
    assert redirect.url == "https://paymentpage.axepta.bnpparibas/ExternalServices/paypalorders.aspx"
    page = redirect.html()
    assert 'method="post"' in page and f'value="{redirect.form["Data"]}"' in page
    assert 'name="MerchantID"' in page and "document.forms[0].submit()" in page


def test_redirect_html_escapes(credentials: Credentials) -> None:
    from axepta.protocol import BrowserRedirect

    page = BrowserRedirect("POST", "https://x.example/a?b=\"c\"", {"K": '"><script>'}, "T", None).html()
    assert "<script>" not in page and "&quot;&gt;&lt;script&gt;" in page
