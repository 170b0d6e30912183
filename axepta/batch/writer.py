"""Streaming writer of batch files (PROTOCOL.md §8.1–§8.5).

``HEAD`` is written at construction, each record as it comes (validated first), ``FOOT`` with
the record count and the amount sum on :meth:`BatchWriter.close`. Nothing is kept per record,
so memory stays flat for millions of records.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import attrgetter, is_not
from types import TracebackType
from typing import IO, Any

from axepta.amounts import MAX_AMOUNT
from axepta.batch.layouts import (
    Column,
    Layout,
    layout_for,
    validate_value,
)
from axepta.batch.records import (
    ACTIONS,
    BatchError,
    BatchFooter,
    BatchOptions,
    BatchRecord,
    BatchVersion,
    Capture,
    Kind,
    RefTrans,
    Reverse,
)
from axepta.errors import InvalidRequestError
from axepta.fields import check_format

__all__ = ["BatchWriter", "write_batch"]

Target = str | os.PathLike[str] | IO[bytes]

_is_normalized = unicodedata.is_normalized
#: Lines encoded and written together.
_FLUSH_LINES = 512


def _tuple_getter(attrs: Sequence[str]) -> Callable[[object], tuple[Any, ...]]:
    """``attrgetter`` that always returns a tuple (even for zero or one attribute)."""
    if not attrs:
        return lambda record: ()
    if len(attrs) == 1:
        name = attrs[0]
        return lambda record: (getattr(record, name),)
    return attrgetter(*attrs)


class _Tail:
    """One column list the writer may use, with a getter of its values in column order."""

    def __init__(self, columns: tuple[Column, ...]) -> None:
        self.columns = columns
        # Forced-empty columns (REFTRANS request results) read attributes that the forbidden
        # check has already proven to be None.
        self.values = _tuple_getter([c.attr for c in columns])
        self.amount_index = next(i for i, c in enumerate(columns) if c.kind == "amount")
        self.commas = len(columns) + 1  # PAYPAL,<Action>,<columns>


class _Plan:
    """How records of one class are written in one writer: the column lists the writer may use
    (chosen by which optional fields a record has) and the attributes that must stay ``None``."""

    def __init__(self, layout: Layout, kind: Kind) -> None:
        self.layout = layout
        self.prefix = f"PAYPAL,{layout.action},"
        self.fullmatch = layout.fast[0]
        tails = sorted(layout.tails.values(), key=len)
        version = layout.version
        if kind == "request" and layout.action == Capture.ACTION and version.has_tid:
            tails = [tails[-1]]  # 1.4 Capture: always CompleteType and TID (§8.3)
        if layout.action == RefTrans.ACTION and not version.returns_code:
            tails = [tails[0]]  # x.0: no Code column (the reader tolerates one)
        head = layout.lead + layout.core
        optional = tuple(dict.fromkeys(c.attr for t in tails for c in t if c.kind != "empty"))
        written = {c.attr for c in head if c.kind != "empty"} | set(optional)
        self.extra_allowed = kind == "response" and layout.raw_extras
        names = [
            n
            for n in ("sub_mid", "ref_nr", "tid", "complete_type", "pay_id", "status", "code", "code_ext")
            if hasattr(layout.cls, n) and n not in written
        ]
        self.forbidden = tuple(names)
        self.forbidden_values = _tuple_getter(names)
        # Which optional fields are set -> the shortest column list that has them all.
        self.optional_values = _tuple_getter(optional)
        self.by_presence: dict[tuple[bool, ...], _Tail] = {}
        for present in itertools.product((False, True), repeat=len(optional)):
            need = {a for a, p in zip(optional, present, strict=True) if p}
            tail = next((t for t in tails if need <= {c.attr for c in t}), tails[-1])
            self.by_presence[present] = _Tail(head + tail)
        self.single = self.by_presence[(False,) * len(optional)] if len(self.by_presence) == 1 else None

    def tail(self, record: BatchRecord) -> _Tail:
        if self.single is not None:
            return self.single
        return self.by_presence[tuple(map(is_not, self.optional_values(record), repeat(None)))]


class BatchWriter:
    """Write a batch file record by record.

    ``target`` is a path (created or truncated) or a binary stream. ``version`` defaults to
    ``1.4`` (returns ``Code``, carries ``RefNr`` and ``TID``); in 2.x ``merchant_id`` is the
    master MID and every record needs ``sub_mid``. ``kind="response"`` writes result columns
    too (for tests and simulators)::

        with BatchWriter("T20240131001BNP_DEMO.dat", merchant_id="BNP_DEMO") as writer:
            writer.write(Capture(amount=1000, currency="EUR", trans_id="TX-1", pay_id=pay_id))
        writer.footer   # BatchFooter(count=1, amount_total=1000)

    Every record is validated before it is written; a :class:`~axepta.batch.BatchError` names
    the line the record would have had and the field. Leaving the ``with`` block by an exception
    writes no FOOT and removes a file the writer created (no half file can be uploaded).
    """

    def __init__(
        self,
        target: Target,
        *,
        merchant_id: str,
        version: str | BatchVersion = "1.4",
        date: dt.date | None = None,
        options: BatchOptions | None = None,
        kind: Kind = "request",
    ) -> None:
        if kind not in ("request", "response"):
            raise ValueError("kind must be 'request' or 'response'")
        self.options = options or BatchOptions()
        self.version = BatchVersion.parse(version)
        self.kind: Kind = kind
        try:
            self.merchant_id = check_format("MerchantID", merchant_id, "ans..30", charset=self.options.charset)
        except InvalidRequestError as exc:
            raise BatchError(exc.message, line=1, field=exc.field, rule=exc.rule) from None
        if "," in self.merchant_id:
            raise BatchError("MerchantID: must not contain ','", line=1, field="MerchantID", rule="no ','")
        self.date = date or dt.date.today()
        self.count = 0
        self.amount_total = 0
        self.line = 0
        self.footer: BatchFooter | None = None
        self._newline = self.options.newline
        self._charset = self.options.charset
        self._min_amount = 1 if self.options.small_amounts_enabled else 100
        self._currencies: set[str] = set()
        self._plans: dict[type[Any], _Plan] = {
            cls: _Plan(
                layout_for(
                    action,
                    self.version,
                    kind,
                    reverse_refnr=self.options.reverse_refnr,
                    order_desc_max=self.options.reftrans_order_desc_max,
                ),
                kind,
            )
            for action, cls in ACTIONS.items()
        }
        self._path: str | None = None
        self._stream: IO[bytes]
        if isinstance(target, str | os.PathLike):
            self._path = os.fspath(target)
            self._stream = open(self._path, "wb")  # noqa: SIM115 - closed by close()/abort()
            self._owned = True
        else:
            self._stream = target
            self._owned = False
        self._closed = False
        self._buffer: list[str] = []
        self._emit(f"HEAD,{self.merchant_id},{self.date.strftime(self.options.date_format)},{self.version}")

    # context manager ----------------------------------------------------------------------

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # writing --------------------------------------------------------------------------------

    def _emit(self, text: str) -> None:
        self._buffer.append(text)
        self._flush()
        self.line += 1

    def write(self, record: BatchRecord) -> None:
        """Validate ``record`` and write it as the next line."""
        if self._closed:
            raise ValueError("the batch writer is closed")
        plan = self._plans.get(type(record))
        if plan is None:
            raise TypeError(f"not a batch record: {type(record).__name__}")
        line_no = self.line + 1
        forbidden = plan.forbidden_values(record)
        if forbidden.count(None) != len(forbidden):
            name = next(n for n, v in zip(plan.forbidden, forbidden, strict=True) if v is not None)
            raise self._misplaced(plan, name, line_no)
        if record.extra and not plan.extra_allowed:
            raise self._misplaced(plan, "extra", line_no)
        tail = plan.tail(record)
        values = list(tail.values(record))
        amount = values[tail.amount_index]
        text: str | None = None
        if (
            type(amount) is int
            and self._min_amount <= amount <= MAX_AMOUNT
            and record.currency in self._currencies
            and not record.extra
        ):
            values[tail.amount_index] = str(amount)
            if None in values:
                values = ["" if v is None else v for v in values]
            try:
                candidate = plan.prefix + ",".join(values)  # TypeError: a value is not text
            except TypeError:
                candidate = None
            if (
                candidate is not None
                and candidate.count(",") == tail.commas
                and plan.fullmatch(candidate, len(plan.prefix)) is not None
                and (candidate.isascii() or _is_normalized("NFC", candidate))
            ):
                text = candidate
                if not candidate.isascii():
                    try:
                        candidate.encode(self._charset)
                    except UnicodeEncodeError:
                        text = None  # the slow path names the field
        if text is None:
            text = self._slow(plan, record, tail.columns, line_no)
        buffer = self._buffer
        buffer.append(text)
        if len(buffer) >= _FLUSH_LINES:
            self._flush()
        self.line = line_no
        self.count += 1
        self.amount_total += amount

    def _flush(self) -> None:
        """Encode and write the buffered lines (a bounded number: memory stays flat)."""
        if self._buffer:
            nl = self._newline
            self._stream.write((nl.join(self._buffer) + nl).encode(self._charset))
            self._buffer.clear()

    def write_all(self, records: Iterable[BatchRecord]) -> None:
        """Write every record of ``records`` (any iterable, consumed lazily)."""
        write = self.write
        for record in records:
            write(record)

    def _slow(self, plan: _Plan, record: BatchRecord, columns: tuple[Column, ...], line_no: int) -> str:
        """Validate column by column (precise errors), return the line with normalised values."""
        values: list[str] = []
        for col in columns:
            if col.kind == "empty":
                values.append("")
                continue
            try:
                value = validate_value(
                    col,
                    getattr(record, col.attr),
                    charset=self._charset,
                    writing=True,
                    small_amounts_enabled=self.options.small_amounts_enabled,
                )
            except InvalidRequestError as exc:
                raise BatchError(
                    f"{plan.layout.action}: {exc.message}", line=line_no, field=exc.field, rule=exc.rule
                ) from None
            if col.kind == "currency":
                self._currencies.add(value)
            values.append("" if value is None else str(value))
        if record.extra:
            layout = plan.layout
            n_lead = len(columns) - len(layout.result)
            extras = [_check_extra(v, line_no, self._charset) for v in record.extra]
            found = layout.columns_for(len(columns) + len(extras))
            # The reader must find the extras again: they cannot stand in for typed columns.
            if columns != layout.lead + layout.core + layout.result or found is None or found[1] != len(extras):
                raise BatchError(
                    f"{layout.action}: {len(extras)} echoed extra column(s) would read back as "
                    "TID/CompleteType; set those fields instead of extra",
                    line=line_no,
                    field="extra",
                    rule="echoed columns",
                )
            values[n_lead:n_lead] = extras
        return plan.prefix + ",".join(values)

    def _misplaced(self, plan: _Plan, name: str, line_no: int) -> BatchError:
        layout = plan.layout
        version = layout.version
        wire = {
            "sub_mid": "SubMID",
            "ref_nr": "RefNr",
            "tid": "TID",
            "complete_type": "CompleteType",
            "pay_id": "PayID",
            "status": "Status",
            "code": "Code",
            "code_ext": "CodeExt",
            "extra": "extra",
        }[name]
        if name == "sub_mid":
            why = "SubMID belongs to 2.x (master MID) files only"
        elif name == "ref_nr" and layout.action == Reverse.ACTION and version.has_ref_nr:
            why = "Reverse records carry no RefNr while reverse_refnr is off"
        elif name == "ref_nr":
            why = f"{layout.action} records carry RefNr only in versions x.1-x.4"
        elif name == "tid":
            why = f"TID needs version 1.4 or 2.4 ({layout.action} has none in {version})"
        elif name == "complete_type":
            why = "CompleteType exists only on Capture records of version 1.4 or 2.4"
        elif name == "code" and self.kind == "response":
            why = "x.0 files carry no Code"
        elif name == "extra":
            why = "echoed extra columns exist only in response files of versions x.1-x.4"
        else:
            why = f"{wire} is a result column: it belongs to response files"
        return BatchError(
            f"{layout.action}: {wire} cannot be written in a version {version} {self.kind} file: {why}",
            line=line_no,
            field=wire,
            rule=f"version {version}",
        )

    # end --------------------------------------------------------------------------------------

    def close(self) -> BatchFooter:
        """Write ``FOOT,<count>,<sum>`` and close a file the writer opened. Idempotent."""
        if self.footer is not None:
            return self.footer
        if self._closed:
            raise ValueError("the batch writer was aborted")
        self._emit(f"FOOT,{self.count},{self.amount_total}")
        self.footer = BatchFooter(self.count, self.amount_total)
        self._closed = True
        if self._owned:
            self._stream.close()
        else:
            self._stream.flush()
        return self.footer

    def abort(self) -> None:
        """Stop without FOOT; a file the writer created is removed."""
        if self._closed:
            return
        self._closed = True
        self._buffer.clear()
        if self._owned:
            self._stream.close()
            if self._path is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self._path)


def _check_extra(value: object, line_no: int, charset: str) -> str:
    if not isinstance(value, str) or "," in value or any(ch < " " or ch == "\x7f" for ch in value):
        raise BatchError(
            "extra: echoed columns must be text without ',' or control characters",
            line=line_no,
            field="extra",
            rule="ans",
        )
    try:
        value.encode(charset)
    except UnicodeEncodeError:
        raise BatchError(f"extra: {value!r} cannot be encoded in {charset}", line=line_no, field="extra", rule=charset) from None
    return value


def write_batch(
    target: Target,
    records: Iterable[BatchRecord],
    *,
    merchant_id: str,
    version: str | BatchVersion = "1.4",
    date: dt.date | None = None,
    options: BatchOptions | None = None,
    kind: Kind = "request",
) -> BatchFooter:
    """Write a whole batch file (HEAD, ``records``, FOOT) and return its footer."""
    with BatchWriter(target, merchant_id=merchant_id, version=version, date=date, options=options, kind=kind) as writer:
        writer.write_all(records)
    assert writer.footer is not None
    return writer.footer
