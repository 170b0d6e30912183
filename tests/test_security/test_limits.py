"""Every input that comes from outside has a size limit, and an oversized input gets the
documented error at once — without reading (or decrypting) the whole of it:

| input | cap | error |
|---|---|---|
| gateway reply body (client) | 256 KiB, read streamed | ``ProtocolError`` ("larger than 262144 bytes") |
| ``Data`` in a reply or notification | 65 536 hex digits (D7) | ``CryptoError`` / ``NotificationError(reason="decrypt")`` |
| notification payload (bytes, query string, mapping) | 256 KiB | ``NotificationError(reason="size")`` |
| IPN body | 256 KiB | ``NotificationError(reason="size")`` |
| PayPal's answer to an IPN postback | 4 KiB | ``unverified`` |
| simulator request body | 1 MiB | HTTP 413 |
| batch record field | its format (``ans..64`` …) | ``BatchError`` naming line and field |

Endless answers are served by loopback servers that stop by themselves: the assertion is on how
much the server managed to send before the client hung up.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from axepta import AsyncAxeptaClient, AxeptaClient, decode_notification
from axepta.batch import BatchError, BatchReader
from axepta.cli import app
from axepta.credentials import Credentials
from axepta.crypto import BlowfishCodec
from axepta.crypto.codec import DEFAULT_MAX_DATA_LENGTH
from axepta.errors import CryptoError, NotificationError, ProtocolError
from axepta.ipn import MAX_IPN_BYTES, parse_ipn, verify_ipn
from axepta.notify import MAX_NOTIFICATION_BYTES
from axepta.protocol import MAX_REPLY_BYTES
from axepta.simulator import Simulator, SimulatorServer
from tests.test_security.conftest import BLOWFISH, HMAC, MID

CHUNK = b"A" * 65536
#: what an endless server may push before it gives up by itself
SERVER_LIMIT = 64 << 20
#: what may be in flight in socket buffers when the client hangs up (loopback buffers are large)
SLACK = 8 << 20


@dataclass
class Flood:
    """A loopback server that answers every POST with ``mode``: ``big`` (a body of ``size``
    bytes with Content-Length), ``chunked`` (an endless chunked body) or ``raw`` (an endless
    body without length, closed by the server). ``sent`` counts the body bytes written."""

    mode: str = "chunked"
    size: int = MAX_REPLY_BYTES + 1
    sent: list[int] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        flood = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                written = 0
                try:
                    if flood.mode == "big":
                        self.send_header("Content-Length", str(flood.size))
                        self.end_headers()
                        while written < flood.size:
                            part = CHUNK[: flood.size - written]
                            self.wfile.write(part)
                            written += len(part)
                    elif flood.mode == "chunked":
                        self.send_header("Transfer-Encoding", "chunked")
                        self.end_headers()
                        while written < SERVER_LIMIT:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
                            written += len(CHUNK)
                    else:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        while written < SERVER_LIMIT:
                            self.wfile.write(CHUNK)
                            written += len(CHUNK)
                except OSError:
                    pass  # the client hung up: what we want
                flood.sent.append(written)
                self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def flood() -> Iterator[Flood]:
    spec = Flood()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), spec.handler())
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    spec.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield spec
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _wait_for(flood: Flood) -> int:
    for _ in range(500):
        if flood.sent:
            return flood.sent[0]
        threading.Event().wait(0.01)
    raise AssertionError("the server never finished")


@pytest.mark.parametrize("mode", ["big", "chunked", "raw"])
def test_sync_client_stops_reading_a_reply_over_256_kib(merchant: Credentials, flood: Flood, mode: str) -> None:
    flood.mode = mode
    with AxeptaClient(merchant, base_url=flood.url, timeout=10) as client, pytest.raises(ProtocolError, match="larger than 262144 bytes"):
        client.capture(pay_id="a" * 32, trans_id="BIG-1", amount=1000, currency="EUR")
    assert _wait_for(flood) < SLACK  # an endless body was cut: the server gave up long before its 64 MiB


@pytest.mark.parametrize("mode", ["big", "chunked", "raw"])
async def test_async_client_stops_reading_a_reply_over_256_kib(merchant: Credentials, flood: Flood, mode: str) -> None:
    flood.mode = mode
    async with AsyncAxeptaClient(merchant, base_url=flood.url, timeout=10) as client:
        with pytest.raises(ProtocolError, match="larger than 262144 bytes"):
            await client.capture(pay_id="a" * 32, trans_id="BIG-2", amount=1000, currency="EUR")
    assert _wait_for(flood) < SLACK  # an endless body was cut: the server gave up long before its 64 MiB


def test_a_reply_of_exactly_256_kib_is_read_then_judged_on_its_content(merchant: Credentials) -> None:
    reply = b"x" * MAX_REPLY_BYTES
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=reply))) as http, \
            AxeptaClient(merchant, http_client=http) as client, pytest.raises(ProtocolError) as caught:  # fmt: skip
        client.capture(pay_id="a" * 32, trans_id="EXACT", amount=1000, currency="EUR")
    assert "larger than" not in str(caught.value) and "no Data" in str(caught.value)


async def test_an_endless_in_process_reply_is_cut_at_the_cap(merchant: Credentials) -> None:
    produced = [0, 0]

    def endless() -> Iterator[bytes]:
        while produced[0] < SERVER_LIMIT:
            produced[0] += len(CHUNK)
            yield CHUNK

    async def aendless() -> AsyncIterator[bytes]:
        while produced[1] < SERVER_LIMIT:
            produced[1] += len(CHUNK)
            yield CHUNK

    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=endless()))) as http, \
            AxeptaClient(merchant, http_client=http) as client, pytest.raises(ProtocolError, match="larger than"):  # fmt: skip
        client.credit(pay_id="a" * 32, trans_id="END", amount=1000, currency="EUR")
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=aendless()))) as ahttp, \
            AsyncAxeptaClient(merchant, http_client=ahttp) as aclient:  # fmt: skip
        with pytest.raises(ProtocolError, match="larger than"):
            await aclient.credit(pay_id="a" * 32, trans_id="END", amount=1000, currency="EUR")
    assert produced[0] <= MAX_REPLY_BYTES + len(CHUNK) and produced[1] <= MAX_REPLY_BYTES + len(CHUNK)


def test_data_over_64_kib_of_hex_is_refused_before_decrypting(merchant: Credentials) -> None:
    oversized = "0" * (DEFAULT_MAX_DATA_LENGTH + 16)
    with pytest.raises(CryptoError, match="longer than the cap"):
        BlowfishCodec(BLOWFISH).decrypt(oversized)
    body = f"Len=10&Data={oversized}".encode()  # a reply well under 256 KiB
    with httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=body))) as http, \
            AxeptaClient(merchant, http_client=http) as client, pytest.raises(CryptoError, match="longer than the cap"):  # fmt: skip
        client.capture(pay_id="a" * 32, trans_id="DATA", amount=1000, currency="EUR")
    with pytest.raises(NotificationError) as caught:
        decode_notification(body, merchant)
    assert caught.value.reason == "decrypt" and "longer than the cap" in str(caught.value)


@pytest.mark.parametrize(
    "payload",
    [
        b"Data=" + b"A" * MAX_NOTIFICATION_BYTES,
        "Len=1&Data=" + "A" * MAX_NOTIFICATION_BYTES,
        {"Len": "1", "Data": "A" * MAX_NOTIFICATION_BYTES},
        memoryview(b"x" * (MAX_NOTIFICATION_BYTES + 1)),
    ],
    ids=["bytes", "query", "mapping", "memoryview"],
)
def test_notifications_over_256_kib_are_refused_by_size(merchant: Credentials, payload: Any) -> None:
    with pytest.raises(NotificationError) as caught:
        decode_notification(payload, merchant)
    assert caught.value.reason == "size"


def test_notification_size_cap_is_adjustable_downwards(merchant: Credentials) -> None:
    with pytest.raises(NotificationError) as caught:
        decode_notification(b"Len=1&Data=" + b"A" * 2000, merchant, max_bytes=1024)
    assert caught.value.reason == "size"


def test_ipn_bodies_over_256_kib_are_refused_by_size() -> None:
    with pytest.raises(NotificationError) as caught:
        parse_ipn(b"txn_id=1&memo=" + b"x" * MAX_IPN_BYTES)
    assert caught.value.reason == "size"


def test_an_endless_postback_answer_is_cut_and_unverified(flood: Flood) -> None:
    flood.mode = "chunked"
    result = verify_ipn(b"txn_id=1&payment_status=Completed", verify_url=flood.url + "cgi-bin/webscr", timeout=10)
    assert result.outcome == "unverified" and not result.verified
    assert _wait_for(flood) < SLACK


def test_cli_notify_and_ipn_refuse_oversized_input(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    env = {"AXEPTA_MERCHANT_ID": MID, "AXEPTA_BLOWFISH_KEY": BLOWFISH, "AXEPTA_HMAC_KEY": HMAC, "AXEPTA_PROFILE": ""}
    runner = CliRunner()
    big = b"Len=1&Data=" + b"A" * MAX_NOTIFICATION_BYTES
    result = runner.invoke(app, ["--json", "notify", "decode"], input=big, env=env)
    assert result.exit_code == 1 and '"reason": "size"' in result.stdout
    ipn = tmp_path / "ipn.txt"
    ipn.write_bytes(b"txn_id=1&memo=" + b"x" * MAX_IPN_BYTES)
    result = runner.invoke(app, ["--json", "ipn", "parse", str(ipn)], env=env)
    assert result.exit_code == 1 and '"reason": "size"' in result.stdout


def test_the_simulator_refuses_request_bodies_over_1_mib(merchant: Credentials) -> None:
    with Simulator(merchant) as sim:
        assert sim.handle("POST", "/capture.aspx", b"", b"x" * ((1 << 20) + 1)).status_code == 413
        with SimulatorServer(sim) as server, socket.create_connection((server.host, server.port), timeout=5) as raw:
            raw.sendall(b"POST /capture.aspx HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % ((1 << 20) + 1))
            assert raw.recv(64).startswith(b"HTTP/1.1 413")  # answered before the body is read


def test_batch_fields_over_their_format_are_refused_naming_the_line() -> None:
    lines = [
        "HEAD,BNP_DEMO_AXEPTA,20240131,1.4",
        "PAYPAL,Capture,1999,EUR," + "T" * 4000 + ",INV-1,1b2c3d4e5f60718293a4b5c6d7e8f90a,YES,7PX12345AB678901C",  # longer lines: tests/test_batch/test_line_cap.py
        "FOOT,1,1999",
    ]
    with pytest.raises(BatchError, match=r"line 2: TransID: .*ans\.\.64"), BatchReader(lines) as reader:
        list(reader)
