"""Asking PayPal whether a message is genuine: the postback (PROTOCOL.md §9.2, §9.3)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import anyio
import httpx

from axepta import __version__, _http
from axepta.errors import ConfigurationError
from axepta.fields import is_loopback_host

logger = logging.getLogger("axepta.ipn")

IPN_LIVE_URL = "https://ipnpb.paypal.com/cgi-bin/webscr"
IPN_SANDBOX_URL = "https://ipnpb.sandbox.paypal.com/cgi-bin/webscr"
#: PayPal answers 403 to a postback without a User-Agent (§9.2).
USER_AGENT = f"axepta-python/{__version__} (PayPal IPN listener; +https://pypi.org/project/axepta/)"
#: Seconds allowed to connect, and for the whole postback (keeps a synchronous listener inside
#: PayPal's 30 s).
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 20.0
#: PayPal answers one word; a longer answer is none.
_MAX_ANSWER_BYTES = 4096
_POSTBACK_PREFIX = b"cmd=_notify-validate&"

Outcome = Literal["verified", "invalid", "unverified"]


@dataclass(frozen=True, slots=True)
class IpnVerification:
    """What PayPal said about a message: ``outcome`` ``verified`` (body ``VERIFIED``),
    ``invalid`` (body ``INVALID``: store, flag, never process) or ``unverified`` (PayPal could
    not be asked or answered anything else: never process, never drop; answer 5xx in sync mode
    or re-verify the stored bytes later). ``detail`` says why; ``status_code`` is PayPal's HTTP
    status when there was one; ``elapsed`` is in seconds."""

    outcome: Outcome
    url: str
    status_code: int | None = None
    detail: str = ""
    elapsed: float = 0.0

    @property
    def verified(self) -> bool:
        return self.outcome == "verified"

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "url": self.url,
            "status_code": self.status_code,
            "detail": self.detail,
            "elapsed": round(self.elapsed, 3),
        }


def _message_is_test(raw: bytes) -> bool:
    for segment in raw.split(b"&"):
        key, _, value = segment.partition(b"=")
        if key.strip().lower() == b"test_ipn":
            return value.strip() == b"1"
    return False


def verification_url(raw: bytes, *, sandbox: bool | None = None, verify_url: str | None = None) -> str:
    """Where to post a message back: ``verify_url`` when given (https, or http to a loopback
    host for tests; else :class:`~axepta.errors.ConfigurationError`), else the sandbox endpoint
    when ``sandbox`` is true — or, when ``sandbox`` is ``None``, when the message says
    ``test_ipn=1`` — else the live endpoint (§9.3). Compare ``test_ipn`` with your environment
    before verifying (:func:`check_ipn`): the sender chooses it."""
    if verify_url is not None:
        try:
            parts = urlsplit(verify_url)
        except ValueError:
            raise ConfigurationError(f"verify URL {verify_url!r} is not a valid URL") from None
        if parts.scheme == "https" and parts.hostname:
            return verify_url
        if parts.scheme == "http" and is_loopback_host(parts.hostname):
            return verify_url
        raise ConfigurationError(f"verify URL {verify_url!r} must use https (http only for loopback hosts)")
    if sandbox is None:
        sandbox = _message_is_test(bytes(raw))
    return IPN_SANDBOX_URL if sandbox else IPN_LIVE_URL


def postback_body(raw: bytes) -> bytes:
    """``cmd=_notify-validate&`` followed by the unaltered original bytes (§9.2)."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(f"the postback needs the raw body bytes, not {type(raw).__name__}")
    return _POSTBACK_PREFIX + bytes(raw)


_HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "User-Agent": USER_AGENT,
    "Accept": "text/plain",
    "Connection": "close",
    **_http.ACCEPT_IDENTITY,
}


def _timeouts(timeout: float, connect_timeout: float) -> httpx.Timeout:
    return httpx.Timeout(timeout, connect=min(connect_timeout, timeout))


def _interpret(url: str, status: int, body: bytes, elapsed: float) -> IpnVerification:
    answer = body.strip() if len(body) <= _MAX_ANSWER_BYTES else b""  # an oversized answer is none
    if status != 200:
        return IpnVerification("unverified", url, status, f"PayPal answered HTTP {status}", elapsed)
    if answer == b"VERIFIED":
        return IpnVerification("verified", url, status, "VERIFIED", elapsed)
    if answer == b"INVALID":
        return IpnVerification("invalid", url, status, "INVALID", elapsed)
    return IpnVerification("unverified", url, status, "unexpected answer (neither VERIFIED nor INVALID)", elapsed)


def _failure(url: str, exc: Exception, elapsed: float) -> IpnVerification:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        detail = "timeout"
    else:
        detail = f"network error ({type(exc).__name__})"
    logger.warning("IPN postback to %s unverified: %s", url, detail)
    return IpnVerification("unverified", url, None, detail, elapsed)


def _deadline_passed(url: str, status: int, elapsed: float) -> IpnVerification:
    logger.warning("IPN postback to %s unverified: the answer took too long", url)
    return IpnVerification("unverified", url, status, "timeout", elapsed)


def verify_ipn(
    raw: bytes,
    *,
    sandbox: bool | None = None,
    verify_url: str | None = None,
    http_client: httpx.Client | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> IpnVerification:
    """Ask PayPal whether ``raw`` (the body exactly as received) is genuine (§9.2, §9.3).

    Posts ``cmd=_notify-validate&`` + ``raw`` to :func:`verification_url` with a descriptive
    User-Agent, redirects not followed, ``connect_timeout`` to connect and ``timeout`` for the
    whole exchange (a wall-clock deadline; with an injected ``http_client``, checked between
    reads and by that client's own timeouts). The answer is asked uncompressed and never
    decoded beyond 4 KiB. Never
    raises for a network problem: a timeout, a connection error, a non-200 status or any answer
    other than ``VERIFIED``/``INVALID`` is ``unverified``. ``http_client`` (an
    :class:`httpx.Client`) is used as given and not closed.
    """
    url = verification_url(raw, sandbox=sandbox, verify_url=verify_url)
    body = postback_body(raw)
    start = time.monotonic()
    client = http_client if http_client is not None else httpx.Client(
        follow_redirects=False, transport=_http.sync_transport()
    )
    try:
        with _http.deadline_scope(start + timeout), client.stream(
            "POST", url, content=body, headers=_HEADERS, timeout=_timeouts(timeout, connect_timeout),
            follow_redirects=False,
        ) as response:
            try:
                received = _http.read_body(response, _MAX_ANSWER_BYTES, start + timeout)
            except _http.BodyTooLarge as exc:
                received = exc.head  # oversized: no answer
            except _http.DeadlineExceeded:
                return _deadline_passed(url, response.status_code, time.monotonic() - start)
            return _interpret(url, response.status_code, received, time.monotonic() - start)
    except (httpx.HTTPError, httpx.InvalidURL, _http.EncodingRefused) as exc:
        return _failure(url, exc, time.monotonic() - start)
    finally:
        if http_client is None:
            client.close()


async def averify_ipn(
    raw: bytes,
    *,
    sandbox: bool | None = None,
    verify_url: str | None = None,
    http_client: httpx.AsyncClient | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
) -> IpnVerification:
    """:func:`verify_ipn` for asyncio/trio listeners, with ``timeout`` enforced for the whole
    exchange (``http_client`` an :class:`httpx.AsyncClient`, used as given and not closed)."""
    url = verification_url(raw, sandbox=sandbox, verify_url=verify_url)
    body = postback_body(raw)
    start = time.monotonic()
    client = http_client if http_client is not None else httpx.AsyncClient(follow_redirects=False)
    try:
        with anyio.fail_after(timeout):
            async with client.stream(
                "POST", url, content=body, headers=_HEADERS, timeout=_timeouts(timeout, connect_timeout),
                follow_redirects=False,
            ) as response:
                try:
                    received = await _http.aread_body(response, _MAX_ANSWER_BYTES)
                except _http.BodyTooLarge as exc:
                    received = exc.head  # oversized: no answer
                return _interpret(url, response.status_code, received, time.monotonic() - start)
    except (httpx.HTTPError, httpx.InvalidURL, TimeoutError, _http.EncodingRefused) as exc:
        return _failure(url, exc, time.monotonic() - start)
    finally:
        if http_client is None:
            await client.aclose()

