"""Amounts in minor units (PROTOCOL.md §5): exact ``Decimal`` conversion, ISO 4217 exponents and
PayPal's rule that HUF, JPY and TWD are sent without decimals."""

from __future__ import annotations

import re
import warnings
from decimal import Decimal

from axepta.errors import InvalidRequestError

__all__ = [
    "MAX_AMOUNT",
    "PAYPAL_CURRENCIES",
    "check_amount",
    "check_currency",
    "currency_exponent",
    "from_minor_units",
    "parse_decimal",
    "to_minor_units",
]

MAX_AMOUNT = 9_999_999_999

_EXPONENT_0 = frozenset(
    ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"]
)
_EXPONENT_3 = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
_UNSUPPORTED = frozenset({"CLF", "UYW"})
# ISO 4217 active codes with the usual exponent 2 (bundled table; see §5).
_EXPONENT_2 = frozenset(
    ["AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG", "ZWL"]
)
#: PayPal sends these without decimals, whatever ISO 4217 says (004).
_PAYPAL_NO_DECIMALS = frozenset({"HUF", "JPY", "TWD"})

#: PayPal's published currency list (§5); outside it the client warns, it does not fail.
PAYPAL_CURRENCIES = frozenset(
    ["AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR", "MXN", "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"]
)


#: Every code :func:`check_currency` accepts (upper case, ISO 4217, exponent 0, 2 or 3).
_ACCEPTED_CURRENCIES = (_EXPONENT_0 | _EXPONENT_2 | _EXPONENT_3) - _UNSUPPORTED


def check_currency(currency: object, *, field: str = "Currency") -> str:
    """Return ``currency`` if it is an uppercase ISO 4217 code the client knows, else raise."""
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise InvalidRequestError(f"{field}: must be a 3-letter ISO 4217 code", field=field, rule="a3")
    if currency != currency.upper():
        raise InvalidRequestError(f"{field}: must be upper case ({currency.upper()})", field=field, rule="a3 upper case")
    if currency in _UNSUPPORTED:
        raise InvalidRequestError(f"{field}: {currency} (exponent 4) is not supported", field=field, rule="ISO 4217")
    if currency not in _EXPONENT_0 and currency not in _EXPONENT_2 and currency not in _EXPONENT_3:
        raise InvalidRequestError(f"{field}: {currency} is not an ISO 4217 currency code", field=field, rule="ISO 4217")
    return currency


def currency_exponent(currency: str, *, paypal: bool = True) -> int:
    """Decimal places of ``currency`` on the wire. With ``paypal`` (the default), HUF, JPY and
    TWD have none (004); otherwise the ISO 4217 exponent."""
    check_currency(currency)
    if paypal and currency in _PAYPAL_NO_DECIMALS:
        return 0
    if currency in _EXPONENT_0:
        return 0
    if currency in _EXPONENT_3:
        return 3
    return 2


#: A plain decimal as people type it: ASCII digits, optionally a point and more digits.
_PLAIN_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
PLAIN_DECIMAL_FORM = "digits with an optional decimal point, e.g. 12, 12.5 or 12.50"


def parse_decimal(text: str, *, field: str = "Amount") -> Decimal:
    """The ``Decimal`` of a plain decimal text (``"12"``, ``"12.5"``, ``"12.50"``; spaces around
    it ignored). Anything else is refused, never interpreted: scientific notation (``1e3``),
    underscores (``1_000``), signs, spaces or commas inside, non-ASCII digits, ``NaN``."""
    stripped = text.strip()
    if _PLAIN_DECIMAL.fullmatch(stripped) is None:
        raise InvalidRequestError(
            f"{field}: {text!r} is not a plain decimal amount; write {PLAIN_DECIMAL_FORM}",
            field=field,
            rule="plain decimal",
        )
    return Decimal(stripped)


def to_minor_units(amount: Decimal | str | int, currency: str, *, paypal: bool = True) -> int:
    """Convert a major-unit amount (``Decimal("12.34")``) to the wire integer (``1234``).

    Exact or nothing: more decimals than the currency has raise
    :class:`~axepta.errors.InvalidRequestError` (100.50 HUF cannot be charged through PayPal).
    ``float`` and ``bool`` are refused as a ``TypeError``: money is never guessed. Text must be a
    plain decimal (:func:`parse_decimal`: ``"12.50"``, not ``"1e3"``, ``"1_000"`` or ``"+12"``).
    """
    if isinstance(amount, bool | float):
        raise TypeError("amount must be a Decimal, str or int, never a float or bool")
    if isinstance(amount, str):
        value = parse_decimal(amount)
    elif isinstance(amount, int):
        value = Decimal(amount)
    elif isinstance(amount, Decimal):
        value = amount
    else:
        raise TypeError(f"amount must be a Decimal, str or int, not {type(amount).__name__}")
    if not value.is_finite():
        raise InvalidRequestError("Amount: must be a finite number", field="Amount", rule="decimal")
    exponent = currency_exponent(currency, paypal=paypal)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise InvalidRequestError(
            f"Amount: {value} {currency} has more than {exponent} decimal places"
            + (" (PayPal sends HUF, JPY and TWD without decimals)" if currency in _PAYPAL_NO_DECIMALS and paypal else ""),
            field="Amount",
            rule=f"at most {exponent} decimals",
        )
    minor = int(scaled)
    if minor < 0:
        raise InvalidRequestError("Amount: must not be negative", field="Amount", rule="n..10")
    return minor


def from_minor_units(minor: int, currency: str, *, paypal: bool = True) -> Decimal:
    """The major-unit ``Decimal`` of a wire integer: ``from_minor_units(1234, "EUR") == Decimal("12.34")``."""
    exponent = currency_exponent(currency, paypal=paypal)
    return Decimal(minor).scaleb(-exponent)


def check_amount(
    amount: object, *, field: str = "Amount", small_amounts_enabled: bool = False, minimum: int = 1
) -> int:
    """Validate a wire amount: an ``int`` (not ``bool``/``float``), 1..9 999 999 999, and at
    least 100 unless ``small_amounts_enabled`` (amounts below 100 need helpdesk approval)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidRequestError(
            f"{field}: must be an integer in minor units, not {type(amount).__name__}",
            field=field,
            rule="integer minor units",
        )
    if amount < minimum or amount > MAX_AMOUNT:
        raise InvalidRequestError(
            f"{field}: {amount} is outside {minimum}..{MAX_AMOUNT}", field=field, rule="n..10"
        )
    if amount < 100 and not small_amounts_enabled:
        raise InvalidRequestError(
            f"{field}: {amount} is below 100 minor units, which needs helpdesk approval "
            "(set small_amounts_enabled once it is granted)",
            field=field,
            rule="at least 100 minor units",
        )
    return amount


def warn_if_not_paypal_currency(currency: str) -> None:
    """Warn (not fail) when ``currency`` is outside PayPal's published list."""
    if currency not in PAYPAL_CURRENCIES:
        warnings.warn(f"{currency} is not in PayPal's published currency list", UserWarning, stacklevel=3)
