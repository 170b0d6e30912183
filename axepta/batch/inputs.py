"""Records from tabular input: a mapping of wire names (a CSV row, a JSON object) to a typed
record, and lazy CSV / JSON-lines readers built on it (used by ``axepta batch build``).

Column names are the wire names (``Action,Amount,Currency,TransID,RefNr,PayID,TID,
CompleteType,payer,note,OrderDesc,Capture,TxType,BillingAgreementID,SubMID``), matched without
regard to case, ``_`` or ``-`` (so ``trans_id`` works too). ``Amount`` is in minor units.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from axepta.batch.reader import bounded_lines
from axepta.batch.records import ACTIONS, BatchError, BatchRecord

__all__ = ["INPUT_COLUMNS", "iter_csv_records", "iter_jsonl_records", "record_from_fields"]

#: Accepted input columns (wire names) and the record attribute each fills.
INPUT_COLUMNS: dict[str, str] = {
    "Action": "action",
    "Amount": "amount",
    "Currency": "currency",
    "TransID": "trans_id",
    "RefNr": "ref_nr",
    "PayID": "pay_id",
    "TID": "tid",
    "CompleteType": "complete_type",
    "payer": "payer",
    "note": "note",
    "OrderDesc": "order_desc",
    "Capture": "capture",
    "TxType": "tx_type",
    "BillingAgreementID": "billing_agreement_id",
    "SubMID": "sub_mid",
    "Status": "status",
    "Code": "code",
    "CodeExt": "code_ext",
}


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


_BY_NORM: dict[str, str] = {_norm(wire): wire for wire in INPUT_COLUMNS}


def canonical_column(name: object, *, line: int | None = None, source: str | None = None) -> str:
    """The wire name of an input column (``trans_id`` → ``TransID``); unknown names raise."""
    wire = _BY_NORM.get(_norm(name)) if isinstance(name, str) else None
    if wire is None:
        raise BatchError(
            f"unknown column {name!r}; known: {', '.join(INPUT_COLUMNS)}",
            line=line,
            field=str(name),
            rule="known columns",
            source=source,
        )
    return wire


def record_from_fields(
    fields: Mapping[str, object], *, line: int | None = None, source: str | None = None
) -> BatchRecord:
    """Build the typed record of one input row. ``Action`` picks the class; ``Amount`` is an
    ``int`` or a string of digits (minor units); other values are text, ``None`` or ``""``
    (absent). A column that does not belong to the action, or an unknown column, raises
    :class:`~axepta.batch.BatchError` naming ``line``. Formats are checked by the writer."""

    def fail(detail: str, field: str, rule: str) -> BatchError:
        return BatchError(detail, line=line, field=field, rule=rule, source=source)

    values: dict[str, object] = {}
    for key, value in fields.items():
        wire = canonical_column(key, line=line, source=source)
        if wire in values:
            raise fail(f"column {wire} given twice", wire, "unique columns")
        values[wire] = value
    action = values.pop("Action", None)
    if action is None or action == "":
        raise fail("Action: missing (required)", "Action", "mandatory")
    if action == "ABO":
        raise fail("action ABO has no batch layout in the Axepta guide and is not supported; use REFTRANS", "Action", "supported actions")
    if not isinstance(action, str) or action not in ACTIONS:
        hint = next((a for a in ACTIONS if isinstance(action, str) and a.lower() == action.strip().lower()), None)
        raise fail(
            f"unknown action {action!r}" + (f" (did you mean {hint}?)" if hint else "") + f"; known: {', '.join(ACTIONS)}",
            "Action",
            "known actions",
        )
    cls = ACTIONS[action]
    kwargs: dict[str, Any] = {}
    for wire, value in values.items():
        attr = INPUT_COLUMNS[wire]
        if value is None or value == "":
            continue
        if attr == "amount":
            kwargs[attr] = _amount(value, fail)
            continue
        if not isinstance(value, str):
            raise fail(f"{wire}: must be text, not {type(value).__name__}", wire, "text")
        if not hasattr(cls, attr):
            raise fail(f"{wire} does not apply to {action} records", wire, f"{action} columns")
        kwargs[attr] = value
    if "amount" not in kwargs:
        raise fail("Amount: missing (required)", "Amount", "mandatory")
    # Missing required text columns become None: the writer reports them ("TransID: missing").
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            kwargs.setdefault(f.name, None)
    return cls(**kwargs, line=line)


def _amount(value: object, fail: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise fail(f"Amount: must be an integer in minor units, not {type(value).__name__}", "Amount", "integer minor units")
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit()):
            raise fail(f"Amount: {value!r} is not an integer in minor units (e.g. 1234 for 12.34 EUR)", "Amount", "integer minor units")
        return int(text)
    return value


def iter_csv_records(lines: Iterable[str], *, source: str | None = None) -> Iterator[BatchRecord]:
    """Records of a CSV whose first row names the columns (wire names). Lazy: one row at a
    time. Blank rows are skipped; ``record.line`` is the CSV line the row starts on."""
    reader = csv.reader(bounded_lines(lines, source=source), strict=True)
    try:
        header_row = next(reader)
    except StopIteration:
        raise BatchError("empty input: no header row", line=1, rule="header row", source=source) from None
    except csv.Error as exc:
        raise BatchError(f"not valid CSV: {exc}", line=1, rule="CSV", source=source) from None
    header = [canonical_column(name, line=1, source=source) for name in header_row]
    seen: set[str] = set()
    for wire in header:
        if wire in seen:
            raise BatchError(f"column {wire} appears twice in the header", line=1, field=wire, rule="unique columns", source=source)
        seen.add(wire)
    if "Action" not in seen:
        raise BatchError("the header has no Action column", line=1, field="Action", rule="header row", source=source)
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BatchError(f"not valid CSV: {exc}", line=reader.line_num, rule="CSV", source=source) from None
        line = start
        start = reader.line_num + 1
        if not row or all(v == "" for v in row):
            continue
        if len(row) != len(header):
            raise BatchError(
                f"{len(row)} values for {len(header)} header columns",
                line=line,
                rule="column count",
                source=source,
            )
        yield record_from_fields(dict(zip(header, row, strict=True)), line=line, source=source)


def iter_jsonl_records(lines: Iterable[str], *, source: str | None = None) -> Iterator[BatchRecord]:
    """Records of JSON lines: one object per line with wire-name keys (``"Amount": 1234``).
    Blank lines are skipped."""
    for number, text in enumerate(bounded_lines(lines, source=source), 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BatchError(f"not valid JSON: {exc.msg}", line=number, rule="JSON lines", source=source) from None
        if not isinstance(obj, dict):
            raise BatchError("each line must be a JSON object", line=number, rule="JSON lines", source=source)
        yield record_from_fields(obj, line=number, source=source)
