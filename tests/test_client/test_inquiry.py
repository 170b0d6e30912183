"""Status inquiry (PROTOCOL.md §4.15) on both clients against a scripted gateway (respx):
the request (§4.15.2, D-INQ-1, D-INQ-2, D-INQ-8), reading the reply (§4.15.4), the amount rule
(§4.15.5, D-INQ-5), not found (D-INQ-4), unavailable (D-INQ-7) and retries (D-INQ-6)."""

from __future__ import annotations

import logging
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import respx

from axepta import AsyncAxeptaClient, AxeptaClient, Credentials, Inquiry
from axepta.crypto import Params, sign, verify
from axepta.errors import (
    ConfigurationError,
    GatewayError,
    InvalidRequestError,
    ProtocolError,
    SignatureError,
    TransportError,
)
from axepta.inquiry import PreparedInquiry
from axepta.models.inquiry import Inquire24Request, InquireRequest, inquiry_state
from axepta.protocol import (
    GatewayAuthenticationError,
    ProtocolCore,
    RawReply,
    Send,
    SendFailure,
    Sleep,
)
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC
from tests.test_client._support import BASE, PAY_ID, XID, Gateway, invoke

OTHER_PAY_ID = "f" * 32

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(params=["sync", "async"])
async def client(request: pytest.FixtureRequest, credentials: Credentials, tls_context: ssl.SSLContext) -> AsyncIterator[Any]:
    """Both clients; inquiry retries without waiting (the delays are tested on the core)."""
    if request.param == "sync":
        with httpx.Client(verify=tls_context) as http, AxeptaClient(
            credentials, http_client=http, inquiry_backoff=(0, 0)
        ) as sync_client:
            yield sync_client
    else:
        async with httpx.AsyncClient(verify=tls_context) as ahttp, AsyncAxeptaClient(
            credentials, http_client=ahttp, inquiry_backoff=(0, 0)
        ) as async_client:
            yield async_client


def found(gateway: Gateway, sent: Params, **extra: str) -> dict[str, str]:
    fields = gateway.ok_fields(sent, **{"AmountAuth": "3000", "AmountCap": "1000", "AmountCred": "0", "Currency": "EUR", "LastStatus": "OK"})
    fields.update(extra)
    return fields


def failed(sent: Params, mid: str, code: str, description: str) -> dict[str, str]:
    fields = {"mid": mid, "TransID": sent["TransID"], "Status": "FAILED", "Code": code, "Description": description}
    if sent.get("PayID"):
        fields["PayID"] = sent["PayID"]
    return fields


def route(mock: respx.MockRouter, path: str, gateway: Gateway, build: Callable[[Params], dict[str, str]]) -> respx.Route:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=gateway.encrypted(build(gateway.request_fields(request))))

    return mock.post(path).mock(side_effect=answer)


# -- the request -------------------------------------------------------------------------------


async def test_inquire_by_pay_id_sends_the_documented_fields(client: Any, gateway: Gateway, mock: respx.MockRouter, credentials: Credentials) -> None:
    r = route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent))
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert isinstance(result, Inquiry) and result.found
    sent = gateway.request_fields(r.calls.last.request)
    # D-INQ-2: MerchantID, PayID, TransID spelled as documented, in this order; no ReqId, Amount,
    # Currency or RefNr (an inquiry moves no money)
    assert list(sent) == ["MerchantID", "PayID", "TransID", "MAC"]
    assert sent["MerchantID"] == credentials.merchant_id and sent["PayID"] == PAY_ID and sent["TransID"] == "T-1"
    # D-INQ-1: Computop's MAC form PayID*TransID*MerchantID** (empty Amount and Currency)
    assert verify(credentials.hmac_key_bytes(), sent["MAC"], PAY_ID, "T-1", credentials.merchant_id, "", "")


async def test_inquire_by_trans_id_alone_uses_inquire24(client: Any, gateway: Gateway, mock: respx.MockRouter, credentials: Credentials) -> None:
    r = route(mock, "inquire24.aspx", gateway, lambda sent: found(gateway, sent, PayID=OTHER_PAY_ID))
    result = await invoke(client, "inquire", trans_id="T-1")
    sent = gateway.request_fields(r.calls.last.request)
    assert list(sent) == ["MerchantID", "TransID", "MAC"]
    assert verify(credentials.hmac_key_bytes(), sent["MAC"], "", "T-1", credentials.merchant_id, "", "")
    # inquire24 returns the PayID to the caller (no echo to check)
    assert result.operation == "inquire24" and result.pay_id == OTHER_PAY_ID and result.found


async def test_omit_mac_switches_the_inquiry_mac_off(credentials: Credentials, gateway: Gateway, mock: respx.MockRouter) -> None:
    r = route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent))
    with AxeptaClient(credentials, omit_mac=["inquire"]) as client:
        client.inquire(trans_id="T-1", pay_id=PAY_ID)
    assert "MAC" not in gateway.request_fields(r.calls.last.request)


def test_bad_input_is_refused_before_sending(credentials: Credentials) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock, AxeptaClient(credentials) as client:
        with pytest.raises(InvalidRequestError) as excinfo:
            client.inquire(trans_id="T-1", pay_id="not-a-pay-id")
        assert excinfo.value.field == "PayID"
        with pytest.raises(InvalidRequestError) as excinfo:
            client.inquire(trans_id="x" * 65)
        assert excinfo.value.field == "TransID"
        assert not mock.calls


def test_prepared_inquiry_shows_no_secret(credentials: Credentials) -> None:
    with AxeptaClient(credentials) as client:
        prepared = client.prepare_inquiry(trans_id="T-1", pay_id=PAY_ID)
    assert isinstance(prepared, PreparedInquiry)
    assert prepared.req_id is None and prepared.money_moving is False
    assert prepared.url == BASE + "inquire.aspx"
    shown = prepared.redacted()
    assert shown["fields"]["MAC"] == "<redacted>" and shown["form"]["Data"] == "<redacted>"
    for text in (repr(prepared), str(shown)):
        assert prepared.form["Data"] not in text and prepared.fields["MAC"] not in text
        assert DEMO_BLOWFISH not in text and DEMO_HMAC not in text


def test_paths_are_configurable(credentials: Credentials, gateway: Gateway) -> None:
    with respx.mock(base_url=BASE) as mock:
        r = route(mock, "Custom/Status.aspx", gateway, lambda sent: found(gateway, sent))
        with AxeptaClient(credentials, paths={"inquire24": "/Custom/Status.aspx"}) as client:
            client.inquire(trans_id="T-1")
    assert r.call_count == 1


# -- found: amounts and state -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "c", "r", "state"),
    [
        (0, 0, 0, "none"),
        (3000, 0, 0, "authorized"),
        (3000, 1000, 0, "captured"),
        (3000, 3000, 0, "captured"),
        (3000, 3450, 0, "captured"),  # up to 115 %
        (3000, 1000, 400, "refunded"),
        (3000, 1000, 1000, "refunded"),
        (0, 0, 1500, "refunded"),  # creditex
    ],
)
def test_amount_rule(a: int, c: int, r: int, state: str) -> None:
    assert inquiry_state(a, c, r) == state


async def test_found_after_partial_capture_and_refund(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent, AmountCap="1000", AmountCred="400"))
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert (result.found, result.available, result.state) == (True, True, "refunded")
    assert (result.amount_authorized, result.amount_captured, result.amount_refunded) == (3000, 1000, 400)
    assert not result.fully_captured and not result.fully_refunded
    assert (result.currency, result.last_status, result.code, result.xid) == ("EUR", "OK", "00000000", XID)
    assert result.summary()["state"] == "refunded"


async def test_refused_credit_in_last_status_does_not_decide(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    # CT-INQ's own example: LastStatus FAILED after a failed credit, authorisation and capture fine
    route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent, AmountCap="3000", LastStatus="FAILED"))
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert result.state == "captured" and result.fully_captured
    assert result.last_status == "FAILED" and not result.last_step_failed


async def test_last_status_failed_counts_only_when_nothing_moved(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent, AmountAuth="0", AmountCap="0", LastStatus="failed"))
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert result.state == "none" and result.last_step_failed


async def test_absent_amounts_count_as_zero_and_are_flagged(client: Any, gateway: Gateway, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    def build(sent: Params) -> dict[str, str]:
        fields = found(gateway, sent)
        del fields["AmountCap"], fields["AmountCred"]
        return fields

    route(mock, "inquire.aspx", gateway, build)
    with caplog.at_level(logging.WARNING, logger="axepta"):
        result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert (result.state, result.amount_captured, result.amount_refunded) == ("authorized", 0, 0)
    assert result.missing_amounts == ("AmountCap", "AmountCred")
    assert "AmountCap,AmountCred" in caplog.text


async def test_keys_in_any_case(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    def build(sent: Params) -> dict[str, str]:
        return {
            "MID": gateway.credentials.merchant_id, "payid": PAY_ID, "xid": XID, "transid": sent["TransID"],
            "status": "ok", "code": "00000000", "description": "success", "amountauth": "500",
            "amountcap": "500", "amountcred": "0", "currency": "EUR", "laststatus": "OK",
        }  # fmt: skip

    route(mock, "inquire.aspx", gateway, build)
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert (result.found, result.state, result.amount_captured) == (True, "captured", 500)


@pytest.mark.parametrize("bad", ["12.00", "-5", "1e3", "12345678901", "NaN"])
async def test_an_amount_that_is_not_minor_units_is_refused(client: Any, gateway: Gateway, mock: respx.MockRouter, bad: str) -> None:
    route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent, AmountCap=bad))
    with pytest.raises(ProtocolError, match="AmountCap"):
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)


async def test_currency_must_match_when_given(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent, Currency="USD"))
    with pytest.raises(ProtocolError, match="Currency"):
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID, currency="EUR")
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID, currency="usd")
    assert result.currency == "USD"


# -- trust --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"PayID": OTHER_PAY_ID}, ProtocolError),  # another payment's answer
        ({"TransID": "T-2"}, ProtocolError),  # not the original TransID
        ({"mid": "OTHER_MERCHANT"}, ProtocolError),
        ({"MAC": "0" * 64}, SignatureError),
    ],
)
async def test_untrustworthy_replies_are_refused(client: Any, gateway: Gateway, mock: respx.MockRouter, extra: dict[str, str], error: type[Exception]) -> None:
    route(mock, "inquire.aspx", gateway, lambda sent: found(gateway, sent, **extra))
    with pytest.raises(error):
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)


async def test_a_valid_reply_mac_is_accepted(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    def build(sent: Params) -> dict[str, str]:
        fields = found(gateway, sent)
        fields["MAC"] = gateway.mac(fields)
        return fields

    route(mock, "inquire.aspx", gateway, build)
    assert (await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)).found


async def test_success_in_clear_is_refused(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    body = f"mid={gateway.credentials.merchant_id}&PayID={PAY_ID}&TransID=T-1&Status=OK&Code=00000000&AmountAuth=1&AmountCap=1&AmountCred=0"
    mock.post("inquire.aspx").mock(return_value=httpx.Response(200, text=body))
    with pytest.raises(ProtocolError):
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)


# -- failed inquiries ---------------------------------------------------------------------------


async def test_not_found_by_code_is_an_answer(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    mid = gateway.credentials.merchant_id
    route(mock, "inquire24.aspx", gateway, lambda sent: failed(sent, mid, "21500061", "PayPal: Not found"))
    result = await invoke(client, "inquire", trans_id="T-404")
    assert (result.found, result.available, result.not_found, result.state) == (False, True, True, None)
    assert result.not_found_rule == "code" and result.code == "21500061"
    assert result.amount_authorized is None and result.amount_captured is None and result.amount_refunded is None


async def test_not_found_by_description_is_an_answer(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    mid = gateway.credentials.merchant_id
    route(mock, "inquire.aspx", gateway, lambda sent: failed(sent, mid, "20000000", "Payment not found"))
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert result.not_found and result.not_found_rule == "description"


@pytest.mark.parametrize("mid", ["SHOP_DEMO_t", "SHOP_DEMO_T"])
async def test_a_failed_inquiry_on_a_test_mid_is_unavailable(mid: str, gateway: Gateway) -> None:
    creds = Credentials(mid, DEMO_BLOWFISH, DEMO_HMAC)
    shop_gateway = Gateway(creds)
    for code, text in (("21500061", "PAYMENT NOT FOUND"), ("20500081", "merchant: Action not supported")):
        with respx.mock(base_url=BASE) as mock:
            route(mock, "inquire.aspx", shop_gateway, lambda sent, c=code, t=text: failed(sent, mid, c, t))
            async with AsyncAxeptaClient(creds) as client:
                result = await client.inquire(trans_id="T-1", pay_id=PAY_ID)
        # D-INQ-7: unavailable, never not_found, on a test merchant
        assert (result.found, result.available, result.not_found, result.not_found_rule) == (False, False, False, None)
        assert result.code == code and "D-INQ-7" in (result.explanation or "")


async def test_declared_test_environment_makes_failures_unavailable(gateway: Gateway, mock: respx.MockRouter) -> None:
    creds = Credentials(gateway.credentials.merchant_id, DEMO_BLOWFISH, DEMO_HMAC, environment="test")
    route(mock, "inquire.aspx", gateway, lambda sent: failed(sent, creds.merchant_id, "20500081", "unsupported"))
    with AxeptaClient(creds) as client:
        assert client.inquire(trans_id="T-1", pay_id=PAY_ID).available is False


async def test_other_failures_raise_gateway_error(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    mid = gateway.credentials.merchant_id
    route(mock, "inquire.aspx", gateway, lambda sent: failed(sent, mid, "20110001", "format error"))
    with pytest.raises(GatewayError) as excinfo:
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    err = excinfo.value
    assert err.code == "20110001" and err.status == "FAILED" and err.trans_id == "T-1"
    assert "says nothing about the payment" in str(err)


@pytest.mark.parametrize("code", ["20100044", "20120044"])
async def test_authentication_codes_are_configuration_errors(client: Any, gateway: Gateway, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture, code: str) -> None:
    mid = gateway.credentials.merchant_id
    route(mock, "inquire.aspx", gateway, lambda sent: failed(sent, mid, code, "MAC"))
    with caplog.at_level(logging.WARNING, logger="axepta"), pytest.raises(GatewayAuthenticationError) as excinfo:
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert isinstance(excinfo.value, ConfigurationError)
    assert "Q-INQ-3" in caplog.text  # a MAC code on an inquiry is evidence for the open question


async def test_a_refusal_in_clear_is_not_an_answer(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    mid = gateway.credentials.merchant_id
    body = f"mid={mid}&PayID={PAY_ID}&TransID=T-1&Status=FAILED&Code=21500061&Description=PAYMENT NOT FOUND"
    mock.post("inquire.aspx").mock(return_value=httpx.Response(200, text=body))
    with pytest.raises(GatewayError, match="in clear"):
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)


# -- retries (D-INQ-6) --------------------------------------------------------------------------


async def test_transport_failures_are_retried_three_attempts_at_most(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    answers = [httpx.ReadTimeout("slow"), httpx.Response(503)]

    def answer(request: httpx.Request) -> httpx.Response:
        if answers:
            item = answers.pop(0)
            if isinstance(item, Exception):
                raise item
            return item
        return httpx.Response(200, text=gateway.encrypted(found(gateway, gateway.request_fields(request))))

    r = mock.post("inquire.aspx").mock(side_effect=answer)
    result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert result.found and r.call_count == 3
    # the same request every time, never a ReqId
    bodies = {call.request.content for call in r.calls}
    assert len(bodies) == 1 and "ReqId" not in gateway.request_fields(r.calls.last.request)


async def test_after_three_attempts_the_result_is_unknown(client: Any, mock: respx.MockRouter) -> None:
    r = mock.post("inquire.aspx").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(TransportError, match="asking again is safe") as excinfo:
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert r.call_count == 3 and excinfo.value.req_id is None


async def test_no_retry_on_a_gateway_answer(client: Any, gateway: Gateway, mock: respx.MockRouter) -> None:
    mid = gateway.credentials.merchant_id
    r = route(mock, "inquire.aspx", gateway, lambda sent: failed(sent, mid, "20110001", "format"))
    with pytest.raises(GatewayError):
        await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    assert r.call_count == 1


def test_core_waits_one_then_four_seconds(credentials: Credentials) -> None:
    """The sans-I/O exchange both clients drive: Send, Sleep(1), Send, Sleep(4), Send."""
    core = ProtocolCore(credentials)
    prepared = core.prepare_inquiry(InquireRequest(pay_id=PAY_ID, trans_id="T-1"))
    steps = core.inquiry_exchange(prepared)
    seen: list[object] = [next(steps)]
    failure = SendFailure("read timeout", sent=True)

    def drive() -> None:
        while True:
            seen.append(steps.send(failure if isinstance(seen[-1], Send) else None))

    with pytest.raises(TransportError):
        drive()
    assert [type(s).__name__ for s in seen] == ["Send", "Sleep", "Send", "Sleep", "Send"]
    assert [s.seconds for s in seen if isinstance(s, Sleep)] == [1.0, 4.0]
    assert [s.attempt for s in seen if isinstance(s, Send)] == [1, 2, 3]


def test_core_reads_a_reply_without_io(credentials: Credentials) -> None:
    gateway = Gateway(credentials)
    core = ProtocolCore(credentials)
    prepared = core.prepare_inquiry(Inquire24Request(trans_id="T-9"))
    steps = core.inquiry_exchange(prepared)
    step = next(steps)
    assert isinstance(step, Send) and step.prepared is prepared
    fields = {
        "mid": credentials.merchant_id, "PayID": PAY_ID, "XID": XID, "TransID": "T-9", "Status": "OK",
        "Code": "00000000", "AmountAuth": "100", "AmountCap": "0", "AmountCred": "0",
    }  # fmt: skip
    with pytest.raises(StopIteration) as stop:
        steps.send(RawReply(200, gateway.encrypted(fields).encode("ascii")))
    result = stop.value.value
    assert isinstance(result, Inquiry) and result.state == "authorized" and result.pay_id == PAY_ID


def test_the_mac_is_computed_like_computop_s_calculator(credentials: Credentials) -> None:
    core = ProtocolCore(credentials)
    prepared = core.prepare_inquiry(InquireRequest(pay_id=PAY_ID, trans_id="T-1"))
    expected = sign(credentials.hmac_key_bytes(), PAY_ID, "T-1", credentials.merchant_id, "", "")
    assert prepared.fields["MAC"] == expected


async def test_no_secret_data_or_mac_in_logs_or_errors(client: Any, gateway: Gateway, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture) -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        fields = gateway.request_fields(request)
        sent.extend([fields["MAC"], dict(httpx.QueryParams(request.content.decode()))["Data"]])
        if len(sent) > 2:
            return httpx.Response(200, text=gateway.encrypted(failed(fields, gateway.credentials.merchant_id, "20110001", "format")))
        return httpx.Response(200, text=gateway.encrypted(found(gateway, fields)))

    mock.post("inquire.aspx").mock(side_effect=answer)
    with caplog.at_level(logging.DEBUG):
        result = await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
        with pytest.raises(GatewayError) as excinfo:
            await invoke(client, "inquire", trans_id="T-1", pay_id=PAY_ID)
    texts = [caplog.text, repr(result), str(excinfo.value), repr(excinfo.value)]
    for secret in (*sent, DEMO_BLOWFISH, DEMO_HMAC):
        assert all(secret not in text for text in texts)
    assert "operation=inquire" in caplog.text and "outcome=found" in caplog.text and "outcome=failed" in caplog.text
