"""Every operation against respx in strict mode, with the sync and the async client: the exact
path, the decrypted request fields in wire order, the MAC message, ReqId handling and retries,
timeouts, gateway errors, forged MACs and space-padded mixed-case replies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from axepta.credentials import Credentials
from axepta.crypto import sign
from axepta.errors import ConfigurationError, GatewayError, SignatureError, TransportError
from axepta.models import CreditResult, PaymentResult, PayPalOrderResult
from axepta.protocol import GatewayAuthenticationError
from tests.test_client._support import (
    OPERATIONS,
    ORDER_ID,
    PAY_ID,
    WITH_REQ_ID,
    XID,
    Gateway,
    invoke,
)

#: the plaintext keys each call above must produce, in order (PROTOCOL.md §4 tables)
EXPECTED_KEYS = {
    "paypal_orders": ["MerchantID", "TransID", "Amount", "Currency", "MAC", "Capture", "OrderDesc",
                      "URLSuccess", "URLFailure", "Response", "URLNotify", "ReqId"],
    "paypal_complete": ["MerchantID", "TransID", "Amount", "Currency", "RefNr", "PayID", "MAC", "Response"],
    "authorize": ["MerchantID", "PayID", "TransID", "TxType", "Amount", "Currency", "MAC"],
    "capture": ["MerchantID", "PayID", "TransID", "MAC", "Amount", "Currency", "ReqId"],
    "credit": ["MerchantID", "PayID", "TransID", "MAC", "Amount", "Currency", "ReqId", "TID"],
    "credit_ex": ["MerchantID", "TransID", "Amount", "Currency", "MAC", "PayerID", "ReqId"],
    "reverse": ["MerchantID", "PayID", "TransID", "MAC", "Amount", "Currency", "ReqId"],
    "paypal_reftrans": ["MerchantID", "TransID", "Amount", "Currency", "MAC", "BillingAgreementID"],
}  # fmt: skip
RESULT_TYPES = {
    "paypal_orders": PayPalOrderResult,
    "credit": CreditResult,
    "credit_ex": CreditResult,
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_operation_sends_exact_path_fields_and_mac(
    operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway, credentials: Credentials
) -> None:
    method, kwargs, path = OPERATIONS[operation]
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return gateway.reply_for(operation, request)

    mock.post(path).mock(side_effect=reply)
    result = await invoke(client, method, **kwargs)

    assert len(seen) == 1
    request = seen[0]
    assert request.url == f"https://paymentpage.axepta.bnpparibas/{path}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["user-agent"].startswith("axepta-python/")
    fields = gateway.request_fields(request)
    assert list(fields) == EXPECTED_KEYS[operation]
    assert fields["MerchantID"] == credentials.merchant_id
    assert fields["TransID"] == kwargs["trans_id"]
    assert fields["Amount"] == str(kwargs["amount"])
    pay_id = kwargs.get("pay_id", "")
    expected_mac = sign(credentials.hmac_key_bytes(), pay_id, kwargs["trans_id"], credentials.merchant_id, str(kwargs["amount"]), "EUR")
    assert fields["MAC"] == expected_mac
    if operation in ("paypal_orders", "paypal_complete"):
        assert fields["Response"] == "encrypt"

    assert isinstance(result, RESULT_TYPES.get(operation, PaymentResult))
    assert result.operation == operation
    assert result.pay_id == PAY_ID
    assert result.trans_id == kwargs["trans_id"]
    if operation == "paypal_orders":
        assert result.order_id == ORDER_ID
        assert result.xid == XID
        assert result.code is None and result.succeeded
    else:
        assert (result.code, result.status) == ("00000000", "OK")
    if operation in WITH_REQ_ID:
        assert result.req_id == fields["ReqId"]
        assert len(result.req_id) == 32 and result.req_id == result.req_id.lower()
        int(result.req_id, 16)
    else:
        assert result.req_id is None and "ReqId" not in fields


@pytest.mark.parametrize("operation", WITH_REQ_ID)
async def test_callers_req_id_is_sent(operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway) -> None:
    method, kwargs, path = OPERATIONS[operation]
    seen: list[str] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(gateway.request_fields(request)["ReqId"])
        return gateway.reply_for(operation, request)

    mock.post(path).mock(side_effect=reply)
    result = await invoke(client, method, **kwargs, req_id="Order4711Capture1")
    assert seen == ["Order4711Capture1"]
    assert result.req_id == "Order4711Capture1"


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_connect_error_is_retried_with_the_same_req_id(
    operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway
) -> None:
    method, kwargs, path = OPERATIONS[operation]
    req_ids: list[str | None] = []
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        req_ids.append(gateway.request_fields(request).get("ReqId"))
        if calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        if calls == 2:
            raise httpx.ConnectTimeout("connect timeout", request=request)
        return gateway.reply_for(operation, request)

    mock.post(path).mock(side_effect=flaky)
    result = await invoke(client, method, **kwargs)
    assert calls == 3
    assert len(set(req_ids)) == 1
    assert result.req_id == req_ids[0]
    if operation in WITH_REQ_ID:
        assert req_ids[0] is not None


async def test_retries_stop_after_max_retries(client: Any, mock: respx.MockRouter) -> None:
    method, kwargs, path = OPERATIONS["capture"]
    route = mock.post(path).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(TransportError) as info:
        await invoke(client, method, **kwargs)
    assert route.call_count == 3  # first attempt + max_retries=2
    err = info.value
    assert err.sent is False and err.operation == "capture"
    assert err.req_id is not None and err.req_id in str(err)
    assert "never reached" in str(err)


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_timeout_after_sending_raises_transport_error_with_req_id(
    operation: str, client: Any, mock: respx.MockRouter
) -> None:
    method, kwargs, path = OPERATIONS[operation]
    route = mock.post(path).mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(TransportError) as info:
        await invoke(client, method, **kwargs, **({"req_id": "Retry4711"} if operation in WITH_REQ_ID else {}))
    assert route.call_count == 1  # never retried once the request may have arrived
    err = info.value
    assert err.sent is True
    assert "outcome is unknown" in str(err)
    if operation in WITH_REQ_ID:
        assert err.req_id == "Retry4711"
        assert "same ReqId Retry4711" in str(err)
    else:
        assert err.req_id is None
        assert "no ReqId" in str(err)
    assert isinstance(err.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    "exc",
    [httpx.WriteTimeout("w"), httpx.ReadError("reset"), httpx.RemoteProtocolError("eof"), httpx.PoolTimeout("p")],
)
async def test_other_network_failures(exc: Exception, client: Any, mock: respx.MockRouter) -> None:
    method, kwargs, path = OPERATIONS["credit"]
    route = mock.post(path).mock(side_effect=exc)
    with pytest.raises(TransportError) as info:
        await invoke(client, method, **kwargs)
    if isinstance(exc, httpx.PoolTimeout):
        assert route.call_count == 3 and info.value.sent is False
    else:
        assert route.call_count == 1 and info.value.sent is True


@pytest.mark.parametrize("operation", list(OPERATIONS))
async def test_non_zero_code_raises_gateway_error(operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway) -> None:
    method, kwargs, path = OPERATIONS[operation]

    def declined(request: httpx.Request) -> httpx.Response:
        sent = gateway.request_fields(request)
        fields = gateway.ok_fields(sent, Status="FAILED", Code="21500061", Description="PayID not found", CodeExt="10417")
        return httpx.Response(200, text=gateway.encrypted(fields))

    mock.post(path).mock(side_effect=declined)
    with pytest.raises(GatewayError) as info:
        await invoke(client, method, **kwargs)
    err = info.value
    assert not isinstance(err, ConfigurationError)
    assert (err.code, err.status, err.code_ext, err.description) == ("21500061", "FAILED", "10417", "PayID not found")
    assert err.trans_id == kwargs["trans_id"]
    assert err.explanation is not None and "PayPal" in err.explanation
    assert "unknown PayID" in err.explanation
    assert "21500061" in str(err)
    if operation in WITH_REQ_ID:
        assert err.req_id is not None and err.req_id in str(err)


@pytest.mark.parametrize("code", ["20100044", "20120044"])
async def test_authentication_codes_are_configuration_errors_never_retried(
    code: str, client: Any, mock: respx.MockRouter, gateway: Gateway
) -> None:
    method, kwargs, path = OPERATIONS["capture"]

    def refused(request: httpx.Request) -> httpx.Response:
        sent = gateway.request_fields(request)
        return httpx.Response(200, text=gateway.encrypted(gateway.ok_fields(sent, Status="FAILED", Code=code)))

    route = mock.post(path).mock(side_effect=refused)
    with pytest.raises(GatewayAuthenticationError) as info:
        await invoke(client, method, **kwargs)
    assert route.call_count == 1
    assert isinstance(info.value, GatewayError) and isinstance(info.value, ConfigurationError)
    assert info.value.code == code
    assert "HMAC" in (info.value.explanation or "") or "MAC" in (info.value.explanation or "")


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op != "paypal_orders"])
async def test_forged_reply_mac_raises_signature_error(operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway) -> None:
    method, kwargs, path = OPERATIONS[operation]

    def forged(request: httpx.Request) -> httpx.Response:
        sent = gateway.request_fields(request)
        fields = gateway.ok_fields(sent)
        fields["MAC"] = sign("not-the-merchant-key", fields["PayID"], fields["TransID"], "BNP_DEMO_AXEPTA", "OK", "00000000")
        return httpx.Response(200, text=gateway.encrypted(fields))

    mock.post(path).mock(side_effect=forged)
    with pytest.raises(SignatureError):
        await invoke(client, method, **kwargs)


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op != "paypal_orders"])
async def test_valid_reply_mac_is_accepted(operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway) -> None:
    method, kwargs, path = OPERATIONS[operation]

    def signed(request: httpx.Request) -> httpx.Response:
        sent = gateway.request_fields(request)
        fields = gateway.ok_fields(sent, **({"GrossRefundAmount": sent["Amount"]} if operation in ("credit", "credit_ex") else {}))
        fields["mac"] = " " + gateway.mac(fields).lower()
        return httpx.Response(200, text=gateway.encrypted(fields))

    mock.post(path).mock(side_effect=signed)
    result = await invoke(client, method, **kwargs)
    assert result.code == "00000000"
    assert all(k.lower() != "mac" for k in result.raw)


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if op != "paypal_orders"])
async def test_space_padded_reply_with_mixed_case_keys(operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway) -> None:
    method, kwargs, path = OPERATIONS[operation]

    def padded(request: httpx.Request) -> httpx.Response:
        sent = gateway.request_fields(request)
        fields = {
            "MID": gateway.credentials.merchant_id,
            "payid": sent.get("PayID") or PAY_ID,
            "Xid": XID,
            "transid": sent["TransID"],
            "STATUS": "OK",
            "description": "Success  ",
            "refnr": "4711",
            "tid": "3C679366HH908993F",
            "Unknown-New-Field": "kept",
            "code": "00000000",
        }
        if operation in ("credit", "credit_ex"):
            fields["grossrefundamount"] = sent["Amount"]
        if operation == "reverse":
            del fields["tid"]  # a reversal creates no PayPal id
        body = gateway.encrypted(fields, pad_spaces=True)
        data = body.split("Data=")[1].lower()
        return httpx.Response(200, text=f"  len={body.split('&')[0][4:]}&data= {data} \r\n")

    mock.post(path).mock(side_effect=padded)
    result = await invoke(client, method, **kwargs)
    assert result.code == "00000000" and result.status == "OK"
    assert result.description == "Success"
    assert result.ref_nr == "4711" and result.tid == (None if operation == "reverse" else "3C679366HH908993F")
    assert result.raw["Unknown-New-Field"] == "kept"
    assert result.raw["payid"] == (kwargs.get("pay_id") or PAY_ID)
    if isinstance(result, CreditResult):
        assert result.gross_refund_amount == kwargs["amount"]


async def test_reply_without_len_is_decrypted(client: Any, mock: respx.MockRouter, gateway: Gateway) -> None:
    method, kwargs, path = OPERATIONS["reverse"]

    def no_len(request: httpx.Request) -> httpx.Response:
        fields = gateway.ok_fields(gateway.request_fields(request))
        return httpx.Response(200, text=gateway.encrypted(fields, pad_spaces=True, with_len=False))

    mock.post(path).mock(side_effect=no_len)
    assert (await invoke(client, method, **kwargs)).status == "OK"
