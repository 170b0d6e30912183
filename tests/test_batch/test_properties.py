"""Properties: write → read gives back the records (every action, version, kind, option), and
the reader's fast path never accepts a line that the column-by-column check refuses."""

from __future__ import annotations

import dataclasses
import io
import unicodedata
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from axepta.batch import (
    ACTIONS,
    Authorize,
    BatchError,
    BatchOptions,
    BatchRecord,
    BatchVersion,
    Capture,
    Credit,
    CreditEx,
    RefTrans,
    Reverse,
    load_batch,
    write_batch,
)
from axepta.batch.layouts import Column, Layout, check_columns, layout_for
from tests.test_batch._support import DATE

# Latin-1 text without control characters, ',' and '&' (the 'ans' class in a batch file).
ANS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters=",&\x7f", blacklist_categories=("Cc",))
ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E, blacklist_characters=",&")
ALNUM = st.sampled_from("abcdefABCDEF0123456789")


def text(alphabet: st.SearchStrategy[str], size: int, *, optional: bool = True) -> st.SearchStrategy[str | None]:
    s = st.text(alphabet, min_size=1, max_size=size)
    return st.none() | s if optional else s


AMOUNT = st.integers(100, 9_999_999_999)
CURRENCY = st.sampled_from(["EUR", "USD", "GBP", "JPY", "HUF", "CHF"])
TRANS_ID = text(ANS, 64, optional=False)
REF_NR = text(ASCII, 30)
PAY_ID = st.text(ALNUM, min_size=32, max_size=32)
TID = text(ANS, 17)
VERSION = st.sampled_from([f"{m}.{x}" for m in (1, 2) for x in range(5)])
CODE = st.text(st.sampled_from("0123456789ABCDEF"), min_size=8, max_size=8)


@st.composite
def record(draw: st.DrawFn, version: BatchVersion, kind: str, reverse_refnr: bool) -> BatchRecord:
    action = draw(st.sampled_from(list(ACTIONS)))
    ref = draw(REF_NR) if version.has_ref_nr else None
    tid = draw(TID) if version.has_tid else None
    common: dict[str, Any] = {}
    if version.master:
        common["sub_mid"] = draw(text(ANS, 30, optional=False))
    rec: BatchRecord
    amount, cur, tx = draw(AMOUNT), draw(CURRENCY), draw(TRANS_ID)
    if action == "Authorize":
        rec = Authorize(amount, cur, tx, draw(PAY_ID), tid=tid)
    elif action == "Capture":
        ct = draw(text(ANS, 3)) if version.has_tid else None
        if kind == "response" and ct is not None and tid is None:
            tid = "T"  # an echoed CompleteType comes with its TID column
        rec = Capture(amount, cur, tx, draw(PAY_ID), ref_nr=ref, tid=tid, complete_type=ct)
    elif action == "Credit":
        rec = Credit(amount, cur, tx, draw(PAY_ID), ref_nr=ref, tid=tid)
    elif action == "CreditEx":
        rec = CreditEx(amount, cur, tx, draw(text(ANS, 100, optional=False)), ref_nr=ref, note=draw(text(ANS, 758)))
    elif action == "Reverse":
        rec = Reverse(amount, cur, tx, draw(PAY_ID), ref_nr=ref if reverse_refnr else None, tid=tid)
    else:
        rec = RefTrans(
            amount,
            cur,
            tx,
            draw(st.text(st.sampled_from("AB-0123456789"), min_size=1, max_size=19)),
            ref_nr=ref,
            order_desc=draw(text(ANS, 30)),
            capture=draw(st.sampled_from([None, "Auto"])),
            tx_type=draw(st.sampled_from([None, "Order", "Auth"])),
            pay_id=draw(st.none() | PAY_ID) if kind == "response" else None,
        )
    if kind == "response":
        common["status"] = draw(st.sampled_from(["OK", "FAILED", "Timeout"]))
        if version.returns_code:
            common["code"] = draw(CODE)
        common["code_ext"] = draw(text(st.sampled_from("0123456789"), 10))
    return dataclasses.replace(rec, **common)


@st.composite
def batch(draw: st.DrawFn) -> tuple[str, str, BatchOptions, list[BatchRecord]]:
    version = draw(VERSION)
    kind = draw(st.sampled_from(["request", "response"]))
    options = BatchOptions(
        reverse_refnr=draw(st.booleans()),
        newline=draw(st.sampled_from(["\r\n", "\n"])),
        charset=draw(st.sampled_from(["iso-8859-1", "utf-8"])),
    )
    v = BatchVersion.parse(version)
    records = draw(st.lists(record(v, kind, options.reverse_refnr), max_size=8))
    return version, kind, options, records


@settings(max_examples=300, deadline=None)
@given(batch())
def test_write_then_read_round_trips(case: tuple[str, str, BatchOptions, list[BatchRecord]]) -> None:
    version, kind, options, records = case
    buf = io.BytesIO()
    footer = write_batch(buf, records, merchant_id="BNP_DEMO", version=version, date=DATE, options=options, kind=kind)  # type: ignore[arg-type]
    assert footer.count == len(records) and footer.amount_total == sum(r.amount for r in records)
    read = load_batch(io.BytesIO(buf.getvalue()), options=options, kind=kind)  # type: ignore[arg-type]
    assert read.records == records
    assert [r.line for r in read.records] == list(range(2, 2 + len(records)))
    assert read.footer == footer
    if records:
        auto = load_batch(io.BytesIO(buf.getvalue()), options=options)
        assert auto.kind == kind and auto.records == records


# fast path ⊆ slow path ---------------------------------------------------------------------------

BAD = ["", "0", "00", "12345678901", "eur", "XXX", "a&b", "\x01", "Ω", "x" * 65, "o" * 31, "0a1b2c3d4e5f60718293a4b5c6d7e8f", "O K", "0000000", "Manual", "B_1"]


def good_values(col: Column) -> list[str]:
    """Values that pass the column's rule (some optional columns also accept "")."""
    if col.kind == "amount":
        return ["1999", "100", "9999999999", "0100"]
    if col.kind == "currency":
        return ["EUR", "JPY"]
    if col.kind == "code":
        return ["00000000", "2150006A"]
    if col.kind == "baid":
        return ["B-1", "B-5YH12345KL678901"]
    if col.kind == "enum":
        return [*col.choices, ""]
    if col.kind == "empty":
        return [""]
    if col.fmt == "an32":
        return ["0a1b2c3d4e5f60718293a4b5c6d7e8f9"]
    if col.fmt.startswith("a.."):
        return ["OK", "FAILED"]
    if col.fmt.startswith("ns"):
        return ["INV-1", "a b"] + ([] if col.required else [""])
    return ["TX", "é", "a b", "e\u0301"] + ([] if col.required else [""])


@st.composite
def near_valid_line(draw: st.DrawFn) -> tuple[Layout, list[str]]:
    action = draw(st.sampled_from(list(ACTIONS)))
    version = draw(VERSION.map(BatchVersion.parse))
    layout = layout_for(action, version, draw(st.sampled_from(["request", "response"])))
    count = draw(st.sampled_from(layout.expected_counts()))
    found = layout.columns_for(count)
    assert found is not None
    values = [draw(st.sampled_from(good_values(col))) for col in found[0]]
    # At most one column gets a value from BAD: the line is valid or wrong in exactly one place.
    spoil = draw(st.integers(-1, len(values) - 1))
    if spoil >= 0:
        values[spoil] = draw(st.sampled_from(BAD))
    return layout, values


@settings(max_examples=800, deadline=None)
@given(near_valid_line())
def test_fast_path_never_accepts_what_the_slow_path_refuses(case: tuple[Layout, list[str]]) -> None:
    """The reader takes a line by the fast path only if the regex matches, the amount is not 0,
    the currency was already validated and the line is NFC; then the column-by-column check must
    accept it and build the same record. (Decoded text is always encodable: slow path in utf-8.)"""
    layout, values = case
    fullmatch, build, amount_at, currency_at = layout.fast
    prefix = f"PAYPAL,{layout.action},"
    line = prefix + ",".join(values) + "\r\n"
    try:
        slow = layout.cls(**check_columns(layout, values, line=7, charset="utf-8"), line=7)
    except BatchError:
        slow = None
    m = fullmatch(line, len(prefix))
    event("fast path match" if m is not None else "fast path miss")
    event("slow path accepts" if slow is not None else "slow path refuses")
    if m is None or not (line.isascii() or unicodedata.is_normalized("NFC", line)):
        return
    g = m.groups()
    amount = int(g[amount_at])
    if not amount or g[currency_at] not in ("EUR", "JPY"):
        assert slow is None
        return
    assert slow is not None, line
    assert build(g, 7, amount) == slow


def test_fast_path_matches_the_usual_record() -> None:
    layout = layout_for("Capture", BatchVersion.parse("1.4"), "request")
    line = "PAYPAL,Capture,1999,EUR,TX,R,0a1b2c3d4e5f60718293a4b5c6d7e8f9,YES,T1\r\n"
    fullmatch, build, amount_at, _ = layout.fast
    m = fullmatch(line, 15)
    assert m is not None
    rec = build(m.groups(), 2, int(m.groups()[amount_at]))
    assert rec == Capture(1999, "EUR", "TX", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", ref_nr="R", tid="T1", complete_type="YES")
