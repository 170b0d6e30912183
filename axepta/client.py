"""``AxeptaClient`` and ``AsyncAxeptaClient``: thin httpx shells over :mod:`axepta.protocol`.

Both clients build the same request models, hand them to the same
:class:`~axepta.protocol.ProtocolCore` and drive the same :meth:`~ProtocolCore.exchange`
generator; the only code that differs is the I/O (``httpx.Client`` vs ``httpx.AsyncClient``,
``time.sleep`` vs ``anyio.sleep``). Connections are pooled, redirects never followed, timeouts
explicit (connect 5 s, read 30 s, 45 s otherwise) under one wall-clock deadline per call (the
largest timeout: 45 s), reply bodies asked uncompressed and capped at 256 KiB as decoded
(:mod:`axepta._http`).

Retries: only when the request provably never reached the server (connect error, connect or
pool timeout), ``max_retries`` times with exponential backoff, always with the same ``ReqId``.
A failure after sending raises :class:`~axepta.errors.TransportError` with ``sent=True`` and the
``ReqId`` to retry with once the outcome has been checked.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Collection, Generator, Mapping, Sequence
from time import monotonic as _monotonic
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, cast
from urllib.parse import urlencode

import anyio
import httpx

from axepta import _http
from axepta.credentials import Credentials
from axepta.errors import ConfigurationError
from axepta.inquiry import PreparedInquiry
from axepta.models.inquiry import Inquire24Request, InquireRequest, Inquiry, InquiryRequest
from axepta.models.requests import (
    Address,
    AuthorizeRequest,
    BasketLine,
    CaptureRequest,
    CompleteRequest,
    CreditExRequest,
    CreditRequest,
    PaymentUnit,
    PayPalOrderRequest,
    ReferenceTransactionRequest,
    Request,
    ReverseRequest,
)
from axepta.models.results import CreditResult, PaymentResult, PayPalOrderResult, Result
from axepta.protocol import (
    AXEPTA_BASE_URL,
    AXEPTA_BROWSER_BASE_URL,
    COMPUTOP_BASE_URL,
    COMPUTOP_BROWSER_BASE_URL,
    MAX_REPLY_BYTES,
    BrowserRedirect,
    ButtonParams,
    PreparedRequest,
    ProtocolCore,
    RawReply,
    Record,
    Send,
    SendFailure,
    Sleep,
)

if TYPE_CHECKING:
    from axepta.ledger import Ledger
    from axepta.ledger.journal import Journal

__all__ = [
    "AXEPTA_BASE_URL",
    "AXEPTA_BROWSER_BASE_URL",
    "COMPUTOP_BASE_URL",
    "COMPUTOP_BROWSER_BASE_URL",
    "DEFAULT_TIMEOUT",
    "USER_AGENT",
    "AsyncAxeptaClient",
    "AxeptaClient",
]

_T = TypeVar("_T")

#: connect 5 s, read 30 s, write and pool 45 s, and 45 s for the whole call (§3.3)
DEFAULT_TIMEOUT = httpx.Timeout(45, connect=5, read=30)


def _user_agent() -> str:
    from axepta import __version__

    return (
        f"axepta-python/{__version__} (PayPal via Axepta / Computop Paygate) "
        f"httpx/{httpx.__version__} Python/{platform.python_version()}"
    )


USER_AGENT = _user_agent()
_HEADERS = {"User-Agent": USER_AGENT, "Accept": "text/plain, */*", **_http.ACCEPT_IDENTITY}
_FORM_HEADERS = {**_HEADERS, "Content-Type": "application/x-www-form-urlencoded"}


def _failure(exc: httpx.HTTPError) -> SendFailure:
    """Classify an httpx error: only connect-phase failures prove nothing was sent."""
    if isinstance(exc, httpx.ConnectTimeout):
        return SendFailure("connect timeout", sent=False, retryable=True, cause=exc)
    if isinstance(exc, httpx.PoolTimeout):
        return SendFailure("no free pooled connection in time", sent=False, retryable=True, cause=exc)
    if isinstance(exc, httpx.ConnectError):
        return SendFailure("could not connect", sent=False, retryable=True, cause=exc)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return SendFailure("unsupported URL scheme", sent=False, retryable=False, cause=exc)
    if isinstance(exc, httpx.ReadTimeout):
        return SendFailure("read timeout", sent=True, cause=exc)
    if isinstance(exc, httpx.WriteTimeout):
        return SendFailure("write timeout", sent=True, cause=exc)
    if isinstance(exc, httpx.TimeoutException):
        return SendFailure("timeout", sent=True, cause=exc)
    return SendFailure(f"network error ({type(exc).__name__})", sent=True, cause=exc)


def _timeout(value: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(value, httpx.Timeout):
        try:
            _http.deadline_of(value)
        except ValueError:
            raise ConfigurationError("timeout: an httpx.Timeout needs at least one value (it bounds the whole call)") from None
        return value
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError("timeout must be a positive number of seconds or an httpx.Timeout")
    return httpx.Timeout(float(value))


def _deadline_failure(failure: SendFailure, deadline: float, seconds: float) -> SendFailure:
    """A failure at or after the call's deadline: never retried (the time is spent)."""
    if _monotonic() < deadline:
        return failure
    return SendFailure(
        f"{failure.reason} (the call's {seconds:g} s deadline)", sent=failure.sent, cause=failure.cause
    )


def _too_late(seconds: float) -> SendFailure:
    return SendFailure(f"the call's {seconds:g} s deadline passed before another attempt", sent=False)


def _late_reply(seconds: float, cause: BaseException) -> SendFailure:
    return SendFailure(f"no complete reply within the call's {seconds:g} s deadline", sent=True, cause=cause)


def _refused_encoding(cause: _http.EncodingRefused) -> SendFailure:
    return SendFailure(f"unreadable reply: {cause}", sent=True, cause=cause)


class _BaseClient:
    """What both clients share: configuration, the protocol core and every pure method."""

    _core: ProtocolCore
    _timeout: httpx.Timeout
    _deadline: float

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str = AXEPTA_BASE_URL,
        browser_base_url: str = AXEPTA_BROWSER_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        paths: Mapping[str, str] | None = None,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        small_amounts_enabled: bool = False,
        omit_mac: Collection[str] = (),
        inquiry_backoff: Sequence[float] = (1.0, 4.0),
        ledger: Ledger | None = None,
    ) -> None:
        self._core = ProtocolCore(
            credentials,
            base_url=base_url,
            browser_base_url=browser_base_url,
            paths=paths,
            small_amounts_enabled=small_amounts_enabled,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            omit_mac=omit_mac,
            inquiry_backoff=inquiry_backoff,
        )
        self._timeout = _timeout(timeout)
        self._deadline = _http.deadline_of(self._timeout)
        self._journal: Journal | None = None
        if ledger is not None:
            from axepta.ledger.journal import Journal  # SQLAlchemy loads only with a ledger

            self._journal = Journal(ledger, credentials.merchant_id)

    @property
    def ledger(self) -> Ledger | None:
        """The books every call is journaled in (``None``: no journaling)."""
        return None if self._journal is None else self._journal.ledger

    @classmethod
    def computop(cls, credentials: Credentials, **kwargs: Any) -> Self:
        """A client for a Computop Paygate account (``www.computop-paygate.com`` for both the
        server calls and the browser callback); other keywords as the constructor."""
        kwargs.setdefault("base_url", COMPUTOP_BASE_URL)
        kwargs.setdefault("browser_base_url", COMPUTOP_BROWSER_BASE_URL)
        return cls(credentials, **kwargs)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(merchant_id={self._core.credentials.merchant_id!r}, "
            f"base_url={self._core.base_url!r})"
        )

    @property
    def merchant_id(self) -> str:
        return self._core.credentials.merchant_id

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def core(self) -> ProtocolCore:
        """The pure protocol core (no I/O) this client drives."""
        return self._core

    def url_for(self, operation: str) -> str:
        """The full URL of ``operation`` (``"capture"``, ``"paypal_orders"`` …)."""
        return self._core.url_for(operation)

    def prepare(self, request: Request) -> PreparedRequest:
        """Check, sign and encrypt ``request`` without sending it (the CLI's ``--dry-run``).

        The ReqId is fixed here: persist ``prepared.req_id`` before :meth:`send` if the
        operation must be retried later. Raises :class:`~axepta.errors.InvalidRequestError`."""
        return self._core.prepare(request)

    def prepare_inquiry(self, *, trans_id: str, pay_id: str | None = None) -> PreparedInquiry:
        """Build a status inquiry without sending it (``inquire.aspx`` with ``pay_id``, else
        ``inquire24.aspx``). Raises :class:`~axepta.errors.InvalidRequestError`."""
        request: InquiryRequest = (
            Inquire24Request(trans_id=trans_id)
            if pay_id is None
            else InquireRequest(pay_id=pay_id, trans_id=trans_id)
        )
        return self._core.prepare_inquiry(request)

    def paypal_button_params(
        self,
        *,
        trans_id: str,
        amount: int,
        currency: str,
        order_desc: str,
        url_success: str,
        url_failure: str,
        url_notify: str,
        capture: Literal["Auto", "Manual"] = "Auto",
        tx_type: Literal["Order", "Auth", "BAID"] | None = None,
        paypal_method: Literal["shortcut"] | None = None,
        mode: Literal["redirect"] | None = None,
        ref_nr: str | None = None,
        req_id: str | None = None,
        user_data: str | None = None,
        account: str | None = None,
        language: str | None = None,
        no_shipping: bool | None = None,
        address: Address | None = None,
        basket: Sequence[BasketLine] | None = None,
        shipping_amount: int | None = None,
        payment_units: Sequence[PaymentUnit] | None = None,
        risk_evaluation: Mapping[str, str] | None = None,
    ) -> ButtonParams:
        """The clear ``MerchantID``/``Len``/``Data`` for 004's Smart Button page, and the
        ``cbPayPal.aspx`` approve-URL builder (``ButtonParams.approve_url(pay_id, order_id)``).
        Nothing is sent. Same keywords as :meth:`AxeptaClient.create_paypal_order`."""
        return self._core.button_params(
            _order_request(
                trans_id=trans_id, amount=amount, currency=currency, order_desc=order_desc,
                url_success=url_success, url_failure=url_failure, url_notify=url_notify,
                capture=capture, tx_type=tx_type, paypal_method=paypal_method, mode=mode,
                ref_nr=ref_nr, req_id=req_id, user_data=user_data, account=account,
                language=language, no_shipping=no_shipping, address=address, basket=basket,
                shipping_amount=shipping_amount, payment_units=payment_units,
                risk_evaluation=risk_evaluation,
            )
        )  # fmt: skip

    def paypal_redirect(
        self,
        *,
        trans_id: str,
        amount: int,
        currency: str,
        order_desc: str,
        url_success: str,
        url_failure: str,
        url_notify: str,
        capture: Literal["Auto", "Manual"] = "Auto",
        tx_type: Literal["Order", "Auth", "BAID"] | None = None,
        paypal_method: Literal["shortcut"] | None = None,
        ref_nr: str | None = None,
        req_id: str | None = None,
        user_data: str | None = None,
        account: str | None = None,
        language: str | None = None,
        no_shipping: bool | None = None,
        address: Address | None = None,
        basket: Sequence[BasketLine] | None = None,
        shipping_amount: int | None = None,
        payment_units: Sequence[PaymentUnit] | None = None,
        risk_evaluation: Mapping[str, str] | None = None,
    ) -> BrowserRedirect:
        """Redirect mode (§1.4): the browser request to ``paypalorders.aspx`` with
        ``mode=redirect``. ``GET`` with ``MerchantID``/``Len``/``Data`` in the URL, or ``POST``
        (``BrowserRedirect.html()``) when the URL would exceed 2 000 characters. Nothing is sent."""
        return self._core.redirect(
            _order_request(
                trans_id=trans_id, amount=amount, currency=currency, order_desc=order_desc,
                url_success=url_success, url_failure=url_failure, url_notify=url_notify,
                capture=capture, tx_type=tx_type, paypal_method=paypal_method, mode="redirect",
                ref_nr=ref_nr, req_id=req_id, user_data=user_data, account=account,
                language=language, no_shipping=no_shipping, address=address, basket=basket,
                shipping_amount=shipping_amount, payment_units=payment_units,
                risk_evaluation=risk_evaluation,
            )
        )  # fmt: skip


def _order_request(**kwargs: Any) -> PayPalOrderRequest:
    for name in ("basket", "payment_units"):
        value = kwargs[name]
        if value is None or isinstance(value, list):
            kwargs[name] = tuple(value or ())
    return PayPalOrderRequest(**kwargs)


def _raw_reply(response: httpx.Response, deadline: float) -> RawReply:
    """Status, body (read under the cap and the deadline) and ``Location`` of a sync reply."""
    location = response.headers.get("location")
    try:
        body = _http.read_body(response, MAX_REPLY_BYTES, deadline)
    except _http.BodyTooLarge as exc:  # judged (refused) by the core
        body = exc.head
    return RawReply(response.status_code, body, location)


class AxeptaClient(_BaseClient):
    """Synchronous client. Use as a context manager (or call :meth:`close`).

    ``http_client`` may be an ``httpx.Client`` you own (it is then not closed here); the
    client's ``timeout``, ``follow_redirects=False`` and User-Agent apply to every request
    anyway. Every method raises :class:`~axepta.errors.InvalidRequestError` before sending
    anything, :class:`~axepta.errors.GatewayError` for any ``Code`` but ``00000000``,
    :class:`~axepta.errors.TransportError` (with ``req_id``) when the network fails,
    :class:`~axepta.errors.SignatureError`, :class:`~axepta.errors.ProtocolError` or
    :class:`~axepta.errors.CryptoError` for a reply that cannot be trusted. :meth:`inquire`
    asks for a payment's status (no money moves; "not found" is an answer, not an error) and
    retries transport failures after each of ``inquiry_backoff``'s delays (D-INQ-6)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str = AXEPTA_BASE_URL,
        browser_base_url: str = AXEPTA_BROWSER_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.Client | None = None,
        paths: Mapping[str, str] | None = None,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        small_amounts_enabled: bool = False,
        omit_mac: Collection[str] = (),
        inquiry_backoff: Sequence[float] = (1.0, 4.0),
        ledger: Ledger | None = None,
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url,
            browser_base_url=browser_base_url,
            timeout=timeout,
            paths=paths,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            small_amounts_enabled=small_amounts_enabled,
            omit_mac=omit_mac,
            inquiry_backoff=inquiry_backoff,
            ledger=ledger,
        )
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise ConfigurationError("http_client must be an httpx.Client (use AsyncAxeptaClient for httpx.AsyncClient)")
        self._owns_http = http_client is None
        # without an http_client: the library's own pool, posted to directly (see _send_direct)
        self._transport = _http.sync_transport() if http_client is None else None
        self._http = http_client or httpx.Client(
            timeout=self._timeout, follow_redirects=False, headers=_HEADERS, transport=self._transport
        )
        # what the httpx client would put on each request of its own pool, computed once: its
        # headers (ours over httpx's defaults), the timeout extension, each URL parsed once
        self._request_headers = httpx.Headers(self._http.headers)
        self._timeout_extension = self._timeout.as_dict()
        self._urls: dict[str, httpx.URL] = {}

    def close(self) -> None:
        """Close the connection pool (not an injected ``http_client``)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(self, prepared: PreparedRequest, *, journal: bool = True) -> Result:
        """Send a :class:`~axepta.protocol.PreparedRequest` and return its result. With a
        ledger the call is journaled unless ``journal=False`` (reconcile records it itself)."""
        return self._drive(self._core.exchange(prepared, journal=journal and self._journal is not None))

    def _drive(self, steps: Generator[Send | Sleep | Record, Any, _T]) -> _T:
        """Run one exchange of the core (a call, or an inquiry) under one deadline."""
        deadline = _monotonic() + self._deadline
        step = next(steps)
        while True:
            try:
                if isinstance(step, Sleep):
                    time.sleep(max(0.0, min(step.seconds, deadline - _monotonic())))
                    step = steps.send(None)
                elif isinstance(step, Record):
                    assert self._journal is not None
                    step = steps.send(self._journal.record(step))
                else:
                    step = steps.send(self._transmit(step.prepared, deadline))
            except StopIteration as stop:
                return cast(_T, stop.value)

    def _transmit(self, prepared: PreparedRequest | PreparedInquiry, deadline: float) -> RawReply | SendFailure:
        left = deadline - _monotonic()
        if left <= 0:
            return _too_late(self._deadline)
        try:
            if self._transport is not None:
                return self._send_direct(self._transport, prepared, deadline)
            with _http.deadline_scope(deadline), self._http.stream(
                "POST",
                prepared.url,
                data=dict(prepared.form),
                headers=_HEADERS,
                # an injected client gets its phases cut to what is left (the body is read under
                # the deadline too)
                timeout=_http.within(self._timeout, left),
                follow_redirects=False,
            ) as response:
                return _raw_reply(response, deadline)
        except httpx.HTTPError as exc:
            return _deadline_failure(_failure(exc), deadline, self._deadline)
        except _http.DeadlineExceeded as exc:
            return _late_reply(self._deadline, exc)
        except _http.EncodingRefused as exc:
            return _refused_encoding(exc)

    def _send_direct(
        self, transport: httpx.HTTPTransport, prepared: PreparedRequest | PreparedInquiry, deadline: float
    ) -> RawReply:
        """POST through the client's own pool without ``httpx.Client``'s per-request machinery
        (header and URL merging, auth and redirect loops, cookie jar, event hooks), which this
        call uses none of: the same request — headers, form body, timeouts — goes to the same
        transport, whose every socket operation ends by the deadline (:func:`_http.sync_transport`).
        Redirects are never followed and no cookie is kept (as the async client's own pool)."""
        if self._http.is_closed:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        url = self._urls.get(prepared.url)
        if url is None:
            url = httpx.URL(prepared.url)
            if len(self._urls) < 64:  # one per operation; a hand-made PreparedRequest may differ
                self._urls[prepared.url] = url
        request = httpx.Request(
            "POST", url, data=dict(prepared.form), headers=self._request_headers,
            extensions={"timeout": self._timeout_extension},
        )  # fmt: skip
        with _http.deadline_scope(deadline):
            try:
                response = transport.handle_request(request)
            except httpx.RequestError as exc:
                exc.request = request  # as httpx.Client does
                raise
            response.request = request
            try:
                return _raw_reply(response, deadline)
            finally:
                response.close()

    # -- operations ---------------------------------------------------------------------------

    def create_paypal_order(
        self,
        *,
        trans_id: str,
        amount: int,
        currency: str,
        order_desc: str,
        url_success: str,
        url_failure: str,
        url_notify: str,
        capture: Literal["Auto", "Manual"] = "Auto",
        tx_type: Literal["Order", "Auth", "BAID"] | None = None,
        paypal_method: Literal["shortcut"] | None = None,
        mode: Literal["redirect"] | None = None,
        ref_nr: str | None = None,
        req_id: str | None = None,
        user_data: str | None = None,
        account: str | None = None,
        language: str | None = None,
        no_shipping: bool | None = None,
        address: Address | None = None,
        basket: Sequence[BasketLine] | None = None,
        shipping_amount: int | None = None,
        payment_units: Sequence[PaymentUnit] | None = None,
        risk_evaluation: Mapping[str, str] | None = None,
    ) -> PayPalOrderResult:
        """Create a PayPal order (``paypalorders.aspx``) server to server. Returns ``pay_id``
        and ``order_id`` (Smart Button), ``paypal_url`` (BAID) or ``redirect_url``
        (``mode="redirect"``: the 302 is returned, not followed)."""
        request = _order_request(
            trans_id=trans_id, amount=amount, currency=currency, order_desc=order_desc,
            url_success=url_success, url_failure=url_failure, url_notify=url_notify,
            capture=capture, tx_type=tx_type, paypal_method=paypal_method, mode=mode,
            ref_nr=ref_nr, req_id=req_id, user_data=user_data, account=account,
            language=language, no_shipping=no_shipping, address=address, basket=basket,
            shipping_amount=shipping_amount, payment_units=payment_units,
            risk_evaluation=risk_evaluation,
        )  # fmt: skip
        return cast(PayPalOrderResult, self.send(self.prepare(request)))

    def complete_paypal_order(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        address: Address | None = None,
    ) -> PaymentResult:
        """Complete a shortcut payment (``paypalComplete.aspx``). Never retried once sent."""
        request = CompleteRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, ref_nr=ref_nr,
            address=address,
        )  # fmt: skip
        return cast(PaymentResult, self.send(self.prepare(request)))

    def authorize(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        address: Address | None = None,
    ) -> PaymentResult:
        """Authorise an approved ``TxType=Order`` payment (``Authorize.aspx``)."""
        request = AuthorizeRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, address=address
        )
        return cast(PaymentResult, self.send(self.prepare(request)))

    def capture(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        req_id: str | None = None,
        tid: str | None = None,
        complete: bool = False,
    ) -> PaymentResult:
        """Capture (``capture.aspx``); ``result.tid`` is PayPal's capture id."""
        request = CaptureRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, ref_nr=ref_nr,
            req_id=req_id, tid=tid, complete=complete,
        )  # fmt: skip
        return cast(PaymentResult, self.send(self.prepare(request)))

    def credit(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        req_id: str | None = None,
        tid: str | None = None,
        note: str | None = None,
    ) -> CreditResult:
        """Refund (``credit.aspx``); ``tid`` names the capture after several partial ones."""
        request = CreditRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, ref_nr=ref_nr,
            req_id=req_id, tid=tid, note=note,
        )  # fmt: skip
        return cast(CreditResult, self.send(self.prepare(request)))

    def credit_without_reference(
        self,
        *,
        trans_id: str,
        amount: int,
        currency: str,
        payer_id: str | None = None,
        payer: str | None = None,
        note: str | None = None,
        subject: str | None = None,
        ref_nr: str | None = None,
        req_id: str | None = None,
        account: str | None = None,
    ) -> CreditResult:
        """Pay a PayPal account (``creditex.aspx``): ``payer_id``, or MassPay ``payer``."""
        request = CreditExRequest(
            trans_id=trans_id, amount=amount, currency=currency, payer_id=payer_id, payer=payer,
            note=note, subject=subject, ref_nr=ref_nr, req_id=req_id, account=account,
        )  # fmt: skip
        return cast(CreditResult, self.send(self.prepare(request)))

    def reverse(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        req_id: str | None = None,
    ) -> PaymentResult:
        """Cancel what is still open (``reverse.aspx``)."""
        request = ReverseRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, req_id=req_id
        )
        return cast(PaymentResult, self.send(self.prepare(request)))

    def reference_transaction(
        self,
        *,
        billing_agreement_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        order_desc: str | None = None,
    ) -> PaymentResult:
        """Charge a billing agreement (``paypalreftrans.aspx``). Never retried once sent."""
        request = ReferenceTransactionRequest(
            billing_agreement_id=billing_agreement_id, trans_id=trans_id, amount=amount,
            currency=currency, ref_nr=ref_nr, order_desc=order_desc,
        )  # fmt: skip
        return cast(PaymentResult, self.send(self.prepare(request)))

    def inquire(self, *, trans_id: str, pay_id: str | None = None, currency: str | None = None) -> Inquiry:
        """Status inquiry (PROTOCOL.md §4.15): ``inquire.aspx`` when ``pay_id`` is given,
        else ``inquire24.aspx`` (by TransID alone; use it only when the PayID is unknown).

        ``trans_id`` is the payment's original TransID. Returns an :class:`~axepta.Inquiry`:
        the authorised, captured and refunded amounts and the state they imply; "not found" and
        "unavailable" (a failed inquiry on a test merchant) are answers (``found=False``), not
        errors. Read-only: no ReqId, and transport failures are retried (3 attempts at most,
        D-INQ-6). ``currency``, when given, must match the reply's. Raises
        :class:`~axepta.errors.GatewayError` for any other failed inquiry."""
        return self.send_inquiry(self.prepare_inquiry(trans_id=trans_id, pay_id=pay_id), currency=currency)

    def send_inquiry(self, prepared: PreparedInquiry, *, currency: str | None = None) -> Inquiry:
        """Send an inquiry built by :meth:`prepare_inquiry` (as :meth:`inquire`)."""
        return self._drive(self._core.inquiry_exchange(prepared, currency=currency))


class AsyncAxeptaClient(_BaseClient):
    """Asynchronous client: the methods of :class:`AxeptaClient` as coroutines (the pure ones —
    :meth:`prepare`, :meth:`paypal_button_params`, :meth:`paypal_redirect` — stay plain
    methods). ``http_client`` may be an ``httpx.AsyncClient`` you own."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str = AXEPTA_BASE_URL,
        browser_base_url: str = AXEPTA_BROWSER_BASE_URL,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        paths: Mapping[str, str] | None = None,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        small_amounts_enabled: bool = False,
        omit_mac: Collection[str] = (),
        inquiry_backoff: Sequence[float] = (1.0, 4.0),
        ledger: Ledger | None = None,
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url,
            browser_base_url=browser_base_url,
            timeout=timeout,
            paths=paths,
            max_retries=max_retries,
            retry_backoff=retry_backoff,
            small_amounts_enabled=small_amounts_enabled,
            omit_mac=omit_mac,
            inquiry_backoff=inquiry_backoff,
            ledger=ledger,
        )
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ConfigurationError("http_client must be an httpx.AsyncClient (use AxeptaClient for httpx.Client)")
        self._owns_http = http_client is None
        # without an http_client: an aiohttp pool (issue 14.1, docs/load.md), posted to directly
        # under asyncio; the httpx client over it serves trio and respx
        self._pool = _http.DefaultAsyncTransport() if http_client is None else None
        self._http = http_client or httpx.AsyncClient(
            timeout=self._timeout, follow_redirects=False, headers=_HEADERS, transport=self._pool
        )

    async def aclose(self) -> None:
        """Close the connection pool (not an injected ``http_client``)."""
        if self._owns_http:
            await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def send(self, prepared: PreparedRequest, *, journal: bool = True) -> Result:
        """Send a :class:`~axepta.protocol.PreparedRequest` and return its result. With a
        ledger the call is journaled unless ``journal=False``."""
        return await self._drive(self._core.exchange(prepared, journal=journal and self._journal is not None))

    async def _drive(self, steps: Generator[Send | Sleep | Record, Any, _T]) -> _T:
        """Run one exchange of the core (a call, or an inquiry) under one deadline."""
        deadline = _monotonic() + self._deadline
        step = next(steps)
        while True:
            try:
                if isinstance(step, Sleep):
                    await anyio.sleep(max(0.0, min(step.seconds, deadline - _monotonic())))
                    step = steps.send(None)
                elif isinstance(step, Record):
                    assert self._journal is not None
                    # the same sync unit of work as the sync client, in a worker thread
                    step = steps.send(await anyio.to_thread.run_sync(self._journal.record, step))
                else:
                    step = steps.send(await self._transmit(step.prepared, deadline))
            except StopIteration as stop:
                return cast(_T, stop.value)

    async def _transmit(self, prepared: PreparedRequest | PreparedInquiry, deadline: float) -> RawReply | SendFailure:
        left = deadline - _monotonic()
        if left <= 0:
            return _too_late(self._deadline)
        try:
            async with _http.async_deadline(left):
                if self._pool is not None and self._pool.direct():
                    status, body, location = await self._pool.post(
                        prepared.url, urlencode(prepared.form).encode("ascii"), _FORM_HEADERS,
                        self._timeout, MAX_REPLY_BYTES,
                    )  # fmt: skip
                    return RawReply(status, body, location)
                return await self._stream(prepared)
        except httpx.HTTPError as exc:
            return _deadline_failure(_failure(exc), deadline, self._deadline)
        except TimeoutError as exc:
            return _late_reply(self._deadline, exc)
        except _http.EncodingRefused as exc:
            return _refused_encoding(exc)

    async def _stream(self, prepared: PreparedRequest | PreparedInquiry) -> RawReply:
        async with self._http.stream(
            "POST",
            prepared.url,
            data=dict(prepared.form),
            headers=_HEADERS,
            timeout=self._timeout,  # the cancel scope holds the deadline
            follow_redirects=False,
        ) as response:
            location = response.headers.get("location")
            try:
                body = await _http.aread_body(response, MAX_REPLY_BYTES)
            except _http.BodyTooLarge as exc:  # judged (refused) by the core
                body = exc.head
            return RawReply(response.status_code, body, location)

    # -- operations ---------------------------------------------------------------------------

    async def create_paypal_order(
        self,
        *,
        trans_id: str,
        amount: int,
        currency: str,
        order_desc: str,
        url_success: str,
        url_failure: str,
        url_notify: str,
        capture: Literal["Auto", "Manual"] = "Auto",
        tx_type: Literal["Order", "Auth", "BAID"] | None = None,
        paypal_method: Literal["shortcut"] | None = None,
        mode: Literal["redirect"] | None = None,
        ref_nr: str | None = None,
        req_id: str | None = None,
        user_data: str | None = None,
        account: str | None = None,
        language: str | None = None,
        no_shipping: bool | None = None,
        address: Address | None = None,
        basket: Sequence[BasketLine] | None = None,
        shipping_amount: int | None = None,
        payment_units: Sequence[PaymentUnit] | None = None,
        risk_evaluation: Mapping[str, str] | None = None,
    ) -> PayPalOrderResult:
        """See :meth:`AxeptaClient.create_paypal_order`."""
        request = _order_request(
            trans_id=trans_id, amount=amount, currency=currency, order_desc=order_desc,
            url_success=url_success, url_failure=url_failure, url_notify=url_notify,
            capture=capture, tx_type=tx_type, paypal_method=paypal_method, mode=mode,
            ref_nr=ref_nr, req_id=req_id, user_data=user_data, account=account,
            language=language, no_shipping=no_shipping, address=address, basket=basket,
            shipping_amount=shipping_amount, payment_units=payment_units,
            risk_evaluation=risk_evaluation,
        )  # fmt: skip
        return cast(PayPalOrderResult, await self.send(self.prepare(request)))

    async def complete_paypal_order(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        address: Address | None = None,
    ) -> PaymentResult:
        """See :meth:`AxeptaClient.complete_paypal_order`."""
        request = CompleteRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, ref_nr=ref_nr,
            address=address,
        )  # fmt: skip
        return cast(PaymentResult, await self.send(self.prepare(request)))

    async def authorize(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        address: Address | None = None,
    ) -> PaymentResult:
        """See :meth:`AxeptaClient.authorize`."""
        request = AuthorizeRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, address=address
        )
        return cast(PaymentResult, await self.send(self.prepare(request)))

    async def capture(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        req_id: str | None = None,
        tid: str | None = None,
        complete: bool = False,
    ) -> PaymentResult:
        """See :meth:`AxeptaClient.capture`."""
        request = CaptureRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, ref_nr=ref_nr,
            req_id=req_id, tid=tid, complete=complete,
        )  # fmt: skip
        return cast(PaymentResult, await self.send(self.prepare(request)))

    async def credit(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        req_id: str | None = None,
        tid: str | None = None,
        note: str | None = None,
    ) -> CreditResult:
        """See :meth:`AxeptaClient.credit`."""
        request = CreditRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, ref_nr=ref_nr,
            req_id=req_id, tid=tid, note=note,
        )  # fmt: skip
        return cast(CreditResult, await self.send(self.prepare(request)))

    async def credit_without_reference(
        self,
        *,
        trans_id: str,
        amount: int,
        currency: str,
        payer_id: str | None = None,
        payer: str | None = None,
        note: str | None = None,
        subject: str | None = None,
        ref_nr: str | None = None,
        req_id: str | None = None,
        account: str | None = None,
    ) -> CreditResult:
        """See :meth:`AxeptaClient.credit_without_reference`."""
        request = CreditExRequest(
            trans_id=trans_id, amount=amount, currency=currency, payer_id=payer_id, payer=payer,
            note=note, subject=subject, ref_nr=ref_nr, req_id=req_id, account=account,
        )  # fmt: skip
        return cast(CreditResult, await self.send(self.prepare(request)))

    async def reverse(
        self,
        *,
        pay_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        req_id: str | None = None,
    ) -> PaymentResult:
        """See :meth:`AxeptaClient.reverse`."""
        request = ReverseRequest(
            pay_id=pay_id, trans_id=trans_id, amount=amount, currency=currency, req_id=req_id
        )
        return cast(PaymentResult, await self.send(self.prepare(request)))

    async def reference_transaction(
        self,
        *,
        billing_agreement_id: str,
        trans_id: str,
        amount: int,
        currency: str,
        ref_nr: str | None = None,
        order_desc: str | None = None,
    ) -> PaymentResult:
        """See :meth:`AxeptaClient.reference_transaction`."""
        request = ReferenceTransactionRequest(
            billing_agreement_id=billing_agreement_id, trans_id=trans_id, amount=amount,
            currency=currency, ref_nr=ref_nr, order_desc=order_desc,
        )  # fmt: skip
        return cast(PaymentResult, await self.send(self.prepare(request)))

    async def inquire(self, *, trans_id: str, pay_id: str | None = None, currency: str | None = None) -> Inquiry:
        """Status inquiry, as :meth:`AxeptaClient.inquire`."""
        return await self.send_inquiry(self.prepare_inquiry(trans_id=trans_id, pay_id=pay_id), currency=currency)

    async def send_inquiry(self, prepared: PreparedInquiry, *, currency: str | None = None) -> Inquiry:
        """Send an inquiry built by :meth:`prepare_inquiry` (as :meth:`inquire`)."""
        return await self._drive(self._core.inquiry_exchange(prepared, currency=currency))
