"""A hostile loopback HTTP server for the transport tests, written on raw sockets so that it can
do what a well-behaved framework would not: ignore ``Accept-Encoding: identity`` and send a gzip
bomb, or drip its status line, headers or body one byte at a time.

Every connection is served by a thread that stops by itself: when the client hangs up, after
``max_seconds``, or once everything was sent. The server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: decoded size of the gzip bomb: 1 000 times the client's 256 KiB cap
BOMB_DECODED = 256 << 20


def _make_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    parts.append(packer.flush())
    return b"".join(parts)


_bomb: bytes | None = None


def bomb() -> bytes:
    """``BOMB_DECODED`` zero bytes, gzipped (about 256 KiB on the wire); built once."""
    global _bomb
    if _bomb is None:
        _bomb = _make_bomb(BOMB_DECODED)
    return _bomb


@dataclass
class Seen:
    """One request as received: its head (lowercased header names) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Responder = Callable[[Seen], tuple[int, dict[str, str], bytes]]


@dataclass
class Hostile:
    """``mode``: ``bomb`` (a gzip bomb, Content-Length set), ``bomb-chunked`` (the same bomb in
    chunks, no length), ``drip-head`` (status line and headers one byte per ``interval``),
    ``drip-body`` (headers at once, then the body one byte per ``interval``), ``answer`` (what
    ``responder`` returns, gzipped when ``gzip_answer``), ``encoded`` (a body with
    ``Content-Encoding: encoding``), ``drop`` (the request is read, the connection closed)."""

    mode: str = "bomb"
    interval: float = 0.05
    max_seconds: float = 8.0
    responder: Responder | None = None
    gzip_answer: bool = False
    encoding: str = "br"
    payload: bytes = b""
    seen: list[Seen] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # bytes written per connection
    url: str = ""

    # -- one connection -----------------------------------------------------------------------

    def _read_request(self, conn: socket.socket) -> Seen | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            body += chunk
        return Seen(method, path, headers, body)

    def _plan(self, seen: Seen) -> tuple[bytes, bytes]:
        """(head, body) to send."""
        if self.mode in ("bomb", "bomb-chunked"):
            payload = bomb()
            if self.mode == "bomb":
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
                head += b"Content-Length: %d\r\n\r\n" % len(payload)
                return head, payload
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\n"
            head += b"Transfer-Encoding: chunked\r\n\r\n"
            step = 16384
            body = b"".join(
                b"%x\r\n%s\r\n" % (len(payload[i : i + step]), payload[i : i + step])
                for i in range(0, len(payload), step)
            )
            return head, body + b"0\r\n\r\n"
        if self.mode in ("drip-head", "drip-body"):
            body = b"x" * 10_000
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + b"p" * 2000
            head += b"\r\nContent-Length: %d\r\n\r\n" % len(body)
            return head, body
        if self.mode == "encoded":
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            head += b"Content-Encoding: %s\r\nContent-Length: %d\r\n\r\n" % (self.encoding.encode(), len(self.payload))
            return head, self.payload
        assert self.responder is not None
        status, headers, body = self.responder(seen)
        if self.gzip_answer:
            body = gzip.compress(body)
            headers = {**headers, "Content-Encoding": "gzip"}
        head = b"HTTP/1.1 %d X\r\n" % status
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            head += f"{name}: {value}\r\n".encode("latin-1")
        return head + b"\r\n", body

    def serve_one(self, conn: socket.socket) -> None:
        started = time.monotonic()
        written = 0
        try:
            conn.settimeout(self.max_seconds)
            seen = self._read_request(conn)
            if seen is None:
                return
            self.seen.append(seen)
            if self.mode == "drop":  # read the request, answer nothing
                return
            head, body = self._plan(seen)
            drip = {"drip-head": head + body, "drip-body": body}.get(self.mode)
            if drip is None:
                conn.sendall(head + body)
                written = len(head) + len(body)
                return
            if self.mode == "drip-body":
                conn.sendall(head)
                written += len(head)
            for i in range(len(drip)):
                if time.monotonic() - started > self.max_seconds:
                    return
                conn.sendall(drip[i : i + 1])
                written += 1
                time.sleep(self.interval)
        except OSError:
            pass  # the client hung up: what these tests want
        finally:
            self.sent.append(written)
            conn.close()


@contextmanager
def hostile(spec: Hostile) -> Iterator[Hostile]:
    """Serve ``spec`` on 127.0.0.1 until the block ends (then every thread is joined)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    spec.url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop = threading.Event()
    workers: list[threading.Thread] = []

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=spec.serve_one, args=(conn,), daemon=True)
            worker.start()
            workers.append(worker)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield spec
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for worker in workers:
            worker.join(spec.max_seconds + 5)
