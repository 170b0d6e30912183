"""Text from a reply the client cannot authenticate (a refusal in clear carries no Data, hence
no key behind it) reaches errors and log lines only bounded and printable: a ``Code``,
``Status``, ``Description``, ``CodeExt`` or ``PayID`` cannot forge log lines (newlines) or
bloat every log record with a quarter of a megabyte."""

from __future__ import annotations

import logging

import httpx
import pytest

from axepta import AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import GatewayError, ProtocolError

FORGED_LINE = "axepta call operation=capture pay_id=X trans_id=T req_id=- code=00000000 status=OK outcome=ok"


def _refusal(merchant: Credentials, body: bytes, caplog: pytest.LogCaptureFixture) -> GatewayError:
    caplog.set_level(logging.DEBUG, logger="axepta")
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))) as http, \
            AxeptaClient(merchant, http_client=http) as client, pytest.raises(GatewayError) as caught:  # fmt: skip
        client.capture(pay_id="a" * 32, trans_id="T-1", amount=1000, currency="EUR")
    return caught.value


@pytest.mark.parametrize("field", ["Code", "Status", "Description", "CodeExt"])
def test_a_clear_refusal_cannot_forge_log_lines(merchant: Credentials, caplog: pytest.LogCaptureFixture, field: str) -> None:
    values = {"Code": "21500061", "Status": "FAILED", "Description": "refused", "CodeExt": "10001", "PayID": "a" * 32}
    values[field] = values[field] + "\n" + FORGED_LINE + "\r\x1b[2J\u2028"
    body = "&".join(f"{k}={v}" for k, v in values.items()).encode("utf-8")
    error = _refusal(merchant, body, caplog)
    records = [r for r in caplog.records if r.name == "axepta.client"]
    assert records, "the call was not logged"
    for record in records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message and "\x1b" not in message and "\u2028" not in message
    for text in (str(error), str(error.code), str(error.status), str(error.description), str(error.code_ext), str(error.pay_id)):
        assert "\n" not in text and "\x1b" not in text


@pytest.mark.parametrize("field", ["Code", "Status", "Description", "CodeExt"])
def test_a_clear_refusal_cannot_bloat_errors_and_logs(merchant: Credentials, caplog: pytest.LogCaptureFixture, field: str) -> None:
    values = {"Code": "21500061", "Status": "FAILED", "Description": "refused", "CodeExt": "10001", "PayID": "a" * 32}
    values[field] = "9" * 200_000  # inside the 256 KiB reply cap
    error = _refusal(merchant, "&".join(f"{k}={v}" for k, v in values.items()).encode(), caplog)
    assert len(str(error)) < 2048
    for name in ("code", "status", "description", "code_ext", "pay_id"):
        assert len(str(getattr(error, name))) <= 1024
    for record in caplog.records:
        assert len(record.getMessage()) < 2048 and len(repr(record.__dict__)) < 8192


def test_genuine_refusals_are_shown_as_sent(merchant: Credentials, caplog: pytest.LogCaptureFixture) -> None:
    body = "Code=21500061&Status=FAILED&Description=Paiement refusé : identifiant inconnu&CodeExt=10417".encode("iso-8859-1")
    error = _refusal(merchant, body, caplog)
    assert (error.code, error.status, error.code_ext) == ("21500061", "FAILED", "10417")
    assert error.description == "Paiement refusé : identifiant inconnu"
    assert "21500061" in caplog.records[-1].getMessage()


@pytest.mark.parametrize("field", ["PayID", "TransID"])
def test_an_echo_that_does_not_match_is_reported_bounded(merchant: Credentials, field: str) -> None:
    values = {"Code": "21500061", "Status": "FAILED", "PayID": "a" * 32, "TransID": "T-1"}
    values[field] = "B" * 200_000 + "\n" + FORGED_LINE
    body = "&".join(f"{k}={v}" for k, v in values.items()).encode()
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))) as http, \
            AxeptaClient(merchant, http_client=http) as client, pytest.raises(ProtocolError, match="does not echo") as caught:  # fmt: skip
        client.capture(pay_id="a" * 32, trans_id="T-1", amount=1000, currency="EUR")
    assert len(str(caught.value)) < 1024 and "\n" not in str(caught.value)
