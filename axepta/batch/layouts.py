"""Column layouts of batch records per action, version and file kind (PROTOCOL.md §8.3–§8.5).

Each layout exists twice, built from one table:

* a **slow path**: the columns as :class:`Column` objects validated one by one with
  :func:`axepta.fields.check_format` and friends, so an error names the line and the field;
* a **fast path**: one regular expression per layout (optional columns as nested optional groups), compiled once, whose
  character classes are subsets of the slow-path rules, and a record builder generated for it.
  A line the fast path refuses goes to the slow path, which either reports the precise error or
  accepts it (the slow path is the authority; the fast path never accepts more).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from axepta.amounts import MAX_AMOUNT, check_currency
from axepta.batch.records import (
    ACTIONS,
    BatchError,
    BatchRecord,
    BatchVersion,
    Kind,
    RefTrans,
    Reverse,
)
from axepta.errors import InvalidRequestError
from axepta.fields import check_format

__all__ = ["Column", "Fast", "Layout", "check_columns", "layout_for", "validate_value"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: wire name, record attribute, check kind, format, presence."""

    wire: str
    attr: str
    kind: str  # amount | currency | fmt | baid | code | enum | empty
    fmt: str = ""
    required: bool = True
    choices: tuple[str, ...] = ()

    def optional(self) -> Column:
        return Column(self.wire, self.attr, self.kind, self.fmt, False, self.choices)


AMOUNT = Column("Amount", "amount", "amount", "n..10")
CURRENCY = Column("Currency", "currency", "currency", "a3")
TRANS_ID = Column("TransID", "trans_id", "fmt", "ans..64")
REF_NR = Column("RefNr", "ref_nr", "fmt", "ns..30", required=False)
PAY_ID = Column("PayID", "pay_id", "fmt", "an32")
TID = Column("TID", "tid", "fmt", "ans..17", required=False)
COMPLETE_TYPE = Column("CompleteType", "complete_type", "fmt", "ans..3", required=False)
PAYER = Column("payer", "payer", "fmt", "ans..100")
NOTE = Column("note", "note", "fmt", "ans..758", required=False)
CAPTURE = Column("Capture", "capture", "enum", "a..6", required=False, choices=("Auto",))
TX_TYPE = Column("TxType", "tx_type", "enum", "ans..5", required=False, choices=("Order", "Auth"))
BAID = Column("BillingAgreementID", "billing_agreement_id", "baid", "[A-Za-z0-9-]{1,19}")
# CodeExt is PayPal's own code, informational only (D12): read leniently (004 says n..10).
CODE_EXT = Column("CodeExt", "code_ext", "fmt", "ans..64", required=False)
STATUS = Column("Status", "status", "fmt", "a..50")
CODE = Column("Code", "code", "code", "[0-9A-Z]{8}")
SUB_MID = Column("SubMID", "sub_mid", "fmt", "ans..30")


def _empty(col: Column) -> Column:
    """A result position that must stay empty in a REFTRANS request."""
    return Column(col.wire, col.attr, "empty", "", required=False)


# Regular-expression fragments: subsets of what check_format accepts (§0.3).
_ANS = r"[^\x00-\x1f\x7f&,\ud800-\udfff]"  # no control, no '&', no ',', no lone surrogate
_NS = r"[\x20-\x25\x27-\x2b\x2d-\x7e]"  # printable ASCII without '&' and ','
_CLASSES = {"a": "[A-Za-z]", "n": "[0-9]", "an": "[A-Za-z0-9]", "ans": _ANS, "ns": _NS}
_FMT = re.compile(r"^(ans|an|ns|a|n)(\.\.)?(\d+)$")
_BAID = re.compile(r"[A-Za-z0-9-]{1,19}")
_CODE = re.compile(r"[0-9A-Z]{8}")


def _pattern(col: Column) -> str:
    """The regex of a column's value; a capturing group unless the column is forced empty."""
    if col.kind == "empty":
        return ""
    if col.kind == "amount":
        return r"([0-9]{1,10})"
    if col.kind == "currency":
        return r"([A-Z]{3})"
    if col.kind == "baid":
        return r"([A-Za-z0-9-]{1,19})"
    if col.kind == "code":
        return r"([0-9A-Z]{8})" if col.required else r"((?:[0-9A-Z]{8})?)"
    if col.kind == "enum":
        return "((?:" + "|".join(re.escape(c) for c in col.choices) + ")?)"
    m = _FMT.match(col.fmt)
    assert m is not None, col.fmt
    cls, upto, size = m.group(1), m.group(2), int(m.group(3))
    low = (1 if col.required else 0) if upto else size
    if not col.required and not upto:
        return f"((?:{_CLASSES[cls]}{{{size}}})?)"
    return f"({_CLASSES[cls]}{{{low},{size}}})"


# Slow path ----------------------------------------------------------------------------------


def validate_value(
    col: Column,
    value: object,
    *,
    charset: str,
    writing: bool = False,
    small_amounts_enabled: bool = False,
) -> Any:
    """Check one column value and return it converted (``int`` amount, NFC text, ``None`` for
    an empty optional column). Raises :class:`~axepta.errors.InvalidRequestError` naming the
    column. ``writing`` applies the writer's extra rules (``int`` amounts, 100 minimum)."""
    wire = col.wire
    if value is None or value == "":
        if col.required:
            raise InvalidRequestError(f"{wire}: missing (required)", field=wire, rule="mandatory")
        return None
    if col.kind == "amount":
        return _amount(value, writing=writing, small_amounts_enabled=small_amounts_enabled)
    if not isinstance(value, str):
        raise InvalidRequestError(f"{wire}: must be text, not {type(value).__name__}", field=wire, rule=col.fmt)
    if "," in value or "\r" in value or "\n" in value:
        raise InvalidRequestError(
            f"{wire}: must not contain ',', CR or LF (batch files have no quoting)",
            field=wire,
            rule="no ',', CR or LF",
        )
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise InvalidRequestError(
            f"{wire}: contains bytes that are not valid {charset}", field=wire, rule=f"encoded in {charset}"
        )
    kind = col.kind
    if kind == "empty":
        raise InvalidRequestError(
            f"{wire}: must be empty in a request (it is a result column)", field=wire, rule="empty in requests"
        )
    if kind == "currency":
        return check_currency(value, field=wire)
    if kind == "baid":
        if _BAID.fullmatch(value) is None:
            raise InvalidRequestError(
                f"{wire}: must be 1 to 19 letters, digits or '-'", field=wire, rule="[A-Za-z0-9-]{1,19}"
            )
        return value
    if kind == "code":
        if _CODE.fullmatch(value) is None:
            raise InvalidRequestError(
                f"{wire}: must be 8 characters 0-9/A-Z (e.g. 00000000)", field=wire, rule="[0-9A-Z]{8}"
            )
        return value
    if kind == "enum":
        if value not in col.choices:
            raise InvalidRequestError(
                f"{wire}: must be {' or '.join(col.choices)}; found {value!r}", field=wire, rule="enum"
            )
        return value
    return check_format(wire, value, col.fmt, charset=charset)


def _amount(value: object, *, writing: bool, small_amounts_enabled: bool) -> int:
    if writing:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRequestError(
                f"Amount: must be an integer in minor units, not {type(value).__name__}",
                field="Amount",
                rule="integer minor units",
            )
        amount = value
    else:
        if not (isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10):
            raise InvalidRequestError(f"Amount: {value!r} is not 1 to 10 digits (n..10)", field="Amount", rule="n..10")
        amount = int(value)
    if not 1 <= amount <= MAX_AMOUNT:
        raise InvalidRequestError(f"Amount: {amount} is outside 1..{MAX_AMOUNT}", field="Amount", rule="n..10")
    if writing and amount < 100 and not small_amounts_enabled:
        raise InvalidRequestError(
            f"Amount: {amount} is below 100 minor units, which needs helpdesk approval "
            "(set small_amounts_enabled once it is granted)",
            field="Amount",
            rule="at least 100 minor units",
        )
    return amount


# Layouts ------------------------------------------------------------------------------------

Builder = Callable[[tuple[str | None, ...], int, int], BatchRecord]

#: The fast path of one layout: (regex.fullmatch, build, index of the Amount group, index of
#: the Currency group). A tuple, not an object: it is unpacked once per line.
Fast = tuple[
    Callable[[str, int], "re.Match[str] | None"],
    Builder,
    int,
    int,
]


@dataclass(frozen=True)
class Layout:
    """The columns of one action in one version and file kind.

    ``core`` is the leading part every record has (PayID last, except CreditEx and REFTRANS).
    ``tails`` maps the number of columns after the core to the columns that follow it: optional
    request columns (``TID``, ``CompleteType``), then the result columns of a response.
    ``raw_extras`` (responses of x != 0 files) keeps columns between the core and the last
    three result columns when their number matches no tail.
    """

    action: str
    cls: type[BatchRecord]
    version: BatchVersion
    kind: Kind
    core: tuple[Column, ...]
    tails: dict[int, tuple[Column, ...]]
    result: tuple[Column, ...]
    raw_extras: bool
    reverse_refnr: bool
    pattern: str
    fast: Fast

    def describe(self) -> str:
        """``Amount,Currency,TransID,RefNr,PayID, then: nothing | TID | CompleteType,TID``."""
        text = ",".join(c.wire for c in self.lead + self.core)
        alts = [",".join(c.wire for c in self.tails[n]) or "nothing" for n in sorted(self.tails)]
        if alts != ["nothing"]:
            text += ", then: " + " | ".join(alts)
        if self.raw_extras:
            text += " (echoed columns may precede Status,Code,CodeExt)"
        return text

    @property
    def lead(self) -> tuple[Column, ...]:
        """``(SubMID,)`` in 2.x, else empty: the columns before the action's own."""
        return (SUB_MID,) if self.version.master else ()

    def expected_counts(self) -> list[int]:
        lead = len(self.lead) + len(self.core)
        return sorted(lead + n for n in self.tails)

    def columns_for(self, count: int) -> tuple[tuple[Column, ...], int] | None:
        """The full column list for ``count`` columns after the action, and how many raw
        extra columns it keeps; ``None`` when no layout has that many columns."""
        lead = self.lead + self.core
        rest = count - len(lead)
        tail = self.tails.get(rest)
        if tail is not None:
            return lead + tail, 0
        if self.raw_extras and rest > len(self.result):
            return lead + self.result, rest - len(self.result)
        return None


@dataclass(frozen=True)
class _Shape:
    """Columns after the core: ``nested`` optional columns of which only a suffix may be
    present (``CompleteType,TID`` allows nothing, ``TID`` or both), then ``fixed`` columns, then
    ``trailing`` optional columns of which only a prefix may be present."""

    core: tuple[Column, ...]
    nested: tuple[Column, ...] = ()
    fixed: tuple[Column, ...] = ()
    trailing: tuple[Column, ...] = ()
    raw_extras: bool = False

    def tails(self) -> list[tuple[Column, ...]]:
        return [
            self.nested[j:] + self.fixed + self.trailing[:m]
            for j in range(len(self.nested), -1, -1)
            for m in range(len(self.trailing) + 1)
        ]

    def pattern(self, lead: tuple[Column, ...]) -> str:
        text = ",".join(_pattern(c) for c in lead + self.core)
        nested = ""
        for col in self.nested:
            nested = f"(?:{nested},{_pattern(col)})?"
        trailing = ""
        for col in reversed(self.trailing):
            trailing = f"(?:,{_pattern(col)}{trailing})?"
        return text + nested + "".join("," + _pattern(c) for c in self.fixed) + trailing + r"\r?\n?"

    def columns(self, lead: tuple[Column, ...]) -> tuple[Column, ...]:
        """Every column in the order of the regex groups."""
        return lead + self.core + self.nested + self.fixed + self.trailing


def _shape(action: str, version: BatchVersion, kind: Kind, *, reverse_refnr: bool, order_desc_max: int) -> _Shape:
    """The columns of one action/version/kind (PROTOCOL.md §8.3-§8.5)."""
    ref = (REF_NR,) if version.has_ref_nr else ()
    if action == RefTrans.ACTION:
        order_desc = Column("OrderDesc", "order_desc", "fmt", f"ans..{order_desc_max}", required=False)
        results: tuple[Column, ...] = (CODE_EXT, PAY_ID.optional(), STATUS)
        if kind == "request":
            results = tuple(_empty(c) for c in results)
        core = (AMOUNT, CURRENCY, TRANS_ID, *ref, order_desc, CAPTURE, TX_TYPE, BAID, *results)
        code = CODE if kind == "response" else _empty(CODE)
        if version.returns_code:
            return _Shape((*core, code))
        # x.0: no Code column; a trailing Code column is tolerated when reading.
        return _Shape(core, trailing=(code.optional() if kind == "response" else code,))
    nested: tuple[Column, ...] = ()
    if action == "CreditEx":
        core = (TRANS_ID, *ref, AMOUNT, CURRENCY, PAYER, NOTE)
    else:
        if action == Reverse.ACTION and not reverse_refnr:
            ref = ()
        if action == "Authorize":
            ref = ()
        core = (AMOUNT, CURRENCY, TRANS_ID, *ref, PAY_ID)
        if version.has_tid:
            nested = (COMPLETE_TYPE, TID) if action == "Capture" else (TID,)
    if kind == "request":
        return _Shape(core, nested=nested)
    if version.returns_code:
        return _Shape(core, nested=nested, fixed=(STATUS, CODE, CODE_EXT), raw_extras=True)
    return _Shape(core, fixed=(STATUS,), trailing=(CODE_EXT,))


_BUILDER_CACHE: dict[tuple[Any, ...], Builder] = {}


def _builder(cls: type[BatchRecord], columns: tuple[Column, ...]) -> tuple[Builder, int, int]:
    """Generate ``build(groups, line, amount) -> record`` for the groups of one regex.

    Generated (as ``dataclasses`` and ``namedtuple`` do) so that the hot path is a single call
    with positional arguments and the groups indexed directly: no per-field loop or dispatch.
    Only the fixed column tables of this module go into the source, never file content.
    """
    expr: dict[str, str] = {}
    group = 0
    amount_group = currency_group = -1
    for col in columns:
        if col.kind == "empty":
            continue
        if col.kind == "amount":
            amount_group = group
            expr[col.attr] = "amount"
        else:
            if col.kind == "currency":
                currency_group = group
            expr[col.attr] = f"g[{group}]" if col.required else f"(g[{group}] or None)"
        group += 1
    positional: list[str] = []
    keywords: list[str] = []
    for f in fields(cls):
        if f.name == "line":
            continue
        if f.kw_only:
            if f.name in expr:
                keywords.append(f"{f.name}={expr[f.name]}")
        else:
            positional.append(expr.get(f.name, "None"))
    assert set(expr) <= {f.name for f in fields(cls)}, (cls, expr)
    args = ", ".join([*positional, *keywords, "line=line"])
    build = _BUILDER_CACHE.get((cls, args))
    if build is None:
        namespace: dict[str, Any] = {"cls": cls}
        source = f"def build(g, line, amount):\n    return cls({args})\n"
        exec(compile(source, f"<batch builder {cls.__name__}>", "exec"), namespace)  # noqa: S102
        build = namespace["build"]
        _BUILDER_CACHE[(cls, args)] = build
    return build, amount_group, currency_group


@lru_cache(maxsize=512)
def layout_for(
    action: str,
    version: BatchVersion,
    kind: Kind,
    *,
    reverse_refnr: bool = True,
    order_desc_max: int = 30,
) -> Layout:
    """The :class:`Layout` of ``action`` (wire name) in ``version`` for a request or response."""
    cls = ACTIONS[action]
    shape = _shape(action, version, kind, reverse_refnr=reverse_refnr, order_desc_max=order_desc_max)
    lead: tuple[Column, ...] = (SUB_MID,) if version.master else ()
    pattern = shape.pattern(lead)
    build, ai, ci = _builder(cls, shape.columns(lead))
    return Layout(
        action=action,
        cls=cls,
        version=version,
        kind=kind,
        core=shape.core,
        tails={len(t): t for t in shape.tails()},
        result=shape.fixed if shape.raw_extras else (),
        raw_extras=shape.raw_extras,
        reverse_refnr=reverse_refnr,
        pattern=pattern,
        fast=(re.compile(pattern).fullmatch, build, ai, ci),
    )


def check_columns(
    layout: Layout,
    values: Sequence[str],
    *,
    line: int,
    charset: str,
) -> dict[str, Any]:
    """Validate the columns after ``PAYPAL,<Action>,`` against ``layout`` (slow path) and return
    the record's keyword arguments. Every error is a :class:`BatchError` naming the line."""
    found = layout.columns_for(len(values))
    if found is None:
        counts = layout.expected_counts()
        want = ", ".join(str(c) for c in counts[:-1]) + (" or " if len(counts) > 1 else "") + str(counts[-1])
        if layout.raw_extras:
            want = f"at least {counts[0]}"
        hint = ""
        if layout.action == Reverse.ACTION and layout.version.has_ref_nr:
            hint = f" (Reverse read {'with' if layout.reverse_refnr else 'without'} RefNr: reverse_refnr is {'on' if layout.reverse_refnr else 'off'})"
        raise BatchError(
            f"{layout.action} ({layout.kind}, version {layout.version}) has {len(values)} columns "
            f"after the action; expected {want}: {layout.describe()}{hint}",
            line=line,
            field="Action",
            rule="column count",
        )
    columns, n_extra = found
    extras: tuple[str, ...] = ()
    if n_extra:
        # lead + core + raw extras + result: set the extras apart.
        n_lead = len(columns) - len(layout.result)
        extras = tuple(values[n_lead : n_lead + n_extra])
        values = [*values[:n_lead], *values[n_lead + n_extra :]]
    # PayID first: a wrong column here most likely means a RefNr switch mismatch (§8.5).
    for i, col in enumerate(columns):
        if col.attr == "pay_id" and col.kind == "fmt" and values[i]:
            _check_pay_id(layout, values[i], i, line)
    kwargs: dict[str, Any] = {}
    for i, col in enumerate(columns):
        try:
            value = validate_value(col, values[i], charset=charset)
        except InvalidRequestError as exc:
            raise BatchError(exc.message, line=line, field=exc.field, rule=exc.rule) from None
        if col.kind != "empty":
            kwargs[col.attr] = value
    for text in extras:
        if any(ch < " " or ch == "\x7f" for ch in text):
            raise BatchError("echoed column: must not contain control characters", line=line, field="extra", rule="ans")
    if extras:
        kwargs["extra"] = extras
    return kwargs


def _check_pay_id(layout: Layout, value: str, index: int, line: int) -> None:
    if len(value) == 32 and value.isascii() and value.isalnum():
        return
    hint = ""
    if layout.action == Reverse.ACTION and layout.version.has_ref_nr:
        state = "on (Reverse records carry RefNr)" if layout.reverse_refnr else "off (Reverse records carry no RefNr)"
        hint = f"; reverse_refnr is {state}: check that switch"
    raise BatchError(
        f"PayID: column {index + 1} after the action, {value!r}, is not a PayID (an32){hint}",
        line=line,
        field="PayID",
        rule="an32",
    )
