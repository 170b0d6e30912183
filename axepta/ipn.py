"""PayPal IPN (Instant Payment Notification): PayPal's own channel, independent of the platform's
``URLNotify`` (PROTOCOL.md §9; seeds 002, 001, 003, 000).

* :func:`parse_ipn` decodes a message with its own ``charset`` and types it (:class:`IpnMessage`);
  it never rejects a message for a value it does not understand (unknown enumerated values, odd
  dates and malformed amounts are kept as text), since a rejected IPN is lost once PayPal stops
  resending.
* :func:`verify_ipn` (and :func:`averify_ipn`) post ``cmd=_notify-validate&`` followed by the
  unaltered original bytes back to PayPal and report ``verified``, ``invalid`` or
  ``unverified`` — the last one whenever PayPal could not be asked (timeout, network error,
  non-200, unexpected answer): never process it, never drop it.
* :func:`check_ipn` runs the checks of §9.4 after ``VERIFIED`` (receiver, environment, amount,
  currency); :func:`ipn_decision` and :class:`IpnLedger` de-duplicate on
  (``txn_id``, ``payment_status``) without letting a late message move a payment backwards.
"""

from __future__ import annotations

import codecs
import enum
import hashlib
import logging
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import unquote_to_bytes, urlsplit

import anyio
import httpx

from axepta import __version__, _http
from axepta.errors import ConfigurationError, NotificationError
from axepta.fields import is_loopback_host

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "IPN_LIVE_URL",
    "IPN_SANDBOX_URL",
    "MAX_IPN_BYTES",
    "USER_AGENT",
    "CartItem",
    "CaseType",
    "IpnCheck",
    "IpnDecision",
    "IpnLedger",
    "IpnMessage",
    "IpnProblem",
    "IpnVerification",
    "MassPayStatus",
    "MassPayment",
    "PaymentStatus",
    "PendingReason",
    "ReasonCode",
    "TxnType",
    "averify_ipn",
    "check_ipn",
    "ipn_decision",
    "parse_ipn",
    "parse_ipn_date",
    "postback_body",
    "status_rank",
    "verification_url",
    "verify_ipn",
]

logger = logging.getLogger("axepta.ipn")
logger.addHandler(logging.NullHandler())  # a library logs; the application decides where

IPN_LIVE_URL = "https://ipnpb.paypal.com/cgi-bin/webscr"
IPN_SANDBOX_URL = "https://ipnpb.sandbox.paypal.com/cgi-bin/webscr"
#: PayPal answers 403 to a postback without a User-Agent (§9.2).
USER_AGENT = f"axepta-python/{__version__} (PayPal IPN listener; +https://pypi.org/project/axepta/)"
#: Seconds allowed to connect, and for the whole postback (keeps a synchronous listener inside
#: PayPal's 30 s).
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_TIMEOUT = 20.0
#: IPN messages are a few KiB; anything beyond this is not one.
MAX_IPN_BYTES = 256 * 1024
_MAX_ANSWER_BYTES = 4096
_POSTBACK_PREFIX = b"cmd=_notify-validate&"
_FALLBACK_CHARSET = "cp1252"


# --------------------------------------------------------------------------------------------
# Enumerated values that accept the unknown


def _normalise(value: str) -> str:
    return re.sub(r"[\s_-]+", "_", value.strip().lower())


class _OpenEnum(enum.StrEnum):
    """A PayPal enumeration that still accepts values it does not know.

    Values are compared case-insensitively with ``-``, ``_`` and spaces alike
    (``PaymentStatus("canceled-reversal") is PaymentStatus.CANCELED_REVERSAL``, and
    ``PaymentStatus.COMPLETED == "COMPLETED"``). An unknown value becomes a pseudo-member named
    ``UNKNOWN`` whose value is the text received (:attr:`known` is then ``False``); the
    message's raw text is always kept in :attr:`IpnMessage.fields`.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        norm = _normalise(value)
        for member in cls:
            if _normalise(member.value) == norm:
                return member
        pseudo = str.__new__(cls, value)
        pseudo._name_ = "UNKNOWN"
        pseudo._value_ = value
        return pseudo

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return _normalise(self) == _normalise(other)
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(_normalise(self))

    @property
    def known(self) -> bool:
        """Whether the value is one this client knows (else a pseudo-member ``UNKNOWN``)."""
        return self._name_ != "UNKNOWN"


class TxnType(_OpenEnum):
    """``txn_type`` (002 §IPN Transaction Types, plus current values). Absent (``None``) with
    ``case_type=chargeback`` means a chargeback on a card payment."""

    ADJUSTMENT = "adjustment"
    CART = "cart"
    EXPRESS_CHECKOUT = "express_checkout"
    MASSPAY = "masspay"
    MERCH_PMT = "merch_pmt"
    MP_CANCEL = "mp_cancel"
    MP_SIGNUP = "mp_signup"
    NEW_CASE = "new_case"
    RECURRING_PAYMENT = "recurring_payment"
    RECURRING_PAYMENT_EXPIRED = "recurring_payment_expired"
    RECURRING_PAYMENT_FAILED = "recurring_payment_failed"
    RECURRING_PAYMENT_PROFILE_CANCEL = "recurring_payment_profile_cancel"
    RECURRING_PAYMENT_PROFILE_CREATED = "recurring_payment_profile_created"
    RECURRING_PAYMENT_SKIPPED = "recurring_payment_skipped"
    RECURRING_PAYMENT_SUSPENDED = "recurring_payment_suspended"
    SEND_MONEY = "send_money"
    SUBSCR_CANCEL = "subscr_cancel"
    SUBSCR_EOT = "subscr_eot"
    SUBSCR_FAILED = "subscr_failed"
    SUBSCR_MODIFY = "subscr_modify"
    SUBSCR_PAYMENT = "subscr_payment"
    SUBSCR_SIGNUP = "subscr_signup"
    VIRTUAL_TERMINAL = "virtual_terminal"
    WEB_ACCEPT = "web_accept"


class PaymentStatus(_OpenEnum):
    """``payment_status`` (002, 003). Fulfil only on ``Completed``."""

    CANCELED_REVERSAL = "Canceled_Reversal"
    COMPLETED = "Completed"
    CREATED = "Created"
    DENIED = "Denied"
    EXPIRED = "Expired"
    FAILED = "Failed"
    PENDING = "Pending"
    PROCESSED = "Processed"
    REFUNDED = "Refunded"
    REVERSED = "Reversed"
    VOIDED = "Voided"


class PendingReason(_OpenEnum):
    """``pending_reason`` (only with ``Pending``)."""

    ADDRESS = "address"
    AUTHORIZATION = "authorization"
    DELAYED_DISBURSEMENT = "delayed_disbursement"
    ECHECK = "echeck"
    INTL = "intl"
    MULTI_CURRENCY = "multi_currency"
    ORDER = "order"
    OTHER = "other"
    PAYMENTREVIEW = "paymentreview"
    REGULATORY_REVIEW = "regulatory_review"
    UNILATERAL = "unilateral"
    UPGRADE = "upgrade"
    VERIFY = "verify"


class ReasonCode(_OpenEnum):
    """``reason_code``: reversals, refunds, disputes and failed Mass Pay records."""

    ADJUSTMENT_REIMBURSE = "adjustment_reimburse"
    ADJUSTMENT_REVERSAL = "adjustment_reversal"
    ADMIN_FRAUD_REVERSAL = "admin_fraud_reversal"
    ADMIN_REVERSAL = "admin_reversal"
    BUYER_COMPLAINT = "buyer-complaint"
    CHARGEBACK = "chargeback"
    CHARGEBACK_REIMBURSEMENT = "chargeback_reimbursement"
    CHARGEBACK_SETTLEMENT = "chargeback_settlement"
    DUPLICATE = "duplicate"
    GUARANTEE = "guarantee"
    MERCHANDISE = "merchandise"
    NON_RECEIPT = "non_receipt"
    NOT_AS_DESCRIBED = "not_as_described"
    OTHER = "other"
    REFUND = "refund"
    REGULATORY_BLOCK = "regulatory_block"
    REGULATORY_REJECT = "regulatory_reject"
    SPECIAL = "special"
    UNAUTHORIZED = "unauthorized"
    UNAUTHORIZED_CLAIM = "unauthorized_claim"
    UNAUTHORIZED_SPOOF = "unauthorized_spoof"
    MASSPAY_INVALID_USER_ID = "1001"
    MASSPAY_COUNTRY_OF_RESIDENCE = "1003"
    MASSPAY_COUNTRY_OF_FUNDING_SOURCE = "1004"


class CaseType(_OpenEnum):
    """``case_type`` of dispute messages."""

    CHARGEBACK = "chargeback"
    COMPLAINT = "complaint"
    DISPUTE = "dispute"


class MassPayStatus(_OpenEnum):
    """``status_x`` of a Mass Pay record (§9.7)."""

    COMPLETED = "Completed"
    FAILED = "Failed"
    RETURNED = "Returned"
    REVERSED = "Reversed"
    UNCLAIMED = "Unclaimed"


# --------------------------------------------------------------------------------------------
# Lenient values

_MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_ZONES = {"PST": timezone(timedelta(hours=-8), "PST"), "PDT": timezone(timedelta(hours=-7), "PDT")}
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_MONEY = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,8})?")


def parse_ipn_date(text: str | None) -> datetime | None:
    """Parse an IPN date leniently (PROTOCOL.md §9.1); ``None`` for ``N/A``, empty or anything
    that does not parse (logged, never an error).

    Accepts a ``HH:MM:SS`` time, the month name before or after the day, an extra 2-digit year
    before the 4-digit year (``HH:MM:SS DD Mmm YY, YYYY PST``), optional commas, and the zones
    ``PST`` (UTC−8) and ``PDT`` (UTC−7); another zone, or none, gives a naive time.
    """
    if text is None:
        return None
    stripped = text.strip()
    if not stripped or stripped.upper() == "N/A":
        return None
    tokens = stripped.replace(",", " ").split()
    clock: tuple[int, int, int] | None = None
    month_at: int | None = None
    month = 0
    zone: str | None = None
    numbers: list[tuple[int, str]] = []
    for i, token in enumerate(tokens):
        match = _TIME.fullmatch(token)
        if match and clock is None:
            clock = (int(match[1]), int(match[2]), int(match[3] or 0))
        elif token.isascii() and token.isdigit():
            numbers.append((i, token))
        elif token.isascii() and token.isalpha() and month_at is None and token[:3].lower() in _MONTHS:
            month_at, month = i, _MONTHS[token[:3].lower()]
        elif token.isascii() and token.isalpha():
            zone = token.upper()
    years = [t for _, t in numbers if len(t) == 4]
    small = [(i, t) for i, t in numbers if len(t) <= 2]
    day: int | None = None
    if month_at is not None:
        before = [t for i, t in small if i == month_at - 1]
        after = [t for i, t in small if i > month_at]
        day = int(before[0]) if before else int(after[0]) if after else None
    elif len(small) >= 2:  # "MM DD YYYY" without a month name
        month, day = int(small[0][1]), int(small[1][1])
    if clock is None or day is None or not years or not month:
        logger.warning("IPN date %r not understood; kept as text", stripped[:64])
        return None
    tz = _ZONES.get(zone or "")
    if tz is None:
        logger.warning("IPN date %r has no PST/PDT zone; read as a naive time", stripped[:64])
    try:
        return datetime(int(years[0]), month, day, *clock, tzinfo=tz)
    except ValueError:
        logger.warning("IPN date %r is not a valid date; kept as text", stripped[:64])
        return None


def _decimal(value: str | None, name: str, warnings: list[str]) -> Decimal | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if not _MONEY.fullmatch(text):
        warnings.append(f"{name} is not a decimal amount")
        return None
    return Decimal(text)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


# --------------------------------------------------------------------------------------------
# The message


@dataclass(frozen=True, slots=True)
class MassPayment:
    """One Mass Pay record (``_x`` variables, §9.7), in record order (``index`` from 1)."""

    index: int
    masspay_txn_id: str | None = None
    receiver_email: str | None = None
    mc_gross: Decimal | None = None
    mc_fee: Decimal | None = None
    mc_currency: str | None = None
    status: MassPayStatus | None = None
    unique_id: str | None = None
    reason_code: ReasonCode | None = None
    payment_gross: Decimal | None = None
    payment_fee: Decimal | None = None

    @property
    def dedup_key(self) -> tuple[str, str]:
        """(``masspay_txn_id_x``, ``status_x``): the per-record de-duplication key."""
        return (self.masspay_txn_id or "", _normalise(self.status or ""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "masspay_txn_id": self.masspay_txn_id,
            "receiver_email": self.receiver_email,
            "mc_gross": _str_or_none(self.mc_gross),
            "mc_fee": _str_or_none(self.mc_fee),
            "mc_currency": self.mc_currency,
            "status": _str_or_none(self.status),
            "unique_id": self.unique_id,
            "reason_code": _str_or_none(self.reason_code),
        }


@dataclass(frozen=True, slots=True)
class CartItem:
    """One shopping-cart item (``item_name_x``/``item_namex``, ``item_number_x``,
    ``quantity_x``, ``mc_gross_x``; the suffix with or without ``_``)."""

    index: int
    item_name: str | None = None
    item_number: str | None = None
    quantity: int | None = None
    mc_gross: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "item_name": self.item_name,
            "item_number": self.item_number,
            "quantity": self.quantity,
            "mc_gross": _str_or_none(self.mc_gross),
        }


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


_TEXT_ATTRIBUTES = (
    "txn_id", "parent_txn_id", "receiver_email", "receiver_id", "business", "payer_email", "payer_id",
    "payer_status", "payer_business_name", "first_name", "last_name", "contact_phone", "address_name",
    "address_street", "address_city", "address_state", "address_zip", "address_country",
    "address_country_code", "address_status", "residence_country", "mc_currency", "settle_currency",
    "payment_type", "protection_eligibility", "custom", "invoice", "item_name", "item_number", "memo",
    "receipt_id", "case_id", "auth_id", "auth_status", "transaction_entity", "notify_version",
    "verify_sign", "ipn_track_id", "mp_id", "subscr_id", "recurring_payment_id", "transaction_subject",
)
_MONEY_ATTRIBUTES = (
    "mc_gross", "mc_fee", "mc_handling", "mc_shipping", "payment_gross", "payment_fee", "handling_amount",
    "shipping", "tax", "settle_amount", "exchange_rate", "auth_amount", "remaining_settle",
)
_DATE_ATTRIBUTES = (
    "payment_date", "auth_exp", "case_creation_date", "echeck_time_processed", "subscr_date",
    "auction_closing_date",
)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class IpnMessage:
    """A decoded IPN message. Attributes are named as PayPal's variables; absent or empty
    values are ``None``.

    Typed: ``txn_type`` (:class:`TxnType`), ``payment_status`` (:class:`PaymentStatus`),
    ``pending_reason``, ``reason_code``, ``case_type`` (open enums: unknown values are kept);
    money (``mc_gross``, ``mc_fee``, ``auth_amount``, ``settle_amount``, ``exchange_rate``, …)
    as :class:`~decimal.Decimal` in major units (negative for refunds and reversals; ``None``
    and a warning when malformed); dates (``payment_date``, ``auth_exp``,
    ``case_creation_date``, …) as :class:`~datetime.datetime` (``None`` when they do not
    parse); ``test_ipn`` and ``resend`` as ``bool``; ``quantity`` and ``num_cart_items`` as
    ``int``. Repeated variables: ``mass_payments`` (:class:`MassPayment`),
    ``fraud_management_pending_filters`` (filter names), ``items`` (:class:`CartItem`).

    Untouched: ``raw`` (the body bytes, for the postback), ``fields`` (every variable decoded
    to text, in message order: the raw text of every typed value), ``charset`` (the codec
    used) and ``warnings`` (what was odd: unknown charset, undecodable bytes, bad amounts).
    """

    raw: bytes = field(repr=False)
    fields: Mapping[str, str] = field(repr=False)
    charset: str
    warnings: tuple[str, ...] = ()
    txn_id: str | None = None
    txn_type: TxnType | None = None
    payment_status: PaymentStatus | None = None
    pending_reason: PendingReason | None = None
    reason_code: ReasonCode | None = None
    case_type: CaseType | None = None
    case_id: str | None = None
    parent_txn_id: str | None = None
    auth_id: str | None = None
    auth_status: str | None = None
    transaction_entity: str | None = None
    receiver_email: str | None = None
    receiver_id: str | None = None
    business: str | None = None
    payer_email: str | None = None
    payer_id: str | None = None
    payer_status: str | None = None
    payer_business_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    contact_phone: str | None = None
    address_name: str | None = None
    address_street: str | None = None
    address_city: str | None = None
    address_state: str | None = None
    address_zip: str | None = None
    address_country: str | None = None
    address_country_code: str | None = None
    address_status: str | None = None
    residence_country: str | None = None
    mc_gross: Decimal | None = None
    mc_fee: Decimal | None = None
    mc_currency: str | None = None
    mc_handling: Decimal | None = None
    mc_shipping: Decimal | None = None
    payment_gross: Decimal | None = None
    payment_fee: Decimal | None = None
    handling_amount: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    settle_amount: Decimal | None = None
    settle_currency: str | None = None
    exchange_rate: Decimal | None = None
    auth_amount: Decimal | None = None
    remaining_settle: Decimal | None = None
    payment_date: datetime | None = None
    auth_exp: datetime | None = None
    case_creation_date: datetime | None = None
    echeck_time_processed: datetime | None = None
    subscr_date: datetime | None = None
    auction_closing_date: datetime | None = None
    payment_type: str | None = None
    protection_eligibility: str | None = None
    custom: str | None = None
    invoice: str | None = None
    item_name: str | None = None
    item_number: str | None = None
    quantity: int | None = None
    num_cart_items: int | None = None
    memo: str | None = None
    receipt_id: str | None = None
    transaction_subject: str | None = None
    notify_version: str | None = None
    verify_sign: str | None = field(default=None, repr=False)
    ipn_track_id: str | None = None
    mp_id: str | None = None
    subscr_id: str | None = None
    recurring_payment_id: str | None = None
    test_ipn: bool = False
    resend: bool = False
    mass_payments: list[MassPayment] = field(default_factory=list)
    fraud_management_pending_filters: list[str] = field(default_factory=list)
    items: list[CartItem] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"IpnMessage(txn_type={_str_or_none(self.txn_type)!r}, txn_id={self.txn_id!r}, "
            f"payment_status={_str_or_none(self.payment_status)!r}, mc_gross={_str_or_none(self.mc_gross)!r}, "
            f"mc_currency={self.mc_currency!r}, test_ipn={self.test_ipn!r})"
        )

    def get(self, name: str, default: str | None = None) -> str | None:
        """The decoded text of any variable (``message.get("option_name1")``)."""
        return self.fields.get(name, default)

    @property
    def environment(self) -> Literal["test", "production"]:
        """``test`` when ``test_ipn=1`` (a sandbox message), else ``production``."""
        return "test" if self.test_ipn else "production"

    @property
    def completed(self) -> bool:
        """``payment_status`` is ``Completed``: the only status to fulfil on (§9.4)."""
        return self.payment_status == PaymentStatus.COMPLETED

    @property
    def dedup_key(self) -> tuple[str, str]:
        """(``txn_id``, ``payment_status``) normalised (§9.4). A message without ``txn_id``
        (billing agreements, account events) is keyed on ``ipn_track_id``, else on a digest of
        its body."""
        ident = self.txn_id or self.ipn_track_id or "sha256:" + hashlib.sha256(self.raw).hexdigest()[:32]
        return (ident, _normalise(self.payment_status or (self.txn_type or "")))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (amounts and dates as strings; ``raw`` left out: ``fields`` holds
        its decoded text)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name == "raw":
                continue
            value = getattr(self, name)
            if name in ("mass_payments", "items"):
                value = [v.as_dict() for v in value]
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Decimal | enum.Enum):
                value = str(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        out["environment"] = self.environment
        return out


def _charset_of(pairs: list[tuple[bytes, bytes]], content_type: str | None, warnings: list[str]) -> str:
    declared = next((v for k, v in pairs if k.strip().lower() == b"charset"), None)
    candidates: list[tuple[str, str]] = []
    if declared is not None:
        candidates.append(("the message's charset", declared.decode("ascii", "replace").strip()))
    if content_type:
        match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", content_type, re.IGNORECASE)
        if match:
            candidates.append(("the Content-Type charset", match[1]))
    for where, name in candidates:
        try:
            return codecs.lookup(name).name
        except LookupError:
            warnings.append(f"{where} {name[:40]!r} is unknown; decoded as windows-1252")
            logger.warning("IPN %s %r is unknown; decoding as windows-1252", where, name[:40])
            return _FALLBACK_CHARSET
    if declared is None:
        logger.info("IPN without charset; decoding as windows-1252")
    return _FALLBACK_CHARSET


def _decode(value: bytes, charset: str, name: str, warnings: list[str]) -> str:
    try:
        return value.decode(charset)
    except UnicodeDecodeError:
        warnings.append(f"{name} is not valid {charset}; undecodable bytes replaced")
        return value.decode(charset, "replace")


def _records(fields: Mapping[str, str], names: tuple[str, ...], *, bare: bool = False) -> list[int]:
    """Record numbers 1, 2, … while at least one of ``names`` carries that number."""
    numbers = []
    n = 1
    while any(f"{name}_{n}" in fields or (bare and f"{name}{n}" in fields) for name in names):
        numbers.append(n)
        n += 1
    return numbers


E = TypeVar("E", bound=_OpenEnum)


def _open_enum(cls: type[E], value: str | None) -> E | None:
    text = _text(value)
    return None if text is None else cls(text)


def parse_ipn(raw: bytes, content_type: str | None = None) -> IpnMessage:
    """Decode an IPN body (PROTOCOL.md §9.1).

    ``raw`` is the request body exactly as received (``bytes``: the same bytes must be posted
    back). Values are percent-decoded to bytes, then decoded with the message's own ``charset``
    variable, else the charset of ``content_type`` (the request's ``Content-Type`` header), else
    windows-1252. Nothing in the values makes the parse fail; oddities are listed in
    :attr:`IpnMessage.warnings`.

    Raises :class:`TypeError` for a ``str`` body (re-encoding breaks the postback) and
    :class:`~axepta.errors.NotificationError` for a body that is empty or over
    :data:`MAX_IPN_BYTES` (``reason`` ``format`` or ``size``).
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(
            f"parse_ipn needs the raw body bytes, not {type(raw).__name__}: re-encoding a "
            "message makes PayPal answer INVALID"
        )
    body = bytes(raw)
    if len(body) > MAX_IPN_BYTES:
        raise NotificationError(f"the IPN body is larger than {MAX_IPN_BYTES} bytes", reason="size")
    pairs = []
    for segment in body.split(b"&"):
        if segment:
            name, _, text = segment.partition(b"=")
            pairs.append((unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(text.replace(b"+", b" "))))
    if not pairs:
        raise NotificationError("the IPN body is empty", reason="format")
    warnings: list[str] = []
    charset = _charset_of(pairs, content_type, warnings)
    fields: dict[str, str] = {}
    for key_bytes, value_bytes in pairs:
        key = key_bytes.decode("ascii", "replace").strip()
        if key in fields:
            warnings.append(f"variable {key[:40]!r} occurs twice; the first is kept")
            continue
        fields[key] = _decode(value_bytes, charset, key[:40], warnings)
    return _build(body, fields, charset, warnings)


def _build(body: bytes, fields: dict[str, str], charset: str, warnings: list[str]) -> IpnMessage:
    values: dict[str, Any] = {name: _text(fields.get(name)) for name in _TEXT_ATTRIBUTES}
    for name in _MONEY_ATTRIBUTES:
        values[name] = _decimal(fields.get(name), name, warnings)
    for name in _DATE_ATTRIBUTES:
        values[name] = parse_ipn_date(fields.get(name))
    txn_type = _open_enum(TxnType, fields.get("txn_type"))
    mass_payments: list[MassPayment] = []
    items: list[CartItem] = []
    if txn_type == TxnType.MASSPAY or "masspay_txn_id_1" in fields:
        record_names = (
            "masspay_txn_id", "receiver_email", "mc_gross", "mc_fee", "mc_currency", "status", "unique_id",
            "reason_code", "payment_gross", "payment_fee",
        )
        for n in _records(fields, record_names):
            mass_payments.append(
                MassPayment(
                    index=n,
                    masspay_txn_id=_text(fields.get(f"masspay_txn_id_{n}")),
                    receiver_email=_text(fields.get(f"receiver_email_{n}")),
                    mc_gross=_decimal(fields.get(f"mc_gross_{n}"), f"mc_gross_{n}", warnings),
                    mc_fee=_decimal(fields.get(f"mc_fee_{n}"), f"mc_fee_{n}", warnings),
                    mc_currency=_text(fields.get(f"mc_currency_{n}")),
                    status=_open_enum(MassPayStatus, fields.get(f"status_{n}")),
                    unique_id=_text(fields.get(f"unique_id_{n}")),
                    reason_code=_open_enum(ReasonCode, fields.get(f"reason_code_{n}")),
                    payment_gross=_decimal(fields.get(f"payment_gross_{n}"), f"payment_gross_{n}", warnings),
                    payment_fee=_decimal(fields.get(f"payment_fee_{n}"), f"payment_fee_{n}", warnings),
                )
            )
    else:
        for n in _records(fields, ("item_name", "item_number", "quantity", "mc_gross"), bare=True):

            def pick(name: str, n: int = n) -> str | None:
                value = fields.get(f"{name}_{n}")
                return fields.get(f"{name}{n}") if value is None else value

            items.append(
                CartItem(
                    index=n,
                    item_name=_text(pick("item_name")),
                    item_number=_text(pick("item_number")),
                    quantity=_int(pick("quantity")),
                    mc_gross=_decimal(pick("mc_gross"), f"mc_gross_{n}", warnings),
                )
            )
    filters = [
        _text(fields[f"fraud_management_pending_filters_{n}"]) or ""
        for n in _records(fields, ("fraud_management_pending_filters",))
    ]
    for warning in warnings:
        logger.warning("IPN %s: %s", values["txn_id"] or values["ipn_track_id"] or "-", warning)
    return IpnMessage(
        raw=body,
        fields=fields,
        charset=charset,
        warnings=tuple(warnings),
        txn_type=txn_type,
        payment_status=_open_enum(PaymentStatus, fields.get("payment_status")),
        pending_reason=_open_enum(PendingReason, fields.get("pending_reason")),
        reason_code=_open_enum(ReasonCode, fields.get("reason_code")),
        case_type=_open_enum(CaseType, fields.get("case_type")),
        quantity=_int(fields.get("quantity")),
        num_cart_items=_int(fields.get("num_cart_items")),
        test_ipn=(fields.get("test_ipn") or "").strip() == "1",
        resend=(fields.get("resend") or "").strip().lower() == "true",
        mass_payments=mass_payments,
        fraud_management_pending_filters=filters,
        items=items,
        **values,
    )


# --------------------------------------------------------------------------------------------
# Verification (the postback)

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


# --------------------------------------------------------------------------------------------
# Checks after VERIFIED, de-duplication

Check = Literal["receiver", "environment", "amount", "currency"]


@dataclass(frozen=True, slots=True)
class IpnProblem:
    """One failed check: ``check`` names it, ``message`` explains it."""

    check: Check
    message: str


@dataclass(frozen=True, slots=True)
class IpnCheck:
    """The result of :func:`check_ipn`: ``ok`` when ``problems`` is empty."""

    problems: tuple[IpnProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok


def _same_text(a: str | None, b: str) -> bool:
    return a is not None and a.strip().casefold() == b.strip().casefold()


def check_ipn(
    message: IpnMessage,
    *,
    receiver_emails: Iterable[str] = (),
    receiver_ids: Iterable[str] = (),
    environment: Literal["test", "production"] | None = None,
    amount: Decimal | None = None,
    currency: str | None = None,
) -> IpnCheck:
    """The checks of §9.4 on a message (run after ``VERIFIED``; the environment check also
    before verifying, §9.3). Nothing is raised for the message: every failed check is an
    :class:`IpnProblem` in the result.

    * receiver: ``receiver_id`` is one of ``receiver_ids``, or ``receiver_email`` or
      ``business`` is one of ``receiver_emails`` (case-insensitive). For ``masspay`` the shop is
      the sender: ``payer_id``/``payer_email`` are compared instead. At least one id or
      address is required (else :class:`~axepta.errors.ConfigurationError`).
    * environment: ``test_ipn=1`` exactly when ``environment`` is ``test`` (when given).
    * amount / currency: ``mc_gross`` equals ``amount`` (:class:`~decimal.Decimal`, so
      ``19.95 == 19.950``; negative for refunds) and ``mc_currency`` equals ``currency``
      (case-insensitive), when given.
    """
    emails = [e for e in receiver_emails if e.strip()]
    ids = [i for i in receiver_ids if i.strip()]
    if not emails and not ids:
        raise ConfigurationError("check_ipn needs the receiving account: receiver_emails or receiver_ids")
    if amount is not None and not isinstance(amount, Decimal):
        raise TypeError("amount must be a Decimal (floats cannot compare money exactly)")
    problems: list[IpnProblem] = []
    account_ids: tuple[str | None, ...]
    account_emails: tuple[str | None, ...]
    if message.txn_type == TxnType.MASSPAY:
        account_ids, account_emails, who = (message.payer_id,), (message.payer_email,), "sender"
    else:
        account_ids = (message.receiver_id,)
        account_emails = (message.receiver_email, message.business)
        who = "receiver"
    id_ok = any(_same_text(have, want) for have in account_ids for want in ids)
    email_ok = any(_same_text(have, want) for have in account_emails for want in emails)
    if not (id_ok or email_ok):
        problems.append(IpnProblem("receiver", f"the message's {who} is not one of the configured accounts"))
    if environment is not None and message.environment != environment:
        problems.append(
            IpnProblem(
                "environment",
                f"the message is a {message.environment} message (test_ipn="
                f"{'1' if message.test_ipn else 'absent'}) but this listener is {environment}",
            )
        )
    if amount is not None and message.mc_gross != amount:
        problems.append(IpnProblem("amount", f"mc_gross is {message.mc_gross}, expected {amount}"))
    if currency is not None and not _same_text(message.mc_currency, currency):
        problems.append(IpnProblem("currency", f"mc_currency is {message.mc_currency}, expected {currency.upper()}"))
    return IpnCheck(tuple(problems))


#: How far a status moves a transaction (§9.4): a message whose status ranks below one already
#: applied for the same ``txn_id`` arrived late and must not move the payment backwards.
_RANKS: dict[str, int] = {
    "pending": 1, "created": 1, "processed": 1, "unclaimed": 1,
    "completed": 2, "denied": 2, "failed": 2, "expired": 2, "voided": 2, "returned": 2,
    "refunded": 3, "reversed": 3,
    "canceled_reversal": 4,
}

IpnDecision = Literal["new", "duplicate", "stale"]


def status_rank(status: str | None) -> int:
    """The rank of a ``payment_status`` (or Mass Pay ``status_x``): ``Pending``/``Created``/
    ``Processed``/``Unclaimed`` 1; ``Completed``/``Denied``/``Failed``/``Expired``/``Voided``/
    ``Returned`` 2; ``Refunded``/``Reversed`` 3; ``Canceled_Reversal`` 4; unknown values 1
    (non-final until mapped)."""
    return _RANKS.get(_normalise(status or ""), 1)


def ipn_decision(seen_statuses: Iterable[str], status: str | None) -> IpnDecision:
    """What to do with a message whose transaction (``txn_id``, or ``masspay_txn_id_x`` for a
    Mass Pay record) already produced ``seen_statuses``: ``duplicate`` when ``status`` is among
    them (a resend: answer 200, change nothing), ``stale`` when it ranks below one of them (a
    late message — ``Pending`` after ``Completed`` — store it, do not apply it), else ``new``.
    """
    norm = _normalise(status or "")
    seen = [_normalise(s) for s in seen_statuses]
    if norm in seen:
        return "duplicate"
    rank = status_rank(norm)
    if any(status_rank(s) > rank for s in seen):
        return "stale"
    return "new"


class IpnLedger:
    """An in-memory, thread-safe reference of the de-duplication rules (tests, one-process
    listeners). A shop with a database applies :func:`ipn_decision` to the statuses it stored
    for the same ``txn_id``, under a lock per transaction."""

    def __init__(self) -> None:
        self._seen: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _decide(self, ident: str, status: str) -> IpnDecision:
        with self._lock:
            seen = self._seen.setdefault(ident, [])
            decision = ipn_decision(seen, status)
            if decision != "duplicate":
                seen.append(status)
            return decision

    def record(self, message: IpnMessage) -> IpnDecision:
        """Decide on a message, keyed on (``txn_id``, ``payment_status``) (see
        :attr:`IpnMessage.dedup_key`), and remember it."""
        ident, status = message.dedup_key
        return self._decide(ident, status)

    def record_mass_payments(self, message: IpnMessage) -> list[tuple[MassPayment, IpnDecision]]:
        """Decide on each Mass Pay record, keyed on (``masspay_txn_id_x``, ``status_x``): a
        record ``Unclaimed`` in the first message may be ``Completed`` in the second."""
        decisions = []
        for record in message.mass_payments:
            ident, status = record.dedup_key
            if not ident:
                ident = f"{message.dedup_key[0]}#{record.index}"
            decisions.append((record, self._decide("masspay:" + ident, status)))
        return decisions
