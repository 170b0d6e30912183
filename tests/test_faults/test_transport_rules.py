"""Where requests may go: redirects are never followed (a 307 would re-post the money-moving
request elsewhere), and nothing is ever sent over plain http outside loopback."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from axepta.cli import app
from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import ConfigurationError, InvalidRequestError, ProtocolError
from axepta.ipn import verify_ipn
from axepta.simulator import Simulator
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_faults.conftest import URLS, call


class Loopback:
    """A loopback HTTP server answering every request with ``status`` and ``location``;
    counts what it received."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.status = status
        self.location = location
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.hits.append(f"{self.command} {self.path}")
                self.send_response(outer.status)
                if outer.location:
                    self.send_header("Location", outer.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


@pytest.fixture
def target() -> Iterator[Loopback]:
    server = Loopback(200)
    yield server
    server.close()


@pytest.fixture
def redirector(target: Loopback) -> Iterator[Loopback]:
    server = Loopback(302, target.url + "capture.aspx")
    yield server
    server.close()


@pytest.fixture
async def make() -> AsyncIterator[Callable[[str, Credentials, str, bool], Any]]:
    """Builds clients (own pool, or an injected one that follows redirects); closes them."""
    opened: list[Any] = []

    def build(flavour: str, credentials: Credentials, url: str, follow: bool) -> Any:
        cls = AxeptaClient if flavour == "sync" else AsyncAxeptaClient
        if not follow:
            client = cls(credentials, base_url=url, browser_base_url=url, timeout=5)  # its own pool
        else:
            http = (httpx.Client if flavour == "sync" else httpx.AsyncClient)(follow_redirects=True)
            opened.append(http)
            client = cls(credentials, base_url=url, browser_base_url=url, timeout=5, http_client=http)
        opened.append(client)
        return client

    yield build
    for item in opened:
        closing = item.aclose() if isinstance(item, AsyncAxeptaClient | httpx.AsyncClient) else item.close()
        if closing is not None:
            await closing


@pytest.mark.parametrize("follow", [False, True], ids=["own-pool", "injected-follow_redirects=True"])
@pytest.mark.parametrize("flavour", ["sync", "async"])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_never_followed(
    credentials: Credentials, redirector: Loopback, target: Loopback, status: int, flavour: str, follow: bool,
    make: Any,
) -> None:
    redirector.status = status
    client = make(flavour, credentials, redirector.url, follow)
    with pytest.raises(ProtocolError, match="unexpected redirect"):
        await call(client, "capture", pay_id="a" * 32, trans_id="R-1", amount=1000, currency="EUR")
    with pytest.raises(ProtocolError, match="unexpected redirect"):
        await call(client, "create_paypal_order", trans_id="R-2", amount=1000, currency="EUR", order_desc="x", **URLS)
    assert redirector.hits == ["POST /capture.aspx", "POST /ExternalServices/paypalorders.aspx"]
    assert target.hits == [], "the client followed a redirect"


async def test_redirect_mode_returns_the_location_without_following_it(
    credentials: Credentials, redirector: Loopback, target: Loopback, make: Any
) -> None:
    client = make("sync", credentials, redirector.url, True)
    order = await call(
        client, "create_paypal_order", trans_id="RM-1", amount=1000, currency="EUR", order_desc="x", mode="redirect", **URLS
    )
    assert order.redirect_url == target.url + "capture.aspx" and target.hits == []
    redirector.location = "http://paypal.example/checkoutnow?token=x"  # plain http off loopback
    with pytest.raises(ProtocolError, match="https Location"):
        await call(client, "create_paypal_order", trans_id="RM-2", amount=1000, currency="EUR", order_desc="x", mode="redirect", **URLS)


PLAIN_HTTP_OFF_LOOPBACK = [
    "http://paymentpage.axepta.bnpparibas/",
    "http://www.computop-paygate.com/",
    "http://10.0.0.7:8080/",
    "http://192.168.1.1/",
    "http://0.0.0.0:8765/",
    "http://localhost.evil.example/",
    "http://127.0.0.1.nip.io/",
    "http://[::ffff:7f00:1]/",
    "http://2130706433/",
    "ftp://127.0.0.1/",
    "//paymentpage.axepta.bnpparibas/",
]


@pytest.mark.parametrize("url", PLAIN_HTTP_OFF_LOOPBACK)
@pytest.mark.parametrize("cls", [AxeptaClient, AsyncAxeptaClient])
async def test_plain_http_is_refused_outside_loopback(credentials: Credentials, cls: type, url: str) -> None:
    with pytest.raises(ConfigurationError):
        cls(credentials, base_url=url)
    with pytest.raises(ConfigurationError):
        cls(credentials, browser_base_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8765/", "http://localhost:1/", "http://[::1]:8765/", "https://gw.example/"])
def test_loopback_http_and_https_are_accepted(credentials: Credentials, url: str) -> None:
    with AxeptaClient(credentials, base_url=url, browser_base_url=url) as client:
        assert client.url_for("capture").startswith(url)


@pytest.mark.parametrize("path", ["http://evil.example/capture.aspx", "https://evil.example/x", "//evil.example/capture.aspx", "../x"])
def test_a_path_cannot_leave_the_base_url(credentials: Credentials, path: str) -> None:
    try:
        client = AxeptaClient(credentials, paths={"capture": path})
    except ConfigurationError:
        return
    with client:
        assert client.url_for("capture").startswith("https://paymentpage.axepta.bnpparibas/")


@pytest.mark.parametrize("field", ["url_success", "url_failure", "url_notify"])
def test_result_urls_over_plain_http_are_refused_outside_loopback(credentials: Credentials, field: str) -> None:
    urls = {**URLS, field: "http://shop.example/paypal"}
    with AxeptaClient(credentials) as client, pytest.raises(InvalidRequestError) as caught:
        client.paypal_button_params(trans_id="U-1", amount=1000, currency="EUR", order_desc="x", **urls)
    assert caught.value.rule == "https"


def test_every_request_of_a_whole_flow_goes_to_the_https_gateway(credentials: Credentials) -> None:
    seen: list[httpx.URL] = []
    with Simulator(credentials, time_factor=1e-7, seed=2, notify_transport=httpx.MockTransport(lambda r: httpx.Response(200))) as sim:
        inner = sim.transport()

        def record(request: httpx.Request) -> httpx.Response:
            seen.append(request.url)
            return inner.handle_request(request)

        with httpx.Client(transport=httpx.MockTransport(record)) as http, AxeptaClient(credentials, http_client=http) as client:
            order = client.create_paypal_order(trans_id="F-1", amount=5000, currency="EUR", order_desc="x", capture="Manual", tx_type="Auth", **URLS)
            sim.approve(order.pay_id)
            capture = client.capture(pay_id=order.pay_id, trans_id="F-1", amount=3000, currency="EUR")
            client.credit(pay_id=order.pay_id, trans_id="F-1", amount=1000, currency="EUR", tid=capture.tid)
            client.credit_without_reference(trans_id="F-2", amount=1000, currency="EUR", payer_id="XVRKM94GQDXB2")
    assert len(seen) == 4
    assert {(u.scheme, u.host) for u in seen} == {("https", "paymentpage.axepta.bnpparibas")}


def test_ipn_postback_over_plain_http_is_refused_outside_loopback() -> None:
    with pytest.raises(ConfigurationError):
        verify_ipn(b"txn_id=1", verify_url="http://ipnpb.paypal.com/cgi-bin/webscr")


def test_cli_refuses_a_plain_http_base_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AXEPTA_CONFIG", str(tmp_path / "absent.toml"))
    env = {"AXEPTA_MERCHANT_ID": DEMO_MID, "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC}
    result = CliRunner().invoke(
        app,
        ["--base-url", "http://paymentpage.axepta.bnpparibas/", "capture", "a" * 32, "--trans-id", "T",
         "--amount", "10", "--currency", "EUR", "--yes"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "http" in result.stderr
