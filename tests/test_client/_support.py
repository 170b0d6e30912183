"""Helpers of the client tests: a fake gateway that decrypts requests and encrypts replies,
the calls of every operation, and a caller for either client."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

import httpx

from axepta.credentials import Credentials
from axepta.crypto import Params, encode_params, parse_params, sign

BASE = "https://paymentpage.axepta.bnpparibas/"
PAY_ID = "0123456789abcdef0123456789abcdef"
XID = "fedcba9876543210fedcba9876543210"
ORDER_ID = "5O190127TN364715T"
URLS = {
    "url_success": "https://shop.example/paypal/success",
    "url_failure": "https://shop.example/paypal/failure",
    "url_notify": "https://shop.example/paypal/notify",
}

#: one call per operation: (method, keywords, path)
OPERATIONS: dict[str, tuple[str, dict[str, Any], str]] = {
    "paypal_orders": (
        "create_paypal_order",
        {"trans_id": "T-1", "amount": 1999, "currency": "EUR", "order_desc": "Book", **URLS},
        "ExternalServices/paypalorders.aspx",
    ),
    "paypal_complete": (
        "complete_paypal_order",
        {"pay_id": PAY_ID, "trans_id": "T-1", "amount": 2499, "currency": "EUR", "ref_nr": "4711"},
        "paypalComplete.aspx",
    ),
    "authorize": (
        "authorize",
        {"pay_id": PAY_ID, "trans_id": "T-1", "amount": 1999, "currency": "EUR"},
        "Authorize.aspx",
    ),
    "capture": (
        "capture",
        {"pay_id": PAY_ID, "trans_id": "T-1", "amount": 1000, "currency": "EUR"},
        "capture.aspx",
    ),
    "credit": (
        "credit",
        {"pay_id": PAY_ID, "trans_id": "T-1", "amount": 500, "currency": "EUR", "tid": "222"},
        "credit.aspx",
    ),
    "credit_ex": (
        "credit_without_reference",
        {"trans_id": "P-1", "amount": 1500, "currency": "EUR", "payer_id": "XVRKM94GQDXB2"},
        "creditex.aspx",
    ),
    "reverse": (
        "reverse",
        {"pay_id": PAY_ID, "trans_id": "T-1", "amount": 1999, "currency": "EUR"},
        "reverse.aspx",
    ),
    "paypal_reftrans": (
        "reference_transaction",
        {"billing_agreement_id": "B-5YM15616XX0983012", "trans_id": "R-1", "amount": 990, "currency": "EUR"},
        "paypalreftrans.aspx",
    ),
}
WITH_REQ_ID = ("paypal_orders", "capture", "credit", "credit_ex", "reverse")
WITHOUT_REQ_ID = ("paypal_complete", "authorize", "paypal_reftrans")


class Gateway:
    """Decrypts what the client sent and builds replies the way the platform does."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def request_fields(self, request: httpx.Request) -> Params:
        form = dict(parse_qsl(request.content.decode("ascii"), keep_blank_values=True))
        assert set(form) == {"MerchantID", "Len", "Data"}
        assert form["MerchantID"] == self.credentials.merchant_id
        return parse_params(self.credentials.codec.decrypt(form["Data"], form["Len"]))

    def encrypted(self, fields: Mapping[str, str], *, pad_spaces: bool = False, with_len: bool = True) -> str:
        text = encode_params(fields)
        length = len(text)
        if pad_spaces:
            text += " " * (-len(text) % 8)
        enc = self.credentials.codec.encrypt(text)
        return (f"Len={length}&" if with_len else "") + f"Data={enc.data}"

    def ok_fields(self, sent: Params, **extra: str) -> dict[str, str]:
        fields = {
            "mid": self.credentials.merchant_id,
            "PayID": sent.get("PayID") or PAY_ID,
            "XID": XID,
            "TransID": sent["TransID"],
            "Status": "OK",
            "Description": "success",
            "Code": "00000000",
        }
        fields.update(extra)
        return fields

    def mac(self, fields: Mapping[str, str]) -> str:
        return sign(
            self.credentials.hmac_key_bytes(),
            fields.get("PayID", ""),
            fields.get("TransID", ""),
            self.credentials.merchant_id,
            fields.get("Status", ""),
            fields.get("Code", ""),
        )

    def reply_for(self, operation: str, request: httpx.Request, **extra: str) -> httpx.Response:
        sent = self.request_fields(request)
        if operation == "paypal_orders":
            body = f"mid={self.credentials.merchant_id}&PayID={PAY_ID}&XID={XID}&TransID={sent['TransID']}&orderid={ORDER_ID}"
            return httpx.Response(200, text=body)
        if operation in ("credit", "credit_ex"):
            extra = {"GrossRefundAmount": sent["Amount"], **extra}  # a refund says how much (§4.11)
        return httpx.Response(200, text=self.encrypted(self.ok_fields(sent, **extra)))


async def invoke(client: Any, method: str, **kwargs: Any) -> Any:
    """Call ``method`` on either client and await it when it is a coroutine."""
    result = getattr(client, method)(**kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result
