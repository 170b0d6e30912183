"""TLS certificates are verified by default: by the HTTP clients the library builds itself
(``AxeptaClient``, ``AsyncAxeptaClient``, the CLI, the IPN postback, the simulator's URLNotify
sender), against a loopback HTTPS server whose certificate nobody trusts. Nothing reaches it;
the same server, trusted explicitly, is reached (so the refusal came from verification).

The certificate is made for the session with ``openssl`` (an EC key, valid two days).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from axepta import AsyncAxeptaClient, AxeptaClient
from axepta._http import DefaultAsyncTransport
from axepta.cli import _common
from axepta.credentials import Credentials
from axepta.errors import ProtocolError, TransportError
from axepta.ipn import averify_ipn, verify_ipn
from axepta.simulator import Simulator

URLS = {"url_success": "https://shop.example/ok", "url_failure": "https://shop.example/ko"}


@dataclass
class TlsServer:
    url: str
    cafile: Path
    hits: list[str]

    def trusting(self) -> ssl.SSLContext:
        """A context that trusts this server's certificate (the positive control)."""
        return ssl.create_default_context(cafile=str(self.cafile))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover - every CI image of this project has it
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server(certificate: tuple[Path, Path]) -> Iterator[TlsServer]:
    cert, key = certificate
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "8")
            self.end_headers()
            self.wfile.write(b"VERIFIED")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    # a failed handshake is reported by the server thread: keep it quiet
    httpd.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield TlsServer(f"https://127.0.0.1:{httpd.server_address[1]}/", cert, hits)
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _chain(exc: BaseException) -> str:
    seen = []
    current: BaseException | None = exc
    while current is not None:
        seen.append(repr(current))
        current = current.__cause__ or current.__context__
    return " <- ".join(seen)


def _pool_context(http: httpx.Client | httpx.AsyncClient) -> ssl.SSLContext:
    transport = http._transport
    if isinstance(transport, DefaultAsyncTransport):  # the async client's aiohttp pool
        return transport.ssl_context
    context: ssl.SSLContext = transport._pool._ssl_context  # type: ignore[union-attr]
    return context


async def test_the_clients_own_pools_verify_certificates(credentials: Credentials) -> None:
    with AxeptaClient(credentials) as client:
        sync_context = _pool_context(client._http)
    async with AsyncAxeptaClient(credentials) as aclient:
        async_context = _pool_context(aclient._http)
    with _common.make_http_client() as cli_http:
        contexts = [sync_context, async_context, _pool_context(cli_http)]
    with Simulator(credentials) as sim:
        contexts.append(_pool_context(sim.notifier._client()))
    for context in contexts:
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True


def test_sync_client_refuses_an_untrusted_certificate(credentials: Credentials, server: TlsServer) -> None:
    with AxeptaClient(credentials, base_url=server.url, retry_backoff=0) as client, pytest.raises(TransportError) as caught:
        client.capture(pay_id="a" * 32, trans_id="TLS-1", amount=1000, currency="EUR")
    assert caught.value.sent is False  # nothing was sent: the handshake failed
    assert "CERTIFICATE_VERIFY_FAILED" in _chain(caught.value)
    assert server.hits == []
    # the positive control: the same server, trusted explicitly, is reached
    with httpx.Client(verify=server.trusting()) as http, \
            AxeptaClient(credentials, base_url=server.url, http_client=http) as client, \
            pytest.raises(ProtocolError):  # reached: the stand-in answers no gateway message
        client.capture(pay_id="a" * 32, trans_id="TLS-1", amount=1000, currency="EUR")
    assert server.hits == ["/capture.aspx"]


async def test_async_client_refuses_an_untrusted_certificate(credentials: Credentials, server: TlsServer) -> None:
    async with AsyncAxeptaClient(credentials, base_url=server.url, retry_backoff=0, max_retries=0) as client:
        with pytest.raises(TransportError) as caught:
            await client.credit(pay_id="a" * 32, trans_id="TLS-2", amount=1000, currency="EUR")
    assert caught.value.sent is False and "CERTIFICATE_VERIFY_FAILED" in _chain(caught.value)
    assert server.hits == []


def test_cli_http_client_refuses_an_untrusted_certificate(server: TlsServer) -> None:
    with _common.make_http_client() as http, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.post(server.url + "capture.aspx", data={"MerchantID": "X"})
    assert server.hits == []


async def test_ipn_postback_refuses_an_untrusted_certificate(server: TlsServer) -> None:
    raw = b"txn_id=61E67681CH3238416&payment_status=Completed&test_ipn=1"
    for outcome in (verify_ipn(raw, verify_url=server.url + "cgi-bin/webscr"),
                    await averify_ipn(raw, verify_url=server.url + "cgi-bin/webscr")):  # fmt: skip
        assert outcome.outcome == "unverified" and "ConnectError" in outcome.detail
    assert server.hits == []
    with httpx.Client(verify=server.trusting()) as http:
        assert verify_ipn(raw, verify_url=server.url + "cgi-bin/webscr", http_client=http).verified
    assert server.hits == ["/cgi-bin/webscr"]


def test_simulator_notifications_refuse_an_untrusted_certificate(credentials: Credentials, server: TlsServer) -> None:
    with Simulator(credentials, time_factor=1e-7, seed=1) as sim, httpx.Client(transport=sim.transport()) as http, \
            AxeptaClient(credentials, http_client=http) as client:  # fmt: skip
        order = client.create_paypal_order(
            trans_id="TLS-3", amount=1000, currency="EUR", order_desc="x", url_notify=server.url + "notify", **URLS
        )
        sim.approve(order.pay_id)
        assert sim.wait_for_notifications(10)
        [delivery] = sim.deliveries
    assert delivery.state == "failed" and len(delivery.attempts) == 9
    assert all(a.status_code is None and "ConnectError" in (a.error or "") for a in delivery.attempts)
    assert server.hits == []
