"""The simulated platform: every PayPal endpoint of PROTOCOL.md as a state machine per payment.

Wire-faithful on purpose, so that it can judge a client independently (it imports the crypto
core, the code dictionary and the field rules, never the client): requests are decrypted with
the merchant's Blowfish key and authenticated by their MAC (missing ``20100044``, wrong
``20120044``), parameters are checked against 004's formats, replies are ``Len=…&Data=…`` in
uppercase hex of a plaintext padded with **spaces** (as the bank does), keys in the bank's mixed
case (``mid``, ``PayID``, ``XID``…), a MAC only where the platform sends one (browser results
and notifications always; S2S replies not unless ``s2s_reply_mac``), and the plain
``paypalorders`` reply. A repeated ``ReqId`` returns the first answer byte for byte and acts no
second time.

Life cycle of a payment (``PaymentView.state``)::

    created ── approve ──> closed             Capture=Auto: captured in full (TID = capture id)
                       ├─> authorized         Capture=Manual, TxType=Auth (TID = authorisation id)
                       ├─> order_approved     Capture=Manual, TxType=Order: AUTHORIZE_REQUEST
                       ├─> pending_completion PayPalMethod=shortcut: AUTHORIZE_REQUEST
                       ├─> agreement          TxType=BAID: BillingAgreementID in the result
                       └─> cancelled          buyer cancelled (21500053)
    order_approved ── Authorize ──> authorized
    pending_completion ── paypalComplete ──> closed (Auto) | authorized (Manual)
    order_approved | pending_completion ── ~3 h ──> expired (Status=Timeout)
    authorized ── capture ──> captured ── … ──> closed (100 % reached or CompleteType=YES)
    authorized | order_approved | pending_completion ── reverse ──> reversed
    captured | closed ── credit (per TID) ──> same state, refunded total grows
"""

from __future__ import annotations

import base64
import binascii
import functools
import heapq
import itertools
import logging
import random
import re
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import parse_qsl, urlencode

import httpx

from axepta.credentials import Credentials
from axepta.crypto import Encrypted, Params, encode_params, parse_params, sign, verify
from axepta.errors import AxeptaError
from axepta.simulator import _codes as codes
from axepta.simulator._validate import OPERATION_SPECS, validate
from axepta.simulator.faults import Faults, endpoint_name
from axepta.simulator.notifier import (
    NOTIFY_RETRY_GAPS_MINUTES,
    Delivery,
    Notifier,
    Scheduler,
    Timer,
)

if TYPE_CHECKING:
    from axepta.simulator.transport import SimulatorTransport

__all__ = [
    "DEFAULT_PAYPAL_BASE_URL",
    "ApprovalRedirect",
    "CaptureView",
    "PaymentState",
    "PaymentView",
    "SimResponse",
    "Simulator",
]

logger = logging.getLogger("axepta.simulator")

#: Where approval URLs (``paypalurl``, redirect mode) point when the simulator runs in-process.
DEFAULT_PAYPAL_BASE_URL: Final = "https://www.sandbox.paypal.com/"

PaymentState = Literal[
    "created",
    "pending_completion",
    "order_approved",
    "authorized",
    "captured",
    "closed",
    "reversed",
    "cancelled",
    "failed",
    "expired",
    "agreement",
    "paid_out",
]

_FINISHED: Final = frozenset({"closed", "reversed", "cancelled", "failed", "expired", "paid_out"})
_PENDING: Final = frozenset({"pending_completion", "order_approved"})

#: endpoint (last path segment, lower case, without .aspx) → operation
_OPERATIONS: Final[Mapping[str, str]] = {
    "paypalorders": "paypal_orders",
    "paypalcomplete": "paypal_complete",
    "authorize": "authorize",
    "capture": "capture",
    "credit": "credit",
    "creditex": "credit_ex",
    "reverse": "reverse",
    "paypalreftrans": "paypal_reftrans",
}
_NO_PAY_ID: Final = frozenset({"paypal_orders", "credit_ex", "paypal_reftrans"})
_REQ_ID_OPS: Final = frozenset({"paypal_orders", "capture", "credit", "credit_ex", "reverse"})
_ALL_OPS: Final = frozenset(_OPERATIONS.values())
_ID_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPRSTUVWXY"
#: random byte → a character of the PayPal-style alphabet (256 = 8 × 32: uniform); an id is one
#: draw of random bytes translated in C
_BYTE_TO_ID: Final = bytes(ord(_ID_ALPHABET[b % 32]) for b in range(256))
_TEXT: Final = {"Content-Type": "text/plain; charset=iso-8859-1"}
_HTML: Final = {"Content-Type": "text/html; charset=iso-8859-1"}
_MAX_BODY: Final = 1 << 20
#: status inquiry endpoints (§4.15.8): read-only, outside ``_OPERATIONS`` (no MAC required)
_INQUIRIES: Final = frozenset({"inquire", "inquire24"})
_PAY_ID_RE: Final = re.compile(r"[A-Za-z0-9]{32}")
_NOT_FOUND_TEXT: Final = "PAYMENT NOT FOUND"
#: states in which the platform's books hold no authorised or captured amount (§4.15.8 item 7)
_NOTHING_HELD: Final = frozenset(
    {"created", "pending_completion", "order_approved", "failed", "expired", "reversed", "cancelled", "agreement"}
)


@dataclass(frozen=True, slots=True)
class SimResponse:
    """An HTTP answer of the simulator (status, headers, body)."""

    status_code: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class ApprovalRedirect:
    """Where the platform sends the buyer's browser after PayPal: ``location`` is
    ``URLSuccess`` or ``URLFailure`` with the result in its query (``Len``/``Data``, or the
    clear fields when the order did not ask for ``Response=encrypt``). ``payload`` is that
    query, ready for :func:`axepta.decode_notification`."""

    location: str = field(repr=False)
    success: bool
    pay_id: str
    status: str
    code: str
    query: Mapping[str, str] = field(repr=False)

    @property
    def payload(self) -> str:
        return urlencode(dict(self.query), encoding="iso-8859-1")


@dataclass(frozen=True, slots=True)
class CaptureView:
    tid: str
    amount: int
    refunded: int


@dataclass(frozen=True, slots=True)
class PaymentView:
    """A snapshot of one simulated payment (amounts in minor units)."""

    merchant_id: str
    pay_id: str
    trans_id: str
    kind: Literal["order", "reftrans", "creditex"]
    state: PaymentState
    amount: int
    currency: str
    capture: str | None
    tx_type: str | None
    shortcut: bool
    order_id: str | None
    authorized: int
    auth_tid: str | None
    captures: tuple[CaptureView, ...]
    billing_agreement_id: str | None
    last_status: str = "OK"

    @property
    def captured(self) -> int:
        return sum(c.amount for c in self.captures)

    @property
    def refunded(self) -> int:
        return sum(c.refunded for c in self.captures)


@dataclass(slots=True)
class _Merchant:
    credentials: Credentials
    inquiry_available: bool = True  # False: every status inquiry is answered FAILED (D-INQ-7)

    @property
    def mid(self) -> str:
        return self.credentials.merchant_id


@dataclass(slots=True)
class _Capture:
    tid: str
    amount: int
    refunded: int = 0


class _BrowserResult:
    """Where the buyer was sent, kept as the query only — the very bytes posted to URLNotify,
    shared with the notification — instead of an :class:`ApprovalRedirect`, whose ``location``
    and ``query`` repeat it; rebuilt on demand."""

    __slots__ = ("base", "code", "form", "status", "success")

    def __init__(self, base: str, form: bytes, success: bool, status: str, code: str) -> None:
        self.base, self.form, self.success, self.status, self.code = base, form, success, status, code

    def redirect(self, pay_id: str) -> ApprovalRedirect:
        form = self.form.decode("ascii")
        query = dict(parse_qsl(form, keep_blank_values=True, encoding="iso-8859-1"))
        return ApprovalRedirect(
            location=f"{self.base}?{form}", success=self.success, pay_id=pay_id,
            status=self.status, code=self.code, query=query,
        )


class _Finished:
    """The finished payments, oldest stored first (a heap of ``(seq, pay_id)``): eviction takes
    the oldest without scanning the store. A payment enters once (finished states are final);
    entries of payments already forgotten are skipped when popped."""

    __slots__ = ("heap",)

    def __init__(self) -> None:
        self.heap: list[tuple[int, str]] = []

    def add(self, p: _Payment) -> None:
        heapq.heappush(self.heap, (p.seq, p.pay_id))


@dataclass(slots=True)
class _Payment:
    merchant_id: str
    pay_id: str
    trans_id: str
    kind: Literal["order", "reftrans", "creditex"]
    amount: int
    currency: str
    _state: PaymentState = "created"
    capture: str | None = None
    tx_type: str | None = None
    shortcut: bool = False
    ref_nr: str | None = None
    user_data: str | None = None
    url_success: str = ""
    url_failure: str = ""
    url_notify: str = ""
    encrypt: bool = True
    order_id: str | None = None
    token: str | None = None
    authorized: int = 0
    auth_tid: str | None = None
    captures: list[_Capture] = field(default_factory=list)
    billing_agreement_id: str | None = None
    address: dict[str, str] = field(default_factory=dict)
    #: the first answer to the buyer (a second click gets it again), kept compact
    browser: _BrowserResult | None = None
    generation: int = 0
    #: Σ captures, kept as a running total (:meth:`add_capture`)
    captured: int = 0
    #: position in the store, and the books that learn when the payment is finished
    seq: int = 0
    books: _Finished | None = field(default=None, repr=False)

    @property
    def state(self) -> PaymentState:
        return self._state

    @state.setter
    def state(self, value: PaymentState) -> None:
        self._state = value
        if value in _FINISHED and self.books is not None:
            self.books.add(self)

    def add_capture(self, tid: str, amount: int) -> _Capture:
        capture = _Capture(tid, amount)
        self.captures.append(capture)
        self.captured += amount
        return capture
    # the last transaction step, refused follow-ups included (status inquiry's LastStatus, XID)
    last_status: str = "OK"
    last_xid: str = ""

    def view(self) -> PaymentView:
        return PaymentView(
            merchant_id=self.merchant_id,
            pay_id=self.pay_id,
            trans_id=self.trans_id,
            kind=self.kind,
            state=self.state,
            amount=self.amount,
            currency=self.currency,
            capture=self.capture,
            tx_type=self.tx_type,
            shortcut=self.shortcut,
            order_id=self.order_id,
            authorized=self.authorized,
            auth_tid=self.auth_tid,
            captures=tuple(CaptureView(c.tid, c.amount, c.refunded) for c in self.captures),
            billing_agreement_id=self.billing_agreement_id,
            last_status=self.last_status,
        )


@dataclass(slots=True)
class _Agreement:
    merchant_id: str
    id: str
    pay_id: str
    revoked: bool = False


class _Refusal(Exception):
    """Internal: the operation is refused with ``code`` (``detail`` goes into Description)."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def _response(status: int, text: str, headers: Mapping[str, str] = _TEXT) -> SimResponse:
    return SimResponse(status, dict(headers), text.encode("iso-8859-1", errors="replace"))


def _html_page(status: int, title: str, message: str) -> SimResponse:
    safe = message.replace("&", "&amp;").replace("<", "&lt;")
    return _response(
        status, f"<!DOCTYPE html><html><head><title>{title}</title></head><body><p>{safe}</p></body></html>", _HTML
    )


def _form(query: bytes | str, body: bytes) -> Params:
    """Clear fields of a request: the query, then the form body (which wins)."""
    pairs: dict[str, str] = {}
    q = query.decode("iso-8859-1") if isinstance(query, bytes) else query
    for key, value in parse_qsl(q, keep_blank_values=True, encoding="iso-8859-1"):
        pairs.setdefault(key, value)
    clear = Params(pairs)
    if body:
        text = body.decode("iso-8859-1")
        body_pairs: dict[str, str] = {}
        for key, value in parse_qsl(text, keep_blank_values=True, encoding="iso-8859-1"):
            body_pairs.setdefault(key, value)
        clear = clear.merged(body_pairs)
    return clear


def _caseless(value: str | None, choices: Iterable[str]) -> str | None:
    """The canonical spelling of an enum value (validated before: it is one of ``choices``)."""
    if not value:
        return None
    return next((c for c in choices if c.lower() == value.lower()), value)


class Simulator:
    """The local Axepta gateway: one instance serves one or more merchants.

    ``merchants``: the :class:`~axepta.Credentials` it accepts (more with :meth:`add_merchant`).
    ``time_factor`` compresses time: notification gaps (1, 8, … 512 minutes) and the ~3 h timeout
    of open ``AUTHORIZE_REQUEST`` payments are multiplied by it (``1e-5`` runs the whole retry
    schedule in under a second). ``notify_transport`` / ``notify_client``: how URLNotify is
    reached (default: real HTTP; plain http only for loopback URLs). ``max_payments`` bounds
    memory: past it the oldest finished payment is forgotten (the oldest of all if none is
    finished); ``max_req_ids`` bounds the ReqId memory the same way. ``seed`` makes the ids
    reproducible. ``paypal_base_url`` is where ``paypalurl``/redirects send the buyer (the HTTP
    server points it at itself). ``mac_required`` lists the operations whose requests must
    carry a MAC (all by default); ``s2s_reply_mac`` adds a MAC to S2S replies.
    ``require_inner_merchant_id`` refuses a ``Data`` without ``MerchantID`` (``20100003``, as
    004 reads); by default the clear ``MerchantID`` suffices, as on the live platform, and only
    an inner ``MerchantID`` that differs is refused (``20120003``).
    Status inquiries (``inquire.aspx``, ``inquire24.aspx``, §4.15.8) never require a MAC:
    ``inquiry_mac_strict`` refuses an invalid one with ``20120044``; the ``inquiry_mac:absent``,
    ``inquiry_mac:valid`` and ``inquiry_mac:invalid`` counters of :meth:`stats` say what came.

    Use it in-process with :meth:`transport` (an ``httpx`` sync and async transport) or over
    loopback HTTP with :class:`~axepta.simulator.SimulatorServer`. Thread-safe; close it (or use
    it as a context manager) to stop the notification worker.
    """

    def __init__(
        self,
        merchants: Credentials | Iterable[Credentials] = (),
        *,
        time_factor: float = 1.0,
        notify_transport: httpx.BaseTransport | None = None,
        notify_client: httpx.Client | None = None,
        notify_timeout: float = 10.0,
        notify_gaps_minutes: Iterable[float] = NOTIFY_RETRY_GAPS_MINUTES,
        notify_workers: int = 4,
        pending_timeout_minutes: float = 180.0,
        max_payments: int = 10_000,
        max_req_ids: int = 100_000,
        max_deliveries: int = 10_000,
        seed: int | None = None,
        paypal_base_url: str = DEFAULT_PAYPAL_BASE_URL,
        mac_required: Iterable[str] = _ALL_OPS,
        s2s_reply_mac: bool = False,
        require_inner_merchant_id: bool = False,
        inquiry_mac_strict: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_factor <= 0:
            raise ValueError("time_factor must be > 0")
        if max_payments < 1 or max_req_ids < 1:
            raise ValueError("max_payments and max_req_ids must be >= 1")
        unknown = set(mac_required) - _ALL_OPS
        if unknown:
            raise ValueError(f"mac_required: unknown operations {sorted(unknown)}")
        self.time_factor = float(time_factor)
        self.pending_timeout_minutes = float(pending_timeout_minutes)
        self.max_payments = max_payments
        self.max_req_ids = max_req_ids
        self.paypal_base_url = paypal_base_url if paypal_base_url.endswith("/") else paypal_base_url + "/"
        self.mac_required = frozenset(mac_required)
        self.s2s_reply_mac = s2s_reply_mac
        self.require_inner_merchant_id = require_inner_merchant_id
        self.inquiry_mac_strict = inquiry_mac_strict
        self._lock = threading.RLock()
        self._rng: random.Random = random.Random(seed) if seed is not None else random.SystemRandom()
        self._merchants: dict[str, _Merchant] = {}
        self._payments: OrderedDict[str, _Payment] = OrderedDict()
        self._finished = _Finished()
        self._seq = itertools.count()
        #: the ~3 h timers of open AUTHORIZE_REQUESTs, cancelled when their payment is forgotten
        self._expiry: dict[str, Timer] = {}
        self._by_token: dict[str, str] = {}
        self._agreements: OrderedDict[str, _Agreement] = OrderedDict()
        self._req_ids: OrderedDict[tuple[str, str], tuple[SimResponse, tuple[str, ...]]] = OrderedDict()
        self._stats: Counter[str] = Counter()
        self._scheduler = Scheduler(workers=notify_workers, clock=clock)
        self.notifier = Notifier(
            self._scheduler,
            http_client=notify_client,
            transport=notify_transport,
            timeout=notify_timeout,
            time_factor=self.time_factor,
            gaps_minutes=tuple(notify_gaps_minutes),
            clock=clock,
            max_deliveries=max_deliveries,
        )
        self.faults = Faults(self.notifier)
        self._closed = False
        for creds in [merchants] if isinstance(merchants, Credentials) else merchants:
            self.add_merchant(creds)

    def __repr__(self) -> str:
        return f"Simulator(merchants={sorted(self._merchants)!r}, payments={len(self._payments)})"

    # -- set-up and tear-down ---------------------------------------------------------------

    def add_merchant(self, credentials: Credentials, *, inquiry_available: bool = True) -> None:
        """Accept requests of another merchant (its keys stay inside the simulator).
        ``inquiry_available=False`` answers its status inquiries ``FAILED``, as a test MID
        that does not serve them (:meth:`set_inquiry_available`)."""
        if not isinstance(credentials, Credentials):
            raise TypeError("add_merchant needs axepta.Credentials")
        with self._lock:
            self._merchants[credentials.merchant_id] = _Merchant(credentials, inquiry_available)

    def set_inquiry_available(self, merchant_id: str, available: bool) -> None:
        """The per-merchant switch of §4.15.8 item 10: when off, every status inquiry of
        ``merchant_id`` is answered ``Status=FAILED`` (``20500081``, action not supported), as
        a test MID may do (D-INQ-7). ``KeyError`` for an unknown merchant."""
        with self._lock:
            self._merchants[merchant_id].inquiry_available = bool(available)

    @property
    def merchant_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._merchants)

    def transport(self) -> SimulatorTransport:
        """An ``httpx`` transport (sync and async) that answers from this simulator."""
        from axepta.simulator.transport import SimulatorTransport

        return SimulatorTransport(self)

    def close(self) -> None:
        """Stop the notification worker; pending notifications are dropped as ``failed``."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._scheduler.close()
        self.notifier.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- observing --------------------------------------------------------------------------

    def payment(self, pay_id: str) -> PaymentView:
        """The state of payment ``pay_id``; ``KeyError`` when unknown (or forgotten)."""
        with self._lock:
            return self._payments[pay_id].view()

    def payments(self) -> list[PaymentView]:
        with self._lock:
            return [p.view() for p in self._payments.values()]

    @property
    def deliveries(self) -> list[Delivery]:
        """Every URLNotify delivery (with its attempts), oldest first."""
        return self.notifier.deliveries

    def wait_for_notifications(self, timeout: float = 5.0) -> bool:
        """Wait until every notification was delivered or given up; ``False`` on timeout."""
        return self.notifier.wait_idle(timeout)

    def stats(self) -> dict[str, int]:
        """Counters: ``requests``, ``requests:<endpoint>``, ``code:<code>``, ``faults:<kind>``,
        ``replays``, ``evicted``, ``notifications:abandoned`` (pending notifications given up
        when the delivery log was full)."""
        with self._lock:
            stats = dict(self._stats)
        abandoned = self.notifier.abandoned
        if abandoned:
            stats["notifications:abandoned"] = abandoned
        return stats

    def record_fault(self, kind: str) -> None:
        """Count one injected fault (``faults:<kind>`` in :meth:`stats`)."""
        with self._lock:
            self._stats[f"faults:{kind}"] += 1

    def billing_agreement_active(self, billing_agreement_id: str) -> bool:
        with self._lock:
            ba = self._agreements.get(billing_agreement_id)
            return ba is not None and not ba.revoked

    # -- the buyer, without a browser -------------------------------------------------------

    def approve(self, pay_id: str) -> ApprovalRedirect:
        """The buyer approves payment ``pay_id`` at PayPal (what ``cbPayPal.aspx`` or the
        PayPal page does): the platform acts, notifies, and this returns the redirect to
        ``URLSuccess``/``URLFailure``. Approving twice returns the first redirect again."""
        with self._lock:
            return self._approve(self._find_order(pay_id), cancel=False)

    def cancel(self, pay_id: str) -> ApprovalRedirect:
        """The buyer cancels at PayPal: ``FAILED`` with ``21500053`` (cancel by user)."""
        with self._lock:
            return self._approve(self._find_order(pay_id), cancel=True)

    def expire(self, pay_id: str) -> bool:
        """Close an open ``AUTHORIZE_REQUEST`` now (``Status=Timeout``, notified), as the
        platform does after ~3 h. ``False`` when the payment was not open."""
        with self._lock:
            p = self._payments.get(pay_id)
            if p is None or p.state not in _PENDING:
                return False
            p.state = "expired"
            self._notify_result(p, "Timeout", codes.SUCCESS, {})
            return True

    def revoke_billing_agreement(self, billing_agreement_id: str) -> bool:
        """The buyer revokes the agreement in PayPal; reference transactions fail afterwards."""
        with self._lock:
            ba = self._agreements.get(billing_agreement_id)
            if ba is None or ba.revoked:
                return False
            ba.revoked = True
            return True

    def _find_order(self, pay_id: str) -> _Payment:
        p = self._payments.get(pay_id)
        if p is None or p.kind != "order":
            raise KeyError(f"no order with PayID {pay_id}")
        return p

    # -- ids --------------------------------------------------------------------------------

    def _hex_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def _paypal_id(self, size: int = 17) -> str:
        return self._rng.randbytes(size).translate(_BYTE_TO_ID).decode("ascii")

    # -- HTTP entry point -------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: bytes | str = b"", body: bytes = b"", *, decline: str | None = None
    ) -> SimResponse:
        """Answer one HTTP request (``path`` as sent; the host does not matter). ``decline``
        (from :class:`~axepta.simulator.Faults`) refuses an S2S request with that code after
        authenticating it."""
        endpoint = endpoint_name(path)
        with self._lock:
            self._stats["requests"] += 1
            self._stats[f"requests:{endpoint or 'index'}"] += 1
        if len(body) > _MAX_BODY:
            return _response(413, "request body too large")
        if method.upper() not in ("GET", "POST", "HEAD"):
            return _response(405, "method not allowed")
        clear = _form(query, body)  # ISO-8859-1 decodes any byte; parse_qsl never raises here
        if endpoint in ("", "index.html"):
            return self._index()
        if endpoint == "cbpaypal":
            return self._callback(clear, decline)
        if endpoint in ("checkoutnow", "approve"):
            return self._paypal_page(clear, decline)
        if endpoint in _INQUIRIES:
            return self._inquiry(endpoint, clear)
        op = _OPERATIONS.get(endpoint)
        if op is None:
            return _response(404, f"unknown endpoint {path!r}")
        return self._operation(op, clear, decline)

    def _index(self) -> SimResponse:
        lines = [
            "Axepta gateway simulator (PayPal). Endpoints:",
            *(f"  POST /{p}" for p in (
                "ExternalServices/paypalorders.aspx", "paypalComplete.aspx", "Authorize.aspx", "capture.aspx",
                "credit.aspx", "creditex.aspx", "reverse.aspx", "paypalreftrans.aspx",
            )),
            "  GET|POST /inquire.aspx, /inquire24.aspx  (status inquiry by PayID / by TransID)",
            "  GET  /cbPayPal.aspx?rd=<base64(MerchantId=...&PayId=...&OrderId=...)>[&ua=cancel&token=...]",
            "  GET  /checkoutnow?token=<orderid>[&ua=cancel]  (PayPal's approval page, redirect mode)",
            "  GET  /agreements/approve?ba_token=<token>[&ua=cancel]  (billing agreement approval)",
            f"Merchants: {', '.join(self.merchant_ids) or 'none'}",
        ]
        return _response(200, "\n".join(lines) + "\n")

    # -- replies ----------------------------------------------------------------------------

    def _encrypt(self, merchant: _Merchant, text: str) -> Encrypted:
        """Blowfish-ECB like the bank: the plaintext padded with spaces (not zeros)."""
        codec = merchant.credentials.codec
        raw_length = len(text.encode(codec.charset))
        padded = text + " " * (-raw_length % 8)
        return Encrypted(codec.encrypt(padded).data, len(text))

    def _result_mac(self, merchant: _Merchant, fields: Mapping[str, str]) -> str:
        return sign(
            merchant.credentials.hmac_key_bytes(),
            fields.get("PayID", ""),
            fields.get("TransID", ""),
            merchant.mid,
            fields.get("Status", ""),
            fields.get("Code", ""),
        )

    def _encrypted_reply(self, merchant: _Merchant, fields: dict[str, str]) -> SimResponse:
        if self.s2s_reply_mac:
            fields["MAC"] = self._result_mac(merchant, fields)
        enc = self._encrypt(merchant, encode_params(fields))
        return _response(200, f"Len={enc.length}&Data={enc.data}")

    def _plain_reply(self, fields: Mapping[str, str]) -> SimResponse:
        return _response(200, encode_params(fields))

    def _failure_fields(self, merchant_id: str, params: Params, op: str, code: str, detail: str | None) -> dict[str, str]:
        pay_id = params.get("PayID") if op not in _NO_PAY_ID else None
        fields = {
            "mid": merchant_id,
            "PayID": pay_id if pay_id is not None else ("" if op == "paypal_orders" else self._hex_id()),
            "XID": self._hex_id(),
            "TransID": params.get("TransID") or "",
            "Status": "FAILED",
            "Description": codes.describe(code, detail),
            "Code": code,
        }
        if op == "paypal_orders":
            del fields["PayID"], fields["XID"]
        return fields

    # -- S2S operations ---------------------------------------------------------------------

    def _operation(self, op: str, clear: Params, decline: str | None) -> SimResponse:
        mid = (clear.get("MerchantID") or "").strip()
        if not mid:
            return self._unauthenticated(op, "", codes.parameter_code(codes.MISSING, "MerchantID"))
        merchant = self._merchants.get(mid)
        if merchant is None:
            return self._unauthenticated(op, mid, codes.parameter_code(codes.INVALID, "MerchantID"))
        params, code = self._open_data(merchant, clear)
        if params is None:
            return self._failure(merchant, op, Params(), code or codes.DATA_INVALID, None)
        # the live platform takes the clear MerchantID alone (PROTOCOL.md §3.1); 004 wants both
        inner_mid = params.get("MerchantID")
        if not inner_mid and self.require_inner_merchant_id:
            return self._failure(merchant, op, params, codes.parameter_code(codes.MISSING, "MerchantID"), None)
        if inner_mid and inner_mid != mid:
            return self._failure(merchant, op, params, codes.parameter_code(codes.INVALID, "MerchantID"), None)
        mac = params.get("MAC")
        if not mac:
            if op in self.mac_required:
                self._log_charset_hint(merchant, op, params, codes.MAC_MISSING)
                return self._failure(merchant, op, params, codes.MAC_MISSING, None)
        elif not verify(
            merchant.credentials.hmac_key_bytes(),
            mac,
            "" if op in _NO_PAY_ID else params.get("PayID", ""),
            params.get("TransID", ""),
            mid,
            params.get("Amount", ""),
            params.get("Currency", ""),
        ):
            self._log_charset_hint(merchant, op, params, codes.MAC_INVALID)
            return self._failure(merchant, op, params, codes.MAC_INVALID, None)
        req_id = params.get("ReqId") if op in _REQ_ID_OPS else None
        with self._lock:
            if req_id:
                # §6.1: a known ReqId gets the first request's outcome, whatever else was sent
                request = (op, *sorted(f"{k.lower()}={v}" for k, v in params.items() if k.lower() not in ("mac", "reqid")))
                stored = self._req_ids.get((mid, req_id))
                if stored is not None:
                    self._stats["replays"] += 1
                    if stored[1] != request:
                        self._stats["replays_other_params"] += 1
                        logger.info("ReqId %s reused for %s with other parameters: answering the first request's outcome", req_id, op)
                    return stored[0]
            reply = self._act(merchant, op, params, decline)
            if req_id and validate(params, [s for s in OPERATION_SPECS[op] if s.name == "ReqId"]) is None:
                self._req_ids[(mid, req_id)] = (reply, request)
                while len(self._req_ids) > self.max_req_ids:
                    self._req_ids.popitem(last=False)
            return reply

    @staticmethod
    def _open_data(merchant: _Merchant, clear: Params) -> tuple[Params | None, str | None]:
        """The decrypted ``Data`` of a request, or ``None`` and the code refusing it."""
        data, length = clear.get("Data"), clear.get("Len")
        if not data:
            return None, codes.parameter_code(codes.MISSING, "Data")
        if length is None or length == "":
            return None, codes.parameter_code(codes.MISSING, "Len")
        if not (length.strip().isascii() and length.strip().isdigit()):
            return None, codes.parameter_code(codes.FORMAT, "Len")
        try:
            return parse_params(merchant.credentials.codec.decrypt(data, length)), None
        except AxeptaError:
            return None, codes.DATA_INVALID

    @staticmethod
    def _log_charset_hint(merchant: _Merchant, op: str, params: Params, code: str) -> None:
        """A MAC refusal of a request with non-ASCII text: say that the likely cause is a client
        encoding another charset than the merchant's (issue 12 item 2). Names fields, never
        values, keys, ``Data`` or the MAC."""
        texts = [key for key in params if key.upper() != "MAC" and not params[key].isascii()]
        if not texts:
            return
        charset = merchant.credentials.charset
        other = "ISO-8859-1" if charset == "utf-8" else "UTF-8"
        logger.warning(
            "%s refused with %s (MAC) for MerchantID=%s, a request with non-ASCII text (%s): likely a "
            "charset mismatch: this merchant is set up for %s; a client encoding %s sends more bytes "
            "than Len counts characters, so the end of the text (often the MAC) falls outside Len; "
            "check the client's charset setting",
            op, code, merchant.mid, ", ".join(texts), charset, other,
        )

    def _unauthenticated(self, op: str, mid: str, code: str) -> SimResponse:
        # no key to encrypt with: a plain failure
        with self._lock:
            self._stats[f"code:{code}"] += 1
        fields = {"mid": mid, "Status": "FAILED", "Description": codes.describe(code), "Code": code}
        return self._plain_reply(fields)

    def _failure(
        self, merchant: _Merchant, op: str, params: Params, code: str, detail: str | None, *, step: bool = False
    ) -> SimResponse:
        with self._lock:
            self._stats[f"code:{code}"] += 1
            fields = self._failure_fields(merchant.mid, params, op, code, detail)
            if step and op not in _NO_PAY_ID:
                # a refused follow-up is the payment's last step (the inquiry's LastStatus)
                p = self._payments.get(params.get("PayID") or "")
                if p is not None and p.merchant_id == merchant.mid:
                    p.last_status, p.last_xid = "FAILED", fields.get("XID", "")
        if op == "paypal_orders":
            return self._plain_reply(fields)
        if op == "paypal_complete" and (params.get("Response") or "").lower() != "encrypt":
            return self._plain_reply(fields)
        return self._encrypted_reply(merchant, fields)

    def _act(self, merchant: _Merchant, op: str, params: Params, decline: str | None) -> SimResponse:
        rejection = validate(params, OPERATION_SPECS[op], charset=merchant.credentials.charset)
        if rejection is not None:
            return self._failure(merchant, op, params, rejection.code, rejection.reason)
        if decline is not None:
            self._stats["faults:decline"] += 1
            return self._failure(merchant, op, params, decline, "declined", step=True)
        handler = getattr(self, f"_op_{op}")
        try:
            fields: dict[str, str] = handler(merchant, params)
        except _Refusal as refusal:
            return self._failure(merchant, op, params, refusal.code, refusal.detail, step=True)
        self._stats[f"code:{codes.SUCCESS}"] += 1
        if op == "paypal_orders":
            location = fields.pop("_location", None)
            if location is not None:
                return SimResponse(302, {"Location": location, **_TEXT}, b"")
            return self._plain_reply(fields)
        if op == "paypal_complete" and (params.get("Response") or "").lower() != "encrypt":
            return self._plain_reply(fields)
        return self._encrypted_reply(merchant, fields)

    def _ok(self, merchant: _Merchant, p: _Payment, params: Params, **extra: str | None) -> dict[str, str]:
        fields = {
            "mid": merchant.mid,
            "PayID": p.pay_id,
            "XID": self._hex_id(),
            "TransID": params.get("TransID") or p.trans_id,
            "Status": "OK",
            "Description": codes.describe(codes.SUCCESS),
            "Code": codes.SUCCESS,
        }
        ref_nr = params.get("RefNr")
        if ref_nr:
            fields["refnr"] = ref_nr
        fields.update({k: v for k, v in extra.items() if v is not None})
        p.last_status, p.last_xid = "OK", fields["XID"]
        return fields

    def _payment_for(self, merchant: _Merchant, params: Params) -> _Payment:
        p = self._payments.get(params["PayID"])
        if p is None or p.merchant_id != merchant.mid:
            raise _Refusal(codes.NOT_FOUND, "unknown PayID")
        if params["Currency"] != p.currency:
            raise _Refusal(codes.parameter_code(codes.INVALID, "Currency"), f"the payment is in {p.currency}")
        return p

    def _store(self, p: _Payment) -> None:
        p.seq, p.books = next(self._seq), self._finished
        if p.state in _FINISHED:  # reference transactions and payouts are born finished
            self._finished.add(p)
        self._payments[p.pay_id] = p
        if p.token:
            self._by_token[p.token] = p.pay_id
        while len(self._payments) > self.max_payments:
            self._evict()

    def _evict(self) -> None:
        """Forget the oldest finished payment, or the oldest of all when none is finished:
        O(log n), no scan (heap of finished payments; the OrderedDict's head is the oldest)."""
        heap, victim = self._finished.heap, None
        while heap:
            _, pay_id = heapq.heappop(heap)
            if pay_id in self._payments:
                victim = pay_id
                break
        gone = self._payments.pop(victim) if victim is not None else self._payments.popitem(last=False)[1]
        gone.books = None
        timer = self._expiry.pop(gone.pay_id, None)
        if timer is not None:
            self._scheduler.cancel(timer)
        if gone.token:
            self._by_token.pop(gone.token, None)
        self._stats["evicted"] += 1

    def _op_paypal_orders(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        tx_type = _caseless(params.get("TxType"), ("Order", "Auth", "BAID"))
        capture = _caseless(params.get("Capture"), ("Auto", "Manual")) or ("Auto" if tx_type != "BAID" else None)
        if tx_type == "BAID":
            capture = None
            if not params.get("RefNr"):
                raise _Refusal(codes.parameter_code(codes.MISSING, "RefNr"), "mandatory with TxType=BAID")
        elif capture == "Manual" and tx_type is None:
            raise _Refusal(codes.parameter_code(codes.MISSING, "TxType"), "mandatory with Capture=Manual")
        elif capture == "Auto" and tx_type is not None:
            raise _Refusal(codes.parameter_code(codes.INVALID, "TxType"), "not allowed with Capture=Auto")
        if (params.get("AddrCountryCode") or "").upper() in ("US", "CA"):
            for name in ("FirstName", "LastName", "AddrStreet", "AddrCity", "AddrState", "AddrZip"):
                if not params.get(name):
                    raise _Refusal(codes.parameter_code(codes.MISSING, name), "mandatory for US and CA")
        if params.get("ItemTotal"):
            total = sum(int(params.get(k) or "0") for k in ("ItemTotal", "TaxTotal", "ShAmount"))
            if total != int(params["Amount"]):
                raise _Refusal(codes.parameter_code(codes.INVALID, "Amount"), "must equal ItemTotal + TaxTotal + ShAmount")
        shortcut = (params.get("PayPalMethod") or "").lower() == "shortcut"
        p = _Payment(
            merchant_id=merchant.mid,
            pay_id=self._hex_id(),
            trans_id=params["TransID"],
            kind="order",
            amount=int(params["Amount"]),
            currency=params["Currency"],
            capture=capture,
            tx_type=tx_type,
            shortcut=shortcut,
            ref_nr=params.get("RefNr"),
            user_data=params.get("UserData"),
            url_success=params["URLSuccess"],
            url_failure=params["URLFailure"],
            url_notify=params["URLNotify"],
            encrypt=(params.get("Response") or "").lower() == "encrypt",
            order_id=self._paypal_id(),
            address={k: params[k] for k in _ADDRESS_KEYS if params.get(k)},
        )
        if tx_type == "BAID":
            p.token = "BA-" + self._paypal_id()
            approval = f"{self.paypal_base_url}agreements/approve?ba_token={p.token}"
        else:
            p.token = p.order_id
            approval = f"{self.paypal_base_url}checkoutnow?token={p.order_id}"
        self._store(p)
        fields = {"mid": merchant.mid, "PayID": p.pay_id, "XID": self._hex_id(), "TransID": p.trans_id}
        p.last_xid = fields["XID"]
        if (params.get("mode") or "").lower() == "redirect":
            fields["_location"] = approval
        elif tx_type == "BAID":
            fields["paypalurl"] = approval
        else:
            assert p.order_id is not None
            fields["orderid"] = p.order_id
        return fields

    def _op_paypal_complete(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        p = self._payment_for(merchant, params)
        if not p.shortcut:
            raise _Refusal(codes.PAYPAL_METHOD, "the order was not created with PayPalMethod=shortcut")
        if p.state == "created":
            raise _Refusal(codes.NOTHING_AUTHORIZED, "the buyer has not approved yet")
        if p.state != "pending_completion":
            raise _Refusal(codes.NOT_ALLOWED, f"the payment is {p.state}")
        if params.get("FirstName"):
            p.address = {k: params[k] for k in _ADDRESS_KEYS if params.get(k) is not None}
        elif any(params.get(k) for k in _ADDRESS_KEYS):
            raise _Refusal(codes.parameter_code(codes.MISSING, "FirstName"), "address fields need FirstName")
        p.amount = int(params["Amount"])
        p.ref_nr = params.get("RefNr") or p.ref_nr
        p.generation += 1
        tid = self._paypal_id()
        if p.capture == "Auto":
            p.add_capture(tid, p.amount)
            p.state = "closed"
        else:
            p.authorized, p.auth_tid, p.state = p.amount, tid, "authorized"
        return self._ok(merchant, p, params, TID=tid)

    def _op_authorize(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        p = self._payment_for(merchant, params)
        if p.tx_type != "Order" or p.shortcut:
            raise _Refusal(codes.NOT_ALLOWED, "Authorize follows a TxType=Order payment only")
        if p.state in ("authorized", "captured", "closed"):
            raise _Refusal(codes.ALREADY_AUTHORIZED)
        if p.state == "reversed":
            raise _Refusal(codes.ALREADY_REVERSED)
        if p.state != "order_approved":
            raise _Refusal(codes.NOT_ALLOWED, f"the payment is {p.state}")
        amount = int(params["Amount"])
        if amount * 100 > p.amount * 115:
            raise _Refusal(codes.parameter_code(codes.INVALID, "Amount"), "above 115 % of the order")
        p.generation += 1
        p.authorized, p.auth_tid, p.state = amount, self._paypal_id(), "authorized"
        return self._ok(merchant, p, params, TID=p.auth_tid)

    def _op_capture(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        p = self._payment_for(merchant, params)
        if p.state == "reversed":
            raise _Refusal(codes.ALREADY_REVERSED)
        if p.state == "closed":
            raise _Refusal(codes.ALREADY_CAPTURED, "the order is closed")
        if p.state not in ("authorized", "captured"):
            raise _Refusal(codes.NOTHING_AUTHORIZED, f"the payment is {p.state}")
        tid = params.get("TID")
        if tid and tid != p.auth_tid:
            raise _Refusal(codes.TID_UNKNOWN, "not the authorisation of this payment")
        amount = int(params["Amount"])
        if (p.captured + amount) * 100 > p.authorized * 115:
            raise _Refusal(codes.OVERCAPTURE, f"{p.captured} of {p.authorized} already captured; limit 115 %")
        capture = p.add_capture(self._paypal_id(), amount)
        complete = (params.get("CompleteType") or "").upper() == "YES"
        p.state = "closed" if complete or p.captured >= p.authorized else "captured"
        return self._ok(merchant, p, params, TID=capture.tid)

    def _op_credit(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        p = self._payment_for(merchant, params)
        if not p.captures:
            raise _Refusal(codes.NOTHING_CAPTURED)
        tid = params.get("TID")
        if tid:
            target = next((c for c in p.captures if c.tid == tid), None)
            if target is None:
                raise _Refusal(codes.TID_UNKNOWN, "no capture with this TID")
        elif len(p.captures) > 1:
            raise _Refusal(codes.parameter_code(codes.MISSING, "TID"), "several captures: name the one to refund")
        else:
            target = p.captures[0]
        amount = int(params["Amount"])
        remaining = target.amount - target.refunded
        if remaining == 0:
            raise _Refusal(codes.FULLY_REFUNDED)
        if amount > remaining:
            raise _Refusal(codes.REFUND_TOO_HIGH, f"{remaining} left on capture {target.tid}")
        target.refunded += amount
        return self._ok(
            merchant, p, params, TID=self._paypal_id(),
            GrossRefundAmount=str(amount), FeeRefundAmount="0", NetRefundAmount=str(amount),
        )

    def _op_reverse(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        p = self._payment_for(merchant, params)
        if p.state == "reversed":
            raise _Refusal(codes.ALREADY_REVERSED)
        if p.state in ("captured", "closed"):
            raise _Refusal(codes.CAPTURE_ACTIVE, "captured: refund with credit instead")
        if p.state not in ("authorized", "order_approved", "pending_completion"):
            raise _Refusal(codes.NOTHING_TO_REVERSE, f"the payment is {p.state}")
        open_amount = p.authorized if p.state == "authorized" else p.amount
        if int(params["Amount"]) > open_amount:
            raise _Refusal(codes.parameter_code(codes.INVALID, "Amount"), f"open amount is {open_amount}")
        p.generation += 1
        p.state = "reversed"
        return self._ok(merchant, p, params)

    def _op_paypal_reftrans(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        ba = self._agreements.get(params["BillingAgreementID"])
        if ba is None or ba.merchant_id != merchant.mid:
            raise _Refusal(codes.BILLING_AGREEMENT_INVALID, "unknown billing agreement")
        if ba.revoked:
            raise _Refusal(codes.BILLING_AGREEMENT_INVALID, "the buyer revoked the agreement")
        amount = int(params["Amount"])
        p = _Payment(
            merchant_id=merchant.mid,
            pay_id=self._hex_id(),
            trans_id=params["TransID"],
            kind="reftrans",
            amount=amount,
            currency=params["Currency"],
            capture="Auto",
            order_id=self._paypal_id(),
            billing_agreement_id=ba.id,
            ref_nr=params.get("RefNr"),
        )
        p.add_capture(self._paypal_id(), amount)
        p.state = "closed"
        self._store(p)
        buyer = _BUYER
        return self._ok(
            merchant, p, params, OrderID=p.order_id, TID=p.captures[0].tid,
            Name=f"{buyer['FirstName']} {buyer['LastName']}", FirstName=buyer["FirstName"],
            LastName=buyer["LastName"], **{"E-Mail": buyer["E-Mail"]},
        )

    def _op_credit_ex(self, merchant: _Merchant, params: Params) -> dict[str, str]:
        payer_id, payer = params.get("PayerID"), params.get("Payer")
        if not payer_id and not payer:
            raise _Refusal(codes.parameter_code(codes.MISSING, "PayerID"), "PayerID or Payer (MassPay)")
        if payer_id and payer:
            raise _Refusal(codes.parameter_code(codes.INVALID, "PayerID"), "PayerID and Payer are exclusive")
        amount = int(params["Amount"])
        p = _Payment(
            merchant_id=merchant.mid,
            pay_id=self._hex_id(),
            trans_id=params["TransID"],
            kind="creditex",
            amount=amount,
            currency=params["Currency"],
            ref_nr=params.get("RefNr"),
        )
        p.state = "paid_out"
        self._store(p)
        return self._ok(
            merchant, p, params, GrossRefundAmount=str(amount), FeeRefundAmount="0", NetRefundAmount=str(amount)
        )

    # -- status inquiry (PROTOCOL.md §4.15.8) ------------------------------------------------

    def _inquiry(self, op: str, clear: Params) -> SimResponse:
        """``inquire.aspx`` (by PayID) and ``inquire24.aspx`` (by TransID), GET or POST: the
        payment's amounts from the books, read-only (no notification, no ReqId replay)."""
        mid = (clear.get("MerchantID") or "").strip()
        if not mid:
            return self._unauthenticated(op, "", codes.parameter_code(codes.MISSING, "MerchantID"))
        merchant = self._merchants.get(mid)
        if merchant is None:
            return self._unauthenticated(op, mid, codes.parameter_code(codes.INVALID, "MerchantID"))
        params, code = self._open_data(merchant, clear)
        if params is None:
            return self._inquiry_failure(merchant, Params(), code or codes.DATA_INVALID)
        inner_mid = params.get("MerchantID")
        if inner_mid and inner_mid != mid:  # absent is fine (magento2, spryker send none)
            return self._inquiry_failure(merchant, params, codes.parameter_code(codes.INVALID, "MerchantID"))
        mac = params.get("MAC")
        if not mac:
            verdict = "absent"
        else:
            pay_id = params.get("PayID") if op == "inquire" else ""
            args = (pay_id or "", params.get("TransID") or "", mid, "", "")
            verdict = "valid" if verify(merchant.credentials.hmac_key_bytes(), mac, *args) else "invalid"
        with self._lock:
            self._stats[f"inquiry_mac:{verdict}"] += 1
        if verdict == "invalid" and self.inquiry_mac_strict:
            return self._inquiry_failure(merchant, params, codes.MAC_INVALID)
        if not merchant.inquiry_available:
            return self._inquiry_failure(
                merchant, params, codes.INQUIRY_UNAVAILABLE,
                codes.describe(codes.INQUIRY_UNAVAILABLE, "status inquiries are not available for this merchant"),
            )
        pay_id, trans_id = params.get("PayID") or "", params.get("TransID") or ""
        if op == "inquire":
            if not pay_id:
                return self._inquiry_failure(merchant, params, codes.parameter_code(codes.MISSING, "PayID"))
            if _PAY_ID_RE.fullmatch(pay_id) is None:
                return self._inquiry_failure(merchant, params, codes.parameter_code(codes.FORMAT, "PayID"))
        elif not trans_id:
            return self._inquiry_failure(merchant, params, codes.parameter_code(codes.MISSING, "TransID"))
        if len(trans_id) > 64:
            return self._inquiry_failure(merchant, params, codes.parameter_code(codes.TOO_LONG, "TransID"))
        with self._lock:
            p = self._payments.get(pay_id) if op == "inquire" else self._latest_with_trans_id(mid, trans_id)
            if p is None or p.merchant_id != mid:
                return self._inquiry_failure(merchant, params, codes.NOT_FOUND, _NOT_FOUND_TEXT)
            self._stats[f"code:{codes.SUCCESS}"] += 1
            authorized, captured, refunded = self._inquiry_amounts(p)
            fields = {
                "mid": mid,
                "PayID": p.pay_id,
                "XID": p.last_xid or self._hex_id(),
                "TransID": p.trans_id,
                "Status": "OK",
                "Code": codes.SUCCESS,
                "Description": codes.describe(codes.SUCCESS),
                "AmountAuth": str(authorized),
                "AmountCap": str(captured),
                "AmountCred": str(refunded),
                "Currency": p.currency,
                "LastStatus": p.last_status,
            }
        return self._encrypted_reply(merchant, fields)

    def _latest_with_trans_id(self, mid: str, trans_id: str) -> _Payment | None:
        """``inquire24``: the most recently created payment of ``mid`` with ``trans_id``."""
        return next(
            (p for p in reversed(self._payments.values()) if p.trans_id == trans_id and p.merchant_id == mid),
            None,
        )

    @staticmethod
    def _inquiry_amounts(p: _Payment) -> tuple[int, int, int]:
        """A, C, R of §4.15.8 item 7: the authorised amount (the order's for ``Capture=Auto``
        and reference transactions), Σ captures, Σ refunds; a credit without reference is all
        refund; nothing is held before approval, after a failure, expiry or reversal."""
        if p.kind == "creditex":
            return 0, 0, p.amount
        if p.state in _NOTHING_HELD:
            return 0, 0, 0
        return p.authorized or p.amount, p.captured, sum(c.refunded for c in p.captures)

    def _inquiry_failure(self, merchant: _Merchant, params: Params, code: str, text: str | None = None) -> SimResponse:
        """An inquiry that failed (the inquiry, not the payment): encrypted, ``Status=FAILED``,
        the request's ``PayID``/``TransID`` echoed, no amounts."""
        fields = {"mid": merchant.mid}
        if params.get("PayID"):
            fields["PayID"] = params["PayID"]
        fields["TransID"] = params.get("TransID") or ""
        fields.update({"Status": "FAILED", "Code": code, "Description": text or codes.describe(code)})
        with self._lock:
            self._stats[f"code:{code}"] += 1
        return self._encrypted_reply(merchant, fields)

    # -- the buyer's side -------------------------------------------------------------------

    def _callback(self, clear: Params, decline: str | None) -> SimResponse:
        rd = (clear.get("rd") or "").replace(" ", "+").strip()
        try:
            decoded = base64.b64decode(rd + "=" * (-len(rd) % 4), validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return _html_page(400, "Bad request", "rd is not base64 of MerchantId=...&PayId=...&OrderId=...")
        fields = parse_params(decoded)
        mid, pay_id, order_id = fields.get("MerchantId"), fields.get("PayId"), fields.get("OrderId")
        if not (mid and pay_id and order_id):
            return _html_page(400, "Bad request", "rd must name MerchantId, PayId and OrderId")
        with self._lock:
            p = self._payments.get(pay_id)
            if p is None or p.merchant_id != mid or p.kind != "order":
                return _html_page(404, "Not found", "unknown payment")
            if p.order_id != order_id:
                return _html_page(400, "Bad request", "OrderId does not belong to this payment")
            cancel = (clear.get("ua") or "").lower() == "cancel"
            return self._redirect(self._approve(p, cancel=cancel, decline=decline))

    def _paypal_page(self, clear: Params, decline: str | None) -> SimResponse:
        token = clear.get_any("token", "ba_token") or ""
        with self._lock:
            pay_id = self._by_token.get(token)
            p = self._payments.get(pay_id) if pay_id else None
            if p is None:
                return _html_page(404, "Not found", "unknown or expired token")
            cancel = (clear.get("ua") or "").lower() == "cancel"
            return self._redirect(self._approve(p, cancel=cancel, decline=decline))

    @staticmethod
    def _redirect(result: ApprovalRedirect) -> SimResponse:
        return SimResponse(302, {"Location": result.location, **_TEXT}, b"")

    def _approve(self, p: _Payment, *, cancel: bool, decline: str | None = None) -> ApprovalRedirect:
        if p.browser is not None:
            return p.browser.redirect(p.pay_id)  # a second click: same answer, nothing done twice
        # every way out of "created" goes through here and sets p.browser
        assert p.state == "created", p.state
        p.generation += 1
        extra: dict[str, str] = {}
        if cancel or decline:
            p.state = "cancelled" if cancel else "failed"
            return self._notify_result(p, "FAILED", codes.CANCELLED_BY_USER if cancel else (decline or ""), {})
        if p.tx_type == "BAID":
            ba = _Agreement(p.merchant_id, "B-" + self._paypal_id(), p.pay_id)
            self._agreements[ba.id] = ba
            while len(self._agreements) > self.max_payments:
                self._agreements.popitem(last=False)
            p.billing_agreement_id, p.state = ba.id, "agreement"
            extra["BillingAgreementID"] = ba.id
            status = "OK"
        elif p.shortcut or p.tx_type == "Order":
            p.state = "pending_completion" if p.shortcut else "order_approved"
            status = "AUTHORIZE_REQUEST"
            generation = p.generation
            self._expiry[p.pay_id] = self._scheduler.call_later(
                self.pending_timeout_minutes * 60.0 * self.time_factor,
                functools.partial(self._timeout, p.pay_id, generation),
            )
        elif p.capture == "Manual":
            p.authorized, p.auth_tid, p.state = p.amount, self._paypal_id(), "authorized"
            extra["TID"] = p.auth_tid
            status = "OK"
        else:
            capture = p.add_capture(self._paypal_id(), p.amount)
            p.state = "closed"
            extra["TID"] = capture.tid
            status = "OK"
        return self._notify_result(p, status, codes.SUCCESS, extra)

    def _timeout(self, pay_id: str, generation: int) -> None:
        with self._lock:
            self._expiry.pop(pay_id, None)
            p = self._payments.get(pay_id)
            if p is not None and p.generation == generation and p.state in _PENDING and not self._closed:
                p.state = "expired"
                self._notify_result(p, "Timeout", codes.SUCCESS, {})

    def _notify_result(self, p: _Payment, status: str, code: str, extra: Mapping[str, str]) -> ApprovalRedirect:
        """Build the result (§4.7), send it to URLNotify, and return the browser redirect."""
        merchant = self._merchants[p.merchant_id]
        ok = code == codes.SUCCESS
        buyer = {**_BUYER, **p.address} if ok else dict.fromkeys(_BUYER, "")
        fields: dict[str, str] = {
            "mid": p.merchant_id,
            "PayID": p.pay_id,
            "XID": self._hex_id(),
            "TransID": p.trans_id,
            "Status": status,
            "Description": codes.describe(code),
            "Code": code,
        }
        if p.ref_nr:
            fields["RefNr"] = p.ref_nr
        if p.user_data:
            fields["UserData"] = p.user_data
        fields["Name"] = f"{buyer['FirstName']} {buyer['LastName']}".strip()
        fields.update({k: buyer.get(k, "") for k in ("FirstName", "LastName", "E-Mail", *_ADDRESS_KEYS[2:])})
        fields["payerStatus"] = "verified" if ok else ""
        fields["InfoText"] = "simulated PayPal payment" if ok else "payment not completed"
        fields["PayerID"] = buyer["PayerID"]
        fields.update(extra)
        if p.order_id:
            fields["TransactionID"] = p.order_id
        p.last_status, p.last_xid = status, fields["XID"]
        fields["MAC"] = self._result_mac(merchant, fields)
        self._stats[f"code:{code}"] += 1
        if p.encrypt:
            enc = self._encrypt(merchant, encode_params(fields))
            query: dict[str, str] = {"Len": str(enc.length), "Data": enc.data}
        else:
            query = fields
        form = urlencode(query, encoding="iso-8859-1")
        body = form.encode("ascii")  # one copy for the browser's answer and the notification
        success = ok and status != "Timeout"
        base = p.url_success if ok else p.url_failure
        redirect = ApprovalRedirect(
            location=f"{base}?{form}",
            success=success,
            pay_id=p.pay_id,
            status=status,
            code=code,
            query=query,
        )
        if status != "Timeout":
            p.browser = _BrowserResult(base, body, success, status, code)
        if not self._closed:
            self.notifier.submit(
                merchant_id=p.merchant_id, pay_id=p.pay_id, status=status, code=code,
                url=p.url_notify, body=body,
            )
        return redirect


_ADDRESS_KEYS: Final = (
    "FirstName", "LastName", "AddrStreet", "AddrStreet2", "AddrCity", "AddrState", "AddrZip",
    "AddrCountryCode", "Phone",
)

#: The simulated PayPal buyer (the order's delivery address wins when it sent one).
_BUYER: Final[Mapping[str, str]] = {
    "FirstName": "Camille",
    "LastName": "Martin",
    "E-Mail": "buyer@example.com",
    "AddrStreet": "10 rue de la Paix",
    "AddrStreet2": "",
    "AddrCity": "Paris",
    "AddrState": "",
    "AddrZip": "75002",
    "AddrCountryCode": "FR",
    "Phone": "",
    "PayerID": "SIMBUYER0001X",
}

