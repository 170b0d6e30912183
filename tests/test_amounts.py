from __future__ import annotations

from decimal import Decimal

import pytest

from axepta import to_minor_units
from axepta.amounts import check_amount, check_currency, currency_exponent, from_minor_units
from axepta.errors import InvalidRequestError


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("12.34"), "EUR", 1234),
        ("0.01", "USD", 1),
        (Decimal("100.00"), "HUF", 100),  # PayPal: HUF without decimals
        (Decimal("100"), "TWD", 100),
        (Decimal("1500"), "JPY", 1500),
        (Decimal("1.234"), "KWD", 1234),
        (Decimal("7"), "KRW", 7),
        (12, "EUR", 1200),
    ],
)
def test_to_minor_units(amount: Decimal | str | int, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor


def test_huf_twd_fractions_cannot_be_charged() -> None:
    with pytest.raises(InvalidRequestError, match="HUF, JPY and TWD without decimals"):
        to_minor_units(Decimal("100.50"), "HUF")
    with pytest.raises(InvalidRequestError, match="more than 0 decimal places"):
        to_minor_units(Decimal("1.5"), "TWD")
    # Outside PayPal the ISO exponent applies.
    assert to_minor_units(Decimal("100.50"), "HUF", paypal=False) == 10050


def test_never_rounds() -> None:
    with pytest.raises(InvalidRequestError, match="more than 2 decimal places"):
        to_minor_units(Decimal("12.345"), "EUR")


@pytest.mark.parametrize("bad", [12.34, True])
def test_float_and_bool_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="never a float"):
        to_minor_units(bad, "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["eur", "EU", "XYZ", "CLF", 978])
def test_bad_currency(currency: object) -> None:
    with pytest.raises(InvalidRequestError) as exc:
        check_currency(currency)
    assert exc.value.field == "Currency"


def test_exponents_and_back() -> None:
    assert currency_exponent("EUR") == 2
    assert currency_exponent("JPY") == 0
    assert currency_exponent("BHD") == 3
    assert from_minor_units(1234, "EUR") == Decimal("12.34")
    assert from_minor_units(100, "HUF") == Decimal("100")


def test_check_amount() -> None:
    assert check_amount(100) == 100
    with pytest.raises(InvalidRequestError, match="below 100 minor units"):
        check_amount(99)
    assert check_amount(1, small_amounts_enabled=True) == 1
    for bad in (0, 10_000_000_000):
        with pytest.raises(InvalidRequestError, match="outside"):
            check_amount(bad)
    for bad_type in (1.5, True, "100"):
        with pytest.raises(InvalidRequestError, match="integer in minor units"):
            check_amount(bad_type)
    with pytest.raises(InvalidRequestError, match="not a plain decimal amount"):
        to_minor_units("abc", "EUR")
    with pytest.raises(InvalidRequestError, match="not a plain decimal amount"):
        to_minor_units("-1", "EUR")
    with pytest.raises(InvalidRequestError, match="negative"):
        to_minor_units(-1, "EUR")


# Issue 13 item 2: text amounts are plain decimals (digits, an optional point and digits).
@pytest.mark.parametrize("text", ["1e3", "1E3", "1_000", "+12", "-12", "1 000", "12 .5", "١٢", "１２", "12,50", "0x10", "Infinity", "NaN", "", ".", "12.", ".5", "1.2.3"])
def test_text_amounts_are_plain_decimals(text: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"plain decimal.*12\.50") as info:
        to_minor_units(text, "EUR")
    assert info.value.field == "Amount"


@pytest.mark.parametrize(("text", "minor"), [("12", 1200), ("12.5", 1250), ("12.50", 1250), (" 12.50 ", 1250), ("0012.50", 1250), ("0.01", 1)])
def test_plain_decimal_text_accepted(text: str, minor: int) -> None:
    assert to_minor_units(text, "EUR") == minor
