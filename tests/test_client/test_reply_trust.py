"""Issue 11 item 1: when a reply carries ``Data``, the encrypted part decides. Clear fields
beside it never make a result, a ``Data`` that decrypts to a message without the result fields
is refused, and one that decrypts to noise names the Blowfish key (a configuration error)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

from axepta.credentials import Credentials
from axepta.crypto import encode_params
from axepta.errors import BlowfishKeyError, ConfigurationError, CryptoError, ProtocolError
from axepta.models import CaptureRequest
from axepta.protocol import ProtocolCore, RawReply
from tests.test_client._support import OPERATIONS, PAY_ID, XID, Gateway, invoke

#: every S2S operation whose reply must be encrypted (paypalorders is plain by design, §4.5)
ENCRYPTED_OPS = ["capture", "credit", "reverse", "authorize", "credit_ex", "paypal_reftrans", "paypal_complete"]


def _clear_success(trans_id: str) -> str:
    return f"PayID={PAY_ID}&TransID={trans_id}&Status=OK&Code=00000000&TID=FAKE&XID={XID}"


@pytest.mark.parametrize("operation", ENCRYPTED_OPS)
async def test_forged_data_beside_clear_success_is_a_key_problem(
    operation: str, client: Any, mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """The observed forgery: any 16 hex digits as Data and a success in clear, no key needed."""
    method, kwargs, path = OPERATIONS[operation]
    body = f"Len=8&Data=0123456789ABCDEF&{_clear_success(kwargs['trans_id'])}"
    mock.post(path).mock(return_value=httpx.Response(200, text=body))
    with caplog.at_level(logging.DEBUG), pytest.raises(BlowfishKeyError) as info:
        await invoke(client, method, **kwargs)
    error = info.value
    assert isinstance(error, ConfigurationError) and isinstance(error, CryptoError)
    assert "Blowfish key" in str(error)
    assert "FAKE" not in str(error)
    # the call is logged as failed, never as ok
    assert not any("outcome=ok" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("operation", ENCRYPTED_OPS)
async def test_data_without_result_fields_is_refused(
    operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway
) -> None:
    """A genuine-looking plaintext without Code/PayID: the clear ones beside it do not count."""
    method, kwargs, path = OPERATIONS[operation]
    inner = gateway.encrypted({"mid": gateway.credentials.merchant_id, "XID": XID, "Description": "x"})
    body = f"{_clear_success(kwargs['trans_id'])}&{inner}"
    mock.post(path).mock(return_value=httpx.Response(200, text=body))
    with pytest.raises(ProtocolError, match="encrypted part") as info:
        await invoke(client, method, **kwargs)
    assert not isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("operation", ENCRYPTED_OPS)
async def test_clear_pay_id_and_trans_id_do_not_complete_an_encrypted_success(
    operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway
) -> None:
    method, kwargs, path = OPERATIONS[operation]
    for missing in ("PayID", "TransID"):
        fields = {"mid": gateway.credentials.merchant_id, "PayID": PAY_ID, "TransID": kwargs["trans_id"],
                  "Status": "OK", "Code": "00000000"}  # fmt: skip
        del fields[missing]
        body = f"{_clear_success(kwargs['trans_id'])}&{gateway.encrypted(fields)}"
        mock.post(path).mock(return_value=httpx.Response(200, text=body))
        with pytest.raises(ProtocolError, match=f"no {missing}"):
            await invoke(client, method, **kwargs)


@pytest.mark.parametrize("operation", ENCRYPTED_OPS)
async def test_clear_fields_never_reach_the_result(
    operation: str, client: Any, mock: respx.MockRouter, gateway: Gateway
) -> None:
    method, kwargs, path = OPERATIONS[operation]

    def reply(request: httpx.Request) -> httpx.Response:
        sent = gateway.request_fields(request)
        refund = {"GrossRefundAmount": sent["Amount"]} if operation in ("credit", "credit_ex") else {}
        tid = {"TID": "REAL"} if operation != "reverse" else {}
        encrypted = gateway.encrypted(gateway.ok_fields(sent, **tid, **refund))
        return httpx.Response(200, text=f"TID=FAKE&RefNr=CLEAR&GrossRefundAmount=99999&Custom=x&{encrypted}")

    mock.post(path).mock(side_effect=reply)
    result = await invoke(client, method, **kwargs)
    assert result.tid == ("REAL" if operation != "reverse" else None) and result.ref_nr is None
    assert "Custom" not in result.raw
    assert getattr(result, "gross_refund_amount", None) in (None, kwargs["amount"])


def test_noise_and_refusal_in_the_core(credentials: Credentials) -> None:
    core = ProtocolCore(credentials)
    prepared = core.prepare(CaptureRequest(pay_id=PAY_ID, trans_id="T-1", amount=1000, currency="EUR"))
    wrong = Credentials(credentials.merchant_id, "another-key-0001", "x" * 32)
    text = encode_params({"mid": credentials.merchant_id, "PayID": PAY_ID, "TransID": "T-1", "Status": "OK",
                          "Code": "00000000"})  # fmt: skip
    enc = wrong.codec.encrypt(text)
    with pytest.raises(BlowfishKeyError) as info:
        core.parse_reply(prepared, RawReply(200, f"Len={enc.length}&Data={enc.data}".encode()))
    # the outcome of a money-moving call is unknown: the ReqId is named for a retry
    assert info.value.req_id == prepared.req_id and prepared.req_id in str(info.value)
    assert "another-key" not in str(info.value)
