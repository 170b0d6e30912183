"""D2: in a reply to the client's own call, a repeated non-critical name keeps its first
occurrence and is logged — at WARNING on ``axepta.crypto``, naming the field, bounded and
printable (the name comes from the peer); a repeated critical name is an error. (Notifications
refuse any repeated name: tests/test_notify/test_splice.py.)"""

from __future__ import annotations

import logging

import httpx
import pytest

from axepta import AxeptaClient
from axepta.credentials import Credentials
from axepta.crypto import parse_params
from axepta.errors import GatewayError, ProtocolError


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "axepta.crypto" and r.levelno == logging.WARNING]


def test_a_repeated_ordinary_name_keeps_the_first_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="axepta.crypto"):
        params = parse_params("PayID=1&Description=first&DESCRIPTION=second&description=third")
    assert params["Description"] == "first"
    (message,) = _warnings(caplog)  # one line per message, listing each repeated name once
    assert "'DESCRIPTION'" in message and "first occurrence kept" in message and "second" not in message


def test_the_logged_name_is_bounded_and_printable(caplog: pytest.LogCaptureFixture) -> None:
    name = "X\nforged log line\x1b[2J" + "y" * 100_000
    with caplog.at_level(logging.WARNING, logger="axepta.crypto"):
        parse_params(f"{name}=1&{name}=2")
    (message,) = _warnings(caplog)
    assert "\n" not in message and "\x1b" not in message and len(message) < 300


def test_a_repeated_critical_name_is_an_error() -> None:
    with pytest.raises(ProtocolError, match="'code' occurs twice"):
        parse_params("Code=00000000&code=21500061")


def test_a_reply_with_a_repeated_name_is_read_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    merchant = Credentials("MID", "sixteen-byte-key", "hmac-key")
    body = b"Code=21500061&Status=FAILED&Description=first&Description=second&CodeExt=1&PayID=" + b"a" * 32
    caplog.set_level(logging.INFO, logger="axepta")
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))) as http, \
            AxeptaClient(merchant, http_client=http) as client, pytest.raises(GatewayError) as caught:  # fmt: skip
        client.capture(pay_id="a" * 32, trans_id="T-1", amount=1000, currency="EUR")
    assert caught.value.description == "first"
    assert any("'Description'" in m for m in _warnings(caplog))
