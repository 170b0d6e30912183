"""IPN values: PayPal's enumerations that accept the unknown (§9.5) and the lenient readers of
dates and amounts (§9.1). Nothing here rejects a message."""

from __future__ import annotations

import enum
import logging
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

logger = logging.getLogger("axepta.ipn")

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
_WEEKDAYS = frozenset(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
_ZONES = {"PST": timezone(timedelta(hours=-8), "PST"), "PDT": timezone(timedelta(hours=-7), "PDT")}
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_OFFSET = re.compile(r"(?:GMT|UTC)?([+-])(\d{2}):?(\d{2})", re.IGNORECASE)
_LABEL = re.compile(r"\(([^()]{0,64})\)")
_MONEY = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,8})?")


def _offset(match: re.Match[str]) -> timezone | None:
    hours, minutes = int(match[2]), int(match[3])
    if hours > 14 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if match[1] == "-" else delta)


def _zone(label: str | None, offset: timezone | None, shown: str) -> timezone | None:
    """The time zone of a date: a ``PST``/``PDT`` label wins (§9.1; a numeric offset that
    disagrees is logged), else the numeric offset, else none (a naive time, logged)."""
    tz = _ZONES.get(label or "")
    if tz is not None:
        if offset is not None and offset.utcoffset(None) != tz.utcoffset(None):
            logger.warning("IPN date %r: its offset disagrees with its %s label; the label wins", shown, label)
        return tz
    if offset is not None:
        return offset
    logger.warning("IPN date %r has no PST/PDT zone or offset; read as a naive time", shown)
    return None


def parse_ipn_date(text: str | None) -> datetime | None:
    """Parse an IPN date leniently (PROTOCOL.md §9.1); ``None`` for ``N/A``, empty or anything
    that does not parse (logged, never an error).

    Accepts a ``HH:MM`` or ``HH:MM:SS`` time, the month name before or after the day, an extra
    2-digit year before the 4-digit year (``HH:MM:SS DD Mmm YY, YYYY PST``), optional commas and
    weekday names, and the zones ``PST`` (UTC−8) and ``PDT`` (UTC−7) — the label wins, whatever
    the date (a ``PDT`` label on a February date is read as UTC−7). JavaScript-style dates of
    PayPal's IPN simulator (``Sun May 24 2015 14:32:31 GMT-0700 (PDT)``) honour their offset; a
    ``PST``/``PDT`` label in the parentheses still wins over an offset that disagrees (logged).
    Another zone, or none, gives a naive time (logged).
    """
    if text is None:
        return None
    stripped = text.strip()
    if not stripped or stripped.upper() == "N/A":
        return None
    shown = stripped[:64]
    label: str | None = None
    in_parentheses = _LABEL.search(stripped)
    if in_parentheses:
        label = in_parentheses[1].strip().upper()
        stripped = stripped[: in_parentheses.start()] + " " + stripped[in_parentheses.end() :]
    tokens = stripped.replace(",", " ").split()
    clock: tuple[int, int, int] | None = None
    month_at: int | None = None
    month = 0
    offset: timezone | None = None
    numbers: list[tuple[int, str]] = []
    for i, token in enumerate(tokens):
        match = _TIME.fullmatch(token)
        shift = _OFFSET.fullmatch(token) if token[:1] in "+-GgUu" else None
        if match and clock is None:
            clock = (int(match[1]), int(match[2]), int(match[3] or 0))
        elif shift is not None:
            offset = _offset(shift)
            if offset is None:
                logger.warning("IPN date %r has an impossible offset; kept as text", shown)
                return None
        elif token.isascii() and token.isdigit():
            numbers.append((i, token))
        elif token.isascii() and token.isalpha() and month_at is None and token[:3].lower() in _MONTHS:
            month_at, month = i, _MONTHS[token[:3].lower()]
        elif token.isascii() and token.isalpha() and token[:3].lower() in _WEEKDAYS:
            continue
        elif token.isascii() and token.isalpha() and label not in _ZONES:
            label = token.upper()
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
        logger.warning("IPN date %r not understood; kept as text", shown)
        return None
    tz = _zone(label, offset, shown)
    try:
        return datetime(int(years[0]), month, day, *clock, tzinfo=tz)
    except ValueError:
        logger.warning("IPN date %r is not a valid date; kept as text", shown)
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


E = TypeVar("E", bound=_OpenEnum)


def _open_enum(cls: type[E], value: str | None) -> E | None:
    text = _text(value)
    return None if text is None else cls(text)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)
