"""Streaming reader of batch request and response files (PROTOCOL.md §8.1, §8.5).

Records are yielded one at a time, so memory stays flat however long the file is; the footer is
checked when iteration reaches ``FOOT``. Every error is a :class:`~axepta.batch.BatchError`
naming the line.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import unicodedata
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Literal, cast

from axepta.batch.layouts import Fast, Layout, check_columns, layout_for
from axepta.batch.records import (
    ACTIONS,
    BatchError,
    BatchFooter,
    BatchHeader,
    BatchOptions,
    BatchRecord,
    BatchVersion,
    Kind,
)
from axepta.errors import InvalidRequestError
from axepta.fields import check_format

__all__ = ["BatchFile", "BatchReader", "load_batch"]

logger = logging.getLogger("axepta.batch")

Source = str | os.PathLike[str] | IO[bytes] | Iterable[str]
KindOption = Literal["auto", "request", "response"]

_is_normalized = unicodedata.is_normalized


class BatchReader:
    """Read a batch file lazily.

    ``source`` is a path, a binary stream (decoded with ``options.charset``) or an iterable of
    text lines. ``kind`` is ``"request"``, ``"response"`` or ``"auto"`` (the first record
    decides and every later record must agree). The header is read at construction::

        with BatchReader("T20240131001BNP_DEMO.dat") as reader:
            print(reader.header.merchant_id, reader.header.version)
            for record in reader:          # Capture(...), RefTrans(...), …
                ...
            print(reader.footer)           # checked: count and sum

    Undecodable bytes are reported on their line (they never pass as text). ``count``,
    ``amount_total`` are set when iteration ends; ``kind`` once the first record is read.
    """

    def __init__(
        self,
        source: Source,
        *,
        options: BatchOptions | None = None,
        kind: KindOption = "auto",
    ) -> None:
        if kind not in ("auto", "request", "response"):
            raise ValueError("kind must be 'auto', 'request' or 'response'")
        self.options = options or BatchOptions()
        self._owned: IO[str] | None = None
        lines: Iterable[str]
        if isinstance(source, str | os.PathLike):
            # newline="\n": split on LF only, so a CR inside a line stays visible (and is refused).
            self._owned = open(  # noqa: SIM115 - closed by close() / __exit__
                source, encoding=self.options.charset, errors="surrogateescape", newline="\n"
            )
            lines = self._owned
        elif isinstance(source, io.RawIOBase | io.BufferedIOBase) or _is_binary(source):
            binary = cast(IO[bytes], source)
            self._owned = io.TextIOWrapper(
                binary,
                encoding=self.options.charset,
                errors="surrogateescape",
                newline="\n",
            )
            lines = self._owned
        else:
            lines = source  # type: ignore[assignment]
        self._lines: Iterator[str] = bounded_lines(lines)
        self._kind: Kind | None = None if kind == "auto" else kind
        self._fixed_kind = kind != "auto"
        self.count = 0
        self.amount_total = 0
        self.footer: BatchFooter | None = None
        self._line = 0
        self._started = False
        try:
            self.header = self._read_header()
        except BaseException:
            self.close()
            raise
        version = self.header.version
        self._layouts: dict[Kind, dict[str, Layout]] = {
            k: {
                a: layout_for(
                    a,
                    version,
                    k,
                    reverse_refnr=self.options.reverse_refnr,
                    order_desc_max=self.options.reftrans_order_desc_max,
                )
                for a in ACTIONS
            }
            for k in ("request", "response")
        }
        # "PAYPAL,<Action>" -> compiled fast path of that action
        self._tables: dict[Kind, dict[str, Fast]] = {
            k: {f"PAYPAL,{a}": layout.fast for a, layout in by_action.items()}
            for k, by_action in self._layouts.items()
        }

    # context manager ----------------------------------------------------------------------

    def __enter__(self) -> BatchReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file if the reader opened or wrapped it."""
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    @property
    def kind(self) -> Kind:
        """``request`` or ``response`` (``request`` for a file without records in auto mode)."""
        return self._kind or "request"

    # header --------------------------------------------------------------------------------

    def _next_line(self) -> str | None:
        try:
            line = next(self._lines)
        except StopIteration:
            return None
        except UnicodeDecodeError as exc:  # only with errors= other than surrogateescape
            raise BatchError(f"bytes not valid {self.options.charset}: {exc.reason}", line=self._line + 1) from None
        self._line += 1
        return line

    def _read_header(self) -> BatchHeader:
        raw = self._next_line()
        if raw is None:
            raise BatchError("empty file: missing HEAD", line=1, field="HEAD", rule="HEAD first")
        cols = _strip(raw, 1).split(",")
        if cols[0] != "HEAD":
            raise BatchError(
                f"missing HEAD: the first line must be HEAD,<MerchantID>,<Date>,<Version>, found {cols[0][:20]!r}",
                line=1,
                field="HEAD",
                rule="HEAD first",
            )
        if len(cols) != 4:
            raise BatchError(
                f"HEAD must have 4 columns (HEAD,<MerchantID>,<Date>,<Version>), found {len(cols)}",
                line=1,
                field="HEAD",
                rule="column count",
            )
        try:
            mid = check_format("MerchantID", cols[1], "ans..30", charset=self.options.charset)
        except InvalidRequestError as exc:
            raise BatchError(exc.message, line=1, field=exc.field, rule=exc.rule) from None
        try:
            date = dt.datetime.strptime(cols[2], self.options.date_format).date()
        except ValueError:
            raise BatchError(
                f"Date: {cols[2]!r} does not match the date format {self.options.date_format!r}",
                line=1,
                field="Date",
                rule=self.options.date_format,
            ) from None
        try:
            version = BatchVersion.parse(cols[3])
        except BatchError as exc:
            raise BatchError(exc.detail, line=1, field=exc.field, rule=exc.rule) from None
        return BatchHeader(mid, date, version)

    # records -------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[BatchRecord]:
        if self._started:
            raise RuntimeError("a BatchReader can be iterated only once")
        self._started = True
        return self._records()

    def _records(self) -> Iterator[BatchRecord]:
        lines = self._lines
        line_no = self._line
        kind = self._kind
        lookup = self._fast_table(kind or "request").get
        currencies: set[str] = set()
        count = 0
        total = 0
        try:
            for line in lines:
                line_no += 1
                # Fast path: "PAYPAL,<Action>" -> compiled layout -> one regex, one call.
                i = line.find(",", 7)
                entry = lookup(line[:i])
                if entry is not None:
                    fullmatch, build, amount_at, currency_at = entry
                    m = fullmatch(line, i + 1)
                    if m is not None and (line.isascii() or _is_normalized("NFC", line)):
                        g = m.groups()
                        amount = int(g[amount_at])
                        if amount and g[currency_at] in currencies:
                            count += 1
                            total += amount
                            if kind is None:  # auto mode: the request table matched
                                kind = self._kind = "request"
                            yield build(g, line_no, amount)
                            continue
                # Slow path: FOOT, blank lines, errors, first record of a response file …
                text = _strip(line, line_no)
                if text.startswith("FOOT,") or text == "FOOT":
                    self._line = line_no
                    self.count, self.amount_total = count, total
                    self._check_footer(text, line_no, count, total)
                    self._check_trailer()
                    return
                record, kind = self._slow(text, line_no, kind)
                self._kind = kind
                lookup = self._fast_table(kind).get
                currencies.add(record.currency)
                count += 1
                total += record.amount
                yield record
        except UnicodeDecodeError as exc:  # only with errors= other than surrogateescape
            raise BatchError(f"bytes not valid {self.options.charset}: {exc.reason}", line=line_no + 1) from None
        self._line = line_no
        raise BatchError(
            f"missing FOOT: the file ends after line {line_no} without FOOT,<CountRecords>,<SumAmount>",
            line=line_no + 1,
            field="FOOT",
            rule="FOOT last",
        )

    def _fast_table(self, kind: Kind) -> dict[str, Fast]:
        return self._tables[kind]

    def _slow(self, text: str, line_no: int, kind: Kind | None) -> tuple[BatchRecord, Kind]:
        if text == "":
            raise BatchError("empty line inside the file", line=line_no, rule="no empty lines")
        cols = text.split(",")
        rtype = cols[0]
        if rtype == "HEAD":
            raise BatchError("a second HEAD line", line=line_no, field="HEAD", rule="one HEAD")
        if rtype != "PAYPAL":
            raise BatchError(
                f"unknown record type {rtype[:20]!r} (expected PAYPAL, or FOOT to end the file)",
                line=line_no,
                field="Type",
                rule="PAYPAL",
            )
        action = cols[1] if len(cols) > 1 else ""
        if action == "ABO":
            raise BatchError(
                "action ABO (Classic-API subscription) has no record layout in the Axepta guide "
                "and is not supported; use REFTRANS",
                line=line_no,
                field="Action",
                rule="supported actions",
            )
        if action not in ACTIONS:
            hint = next((a for a in ACTIONS if a.lower() == action.lower()), None)
            known = ", ".join(ACTIONS)
            raise BatchError(
                f"unknown action {action[:20]!r}"
                + (f" (did you mean {hint}?)" if hint else "")
                + f"; known: {known}",
                line=line_no,
                field="Action",
                rule="known actions",
            )
        values = cols[2:]
        if kind is None:
            kind = self._classify(action, values)
        layout = self._layouts[kind][action]
        kwargs = check_columns(layout, values, line=line_no, charset=self.options.charset)
        return layout.cls(**kwargs, line=line_no), kind

    def _classify(self, action: str, values: list[str]) -> Kind:
        """Request or response, from the first record (§8.5)."""
        request = self._layouts["request"][action]
        if action == "REFTRANS":
            # Fixed positions: a request leaves CodeExt, PayID, Status (and Code) empty.
            longest = max(request.tails.values(), key=len)
            columns = (*request.lead, *request.core, *longest)
            result_at = [i for i, c in enumerate(columns) if c.kind == "empty" and i < len(values)]
            return "response" if any(values[i] for i in result_at) else "request"
        return "request" if request.columns_for(len(values)) is not None else "response"

    def _check_footer(self, text: str, line_no: int, count: int, total: int) -> None:
        cols = text.split(",")
        if len(cols) != 3 or not all(c.isascii() and c.isdigit() for c in cols[1:]):
            raise BatchError(
                "FOOT must be FOOT,<CountRecords>,<SumAmount> with two non-negative integers",
                line=line_no,
                field="FOOT",
                rule="FOOT,<CountRecords>,<SumAmount>",
            )
        foot_count, foot_sum = int(cols[1]), int(cols[2])
        with_head_foot = False
        if foot_count != count:
            if foot_count == count + 2:
                with_head_foot = True
                logger.warning(
                    "batch footer (line %d): CountRecords %d counts HEAD and FOOT as well (%d PAYPAL records)",
                    line_no,
                    foot_count,
                    count,
                )
            else:
                raise BatchError(
                    f"FOOT: CountRecords is {foot_count} but the file has {count} PAYPAL records "
                    f"({count + 2} with HEAD and FOOT)",
                    line=line_no,
                    field="CountRecords",
                    rule="footer count",
                )
        if foot_sum != total:
            raise BatchError(
                f"FOOT: SumAmount is {foot_sum} but the Amount columns add up to {total}",
                line=line_no,
                field="SumAmount",
                rule="footer sum",
            )
        self.footer = BatchFooter(foot_count, foot_sum, with_head_foot)

    def _check_trailer(self) -> None:
        """Only blank lines may follow FOOT."""
        for line in self._lines:
            self._line += 1
            if _strip(line, self._line) != "":
                raise BatchError("content after FOOT", line=self._line, field="FOOT", rule="FOOT last")


#: The longest line accepted, in characters: well above the longest legal record (every column
#: at its maximum width: about 1,100 characters, with room for echoed columns); a longer line is
#: refused as soon as this much of it has been read, never read whole (issue 11 item 11).
MAX_LINE_CHARS = 8192


def bounded_lines(lines: Iterable[str], *, limit: int = MAX_LINE_CHARS, source: str | None = None) -> Iterator[str]:
    """The lines of ``lines``, refusing one longer than ``limit`` characters. From a file
    (anything with ``readline``) at most ``limit + 1`` characters of a line are read."""
    readline = getattr(lines, "readline", None)
    number = 0
    if readline is not None:
        while True:
            line = readline(limit + 1)
            if not line:
                return
            number += 1
            if len(line) > limit:
                _too_long(number, limit, source)
            yield line
    for line in lines:
        number += 1
        if len(line) > limit:
            _too_long(number, limit, source)
        yield line


def _too_long(number: int, limit: int, source: str | None) -> None:
    raise BatchError(
        f"line longer than {limit} characters, longer than any legal record: refused without reading it",
        line=number,
        rule=f"at most {limit} characters per line",
        source=source,
    )


def _strip(line: str, line_no: int) -> str:
    """The line without its LF or CRLF; a CR anywhere else is an error."""
    if line.endswith("\n"):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    if "\r" in line or "\n" in line:
        raise BatchError("a CR inside the line (values must not contain CR or LF)", line=line_no, rule="no CR/LF")
    return line


def _is_binary(source: object) -> bool:
    mode = getattr(source, "mode", None)
    return hasattr(source, "read") and isinstance(mode, str) and "b" in mode


class BatchFile:
    """A whole batch file in memory (:func:`load_batch`): for small files and tests."""

    def __init__(self, header: BatchHeader, records: list[BatchRecord], footer: BatchFooter, kind: Kind) -> None:
        self.header = header
        self.records = records
        self.footer = footer
        self.kind = kind

    def __repr__(self) -> str:
        return (
            f"BatchFile(merchant_id={self.header.merchant_id!r}, version='{self.header.version}', "
            f"kind={self.kind!r}, records={len(self.records)})"
        )


def load_batch(source: Source, *, options: BatchOptions | None = None, kind: KindOption = "auto") -> BatchFile:
    """Read a whole batch file into memory (use :class:`BatchReader` for large files)."""
    with BatchReader(source, options=options, kind=kind) as reader:
        records = list(reader)
        assert reader.footer is not None
        return BatchFile(reader.header, records, reader.footer, reader.kind)
