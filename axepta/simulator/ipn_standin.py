"""A local stand-in for PayPal's IPN simulator: it posts an IPN to a listener and answers that
listener's verification postback itself, so an IPN listener (``axepta serve``'s ``/paypal/ipn``,
``Ledger.receive_ipn``) runs end to end with no PayPal account and no network.

PayPal's own IPN simulator cannot be validated (PROTOCOL.md §9.3); this one can: it remembers the
exact bytes it posted and answers ``VERIFIED`` to ``cmd=_notify-validate&`` followed by those
bytes, unaltered, and ``INVALID`` to anything else (a forged or re-encoded message), as PayPal
does. Point the listener's postback at :attr:`IpnStandIn.verify_url` (``--ipn-verify-url``).

    with IpnStandIn() as standin:                      # verify URL on 127.0.0.1, port 0
        body = build_ipn(txn_type="web_accept", payment_status="Completed",
                         payer_email="buyer@example.com", mc_gross="25.00", mc_currency="EUR",
                         receiver_email="shop@example.com")
        delivery = standin.send("http://127.0.0.1:8000/paypal/ipn", body)
        assert delivery.ok                             # 200, and the postback was VERIFIED

The verify server binds loopback addresses only; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import string
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self
from urllib.parse import quote_plus, urlsplit

import httpx

from axepta import _http
from axepta.errors import ConfigurationError, InvalidRequestError
from axepta.fields import is_loopback_host
from axepta.ipn import MAX_IPN_BYTES

__all__ = [
    "VERIFY_PATH",
    "IpnDelivery",
    "IpnStandIn",
    "Postback",
    "build_ipn",
    "new_txn_id",
]

logger = logging.getLogger("axepta.simulator.ipn")

#: Path of the verification endpoint (PayPal's own: ``/cgi-bin/webscr``).
VERIFY_PATH = "/cgi-bin/webscr"
_PREFIX = b"cmd=_notify-validate&"
_MAX_POSTBACK = len(_PREFIX) + MAX_IPN_BYTES
_DRAIN_LIMIT = 1 << 20
_AMOUNT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
_ENUM = re.compile(r"[A-Za-z0-9_-]{1,64}")  # 003 writes web-accept for web_accept (PROTOCOL.md §9.5)
_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# PDT/PST: PayPal dates its messages in California time (PROTOCOL.md §9.1)
_PDT = timedelta(hours=-7)

VerifyAnswer = Literal["verified", "invalid", "error"]


def new_txn_id() -> str:
    """A fresh 17-character PayPal-style transaction id (upper-case letters and digits)."""
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(17))


def _check(name: str, value: str, pattern: re.Pattern[str], rule: str) -> str:
    if not pattern.fullmatch(value):
        raise InvalidRequestError(f"{name} {value[:80]!r} is not valid: {rule}", field=name, rule=rule)
    return value


def _amount(name: str, value: str | Decimal) -> str:
    text = str(value).strip()
    _check(name, text, _AMOUNT, "a decimal amount in major units with at most 2 decimals (e.g. 25.00)")
    try:
        return f"{Decimal(text):.2f}"
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise InvalidRequestError(f"{name} is not a number", field=name) from None


def build_ipn(
    *,
    txn_type: str = "web_accept",
    payment_status: str = "Completed",
    payer_email: str,
    mc_gross: str | Decimal,
    mc_currency: str = "EUR",
    receiver_email: str,
    txn_id: str | None = None,
    parent_txn_id: str | None = None,
    mc_fee: str | Decimal | None = None,
    test_ipn: bool = True,
    extra: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    now: datetime | None = None,
) -> bytes:
    """An IPN body as PayPal posts it (``application/x-www-form-urlencoded``, UTF-8, the
    variables in PayPal's usual order). Amounts are decimal strings in major units (negative for
    ``Refunded``/``Reversed``); ``txn_id`` is generated when absent; ``extra`` adds or replaces
    variables (``masspay_txn_id_1``, ``custom``, …). Every value is checked first: a bad one
    raises :class:`~axepta.errors.InvalidRequestError` naming the field and the rule."""
    gross = _amount("mc_gross", mc_gross)
    fee = _amount("mc_fee", mc_fee) if mc_fee is not None else f"{abs(Decimal(gross)) * Decimal('0.034'):.2f}"
    if Decimal(gross) < 0 and Decimal(fee) > 0:
        fee = f"{-Decimal(fee):.2f}"
    _check("mc_currency", mc_currency, _CURRENCY, "three upper-case letters (ISO 4217, e.g. EUR)")
    _check("payer_email", payer_email, _EMAIL, "an e-mail address")
    _check("receiver_email", receiver_email, _EMAIL, "an e-mail address")
    _check("txn_type", txn_type, _ENUM, "letters, digits, _ and - (e.g. web_accept)")
    _check("payment_status", payment_status, _ENUM, "letters, digits, _ and - (e.g. Completed)")
    txn = _check("txn_id", txn_id, _ID, "letters, digits and - (at most 64)") if txn_id else new_txn_id()
    if parent_txn_id is not None:
        _check("parent_txn_id", parent_txn_id, _ID, "letters, digits and - (at most 64)")
    when = (now or datetime.now(UTC)).astimezone(UTC) + _PDT
    pairs: dict[str, str] = {
        "mc_gross": gross,
        "protection_eligibility": "Eligible",
        "payer_id": "PAYER" + secrets.token_hex(4).upper(),
        "payment_date": when.strftime("%H:%M:%S %b %d, %Y PDT"),
        "payment_status": payment_status,
        "charset": "UTF-8",
        "first_name": "Test",
        "last_name": "Buyer",
        "mc_fee": fee,
        "notify_version": "3.9",
        "payer_status": "verified",
        "business": receiver_email,
        "quantity": "1",
        "verify_sign": secrets.token_hex(28),
        "payer_email": payer_email,
        "txn_id": txn,
        "payment_type": "instant",
        "receiver_email": receiver_email,
        "receiver_id": "RECV" + secrets.token_hex(4).upper(),
        "txn_type": txn_type,
        "item_name": "Account top-up",
        "mc_currency": mc_currency,
        "residence_country": "FR",
        "ipn_track_id": secrets.token_hex(7),
    }
    if parent_txn_id is not None:
        pairs["parent_txn_id"] = parent_txn_id
    if test_ipn:
        pairs["test_ipn"] = "1"
    for name, value in dict(extra).items():
        _check("extra field name", name, _NAME, "letters, digits and _")
        pairs[name] = value
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in pairs.items()).encode("ascii")


@dataclass(frozen=True, slots=True)
class Postback:
    """One verification postback the stand-in answered: ``answer`` is what it said
    (``VERIFIED``/``INVALID``, or ``HTTP 500`` when told to fail), ``known`` whether the body
    was one it had sent."""

    answer: str
    known: bool
    at: float


@dataclass(frozen=True, slots=True)
class IpnDelivery:
    """What happened to one IPN: the listener's HTTP ``status_code`` (``None`` when it could not
    be reached: ``error`` says why), the postbacks answered for this body while waiting (a
    listener in queue mode posts back after its 200), and ``elapsed`` seconds."""

    to: str
    txn_id: str | None
    status_code: int | None
    postbacks: tuple[Postback, ...] = ()
    error: str | None = None
    elapsed: float = 0.0

    @property
    def verified(self) -> bool:
        """A postback for this body was answered ``VERIFIED``."""
        return any(p.answer == "VERIFIED" for p in self.postbacks)

    @property
    def ok(self) -> bool:
        """The listener answered 200 and verified the message."""
        return self.status_code == 200 and self.verified

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "to": self.to,
            "txn_id": self.txn_id,
            "status_code": self.status_code,
            "verified": self.verified,
            "postbacks": [p.answer for p in self.postbacks],
            "error": self.error,
            "elapsed": round(self.elapsed, 3),
        }


class _VerifyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    standin: IpnStandIn


class _VerifyHandler(BaseHTTPRequestHandler):
    server: _VerifyServer
    server_version = "AxeptaIpnStandIn/1.0"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 10  # seconds a connection may stay silent (bounds every read, the drain included)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if self.path.partition("?")[0] != VERIFY_PATH:
            self._refuse(length, 404, b"not found")
            return
        if not 0 < length <= _MAX_POSTBACK:
            self._refuse(length, 413, b"request body too large or malformed")
            return
        status, answer = self.server.standin._answer(self.rfile.read(length))
        self._write(status, answer)

    def _refuse(self, length: int, status: int, body: bytes) -> None:
        """Answer and close; a refused body is read and dropped first (at most 1 MiB, within the
        handler's timeout), else closing with unread bytes resets the connection and the client
        loses the answer. It is never parsed."""
        left = min(max(length, 0), _DRAIN_LIMIT)
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                break
            left -= len(chunk)
        self.close_connection = True
        self._write(status, body)

    def _write(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:  # said, so that the client does not send its next request here
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("verify http: " + format, *args)


@dataclass
class _Sent:
    postbacks: list[Postback] = field(default_factory=list)


class IpnStandIn:
    """PayPal's side of IPN on loopback: :meth:`send` posts a message to a listener, and the
    verification endpoint at :attr:`verify_url` answers the listener's postbacks.

    ``answer`` decides what a postback of a message this stand-in sent gets: ``verified``
    (PayPal's ``VERIFIED``), ``invalid`` (``INVALID``) or ``error`` (HTTP 500: the listener must
    keep the message ``unverified`` and retry). A body it never sent is always ``INVALID``.
    ``port=0`` picks a free port; ``host`` must be a loopback address. A context manager."""

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1", answer: VerifyAnswer = "verified") -> None:
        if not is_loopback_host(host):
            raise ConfigurationError("the IPN stand-in binds loopback addresses only")
        if answer not in ("verified", "invalid", "error"):
            raise ConfigurationError(f"answer must be verified, invalid or error, not {answer!r}")
        self.answer: VerifyAnswer = answer
        self._sent: dict[bytes, _Sent] = {}
        self._lock = threading.Condition()
        self._httpd = _VerifyServer((host, port), _VerifyHandler)
        self._httpd.standin = self
        self.port: int = self._httpd.server_address[1]
        self.verify_url = f"http://{host}:{self.port}{VERIFY_PATH}"
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"IpnStandIn(verify_url={self.verify_url!r}, answer={self.answer!r})"

    def start(self) -> Self:
        """Serve the verification endpoint in a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                name=f"axepta-ipn-standin-{self.port}", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _answer(self, body: bytes) -> tuple[int, bytes]:
        message = body[len(_PREFIX):] if body.startswith(_PREFIX) else None
        with self._lock:
            sent = self._sent.get(message) if message is not None else None
            if sent is None:
                status, text = 200, "INVALID"
            elif self.answer == "error":
                status, text = 500, "HTTP 500"
            else:
                status, text = 200, self.answer.upper()
            if sent is not None:
                sent.postbacks.append(Postback(text, True, time.monotonic()))
            self._lock.notify_all()
        return status, (b"Internal Server Error" if status == 500 else text.encode("ascii"))

    def postbacks(self, body: bytes) -> tuple[Postback, ...]:
        """The postbacks answered so far for ``body`` (a message sent by :meth:`send`)."""
        with self._lock:
            sent = self._sent.get(bytes(body))
            return tuple(sent.postbacks) if sent else ()

    def remember(self, body: bytes) -> None:
        """Accept ``body`` as genuine without posting it (a message delivered another way)."""
        with self._lock:
            self._sent.setdefault(bytes(body), _Sent())

    def send(
        self,
        to: str,
        body: bytes,
        *,
        wait: float = 10.0,
        timeout: float = 30.0,
        http_client: httpx.Client | None = None,
    ) -> IpnDelivery:
        """Post ``body`` to the listener at ``to`` (``http`` only to a loopback host, else
        ``https``), then wait up to ``wait`` seconds for its verification postback (a listener in
        sync mode has posted back before it answered; one in queue mode posts back afterwards).
        ``timeout`` bounds the POST itself (PayPal allows 30 s). Never raises for the listener's
        behaviour: see :class:`IpnDelivery`."""
        _check_target(to)
        body = bytes(body)
        if len(body) > MAX_IPN_BYTES:
            raise InvalidRequestError(f"the IPN body is larger than {MAX_IPN_BYTES} bytes", field="body")
        self.start()
        self.remember(body)
        txn_id = _txn_id_of(body)
        start = time.monotonic()
        client = http_client if http_client is not None else httpx.Client(
            follow_redirects=False, transport=_http.sync_transport()
        )
        status: int | None = None
        error: str | None = None
        try:
            # one deadline over the whole post; the answer matters by its status only: asked
            # uncompressed, at most 64 KiB of it read (axepta._http)
            with _http.deadline_scope(start + timeout), client.stream(
                "POST", to, content=body, timeout=timeout,
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
                         "User-Agent": "PayPal IPN ( https://www.paypal.com/ipn )", **_http.ACCEPT_IDENTITY},
            ) as response:  # fmt: skip
                with contextlib.suppress(_http.BodyTooLarge):
                    _http.read_body(response, 64 * 1024, start + timeout)
                status = response.status_code
        except (httpx.HTTPError, _http.DeadlineExceeded, _http.EncodingRefused) as exc:
            error = f"the listener could not be reached ({type(exc).__name__})"
        finally:
            if http_client is None:
                client.close()
        if status == 200:
            deadline = time.monotonic() + max(0.0, wait)
            with self._lock:
                self._lock.wait_for(lambda: bool(self._sent[body].postbacks), timeout=max(0.0, deadline - time.monotonic()))
        return IpnDelivery(to, txn_id, status, self.postbacks(body), error, time.monotonic() - start)


def _check_target(to: str) -> None:
    try:
        parts = urlsplit(to)
    except ValueError:
        raise InvalidRequestError(f"--to {to!r} is not a URL", field="to") from None
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return
    raise InvalidRequestError(
        f"--to {to!r} must be https, or http to a loopback host (127.0.0.1, ::1, localhost)",
        field="to", rule="https, or http to loopback",
    )


def _txn_id_of(body: bytes) -> str | None:
    for segment in body.split(b"&"):
        key, _, value = segment.partition(b"=")
        if key == b"txn_id":
            return value.decode("ascii", "replace") or None
    return None
