"""Format checks of the simulated platform: each operation's parameter table (PROTOCOL.md §4)
and the code of the first parameter that breaks it.

"Axepta Platform rejects all payment requests with formatting errors" (004): so does the
simulator, with ``2`` + ``010`` (missing) / ``011`` (format) / ``012`` (invalid value) /
``013`` (too short) / ``014`` (too long) + the parameter's detail.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from axepta.amounts import MAX_AMOUNT, check_currency
from axepta.errors import InvalidRequestError
from axepta.fields import check_format, check_url
from axepta.simulator._codes import FORMAT, INVALID, MISSING, TOO_LONG, TOO_SHORT, parameter_code

__all__ = ["OPERATION_SPECS", "Rejection", "Spec", "validate"]

Kind = Literal["text", "amount", "currency", "url", "enum", "agreement"]

_FMT = re.compile(r"^(ans|an|ns|a|n)(\.\.)?(\d+)$")
_AGREEMENT = re.compile(r"[A-Za-z0-9-]+")


@dataclass(frozen=True, slots=True)
class Spec:
    """One parameter of an operation: wire name, 004 format, mandatory or not."""

    name: str
    fmt: str = "ans..64"
    required: bool = False
    kind: Kind = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a request is refused: the ``code``, the parameter and a short reason."""

    code: str
    field: str
    reason: str


def _req(name: str, fmt: str = "ans..64", kind: Kind = "text") -> Spec:
    return Spec(name, fmt, True, kind)


_ADDRESS: Final = (
    Spec("FirstName", "ans..50"),
    Spec("LastName", "ans..50"),
    Spec("AddrStreet", "ans..100"),
    Spec("AddrStreet2", "ans..100"),
    Spec("AddrCity", "ans..40"),
    Spec("AddrState", "ans..40"),
    Spec("AddrZip", "ans..20"),
    Spec("AddrCountryCode", "an2"),
    Spec("Phone", "n..20"),
)
_MONEY: Final = (_req("Amount", "n..10", "amount"), _req("Currency", "a3", "currency"))

OPERATION_SPECS: Final[Mapping[str, tuple[Spec, ...]]] = {
    "paypal_orders": (
        _req("TransID"),
        Spec("RefNr", "ans..30"),
        *_MONEY,
        Spec("Capture", "a..6", kind="enum", choices=("Auto", "Manual")),
        Spec("TxType", "ans..5", kind="enum", choices=("Order", "Auth", "BAID")),
        Spec("PayPalMethod", "ans..10", kind="enum", choices=("shortcut",)),
        _req("OrderDesc", "ans..127"),
        *(Spec(f"OrderDesc{n}", "ans..2048") for n in range(2, 100)),
        Spec("TaxTotal", "n..10"),
        Spec("ItemTotal", "n..10"),
        Spec("ShAmount", "n..10"),
        _req("URLSuccess", "ans..256", "url"),
        _req("URLFailure", "ans..256", "url"),
        Spec("Response", "a..7", kind="enum", choices=("encrypt",)),
        _req("URLNotify", "ans..256", "url"),
        Spec("UserData", "ans..1024"),
        Spec("ReqId", "ans..32"),
        Spec("Account", "ans..128"),
        Spec("Language", "an2", kind="enum", choices=("AU", "DE", "FR", "IT", "GB", "ES", "US")),
        *_ADDRESS,
        Spec("NoShipping", "n1", kind="enum", choices=("0", "1")),
        Spec("RiskEvaluation", "ans..2048"),
        Spec("mode", "ans..8"),
    ),
    "paypal_complete": (
        _req("PayID", "an32"),
        _req("TransID"),
        *_MONEY,
        Spec("RefNr", "ans..30"),
        Spec("Response", "a..7", kind="enum", choices=("encrypt",)),
        *_ADDRESS,
    ),
    "authorize": (
        _req("PayID", "an32"),
        _req("TransID"),
        Spec("TxType", "ans..5", True, "enum", ("Auth",)),
        *_MONEY,
        *_ADDRESS,
    ),
    "capture": (
        _req("PayID", "an32"),
        _req("TransID"),
        *_MONEY,
        Spec("RefNr", "ans..30"),
        Spec("ReqId", "ans..32"),
        Spec("TID", "ans..17"),
        Spec("CompleteType", "ans..3", kind="enum", choices=("YES", "NO")),
    ),
    "credit": (
        _req("PayID", "an32"),
        _req("TransID"),
        *_MONEY,
        Spec("RefNr", "ans..30"),
        Spec("ReqId", "ans..32"),
        Spec("TID", "ans..17"),
        Spec("Note", "ans..768"),
        Spec("Subject", "ans..255"),
    ),
    "credit_ex": (
        _req("TransID"),
        Spec("RefNr", "ans..30"),
        *_MONEY,
        Spec("PayerID", "ans..13"),
        Spec("ReqId", "ans..32"),
        Spec("Account", "ans..128"),
        Spec("Note", "ans..768"),
        Spec("Subject", "ans..255"),
        Spec("Payer", "ans..100"),
    ),
    "reverse": (
        _req("PayID", "an32"),
        _req("TransID"),
        *_MONEY,
        Spec("RefNr", "ans..30"),
        Spec("ReqId", "ans..32"),
    ),
    "paypal_reftrans": (
        _req("TransID"),
        *_MONEY,
        Spec("RefNr", "ans..30"),
        Spec("OrderDesc", "ans..30"),
        Spec("BillingAgreementID", "ans..19", True, "agreement"),
    ),
}


def _reject(module: str, spec: Spec, reason: str) -> Rejection:
    return Rejection(parameter_code(module, spec.name), spec.name, reason)


def _check_text(spec: Spec, value: str, charset: str) -> Rejection | None:
    m = _FMT.match(spec.fmt)
    assert m is not None, spec.fmt
    cls, upto, size = m.group(1), bool(m.group(2)), int(m.group(3))
    if len(value) > size:
        return _reject(TOO_LONG, spec, f"longer than {size} characters")
    if not upto and len(value) < size:
        return _reject(TOO_SHORT, spec, f"shorter than {size} characters")
    try:
        # the value's own length: only the character class is checked here
        check_format(spec.name, value, f"{cls}..{len(value)}", charset=charset)
    except InvalidRequestError as exc:
        return _reject(FORMAT, spec, exc.rule or spec.fmt)
    return None


def _check_one(spec: Spec, value: str, charset: str) -> Rejection | None:
    if spec.kind == "amount":
        if len(value) > 10:
            return _reject(TOO_LONG, spec, "more than 10 digits")
        if not (value.isascii() and value.isdigit()) or (len(value) > 1 and value[0] == "0"):
            return _reject(FORMAT, spec, "digits in minor units, no sign, no leading zero")
        if not 1 <= int(value) <= MAX_AMOUNT:
            return _reject(INVALID, spec, "must be at least 1")
        return None
    if spec.kind == "currency":
        if not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
            return _reject(FORMAT, spec, "three upper-case letters")
        try:
            check_currency(value)
        except InvalidRequestError:
            return _reject(INVALID, spec, "not an ISO 4217 currency")
        return None
    if spec.kind == "url":
        try:
            check_url(spec.name, value)
        except InvalidRequestError as exc:
            module = TOO_LONG if len(value) > 256 else FORMAT
            return _reject(module, spec, exc.rule or "URL")
        return None
    if spec.kind == "agreement":
        if len(value) > 19:
            return _reject(TOO_LONG, spec, "longer than 19 characters")
        if _AGREEMENT.fullmatch(value) is None:
            return _reject(FORMAT, spec, "letters, digits and '-'")
        return None
    rejection = _check_text(spec, value, charset)
    if rejection is None and spec.kind == "enum" and value.lower() not in {c.lower() for c in spec.choices}:
        return _reject(INVALID, spec, "one of " + ", ".join(spec.choices))
    return rejection


class _Table:
    """One operation's specs indexed by lower-case name: a request is checked in the order of
    its own fields (a few dozen), not of the table (``paypalorders`` has 130 entries)."""

    __slots__ = ("index", "required")

    def __init__(self, specs: Sequence[Spec]) -> None:
        self.index = {spec.name.lower(): (position, spec) for position, spec in enumerate(specs)}
        self.required = tuple(
            (position, spec, spec.name.lower()) for position, spec in enumerate(specs) if spec.required
        )


_TABLES: dict[int, tuple[Sequence[Spec], _Table]] = {}


def _table(specs: Sequence[Spec]) -> _Table:
    entry = _TABLES.get(id(specs))
    if entry is None or entry[0] is not specs:
        entry = (specs, _Table(specs))
        if isinstance(specs, tuple):  # the module's tables; a caller's list is indexed each time
            _TABLES[id(specs)] = entry
    return entry[1]


def validate(
    params: Mapping[str, str], specs: Sequence[Spec], *, charset: str = "iso-8859-1"
) -> Rejection | None:
    """The first parameter of ``specs`` (in table order) that ``params`` gets wrong, or ``None``.

    ``params`` is matched case-insensitively (keys of any case; a
    :class:`~axepta.crypto.Params` or a plain dict). An empty optional value counts as absent;
    an empty mandatory value as missing."""
    table = _table(specs)
    present: dict[str, str] = {}
    for key, value in params.items():
        present.setdefault(key.lower(), value)
    first: tuple[int, Rejection] | None = None
    for position, spec, name in table.required:
        if not present.get(name):
            first = (position, _reject(MISSING, spec, "missing"))
            break  # required specs are in table order: the first missing one is the candidate
    for key, value in present.items():
        entry = table.index.get(key)
        if entry is None or value == "":
            continue
        position, spec = entry
        if first is not None and position > first[0]:
            continue
        rejection = _check_one(spec, value, charset)
        if rejection is not None:
            first = (position, rejection)
    return None if first is None else first[1]
