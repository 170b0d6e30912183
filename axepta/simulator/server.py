"""The simulator over loopback HTTP (stdlib ``ThreadingHTTPServer``), for ``axepta simulator
serve``, browsers and tests that want real sockets.

    with running_simulator(credentials, time_factor=1e-5) as server:
        client = AxeptaClient(credentials, base_url=server.url, browser_base_url=server.url)
        ...

It binds 127.0.0.1 (or another loopback address) only. Approval URLs (``paypalurl``, redirect
mode) point at the server itself, so a browser can play the buyer. Request lines are logged
without their query (a GET in redirect mode carries ``Data``).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from axepta.credentials import Credentials
from axepta.fields import is_loopback_host
from axepta.simulator.engine import DEFAULT_PAYPAL_BASE_URL, Simulator
from axepta.simulator.transport import apply_plan

__all__ = ["SimulatorServer", "running_simulator"]

logger = logging.getLogger("axepta.simulator")

_MAX_BODY = 1 << 20


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    # listen backlog (socketserver's default is 5): a burst of new connections beyond it has
    # its SYNs dropped and retried after 1 s; the kernel caps this at net.core.somaxconn
    request_queue_size = 1024
    simulator: Simulator
    idle_timeout: float | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is one log line; anything else is logged with its traceback
        (never printed raw to stderr, as socketserver does)."""
        exc = sys.exc_info()[1]
        where = ":".join(str(part) for part in client_address) if isinstance(client_address, tuple) else "?"
        if isinstance(exc, (ConnectionError, TimeoutError)):
            logger.info("client %s disconnected early (%s)", where, type(exc).__name__)
        else:
            logger.error("error while serving %s: %s: %s", where, type(exc).__name__, exc, exc_info=exc)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "AxeptaSimulator/1.0"
    protocol_version = "HTTP/1.1"
    # headers and body go out in separate writes: without TCP_NODELAY, delayed ACKs cost 40 ms
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        # an idle keep-alive connection (or a client that stops mid-request) is closed after
        # the server's idle_timeout instead of holding its thread forever
        self.connection.settimeout(self.server.idle_timeout)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool = False) -> None:
        path, _, query = self.path.partition("?")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self._write(413, {"Content-Type": "text/plain"}, b"request body too large or malformed", head)
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        simulator = self.server.simulator
        plan = simulator.faults.plan(path)
        if plan.latency:
            simulator.record_fault("latency")
            time.sleep(plan.latency)
        answer = apply_plan(simulator, plan, self.command, path, query, body)
        if answer is None:
            # dropped: close the socket without a status line
            self.close_connection = True
            return
        self._write(answer.status_code, answer.headers, answer.body, head)

    def _write(self, status: int, headers: Any, body: bytes, head: bool) -> None:
        self.send_response(status)
        for key, value in dict(headers).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # a malformed request line is answered before command and path exist
        path = getattr(self, "path", "").partition("?")[0]
        logger.debug("%s %s -> %s", getattr(self, "command", None) or "-", path or "-", code)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http: " + format, *args)


class SimulatorServer:
    """Serves a :class:`Simulator` on ``host:port`` (127.0.0.1; ``port=0`` picks a free one).

    :meth:`start` runs it in a background thread (or use the object as a context manager);
    :meth:`serve_forever` runs it in the calling thread until :meth:`stop` or Ctrl-C. ``url``
    is ``http://127.0.0.1:<port>/``. Raises ``OSError`` when the port is taken.
    ``idle_timeout`` (30 s) closes a connection that sends nothing for that long (between
    requests, or in the middle of one); a client that disconnects before its answer is one
    ``INFO`` line of the ``axepta.simulator`` logger."""

    def __init__(
        self, simulator: Simulator, *, port: int = 0, host: str = "127.0.0.1", idle_timeout: float = 30.0
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError("the simulator binds loopback addresses only")
        if idle_timeout <= 0:
            raise ValueError("idle_timeout must be > 0")
        self.simulator = simulator
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.simulator = simulator
        self._httpd.idle_timeout = idle_timeout
        self.host = host
        self.port: int = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}/"
        self._thread: threading.Thread | None = None
        self._serving = False
        if simulator.paypal_base_url == DEFAULT_PAYPAL_BASE_URL:
            simulator.paypal_base_url = self.url

    def __repr__(self) -> str:
        return f"SimulatorServer(url={self.url!r})"

    def start(self) -> Self:
        """Serve in a daemon thread; returns at once."""
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"axepta-sim-http-{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until :meth:`stop` is called (from another thread)."""
        self._serving = True
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._serving = False

    def stop(self) -> None:
        """Stop serving and release the port (the simulator itself stays open)."""
        if self._serving:
            self._httpd.shutdown()
            self._serving = False
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def running_simulator(
    merchants: Credentials | Iterable[Credentials] = (), *, port: int = 0, **simulator_options: Any
) -> Iterator[SimulatorServer]:
    """A :class:`Simulator` (``simulator_options`` go to its constructor) served on an
    ephemeral 127.0.0.1 port in a thread; both are stopped on exit. Yields the server
    (``server.url``, ``server.simulator``)."""
    simulator = Simulator(merchants, **simulator_options)
    try:
        with SimulatorServer(simulator, port=port) as server:
            yield server
    finally:
        simulator.close()
