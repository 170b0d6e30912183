"""A fake PayPal verification endpoint on 127.0.0.1 (ephemeral port, a ThreadingHTTPServer in a
thread) and the seed fixtures."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakePayPal:
    """Answers by path: ``/verified``, ``/invalid``, ``/error`` (500), ``/other`` (an unexpected
    body), ``/redirect`` (302 to ``/verified``), ``/huge`` (a 10 KiB body) and ``/slow`` (holds
    the answer until the test ends, at most 5 s). Every request is recorded."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        fake.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path == "/slow":
            fake.release.wait(5.0)
            self._answer(200, b"VERIFIED")
        elif self.path == "/verified":
            self._answer(200, b"VERIFIED\r\n")
        elif self.path == "/invalid":
            self._answer(200, b"INVALID")
        elif self.path == "/error":
            self._answer(500, b"VERIFIED")
        elif self.path == "/other":
            self._answer(200, b"<html>maintenance</html>")
        elif self.path == "/redirect":
            self._answer(302, b"", location=fake.url("/verified"))
        elif self.path == "/huge":
            self._answer(200, b"VERIFIED" + b" " * 10_000)
        else:
            self._answer(404, b"not found")

    def _answer(self, status: int, body: bytes, location: str | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout tests)
            pass

    def log_message(self, format: str, *args: object) -> None:
        return


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakePayPal


@pytest.fixture(scope="module")
def paypal() -> Iterator[FakePayPal]:
    server = _Server(("127.0.0.1", 0), _Handler)
    fake = FakePayPal(port=server.server_address[1])
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def fake_paypal(paypal: FakePayPal) -> FakePayPal:
    paypal.received.clear()
    return paypal
