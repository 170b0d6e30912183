"""Logging and secrets: one structured line per call; keys, Data, MACs and plaintext never in
logs, reprs, strings or error messages."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import httpx
import pytest
import respx

from axepta.credentials import Credentials
from axepta.errors import GatewayError, TransportError
from axepta.models import CaptureRequest
from tests.test_client._support import BASE, OPERATIONS, WITHOUT_REQ_ID, Gateway, invoke


class Recorder:
    """Everything the fake gateway saw or produced that must never be logged."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.forbidden: set[str] = set()

    def reply(self, operation: str, request: httpx.Request, **extra: str) -> httpx.Response:
        sent = self.gateway.request_fields(request)
        form = dict(p.split("=", 1) for p in request.content.decode().split("&"))
        self.forbidden.add(form["Data"])
        self.forbidden.add(sent["MAC"])
        self.forbidden.add("&".join(f"{k}={v}" for k, v in list(sent.items())[:3]))  # plaintext
        response = self.gateway.reply_for(operation, request, **extra)
        body = response.content.decode()
        if "Data=" in body:
            self.forbidden.add(body.split("Data=")[1])
        return response


def _all_log_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in records)


async def test_logs_of_every_operation_hold_no_secret(
    client: Any, gateway: Gateway, caplog: pytest.LogCaptureFixture, secrets: tuple[str, str]
) -> None:
    recorder = Recorder(gateway)
    caplog.set_level(logging.DEBUG)
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        for operation, (_, _, path) in OPERATIONS.items():
            mock.post(path).mock(side_effect=lambda r, op=operation: recorder.reply(op, r))
        for method, kwargs, _ in OPERATIONS.values():
            await invoke(client, method, **kwargs)
        # a declined call, a retried call and a failed call log too
        mock.post("capture.aspx").mock(side_effect=lambda r: recorder.reply("capture", r, Code="21500072", Status="FAILED"))
        with pytest.raises(GatewayError):
            await invoke(client, "capture", **OPERATIONS["capture"][1])
        calls = iter([httpx.ConnectError("refused"), None])

        def flaky(request: httpx.Request) -> httpx.Response:
            exc = next(calls)
            if exc is not None:
                raise exc
            return recorder.reply("reverse", request)

        mock.post("reverse.aspx").mock(side_effect=flaky)
        await invoke(client, "reverse", **OPERATIONS["reverse"][1])
        mock.post("credit.aspx").mock(side_effect=httpx.ReadTimeout("slow"))
        with pytest.raises(TransportError):
            await invoke(client, "credit", **OPERATIONS["credit"][1])

    text = _all_log_text(caplog.records)
    assert len(recorder.forbidden) > 20
    for secret in (*secrets, *recorder.forbidden):
        assert secret not in text
    for fragment in ("MerchantID=", "Amount=", "URLNotify=", "Data=", "MAC="):
        assert fragment not in text

    lines = [r for r in caplog.records if r.name == "axepta.client" and r.getMessage().startswith("axepta call")]
    assert len(lines) == len(OPERATIONS) + 3
    by_op = [r.__dict__["axepta"] for r in lines]
    assert [d["operation"] for d in by_op[: len(OPERATIONS)]] == list(OPERATIONS)
    for record in by_op:
        assert set(record) == {"operation", "pay_id", "trans_id", "req_id", "code", "status", "outcome", "attempts", "latency_ms"}
        assert record["latency_ms"] >= 0
    assert by_op[1]["code"] == "00000000" and by_op[1]["pay_id"]
    for record in by_op[: len(OPERATIONS)]:
        assert (record["req_id"] is None) == (record["operation"] in WITHOUT_REQ_ID)
    declined, retried, timed_out = by_op[-3:]
    assert (declined["outcome"], declined["code"]) == ("declined", "21500072")
    assert (retried["outcome"], retried["attempts"]) == ("ok", 2)
    assert timed_out["outcome"] == "TransportError" and timed_out["req_id"]
    assert any("axepta retry" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.WARNING for r in lines[-3:] if r.__dict__["axepta"]["outcome"] != "ok")


async def test_reprs_and_errors_hold_no_secret(
    client: Any, gateway: Gateway, credentials: Credentials, secrets: tuple[str, str]
) -> None:
    method, kwargs, path = OPERATIONS["capture"]
    recorder = Recorder(gateway)
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        mock.post(path).mock(side_effect=lambda r: recorder.reply("capture", r))
        result = await invoke(client, method, **kwargs)
        mock.post(path).mock(side_effect=lambda r: recorder.reply("capture", r, Code="21500061", Status="FAILED"))
        with pytest.raises(GatewayError) as declined:
            await invoke(client, method, **kwargs)
    prepared = client.prepare(CaptureRequest(**kwargs))
    button = client.paypal_button_params(**OPERATIONS["paypal_orders"][1])
    redirect = client.paypal_redirect(**OPERATIONS["paypal_orders"][1])
    recorder.forbidden |= {prepared.form["Data"], prepared.fields["MAC"], button.data, redirect.form["Data"]}
    shown = [
        repr(client), str(client), repr(client.core), repr(result), str(result), repr(prepared), str(prepared),
        repr(button), repr(redirect), str(declined.value), repr(declined.value), repr(credentials),
        str(pickle.loads(pickle.dumps(declined.value))),
    ]  # fmt: skip
    text = "\n".join(shown)
    for secret in (*secrets, *recorder.forbidden):
        assert secret not in text
    assert "BNP_DEMO_AXEPTA" in repr(client)
    assert declined.value.code == "21500061"
    assert "MAC" not in result.raw and "mac" not in {k.lower() for k in result.raw}
