"""The pure protocol core: request model → ``MerchantID``/``Len``/``Data``, raw reply → result.

No I/O happens here. :class:`ProtocolCore` builds the ordered plaintext of each operation
(PROTOCOL.md §4 tables, ``MerchantID`` first), signs it (D8), encrypts it (D3–D6) and reads the
reply: encrypted (``Len``/``Data``) or the plain ``paypalorders`` pairs (§3.2, §4.5), a 302 for
``mode=redirect`` (returned, never followed), the merchant-ID check and the MAC when present (D9,
D10), the ``PayID``/``TransID`` echoes, then the ``Code`` (D12).

:meth:`ProtocolCore.exchange` is the whole call as a generator (sans-I/O): it yields
:class:`Send` and :class:`Sleep` steps and receives :class:`RawReply` or :class:`SendFailure`,
so the sync and async clients run the same retry and logging logic with their own I/O.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, cast
from urllib.parse import unquote, urlencode, urlsplit

from axepta.amounts import check_amount, warn_if_not_paypal_currency
from axepta.codes import SUCCESS, explain
from axepta.credentials import Credentials
from axepta.crypto import Params, encode_params, parse_params, sign, verify
from axepta.errors import (
    AxeptaError,
    BlowfishKeyError,
    ConfigurationError,
    GatewayError,
    InvalidRequestError,
    ProtocolError,
    SignatureError,
    TransportError,
)
from axepta.fields import check_format, is_loopback_host
from axepta.models.requests import (
    Address,
    AuthorizeRequest,
    CaptureRequest,
    CompleteRequest,
    CreditExRequest,
    CreditRequest,
    PayPalOrderRequest,
    ReferenceTransactionRequest,
    Request,
    ReverseRequest,
)
from axepta.models.results import CreditResult, PaymentResult, PayPalOrderResult, Result

if TYPE_CHECKING:
    from axepta.inquiry import PreparedInquiry
    from axepta.models.inquiry import Inquiry, InquiryRequest

__all__ = [
    "AXEPTA_BASE_URL",
    "AXEPTA_BROWSER_BASE_URL",
    "COMPUTOP_BASE_URL",
    "COMPUTOP_BROWSER_BASE_URL",
    "DEFAULT_PATHS",
    "MAX_REDIRECT_URL_LENGTH",
    "MAX_REMEMBERED_REQ_IDS",
    "MAX_REPLY_BYTES",
    "OPERATIONS",
    "BrowserRedirect",
    "ButtonParams",
    "GatewayAuthenticationError",
    "Operation",
    "PreparedRequest",
    "ProtocolCore",
    "RawReply",
    "Record",
    "Send",
    "SendFailure",
    "Sleep",
    "approve_url",
    "check_base_url",
    "check_path",
]

logger = logging.getLogger("axepta.client")

AXEPTA_BASE_URL: Final = "https://paymentpage.axepta.bnpparibas/"
AXEPTA_BROWSER_BASE_URL: Final = "https://epayment.axepta.bnpparibas/"
COMPUTOP_BASE_URL: Final = "https://www.computop-paygate.com/"
COMPUTOP_BROWSER_BASE_URL: Final = "https://www.computop-paygate.com/"

#: Reply bodies above this size are refused (§3.3).
MAX_REPLY_BYTES: Final = 256 * 1024
#: How many ReqIds a core remembers to refuse one reused for another operation (§6.2).
MAX_REMEMBERED_REQ_IDS: Final = 10_000
#: Above this length the redirect-mode builder falls back to an auto-submitted POST form (§1.4).
MAX_REDIRECT_URL_LENGTH: Final = 2000

#: Default paths, relative to the base URL (§3.4); every one can be overridden.
DEFAULT_PATHS: Final[Mapping[str, str]] = {
    "paypal_orders": "ExternalServices/paypalorders.aspx",
    "paypal_callback": "cbPayPal.aspx",
    "paypal_complete": "paypalComplete.aspx",
    "authorize": "Authorize.aspx",
    "capture": "capture.aspx",
    "credit": "credit.aspx",
    "credit_ex": "creditex.aspx",
    "reverse": "reverse.aspx",
    "paypal_reftrans": "paypalreftrans.aspx",
    "inquire": "inquire.aspx",  # §4.15: status inquiry by PayID (read-only, axepta.inquiry)
    "inquire24": "inquire24.aspx",  # §4.15: status inquiry by TransID
}

_AUTH_CODES = frozenset({"20100044", "20120044"})
_AN32 = re.compile(r"[A-Za-z0-9]{32}")
_PARAMETER_MODULES = frozenset({"010", "011", "012", "013", "014", "015", "016", "017", "018"})


class GatewayAuthenticationError(GatewayError, ConfigurationError):
    """``20100044`` / ``20120044``: the platform could not authenticate the request (missing or
    wrong MAC — almost always a wrong or rotated HMAC key). A :class:`GatewayError` *and* a
    :class:`ConfigurationError`; never retried (D12)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """What the core knows about one operation."""

    name: str
    label: str  # the endpoint's own name, for messages
    result: type[Result]
    mac_with_pay_id: bool  # D8: PayID*TransID*… (else *TransID*…)
    req_id: bool  # ReqId supported (§6.1)
    money_moving: bool
    response_encrypt: bool  # sends Response=encrypt
    plain_reply: bool  # a reply without Data is acceptable (§3.2)
    echo_pay_id: bool  # the reply must echo the request's PayID


OPERATIONS: Final[Mapping[str, Operation]] = {
    op.name: op
    for op in (
        Operation("paypal_orders", "paypalorders", PayPalOrderResult, False, True, False, True, True, False),
        Operation("paypal_complete", "paypalComplete", PaymentResult, True, False, True, True, True, True),
        Operation("authorize", "Authorize", PaymentResult, True, False, True, False, False, True),
        Operation("capture", "capture", PaymentResult, True, True, True, False, False, True),
        Operation("credit", "credit", CreditResult, True, True, True, False, False, True),
        Operation("credit_ex", "creditex", CreditResult, False, True, True, False, False, False),
        Operation("reverse", "reverse", PaymentResult, True, True, True, False, False, True),
        Operation("paypal_reftrans", "paypalreftrans", PaymentResult, False, False, True, False, False, False),
    )
}


# ---------------------------------------------------------------------------------------------
# configuration checks


def check_base_url(name: str, url: str) -> str:
    """A base URL: https (plain http only for loopback hosts), a host, no query or fragment;
    returned with a trailing ``/``. Anything else raises :class:`ConfigurationError`."""
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{name}: must be a non-empty URL")
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        raise ConfigurationError(f"{name}: {url!r} is not a valid URL") from None
    if not parts.hostname:
        raise ConfigurationError(f"{name}: {url!r} has no host")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigurationError(f"{name}: must not contain a query string or fragment")
    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname):
            raise ConfigurationError(
                f"{name}: plain http is refused except for loopback hosts (use https)"
            )
    elif parts.scheme != "https":
        raise ConfigurationError(f"{name}: the scheme must be https")
    return url if url.endswith("/") else url + "/"


def check_path(name: str, path: str) -> str:
    """A path relative to the base URL; ``?``, ``#``, ``..``, a scheme or whitespace are refused.
    A leading ``/`` is dropped."""
    if not isinstance(path, str) or not path.strip("/"):
        raise ConfigurationError(f"paths[{name!r}]: must be a non-empty path")
    if any(bad in path for bad in ("?", "#", "..", "://", "\\")) or any(c.isspace() for c in path):
        raise ConfigurationError(
            f"paths[{name!r}]: {path!r} must not contain '?', '#', '..', a scheme or whitespace"
        )
    return path.lstrip("/")


# ---------------------------------------------------------------------------------------------
# prepared requests and browser helpers

_REDACTED = "<redacted>"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send: ``url`` and the clear ``form`` (``MerchantID``, ``Len``,
    ``Data``); ``fields`` is the plaintext that ``Data`` encrypts, in wire order (with ``MAC``).
    ``req_id`` is the ReqId sent (generated once, here, when the caller gave none): every retry
    of this prepared request reuses it. ``repr`` shows no field, ``Data`` or MAC;
    :meth:`redacted` is safe to print."""

    operation: str
    url: str
    fields: Mapping[str, str] = field(repr=False)
    form: Mapping[str, str] = field(repr=False)
    req_id: str | None
    money_moving: bool
    request: Request = field(repr=False, compare=False)
    relaxed: tuple[str, ...] = field(default=(), repr=False)

    @property
    def pay_id(self) -> str | None:
        return self.fields.get("PayID")

    @property
    def trans_id(self) -> str:
        return self.fields["TransID"]

    def redacted(self) -> dict[str, Any]:
        """A JSON-ready dict with ``MAC`` and ``Data`` replaced by ``"<redacted>"``."""
        return {
            "operation": self.operation,
            "method": "POST",
            "url": self.url,
            "req_id": self.req_id,
            "money_moving": self.money_moving,
            "fields": {k: (_REDACTED if k == "MAC" else v) for k, v in self.fields.items()},
            "form": {k: (_REDACTED if k == "Data" else v) for k, v in self.form.items()},
        }


def approve_url(callback_url: str, merchant_id: str, pay_id: str, order_id: str) -> str:
    """The ``cbPayPal.aspx`` URL the browser opens after approval (§4.6):
    ``<callback_url>?rd=<base64("MerchantId=…&PayId=…&OrderId=…")>``."""
    check_format("PayID", pay_id, "an32")
    check_format("OrderId", order_id, "ans..17")
    rd = f"MerchantId={merchant_id}&PayId={pay_id}&OrderId={order_id}"
    return f"{callback_url}?rd={base64.b64encode(rd.encode('ascii')).decode('ascii')}"


@dataclass(frozen=True, slots=True)
class ButtonParams:
    """What the Smart Button page needs (§1.3, 004's script): the clear ``merchant_id``,
    ``len`` and ``data`` to post to ``url`` (``paypalorders.aspx``), the SDK ``intent`` that
    matches the order, and :meth:`approve_url` for ``onApprove``. ``data`` is not in ``repr``."""

    merchant_id: str
    len: int
    data: str = field(repr=False)
    url: str
    callback_url: str
    trans_id: str
    req_id: str | None
    sdk_intent: str | None

    def approve_url(self, pay_id: str, order_id: str) -> str:
        """``cbPayPal.aspx?rd=…`` for the PayID the platform returned and PayPal's order id."""
        return approve_url(self.callback_url, self.merchant_id, pay_id, order_id)

    def form(self) -> dict[str, str]:
        """``{"MerchantID": …, "Len": …, "Data": …}``, the body 004's script posts."""
        return {"MerchantID": self.merchant_id, "Len": str(self.len), "Data": self.data}


@dataclass(frozen=True, slots=True)
class BrowserRedirect:
    """Redirect mode (§1.4): send the browser to ``url`` with ``method``. ``GET``: ``url``
    carries ``MerchantID``/``Len``/``Data`` in its query; ``POST`` (URL above 2 000
    characters): post ``form`` to ``url`` (:meth:`html` renders an auto-submitted form)."""

    method: Literal["GET", "POST"]
    url: str = field(repr=False)
    form: Mapping[str, str] = field(repr=False)
    trans_id: str
    req_id: str | None

    def html(self) -> str:
        """An HTML page that submits the request by itself (GET or POST)."""
        action = html.escape(self.url.split("?", 1)[0] if self.method == "GET" else self.url)
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in self.form.items()
        )
        return (
            "<!DOCTYPE html><html><body onload=\"document.forms[0].submit()\">"
            f'<form method="{self.method.lower()}" action="{action}">{inputs}'
            '<noscript><button type="submit">Continue to PayPal</button></noscript>'
            "</form></body></html>"
        )


# ---------------------------------------------------------------------------------------------
# the exchange steps


@dataclass(frozen=True, slots=True)
class Send:
    """Step: POST ``prepared.form`` to ``prepared.url`` (attempt number ``attempt``)."""

    prepared: PreparedRequest | PreparedInquiry
    attempt: int


@dataclass(frozen=True, slots=True)
class Sleep:
    """Step: wait ``seconds`` before the next attempt."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Record:
    """Step (only when the client keeps books, ``exchange(…, journal=True)``): write ``phase`` of
    ``prepared`` to the ledger. ``intent`` comes before the first attempt and is answered with
    an opaque handle (it may raise: then nothing is sent); ``sent`` comes before each attempt
    leaves, ``outcome`` after the reply (``result``) or the failure (``error``); both carry the
    handle and are answered with ``None``."""

    phase: Literal["intent", "sent", "outcome"]
    prepared: PreparedRequest
    handle: object = None
    attempt: int = 0
    result: Result | None = None
    error: AxeptaError | None = None


@dataclass(frozen=True, slots=True)
class RawReply:
    """What came back: status code, ``Location`` header, body (at most the cap + 1 bytes)."""

    status_code: int
    body: bytes
    location: str | None = None


@dataclass(frozen=True, slots=True)
class SendFailure:
    """The request failed at the transport level. ``sent=False`` only when it provably never
    reached the server (connect error): then ``retryable`` says whether trying again is safe."""

    reason: str
    sent: bool
    retryable: bool = False
    cause: BaseException | None = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------
# the core


def _address_fields(address: Address | None, *, send_empty: tuple[str, ...] = ()) -> dict[str, str | None]:
    a = address
    values = {
        "FirstName": a.first_name if a else None,
        "LastName": a.last_name if a else None,
        "AddrStreet": a.street if a else None,
        "AddrStreet2": a.street2 if a else None,
        "AddrCity": a.city if a else None,
        "AddrState": a.state if a else None,
        "AddrZip": a.zip if a else None,
        "AddrCountryCode": a.country_code if a else None,
        "Phone": a.phone if a else None,
    }
    for key in send_empty:
        if values[key] is None:
            values[key] = ""
    return values


class ProtocolCore:
    """Builds requests and reads replies for one merchant. Pure: no I/O, no shared state.

    ``paths`` overrides entries of :data:`DEFAULT_PATHS`; ``omit_mac`` names operations whose
    requests go without ``MAC`` (Q4; empty by default, D8); ``req_id_factory`` makes ReqIds
    (32 lowercase hex from a random UUID by default)."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str = AXEPTA_BASE_URL,
        browser_base_url: str = AXEPTA_BROWSER_BASE_URL,
        paths: Mapping[str, str] | None = None,
        small_amounts_enabled: bool = False,
        max_retries: int = 2,
        retry_backoff: float = 0.5,
        omit_mac: Collection[str] = (),
        req_id_factory: Callable[[], str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        inquiry_backoff: Sequence[float] = (1.0, 4.0),
    ) -> None:
        if not isinstance(credentials, Credentials):
            raise ConfigurationError("credentials must be an axepta.Credentials")
        self.credentials = credentials
        self.base_url = check_base_url("base_url", base_url)
        self.browser_base_url = check_base_url("browser_base_url", browser_base_url)
        merged = dict(DEFAULT_PATHS)
        for name, path in (paths or {}).items():
            if name not in DEFAULT_PATHS:
                raise ConfigurationError(
                    f"paths: unknown operation {name!r}; known: {', '.join(DEFAULT_PATHS)}"
                )
            merged[name] = path
        self.paths: Mapping[str, str] = {k: check_path(k, v) for k, v in merged.items()}
        unknown = set(omit_mac) - set(OPERATIONS) - {"inquire", "inquire24"}
        if unknown:
            raise ConfigurationError(f"omit_mac: unknown operations {sorted(unknown)}")
        self.omit_mac = frozenset(omit_mac)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError("max_retries must be an integer >= 0")
        if not isinstance(retry_backoff, int | float) or retry_backoff < 0:
            raise ConfigurationError("retry_backoff must be a number of seconds >= 0")
        self.max_retries = max_retries
        self.retry_backoff = float(retry_backoff)
        self.small_amounts_enabled = bool(small_amounts_enabled)
        if not all(isinstance(d, int | float) and not isinstance(d, bool) and d >= 0 for d in inquiry_backoff):
            raise ConfigurationError("inquiry_backoff must be a sequence of delays in seconds >= 0")
        #: delays before the 2nd, 3rd … attempt of a status inquiry (D-INQ-6)
        self.inquiry_backoff: tuple[float, ...] = tuple(float(d) for d in inquiry_backoff)
        self._req_id_factory = req_id_factory or _uuid4_hex
        self._clock = clock
        # ReqId -> (operation, parameters) of the last MAX_REMEMBERED_REQ_IDS prepared requests
        self._req_ids: OrderedDict[str, tuple[str, Mapping[str, str]]] = OrderedDict()
        self._req_ids_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ProtocolCore(merchant_id={self.credentials.merchant_id!r}, base_url={self.base_url!r})"

    # -- urls -------------------------------------------------------------------------------

    def url_for(self, operation: str) -> str:
        return self.base_url + self.paths[operation]

    @property
    def callback_url(self) -> str:
        return self.browser_base_url + self.paths["paypal_callback"]

    # -- requests ---------------------------------------------------------------------------

    def prepare(self, request: Request) -> PreparedRequest:
        """Turn a request model into a :class:`PreparedRequest` (checks, ReqId, MAC, Data).

        Raises :class:`InvalidRequestError` for an amount below 100 minor units without
        ``small_amounts_enabled`` and for text the merchant's charset cannot encode."""
        op = OPERATIONS.get(getattr(request, "operation", ""))
        if op is None:
            raise InvalidRequestError(
                f"prepare: {type(request).__name__} is not a request model", rule="request model"
            )
        check_amount(request.amount, small_amounts_enabled=self.small_amounts_enabled)
        warn_if_not_paypal_currency(request.currency)
        req_id: str | None = None
        if op.req_id:
            req_id = getattr(request, "req_id", None) or self._req_id_factory()
        # the plaintext without its absent (None) fields, in wire order: filtered once here
        plain = self._plaintext(op, request, req_id)
        fields = cast(dict[str, str], plain) if None not in plain.values() else {k: v for k, v in plain.items() if v is not None}
        if req_id is not None:
            self._remember_req_id(op, req_id, fields)
        plaintext = _join(fields)
        encrypted = self.credentials.codec.encrypt(plaintext)
        form = {
            "MerchantID": self.credentials.merchant_id,
            "Len": str(encrypted.length),
            "Data": encrypted.data,
        }
        return PreparedRequest(
            operation=op.name,
            url=self.base_url + self.paths[op.name],
            fields=fields,
            form=form,
            req_id=req_id,
            money_moving=op.money_moving,
            request=request,
            relaxed=_relaxed_rules(request),
        )

    def _remember_req_id(self, op: Operation, req_id: str, fields: Mapping[str, str]) -> None:
        """One ReqId, one operation (§6.2): the platform answers a ReqId it knows with the first
        request's outcome, whatever the new parameters, so a ReqId this core already prepared
        for another operation or other parameters is refused before anything is sent."""
        # the MAC follows from the other fields and the ReqId is the key: the plaintext fields as
        # they are identify the operation (compared as dicts, in C)
        with self._req_ids_lock:
            known = self._req_ids.get(req_id)
            if known is None:
                self._req_ids[req_id] = (op.name, fields)
                if len(self._req_ids) > MAX_REMEMBERED_REQ_IDS:
                    self._req_ids.popitem(last=False)
                return
            self._req_ids.move_to_end(req_id)
        if known[0] == op.name and known[1] == fields:
            return  # a retry of the same operation
        first = OPERATIONS[known[0]]
        was = {k: v for k, v in known[1].items() if v is not None and k not in ("MAC", "ReqId")}
        now = {k: v for k, v in fields.items() if v is not None and k not in ("MAC", "ReqId")}
        changed = sorted(set(now) ^ set(was) | {k for k, v in now.items() if k in was and was[k] != v})
        what = f"{first.label} of {was.get('Amount')} {was.get('Currency')}"
        what += f" on PayID {was['PayID']}" if was.get("PayID") else f" with TransID {was.get('TransID')}"
        differs = f"not a {first.label}" if first is not op else f"other parameters: {', '.join(changed)}"
        raise InvalidRequestError(
            f"ReqId {req_id}: already used by this client for the {what}; this {op.label} is "
            f"another operation ({differs}). A ReqId names one operation (PROTOCOL.md §6.2): the platform answers a ReqId "
            "it knows with the first request's outcome, so this request would not be carried out. "
            "Use a new ReqId for a new operation, and the same parameters to retry.",
            field="ReqId",
            rule="one ReqId, one operation",
        )

    def _mac(self, op: Operation, pay_id: str | None, trans_id: str, amount: int, currency: str) -> str | None:
        if op.name in self.omit_mac:
            return None
        return sign(
            self.credentials.hmac_key_bytes(),
            pay_id if op.mac_with_pay_id else "",
            trans_id,
            self.credentials.merchant_id,
            str(amount),
            currency,
        )

    def _plaintext(self, op: Operation, r: Request, req_id: str | None) -> dict[str, str | None]:
        mid = self.credentials.merchant_id
        # only the operations signed with the PayID read it (a model without the field would
        # make pydantic raise and catch an AttributeError)
        pay_id = getattr(r, "pay_id", None) if op.mac_with_pay_id else None
        mac = self._mac(op, pay_id, r.trans_id, r.amount, r.currency)
        amount = str(r.amount)
        if isinstance(r, PayPalOrderRequest):
            # the order's many optional fields are added only when present (no None to filter)
            fields: dict[str, str | None] = {"MerchantID": mid, "TransID": r.trans_id}
            if r.ref_nr is not None:
                fields["RefNr"] = r.ref_nr
            fields["Amount"] = amount
            fields["Currency"] = r.currency
            if mac is not None:
                fields["MAC"] = mac
            if r.tx_type != "BAID":
                fields["Capture"] = r.capture
            if r.tx_type is not None:
                fields["TxType"] = r.tx_type
            if r.paypal_method is not None:
                fields["PayPalMethod"] = r.paypal_method
            fields["OrderDesc"] = r.order_desc
            if r.basket:
                for n, line in enumerate(r.basket, start=2):
                    fields[f"OrderDesc{n}"] = line.wire()
                fields["TaxTotal"] = str(r.tax_total)
                fields["ItemTotal"] = str(r.item_total)
                if r.shipping_amount:
                    fields["ShAmount"] = str(r.shipping_amount)
            fields["URLSuccess"] = r.url_success
            fields["URLFailure"] = r.url_failure
            fields["Response"] = "encrypt"
            fields["URLNotify"] = r.url_notify
            if r.user_data is not None:
                fields["UserData"] = r.user_data
            if req_id is not None:
                fields["ReqId"] = req_id
            if r.account is not None:
                fields["Account"] = r.account
            if r.language is not None:
                fields["Language"] = r.language
            if r.address is not None:  # (without one, every address field is absent)
                fields.update(_address_fields(r.address))
            if r.no_shipping:
                fields["NoShipping"] = "1"
            if r.risk_evaluation is not None:
                fields["RiskEvaluation"] = r.risk_evaluation_wire()
            if r.payment_units:
                for n, unit in enumerate(r.payment_units_wire(), start=1):
                    fields[f"PaymentUnit{n}"] = unit
            if r.mode is not None:
                fields["mode"] = r.mode
            return fields
        if isinstance(r, CompleteRequest):
            with_address = r.address is not None and r.address.first_name is not None
            return {
                "MerchantID": mid,
                "TransID": r.trans_id,
                "Amount": amount,
                "Currency": r.currency,
                "RefNr": r.ref_nr,
                "PayID": r.pay_id,
                "MAC": mac,
                "Response": "encrypt",
                **_address_fields(
                    r.address if with_address else None,
                    send_empty=("AddrStreet2", "AddrState", "Phone") if with_address else (),
                ),
            }
        if isinstance(r, AuthorizeRequest):
            return {
                "MerchantID": mid,
                "PayID": r.pay_id,
                "TransID": r.trans_id,
                "TxType": "Auth",
                "Amount": amount,
                "Currency": r.currency,
                "MAC": mac,
                **_address_fields(r.address),
            }
        if isinstance(r, CaptureRequest):
            return {
                "MerchantID": mid,
                "PayID": r.pay_id,
                "TransID": r.trans_id,
                "MAC": mac,
                "Amount": amount,
                "Currency": r.currency,
                "RefNr": r.ref_nr,
                "ReqId": req_id,
                "TID": r.tid,
                "CompleteType": "YES" if r.complete else None,
            }
        if isinstance(r, CreditRequest):
            return {
                "MerchantID": mid,
                "PayID": r.pay_id,
                "TransID": r.trans_id,
                "MAC": mac,
                "Amount": amount,
                "Currency": r.currency,
                "RefNr": r.ref_nr,
                "ReqId": req_id,
                "TID": r.tid,
                "Note": r.note,
            }
        if isinstance(r, CreditExRequest):
            return {
                "MerchantID": mid,
                "TransID": r.trans_id,
                "RefNr": r.ref_nr,
                "Amount": amount,
                "Currency": r.currency,
                "MAC": mac,
                "PayerID": r.payer_id,
                "ReqId": req_id,
                "Account": r.account,
                "Note": r.note,
                "Subject": r.subject,
                "Payer": r.payer,
            }
        if isinstance(r, ReverseRequest):
            return {
                "MerchantID": mid,
                "PayID": r.pay_id,
                "TransID": r.trans_id,
                "MAC": mac,
                "Amount": amount,
                "Currency": r.currency,
                "ReqId": req_id,
            }
        assert isinstance(r, ReferenceTransactionRequest)
        return {
            "MerchantID": mid,
            "TransID": r.trans_id,
            "Amount": amount,
            "Currency": r.currency,
            "MAC": mac,
            "RefNr": r.ref_nr,
            "OrderDesc": r.order_desc,
            "BillingAgreementID": r.billing_agreement_id,
        }

    # -- status inquiry (§4.15; the steps live in axepta.inquiry) ----------------------------

    def prepare_inquiry(self, request: InquiryRequest) -> PreparedInquiry:
        """Build a status inquiry (``inquire.aspx`` by PayID, ``inquire24.aspx`` by TransID):
        no ReqId, no amount, the MAC of D-INQ-1 unless ``omit_mac`` names the operation."""
        from axepta.inquiry import prepare_inquiry

        return prepare_inquiry(self, request)

    def inquiry_exchange(
        self, prepared: PreparedInquiry, *, currency: str | None = None
    ) -> Generator[Send | Sleep, RawReply | SendFailure | None, Inquiry]:
        """The whole inquiry as a generator, driven like :meth:`exchange` (D-INQ-6 retries)."""
        from axepta.inquiry import inquiry_exchange

        return inquiry_exchange(self, prepared, currency=currency)

    # -- browser side -----------------------------------------------------------------------

    def button_params(self, request: PayPalOrderRequest) -> ButtonParams:
        """The Smart Button page's ``MerchantID``/``Len``/``Data`` (no ``mode=redirect``)."""
        if request.mode == "redirect":
            raise InvalidRequestError(
                "mode: the Smart Button needs no mode (redirect is for paypal_redirect)",
                field="mode",
                rule="absent for the Smart Button",
            )
        if request.tx_type == "BAID":
            raise InvalidRequestError(
                "TxType: BAID is approved through the returned URL, not the Smart Button",
                field="TxType",
                rule="no BAID with the Smart Button",
            )
        prepared = self.prepare(request)
        return ButtonParams(
            merchant_id=prepared.form["MerchantID"],
            len=int(prepared.form["Len"]),
            data=prepared.form["Data"],
            url=prepared.url,
            callback_url=self.callback_url,
            trans_id=request.trans_id,
            req_id=prepared.req_id,
            sdk_intent=request.sdk_intent,
        )

    def redirect(self, request: PayPalOrderRequest) -> BrowserRedirect:
        """The browser request of redirect mode (``mode=redirect`` is set here)."""
        if request.mode != "redirect":
            request = request.model_copy(update={"mode": "redirect"})
        prepared = self.prepare(request)
        url = prepared.url + "?" + urlencode(dict(prepared.form))
        if len(url) <= MAX_REDIRECT_URL_LENGTH:
            return BrowserRedirect("GET", url, dict(prepared.form), request.trans_id, prepared.req_id)
        return BrowserRedirect("POST", prepared.url, dict(prepared.form), request.trans_id, prepared.req_id)

    # -- replies ----------------------------------------------------------------------------

    def parse_reply(self, prepared: PreparedRequest, reply: RawReply) -> Result:
        """Read the gateway's reply to ``prepared`` and return its result model.

        Raises :class:`ProtocolError` (unusable reply, foreign merchant ID, echo mismatch),
        :class:`CryptoError`, :class:`SignatureError` (a MAC that does not verify),
        :class:`TransportError` (HTTP 5xx: outcome unknown) or :class:`GatewayError`."""
        op = OPERATIONS[prepared.operation]
        if reply.status_code in (301, 302, 303, 307, 308):
            return self._redirect_reply(op, prepared, reply)
        if reply.status_code >= 500:
            raise TransportError(
                f"{op.label}: HTTP {reply.status_code} from the gateway; the outcome is unknown. "
                + _retry_advice(prepared),
                req_id=prepared.req_id,
                sent=True,
                operation=op.name,
            )
        if reply.status_code != 200:
            raise ProtocolError(f"{op.label}: unexpected HTTP status {reply.status_code}")
        if len(reply.body) > MAX_REPLY_BYTES:
            raise ProtocolError(f"{op.label}: the reply is larger than {MAX_REPLY_BYTES} bytes")
        params, encrypted = self._reply_params(op, prepared, reply.body)
        self._check_merchant(op, params)
        self._check_mac(op, params)
        # the two ids every step below reads, stripped, read once
        items = params.folded()
        item = items.get("payid")
        pay_id = "" if item is None else item[1].strip()
        item = items.get("transid")
        trans_id = "" if item is None else item[1].strip()
        self._check_echoes(op, prepared, pay_id, trans_id)
        self._check_code(op, prepared, params, pay_id)
        if encrypted:
            _require_encrypted(op, pay_id, trans_id)
        _check_same_operation(op, prepared, params)
        return self._build_result(op, prepared, params, pay_id)

    def _redirect_reply(self, op: Operation, prepared: PreparedRequest, reply: RawReply) -> Result:
        request = prepared.request
        if not (isinstance(request, PayPalOrderRequest) and request.mode == "redirect"):
            raise ProtocolError(f"{op.label}: unexpected redirect (HTTP {reply.status_code})")
        location = (reply.location or "").strip()
        split = _browser_url(location)
        if split is None or not (split[0] == "https" or is_loopback_host(split[1])):
            raise ProtocolError(
                f"{op.label}: the redirect carries no usable https Location (one that every browser "
                "reads as this library does: no backslash, userinfo, encoded or numeric host)"
            )
        return PayPalOrderResult(
            operation=op.name,
            trans_id=prepared.trans_id,
            req_id=prepared.req_id,
            redirect_url=location,
        )

    def _reply_params(
        self, op: Operation, prepared: PreparedRequest | PreparedInquiry, body: bytes
    ) -> tuple[Params, bool]:
        """The reply's fields and whether they came from ``Data``. When ``Data`` is present the
        decrypted part alone is the reply: the clear fields beside it are never read (anyone can
        write them), only a clear merchant ID that names another merchant refuses it."""
        text = body.decode("iso-8859-1").strip()
        if not text:
            raise ProtocolError(f"{op.label}: the reply is empty")
        if text.startswith("<"):
            raise ProtocolError(f"{op.label}: the reply is an HTML page, not a gateway message")
        outer = parse_params(text)
        data = outer.get("Data")
        if data is not None:
            plaintext = self.credentials.codec.decrypt(unquote(data.strip()), _len_of(outer))
            inner = parse_params(plaintext)
            clear_mid = outer.get_any("mid", "MerchantID")
            if clear_mid is not None and clear_mid.strip() != self.credentials.merchant_id:
                raise ProtocolError(f"{op.label}: the reply names another merchant ID")
            wanted = ("PayID", "Code") if op.name == "paypal_orders" else ("Code",)
            if inner.get_any(*wanted) is None:
                if _is_noise(plaintext):
                    raise BlowfishKeyError(
                        f"{op.label}: the reply's Data does not decrypt to a gateway message with the "
                        "configured Blowfish key: the key is most likely wrong (or the reply was forged); "
                        "the outcome is unknown. " + _retry_advice(prepared),
                        req_id=prepared.req_id,
                    )
                raise ProtocolError(
                    f"{op.label}: the encrypted part of the reply carries no {' or '.join(wanted)} "
                    "(fields in clear beside Data are not trusted); the outcome is unknown. "
                    + _retry_advice(prepared)
                )
            return inner, True
        if not op.plain_reply:
            code = (outer.get("Code") or "").strip()
            if code and code.upper() != SUCCESS:
                # A refusal in clear is reported as such (it grants nothing); success never is.
                return outer, False
            raise ProtocolError(f"{op.label}: the reply carries no Data (an encrypted reply is required)")
        if outer.get_any("PayID", "Code") is None:
            raise ProtocolError(f"{op.label}: the reply is not a gateway message (no PayID, no Code)")
        url = outer.get("paypalurl")
        if url is not None and url.lower().startswith(("http%3a", "https%3a")):
            outer = outer.merged({outer.original_key("paypalurl"): unquote(url)})
        return outer, False

    def _check_merchant(self, op: Operation, params: Params) -> None:
        mid = params.get_any("mid", "MerchantID")
        if mid is not None and mid.strip() != self.credentials.merchant_id:
            raise ProtocolError(f"{op.label}: the reply names another merchant ID")

    def _check_mac(self, op: Operation, params: Params) -> None:
        mac = params.get("MAC")
        if mac is None:
            return  # S2S replies usually carry none (D10); decryption authenticated it
        values = [(params.get(k) or "").strip() for k in ("PayID", "TransID", "Status", "Code")]
        if not verify(
            self.credentials.hmac_key_bytes(),
            mac,
            values[0],
            values[1],
            self.credentials.merchant_id,
            values[2],
            values[3],
        ):
            raise SignatureError(
                f"{op.label}: the reply's MAC does not verify (PayID={values[0] or '-'}, "
                f"TransID={values[1] or '-'})"
            )

    def _check_echoes(self, op: Operation, prepared: PreparedRequest, pay_id: str, trans_id: str) -> None:
        """``pay_id`` and ``trans_id``: the reply's, stripped ("" when absent)."""
        if trans_id and trans_id != prepared.trans_id:
            raise ProtocolError(
                f"{op.label}: the reply's TransID {_shown(trans_id, 64)!r} does not echo the request's "
                f"{prepared.trans_id!r}"
            )
        if op.echo_pay_id and pay_id and pay_id != prepared.pay_id:
            raise ProtocolError(
                f"{op.label}: the reply's PayID {_shown(pay_id, 64)!r} does not echo the request's "
                f"{prepared.pay_id!r}"
            )

    def _check_code(self, op: Operation, prepared: PreparedRequest, params: Params, reply_pay_id: str) -> None:
        """``reply_pay_id``: the reply's PayID, stripped ("" when absent)."""
        raw_code = params.get("Code")
        code = (raw_code or "").strip().upper()
        if code == SUCCESS:
            return
        pay_id = reply_pay_id or prepared.pay_id
        if not code:
            if op.name == "paypal_orders" and params.get("PayID"):
                return  # the plain reply carries no Code on success (§4.5)
            raise ProtocolError(
                f"{op.label}: the reply carries no Code"
                + (" and no PayID" if op.name == "paypal_orders" else "")
            )
        code = _shown(code, 32)
        pay_id = _shown(pay_id, 64) if pay_id else pay_id
        status = _shown((params.get("Status") or "").strip(), 32) or None
        description = _shown((params.get("Description") or "").strip(), 512) or None
        code_ext = _shown((params.get("CodeExt") or "").strip(), 64) or None
        try:
            info = explain(code)
            explanation = info.summary + (f"; {info.advice}" if info.advice else "")
            module = info.module
        except ValueError:
            explanation = "malformed response code"
            module = ""
        if module in _PARAMETER_MODULES and prepared.relaxed:
            explanation += "; the request relied on relaxed rules: " + "; ".join(prepared.relaxed)
        if code in _AUTH_CODES:
            explanation += _charset_hint(prepared, self.credentials.charset)
        cls = GatewayAuthenticationError if code in _AUTH_CODES else GatewayError
        message = (
            f"{op.label}: the gateway answered Code {code} ({explanation})"
            f"{f', Status {status}' if status else ''}"
            f"{f', Description {description!r}' if description else ''}"
            f"; PayID={pay_id or '-'}, TransID={prepared.trans_id}"
            f"{f', ReqId={prepared.req_id}' if prepared.req_id else ''}"
        )
        raise cls(
            message,
            code=code,
            status=status,
            description=description,
            pay_id=pay_id,
            trans_id=prepared.trans_id,
            explanation=explanation,
            code_ext=code_ext,
            req_id=prepared.req_id,
        )

    def _build_result(self, op: Operation, prepared: PreparedRequest, params: Params, pay_id: str) -> Result:
        """``pay_id``: the reply's PayID, stripped ("" when absent)."""
        if not pay_id:
            raise ProtocolError(f"{op.label}: the reply carries no PayID")
        if op.name == "paypal_orders":
            if not _AN32.fullmatch(pay_id):
                raise ProtocolError(f"{op.label}: the reply's PayID is not 32 letters and digits")
            xid = (params.get("XID") or "").strip()
            if xid and not _AN32.fullmatch(xid):
                raise ProtocolError(f"{op.label}: the reply's XID is not 32 letters and digits")
        result = op.result._from_reply(params, op.name, prepared.req_id)
        if isinstance(result, PayPalOrderResult):
            self._check_order_result(op, prepared, result)
        return result

    def _check_order_result(self, op: Operation, prepared: PreparedRequest, result: PayPalOrderResult) -> None:
        request = prepared.request
        assert isinstance(request, PayPalOrderRequest)
        if result.paypal_url is not None:
            split = _browser_url(result.paypal_url)
            if split is None:
                raise ProtocolError(
                    f"{op.label}: the approval URL (paypalurl) is not one that every browser reads as this "
                    "library does (backslash, userinfo, encoded or numeric host, whitespace or other "
                    "characters outside plain URL syntax)"
                )
            scheme, host = split
            paypal_host = scheme == "https" and (host == "paypal.com" or host.endswith(".paypal.com"))
            if not (paypal_host or is_loopback_host(host)):
                raise ProtocolError(f"{op.label}: the approval URL is not an https URL on paypal.com")
        if request.tx_type == "BAID":
            if result.paypal_url is None:
                raise ProtocolError(f"{op.label}: the BAID reply carries no approval URL (paypalurl)")
        elif request.mode != "redirect" and result.order_id is None:
            raise ProtocolError(f"{op.label}: the reply carries no orderid for the Smart Button")

    # -- the whole call ---------------------------------------------------------------------

    def exchange(
        self, prepared: PreparedRequest, *, journal: bool = False
    ) -> Generator[Send | Sleep | Record, Any, Result]:
        """Send ``prepared`` (with retries when nothing reached the server), read the reply,
        log one line, return the result. Drive it with ``send()``: each :class:`Send` step is
        answered with a :class:`RawReply` or a :class:`SendFailure`, each :class:`Sleep` with
        ``None``. With ``journal`` (a client with a ledger) the steps also include
        :class:`Record`: the intent before anything leaves, each attempt, the outcome."""
        if not journal:
            return (yield from self._exchange(prepared))
        handle = yield Record("intent", prepared)
        try:
            result = yield from self._exchange(prepared, handle, journal=True)
        except AxeptaError as exc:
            yield Record("outcome", prepared, handle, error=exc)
            raise
        yield Record("outcome", prepared, handle, result=result)
        return result

    def _exchange(
        self, prepared: PreparedRequest, handle: object = None, *, journal: bool = False
    ) -> Generator[Send | Sleep | Record, Any, Result]:
        op = OPERATIONS[prepared.operation]
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            if journal:
                yield Record("sent", prepared, handle, attempt)
            answer = yield Send(prepared, attempt)
            if isinstance(answer, SendFailure):
                if not answer.sent and answer.retryable and attempt <= self.max_retries:
                    logger.info(
                        "axepta retry operation=%s trans_id=%s req_id=%s attempt=%d reason=%s",
                        op.name,
                        prepared.trans_id,
                        prepared.req_id or "-",
                        attempt,
                        answer.reason,
                    )
                    delay = self.retry_backoff * (2 ** (attempt - 1))
                    if delay > 0:
                        yield Sleep(delay)
                    continue
                error = _transport_error(op, prepared, answer, attempt)
                self._log(op, prepared, None, started, attempt, error)
                raise error from answer.cause
            if not isinstance(answer, RawReply):
                raise TypeError("exchange: a Send step must be answered with RawReply or SendFailure")
            try:
                result = self.parse_reply(prepared, answer)
            except AxeptaError as exc:
                self._log(op, prepared, None, started, attempt, exc)
                raise
            self._log(op, prepared, result, started, attempt, None)
            return result

    def _log(
        self,
        op: Operation,
        prepared: PreparedRequest,
        result: Result | None,
        started: float,
        attempts: int,
        error: AxeptaError | None,
    ) -> None:
        latency_ms = round((self._clock() - started) * 1000, 1)
        if isinstance(error, GatewayError):
            pay_id, code, status, outcome = error.pay_id, error.code, error.status, "declined"
        elif error is not None:
            pay_id, code, status, outcome = prepared.pay_id, None, None, type(error).__name__
        else:
            assert result is not None
            pay_id, code, status, outcome = result.pay_id, result.code, result.status, "ok"
        record = {
            "operation": op.name,
            "pay_id": pay_id,
            "trans_id": prepared.trans_id,
            "req_id": prepared.req_id,
            "code": code,
            "status": status,
            "outcome": outcome,
            "attempts": attempts,
            "latency_ms": latency_ms,
        }
        level = logging.INFO if error is None else logging.WARNING
        logger.log(
            level,
            "axepta call operation=%s pay_id=%s trans_id=%s req_id=%s code=%s status=%s "
            "outcome=%s attempts=%d latency_ms=%.1f",
            op.name,
            pay_id or "-",
            prepared.trans_id,
            prepared.req_id or "-",
            code or "-",
            status or "-",
            outcome,
            attempts,
            latency_ms,
            extra={"axepta": record},
        )


def _shown(value: str, limit: int) -> str:
    """Reply text that no key authenticates (a refusal in clear), fit for an error message or a
    log line: unprintable characters (newlines, escapes) replaced by ``?``, at most ``limit``
    characters."""
    text = value if value.isprintable() else "".join(c if c.isprintable() else "?" for c in value)
    return text if len(text) <= limit else text[:limit] + "…"


# URLs handed to a browser (approval URLs, the redirect-mode Location). Python's urlsplit and the
# WHATWG parser browsers use disagree on backslashes (a path separator for browsers), userinfo,
# percent-encoded and numeric (IPv4 shorthand) hosts, missing or extra slashes, tabs and newlines
# (browsers drop them), dot segments and characters browsers percent-encode. Rather than carry a
# second URL parser, only the grammar on which both read the same host is accepted: an ASCII
# scheme, "://", letters-digits-hyphens labels (or [::1]), an optional decimal port, then RFC 3986
# path/query/fragment characters without quotes or dot segments.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&()*+,;=:@]|%[0-9A-Fa-f]{2})"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_BROWSER_URL = re.compile(
    rf"(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*|\[::1\])(?::(?P<port>[0-9]{{1,5}}))?"
    rf"(?P<path>/(?:{_PCHAR}|/)*)?(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?",
    re.IGNORECASE | re.ASCII,
)
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*", re.IGNORECASE | re.ASCII)
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])")
_DOT_SEGMENTS = frozenset({".", "..", "%2e", "%2e%2e", ".%2e", "%2e."})
_MAX_BROWSER_URL = 2048


def _browser_url(url: str | None) -> tuple[str, str] | None:
    """``(scheme, host)`` (both lowercase) of a URL that urlsplit and a browser read alike, or
    ``None`` when it falls outside that grammar (see the comment above)."""
    if not url or len(url) > _MAX_BROWSER_URL:
        return None
    match = _BROWSER_URL.fullmatch(url)
    if match is None:
        return None
    host = match["host"].lower()
    last = host.rsplit(".", 1)[-1]
    if _NUMERIC_LABEL.fullmatch(last) and not _IPV4.fullmatch(host):
        return None  # a browser reads 127.1, 0x7f.0.0.1 or 2130706433 as an IPv4 address
    if match["port"] is not None and int(match["port"]) > 65535:
        return None
    path = match["path"] or ""
    if any(segment.lower() in _DOT_SEGMENTS for segment in path.split("/")):
        return None
    parts = urlsplit(url)  # belt and braces: Python must read the same host
    if (parts.hostname or "").lower() != host.strip("[]") or parts.username is not None:
        return None
    return match["scheme"].lower(), host


_WIRE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,63}")


def _is_noise(plaintext: str) -> bool:
    """``True`` when a decrypted ``Data`` is not ``Key=Value&…`` at all (what a wrong key or
    forged hex digits give): a segment without ``=`` or with a key that is no field name."""
    segments = [s for s in plaintext.split("&") if s]
    if not segments:
        return True
    for segment in segments:
        key, sep, _ = segment.partition("=")
        if not sep or not _WIRE_KEY.fullmatch(key):
            return True
    return False


def _require_encrypted(op: Operation, pay_id: str, trans_id: str) -> None:
    """A success read from ``Data`` names its payment there: ``PayID`` and ``TransID`` (both
    stripped, "" when absent)."""
    for key, value in (("PayID", pay_id), ("TransID", trans_id)) if op.name != "paypal_orders" else (("PayID", pay_id),):
        if not value:
            raise ProtocolError(
                f"{op.label}: the encrypted part of the reply carries no {key} "
                "(fields in clear beside Data are not trusted)"
            )


def _join(fields: Mapping[str, str]) -> str:
    """:func:`encode_params` for the core's own plaintexts (field names are its constants, no
    value is ``None``): one join, and the one-'&'-per-pair count proves no value holds an '&';
    otherwise :func:`encode_params` names the field."""
    text = "&".join([f"{k}={v}" for k, v in fields.items()])
    if text.count("&") != len(fields) - 1:
        return encode_params(fields)  # raises InvalidRequestError naming the field
    return text


def _uuid4_hex() -> str:
    """``uuid.uuid4().hex`` (32 lowercase hex digits of a random version-4 UUID) without building
    a ``UUID``: the same 16 random bytes with the same version and variant bits."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


_REFUND_KEYS: Final = ("GrossRefundAmount", "NetRefundAmount", "FeeRefundAmount")


def _check_same_operation(op: Operation, prepared: PreparedRequest, params: Params) -> None:
    """A success must answer *this* operation. The platform answers a ReqId it already knows with
    the first request's outcome (§6.1), even when the new request is another operation: a
    capture's success replayed to a credit would report a refund that never happened. A credit
    reports the amount refunded (it must equal the request's), nothing else reports a refund,
    and a reversal creates no PayPal id (TID)."""
    why = None
    if op.name in ("credit", "credit_ex"):
        gross = (params.get("GrossRefundAmount") or "").strip()
        amount = str(prepared.request.amount)
        if not gross:
            why = "reports no refund (no GrossRefundAmount)"
        elif gross != amount:
            why = f"reports GrossRefundAmount {_shown(gross, 12)}, not the {amount} requested"
    elif params.get_any(*_REFUND_KEYS) is not None:
        why = "reports a refund (GrossRefundAmount/NetRefundAmount/FeeRefundAmount): it answers a credit"
    elif op.name == "reverse" and (params.get("TID") or "").strip():
        why = "carries a TID (PayPal capture or refund id), which a reversal does not create"
    if why is None:
        return
    reused = f"ReqId {prepared.req_id}" if prepared.req_id else "the request"
    raise ProtocolError(
        f"{op.label}: the success reply {why}; it belongs to another operation. A ReqId the platform "
        f"already knows is answered with the first request's outcome (PROTOCOL.md §6.1): {reused} was "
        f"probably used before for another operation, and this {op.label} was not carried out. "
        "Check the payment (inquire, back office) and use a new ReqId for a new operation."
    )


def _len_of(params: Params) -> str | None:
    value = params.get("Len")
    return None if value is None else value.strip()


def _retry_advice(prepared: PreparedRequest | PreparedInquiry) -> str:
    if not prepared.money_moving and prepared.operation in ("inquire", "inquire24"):
        return "An inquiry changes nothing: asking again is safe."
    if prepared.req_id:
        return (
            "Check the outcome (notification, back office) before trying again, and try again "
            f"only with the same ReqId {prepared.req_id}."
        )
    return (
        "This operation has no ReqId: reconcile (notification, back office) before trying "
        "again, or it may be carried out twice."
    )


def _transport_error(op: Operation, prepared: PreparedRequest, failure: SendFailure, attempts: int) -> TransportError:
    if not failure.sent:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        again = f" with ReqId {prepared.req_id}" if prepared.req_id else ""
        message = (
            f"{op.label}: {failure.reason}{tries}; the request never reached the gateway, "
            f"so it is safe to try again{again}."
        )
    else:
        message = f"{op.label}: {failure.reason} after the request was sent; the outcome is unknown. " + _retry_advice(prepared)
    return TransportError(message, req_id=prepared.req_id, sent=failure.sent, operation=op.name)


def _charset_hint(prepared: PreparedRequest, charset: str) -> str:
    """For a MAC refusal (20100044/20120044) of a request with non-ASCII text: the likely cause
    is a merchant account set up for another charset (issue 12 item 2). Names fields only."""
    texts = [key for key, value in prepared.fields.items() if key != "MAC" and not value.isascii()]
    if not texts:
        return ""
    other = "ISO-8859-1" if charset == "utf-8" else "UTF-8"
    return (
        f"; the request carries non-ASCII text ({', '.join(texts)}) encoded as {charset}: if the merchant "
        f"account expects {other}, Len no longer matches what the platform decodes and the MAC fails — "
        "check the charset setting (AXEPTA_CHARSET, the profile's charset, Credentials(charset=...))"
    )


_NS_REF_NR = (PayPalOrderRequest, CompleteRequest, CreditExRequest, ReferenceTransactionRequest)


def _relaxed_rules(request: Request) -> tuple[str, ...]:
    """The relaxed rules (§4) this request relies on, named in a parameter-code error."""
    notes: list[str] = []
    if isinstance(request, _NS_REF_NR):
        ref_nr = request.ref_nr
        if ref_nr and not ref_nr.isdigit() and any(c.isalpha() for c in ref_nr):
            notes.append("RefNr contains letters although 004 types it ns (Q17)")
    if isinstance(request, CompleteRequest) and request.address and request.address.first_name:
        empty = [k for k, v in (("AddrStreet2", request.address.street2), ("AddrState", request.address.state), ("Phone", request.address.phone)) if v is None]
        if empty:
            notes.append(f"{', '.join(empty)} sent empty with FirstName (Q10)")
    if isinstance(request, ReferenceTransactionRequest) and "-" in request.billing_agreement_id:
        notes.append("BillingAgreementID contains '-' although 004 types it an19 (Q16)")
    return tuple(notes)

