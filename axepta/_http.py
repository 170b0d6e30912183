"""Outbound HTTP shared by the clients, the IPN postback and the simulator's URLNotify sender.

Two rules every outbound call of the library follows:

* **One wall-clock deadline** over connect, request, headers and body. httpx's timeouts are per
  phase and per socket operation (a reply dripped one byte at a time never trips a read
  timeout), so:

  - synchronous calls on the library's own pools go through :func:`sync_transport`, whose
    network backend clamps every connect, TLS handshake, read and write to the time left
    before the deadline of the call running in the same context (:func:`deadline_scope`);
  - asynchronous calls run inside a cancel scope of the time left (:func:`async_deadline`);
  - both re-check the deadline between body chunks (:func:`read_body`), which is all an
    injected synchronous ``httpx.Client`` gets beyond its own timeouts.

* **Bodies are read raw and decoded under a cap.** Requests ask for ``Accept-Encoding:
  identity``; a server that compresses anyway (``gzip``, ``x-gzip``, ``deflate``) is decoded
  here, never more than ``limit + 1`` bytes, so a 1 KiB gzip bomb costs the cap, not a
  gigabyte. Other or stacked encodings are refused (:class:`EncodingRefused`).
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, Final

import anyio
import httpcore
import httpx
import sniffio

__all__ = [
    "ACCEPT_IDENTITY",
    "BodyTooLarge",
    "DeadlineExceeded",
    "DefaultAsyncTransport",
    "EncodingRefused",
    "ShardedAsyncTransport",
    "aread_body",
    "async_deadline",
    "deadline_of",
    "deadline_scope",
    "read_body",
    "sync_transport",
    "within",
]

#: Asked on every outbound request: a compressed reply would only be a way round the size caps.
ACCEPT_IDENTITY: Final = {"Accept-Encoding": "identity"}

_deadline: ContextVar[float | None] = ContextVar("axepta_http_deadline", default=None)


class BodyTooLarge(Exception):
    """The decoded body went over ``limit``. ``head`` holds the first ``limit + 1`` decoded bytes
    (all that was kept), ``decoded`` their number, ``received`` the bytes read off the wire."""

    def __init__(self, limit: int, head: bytes, received: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes (stopped after {received} bytes on the wire)")
        self.limit = limit
        self.head = head
        self.decoded = len(head)
        self.received = received


class EncodingRefused(Exception):
    """A ``Content-Encoding`` that was not asked for and is not decoded here, or corrupt data."""


class DeadlineExceeded(Exception):
    """The call's wall-clock deadline passed while the body was still arriving."""


# ---------------------------------------------------------------------------------------------
# the deadline


def deadline_of(timeout: httpx.Timeout) -> float:
    """The call's deadline for an ``httpx.Timeout``: the largest of its phase values (``45`` for
    ``Timeout(45, connect=5, read=30)``, ``4`` for ``Timeout(4, read=3)``)."""
    values = [v for v in (timeout.connect, timeout.read, timeout.write, timeout.pool) if v is not None]
    if not values:
        raise ValueError("a timeout with no value at all sets no deadline")
    return max(values)


def within(timeout: httpx.Timeout, left: float) -> httpx.Timeout:
    """``timeout`` with every phase cut to the ``left`` seconds before the deadline."""

    def cut(value: float | None) -> float:
        return left if value is None else min(value, left)

    return httpx.Timeout(
        connect=cut(timeout.connect), read=cut(timeout.read), write=cut(timeout.write), pool=cut(timeout.pool)
    )


@contextmanager
def deadline_scope(deadline: float | None) -> Iterator[None]:
    """Socket operations of :func:`sync_transport` pools in this context end by ``deadline``
    (a ``time.monotonic()`` value)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def async_deadline(seconds: float) -> AbstractAsyncContextManager[Any]:
    """``async with`` scope that raises :class:`TimeoutError` after ``seconds``:
    ``asyncio.timeout`` under asyncio (cheaper than anyio's cancel scope), ``anyio.fail_after``
    otherwise (trio)."""
    if sniffio.current_async_library() == "asyncio":
        return asyncio.timeout(seconds)
    return _AnyioDeadline(seconds)


class _AnyioDeadline:
    __slots__ = ("_scope", "_seconds")

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._scope: Any = None

    async def __aenter__(self) -> None:
        self._scope = anyio.fail_after(self._seconds)
        self._scope.__enter__()

    async def __aexit__(self, *exc: Any) -> bool | None:
        result: bool | None = self._scope.__exit__(*exc)
        return result


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the deadline of the calling context."""

    __slots__ = ("_inner",)

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - the library never dials a unix socket
        return _DeadlineStream(
            self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout), socket_options)
        )

    def sleep(self, seconds: float) -> None:  # pragma: no cover - httpcore's retries are off
        self._inner.sleep(seconds)


def sync_transport(**kwargs: Any) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` (same keywords; certificates verified by default) whose
    connections honour :func:`deadline_scope`."""
    transport = httpx.HTTPTransport(**kwargs)
    pool = transport._pool
    if not isinstance(pool, httpcore.ConnectionPool):  # pragma: no cover - no proxy is passed
        raise TypeError("sync_transport: a proxy transport has no pool of its own to bound")
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


# ---------------------------------------------------------------------------------------------
# bodies under a cap


class _Body:
    """Raw chunks in, at most ``limit + 1`` decoded bytes kept, :class:`BodyTooLarge` beyond."""

    __slots__ = ("_data", "_inflate", "_limit", "_raw_deflate", "_received")

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        self._limit = limit
        self._data = bytearray()
        self._received = 0
        self._inflate: Any = None  # a zlib decompressor, or None for identity
        self._raw_deflate = False  # "deflate" without its zlib header: tried once, on failure
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return
        if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
            raise EncodingRefused(
                f"the reply is encoded as {', '.join(codings)!r}, which was not asked for"
            )
        gzip = codings[0] != "deflate"
        self._raw_deflate = not gzip
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def feed(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._inflate is None:
            self._data += chunk
            self._check()
            return
        data = chunk
        while data and not self._inflate.eof:
            room = self._limit + 1 - len(self._data)
            try:
                out = self._inflate.decompress(data, room)
            except zlib.error as exc:
                if self._raw_deflate and not self._data and self._received == len(chunk):
                    # "deflate" sent raw, without its zlib header (as some servers do)
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._raw_deflate = False
                    continue
                raise EncodingRefused(f"the compressed reply is corrupt ({exc})") from None
            self._data += out
            self._check()
            data = self._inflate.unconsumed_tail

    def _check(self) -> None:
        if len(self._data) > self._limit:
            raise BodyTooLarge(self._limit, bytes(self._data[: self._limit + 1]), self._received)

    def finish(self) -> bytes:
        if self._inflate is not None and not self._inflate.eof and self._received:
            raise EncodingRefused("the compressed reply is truncated")
        return bytes(self._data)


def read_body(response: httpx.Response, limit: int, deadline: float | None = None) -> bytes:
    """The body of a streamed ``response``, decoded, at most ``limit`` bytes.

    Raises :class:`BodyTooLarge` (it stops reading at once), :class:`EncodingRefused` or
    :class:`DeadlineExceeded` (checked after every chunk)."""
    if response.is_stream_consumed:
        return _already_read(response, limit)
    body = _Body(response.headers.get("content-encoding"), limit)
    for chunk in response.iter_raw():
        body.feed(chunk)
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceeded("the deadline passed while the body was arriving")
    return body.finish()


async def aread_body(response: httpx.Response, limit: int) -> bytes:
    """:func:`read_body` for a response of an ``httpx.AsyncClient`` (the deadline is the caller's
    cancel scope)."""
    if response.is_stream_consumed:
        return _already_read(response, limit)
    body = _Body(response.headers.get("content-encoding"), limit)
    chunks: AsyncIterator[bytes] = response.aiter_raw()
    async for chunk in chunks:
        body.feed(chunk)
    return body.finish()


def _already_read(response: httpx.Response, limit: int) -> bytes:
    # an in-process transport (httpx.MockTransport, the simulator's) built the response from
    # bytes it already held, and httpx decoded them: only the cap is left to apply
    content = response.content
    if len(content) > limit:
        raise BodyTooLarge(limit, content[: limit + 1], len(content))
    return content


# ---------------------------------------------------------------------------------------------
# the async client's default pool


class ShardedAsyncTransport(httpx.AsyncBaseTransport):
    """``shards`` small httpcore pools of ``per_shard`` connections, used in turn: the default
    transport of :class:`~axepta.AsyncAxeptaClient`.

    httpcore's async pool rescans every connection for every queued request on each request
    event (encode/httpcore#1035), so one pool of 200 connections spends most of its CPU on its
    own bookkeeping at 200 calls in flight; 25 pools of 8 keep every scan short (figures in
    docs/load.md). Each shard is a plain ``httpx.AsyncHTTPTransport`` — certificates verified
    with one shared TLS context, HTTP/1.1, keep-alive — so respx and the rest of the httpx
    ecosystem see nothing unusual."""

    def __init__(self, *, shards: int = 25, per_shard: int = 8, verify: ssl.SSLContext | bool = True) -> None:
        if shards < 1 or per_shard < 1:
            raise ValueError("shards and per_shard must be at least 1")
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        self.pools: tuple[httpx.AsyncHTTPTransport, ...] = tuple(
            httpx.AsyncHTTPTransport(verify=context, limits=limits) for _ in range(shards)
        )
        self._next = itertools.cycle(self.pools).__next__

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._next().handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()


# ---------------------------------------------------------------------------------------------
# the async client's default transport: aiohttp under asyncio


class DefaultAsyncTransport(httpx.AsyncBaseTransport):
    """The connection pool of :class:`~axepta.AsyncAxeptaClient` when no ``http_client`` is given.

    Under asyncio the client posts through :meth:`post`: one ``aiohttp`` pool
    (``max_connections`` connections, keep-alive ``keepalive_expiry`` seconds), whose cost per
    request neither grows with the number in flight — unlike httpcore's async pool
    (encode/httpcore#1035) — nor pays for httpx's request and response models (figures in
    docs/load.md). Certificates are verified (one TLS context, httpx's CA bundle), redirects
    never followed, nothing decompressed by aiohttp (:func:`read_body`'s cap decodes), no
    cookie kept, no proxy or netrc read from the environment, and aiohttp's errors are mapped to
    httpx's by what they prove: only a failure to connect says nothing was sent.

    As an httpx transport (under trio, or while something such as respx has patched httpcore's
    pool, see :meth:`direct`) it sends through :class:`ShardedAsyncTransport`, so mocks and
    other event loops keep working."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        max_connections: int = 200,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self.ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: Any = None  # an aiohttp.ClientSession, opened in the loop of the first call
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shards: ShardedAsyncTransport | None = None
        self._timeouts: tuple[httpx.Timeout | None, Any] = (None, None)  # the last one converted

    @staticmethod
    def direct() -> bool:
        """Whether :meth:`post` may be used now: under asyncio, and while httpcore's async pool
        is not patched (respx patches it to see requests: they must go through httpx then)."""
        handler = httpcore.AsyncConnectionPool.handle_async_request
        if not getattr(handler, "__module__", "").startswith("httpcore"):
            return False
        try:
            return sniffio.current_async_library() == "asyncio"
        except sniffio.AsyncLibraryNotFoundError:  # pragma: no cover - always awaited in a loop
            return False

    def _open(self) -> Any:
        import aiohttp  # imported on first use: the CLI and sync users never pay for it

        loop = asyncio.get_running_loop()
        if self._session is not None:
            if self._loop is loop:
                return self._session
            raise RuntimeError(
                "this AsyncAxeptaClient's connections belong to another event loop; use one client per loop"
            )
        connector = aiohttp.TCPConnector(
            ssl=self.ssl_context, limit=self._max_connections, keepalive_timeout=self._keepalive_expiry
        )
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None),
        )  # fmt: skip
        self._loop = loop
        return self._session

    def _timeout(self, timeout: httpx.Timeout) -> Any:
        last, converted = self._timeouts
        if last is not timeout:
            import aiohttp

            converted = aiohttp.ClientTimeout(
                total=None, connect=timeout.pool, sock_connect=timeout.connect, sock_read=timeout.read
            )
            self._timeouts = (timeout, converted)
        return converted

    async def post(
        self, url: str, content: bytes, headers: dict[str, str], timeout: httpx.Timeout, limit: int
    ) -> tuple[int, bytes, str | None]:
        """POST ``content``; return the status, the body decoded under ``limit`` (its first
        ``limit + 1`` bytes when larger) and the ``Location`` header. Raises httpx's errors,
        and :class:`EncodingRefused`."""
        import aiohttp

        session = self._open()
        try:
            async with session.post(
                url, data=content, headers=headers, allow_redirects=False, timeout=self._timeout(timeout)
            ) as response:
                body = _Body(response.headers.get("Content-Encoding"), limit)
                try:
                    async for chunk in response.content.iter_any():
                        body.feed(chunk)
                    data = body.finish()
                except BodyTooLarge as exc:
                    data = exc.head
                return response.status, data, response.headers.get("Location")
        except aiohttp.ClientError as exc:
            raise _mapped(exc) from exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._shards is None:
            self._shards = ShardedAsyncTransport(verify=self.ssl_context)
        return await self._shards.handle_async_request(request)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._shards is not None:
            await self._shards.aclose()


def _mapped(exc: Exception) -> httpx.HTTPError:
    """aiohttp's error as the httpx error that says as much about what was sent: only a
    failure to connect (refused, DNS, TLS, connect timeout) proves nothing left."""
    import aiohttp

    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)  # reset, payload error …: may have been sent
