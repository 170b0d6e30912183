"""The receiving endpoints: the platform's ``URLNotify`` and PayPal's IPN, answered from the books
(LEDGER.md "Receiving").

Each request body is capped before it is read in full (the URLs are public and decryption comes
before authentication); the books' work runs in a worker thread (the ledger's units of work are
synchronous) and its result is committed before the answer leaves. IPN is stored and answered 200
at once (PROTOCOL.md §9.2 queue mode); its postback and the change it causes run right after the
answer and, for anything left over, in the background loop.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import anyio
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from axepta.credentials import Credentials
from axepta.ipn import MAX_IPN_BYTES
from axepta.notify import MAX_NOTIFICATION_BYTES

if TYPE_CHECKING:
    from axepta.ledger import Ledger
    from axepta.ledger.receipts import Receipt

__all__ = ["Receiver", "TooLarge", "read_capped"]

logger = logging.getLogger("axepta.server")
logger.addHandler(logging.NullHandler())


class TooLarge(Exception):
    """The request body is over its cap."""


async def read_capped(request: Request, cap: int) -> bytes:
    """The body, refused (:class:`TooLarge`) as soon as it exceeds ``cap`` bytes: a declared
    ``Content-Length`` over the cap is refused before anything is read."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > cap:
                raise TooLarge
        except ValueError:
            raise TooLarge from None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            raise TooLarge
    return bytes(body)


def _answer(status: int, outcome: str, background: BackgroundTask | None = None) -> Response:
    return PlainTextResponse(outcome + "\n", status_code=status, background=background)


@dataclass
class Receiver:
    """The endpoints bound to one ledger, one merchant's credentials and the shop's PayPal
    addresses. ``verify_url`` points postbacks elsewhere (the IPN stand-in, the sandbox)."""

    ledger: Ledger
    credentials: Credentials
    paypal_receivers: Sequence[str] = ()
    verify_url: str | None = None
    environment: Literal["test", "production"] | None = None
    #: Units of work of the books at the same time in this process (each holds a connection).
    concurrency: int = 8
    received: dict[str, int] = field(default_factory=lambda: {"notify": 0, "ipn": 0})
    _limiter: anyio.CapacityLimiter | None = field(default=None, repr=False)

    def _books(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # created inside the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.concurrency)
        return self._limiter

    async def notify(self, request: Request) -> Response:
        """``POST``/``GET /axepta/notify``: 200 applied/duplicate/stale/conflict, 404 unmatched
        (the platform retries), 400 rejected, 500 when the books could not be written."""
        self.received["notify"] += 1
        if request.method == "GET":
            query = request.scope.get("query_string", b"")
            if len(query) > MAX_NOTIFICATION_BYTES:
                return _answer(413, "too large")
            payload: bytes | str = query.decode("latin-1")
        else:
            try:
                payload = await read_capped(request, MAX_NOTIFICATION_BYTES)
            except TooLarge:
                return _answer(413, "too large")
        receipt = await anyio.to_thread.run_sync(
            self.ledger.receive_notification, payload, self.credentials, limiter=self._books()
        )
        logger.info("notify %s -> %s %s", request.method, receipt.status_code, receipt.outcome)
        return _answer(receipt.status_code, receipt.outcome)

    async def ipn(self, request: Request) -> Response:
        """``POST /paypal/ipn``: stored and answered 200 at once; verified by postback and
        applied right after the answer (500 when it could not be stored: PayPal resends)."""
        self.received["ipn"] += 1
        try:
            raw = await read_capped(request, MAX_IPN_BYTES)
        except TooLarge:
            return _answer(413, "too large")
        receipt = await anyio.to_thread.run_sync(
            self._store_ipn, raw, request.headers.get("content-type"), limiter=self._books()
        )
        logger.info("ipn -> %s %s", receipt.status_code, receipt.outcome)
        task = None
        if receipt.outcome == "stored":
            task = BackgroundTask(self._verify_after_answer)
        return _answer(receipt.status_code, receipt.outcome, task)

    def _store_ipn(self, raw: bytes, content_type: str | None) -> Receipt:
        return self.ledger.receive_ipn(
            raw, receivers=self.paypal_receivers, content_type=content_type, verify=False,
            environment=self.environment,
        )

    async def _verify_after_answer(self) -> None:
        await anyio.to_thread.run_sync(self.verify_pending, limiter=self._books())

    def verify_pending(self) -> int:
        """Verify and apply stored IPN that are due (blocking; runs in a worker thread)."""
        if not self.paypal_receivers:
            return 0
        return len(self.ledger.verify_ipn_messages(receivers=self.paypal_receivers, verify_url=self.verify_url))

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: 200 when the books answer at the schema this code expects, else 503."""
        try:
            await anyio.to_thread.run_sync(functools.partial(self.ledger.messages, limit=1))
        except Exception as exc:
            logger.warning("healthz: the books do not answer (%s)", type(exc).__name__)
            return _answer(503, "the books do not answer")
        return _answer(200, "ok")
