"""BatchWriter: validation before writing (field and line named), version rules, options,
closing and aborting."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest

from axepta.batch import (
    Authorize,
    BatchError,
    BatchOptions,
    BatchWriter,
    Capture,
    Credit,
    CreditEx,
    RefTrans,
    Reverse,
    load_batch,
    write_batch,
)
from axepta.errors import ConfigurationError
from tests.test_batch._support import BAID, DATE, P1, P2, P5, T1

CAP = Capture(1999, "EUR", "CAP-1", P2, ref_nr="INV-1")


def write(*records: Any, version: str = "1.4", **kw: Any) -> bytes:
    buf = io.BytesIO()
    write_batch(buf, list(records), merchant_id="BNP_DEMO", version=version, date=DATE, **kw)
    return buf.getvalue()


def write_error(*records: Any, **kw: Any) -> BatchError:
    with pytest.raises(BatchError) as info:
        write(*records, **kw)
    return info.value


# values -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["CAP,1", "CAP\r1", "CAP\n1"])
def test_separator_characters_are_refused_naming_field_and_line(bad: str) -> None:
    err = write_error(CAP, dataclasses.replace(CAP, trans_id=bad))
    assert err.line == 3 and err.field == "TransID" and "must not contain ','" in str(err)
    assert str(err).startswith("line 3: Capture: TransID")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (19.99, "not float"),
        (True, "not bool"),
        ("1999", "not str"),
        (None, "missing"),
        (0, "outside 1..9999999999"),
        (10_000_000_000, "outside"),
        (99, "below 100 minor units"),
    ],
)
def test_amount_rules(amount: object, text: str) -> None:
    err = write_error(dataclasses.replace(CAP, amount=amount))
    assert err.line == 2 and err.field == "Amount" and text in str(err)


def test_small_amounts_need_the_option() -> None:
    data = write(dataclasses.replace(CAP, amount=1), options=BatchOptions(small_amounts_enabled=True))
    assert b"PAYPAL,Capture,1,EUR," in data and data.endswith(b"FOOT,1,1\r\n")


@pytest.mark.parametrize(
    ("record", "field", "text"),
    [
        (dataclasses.replace(CAP, currency="eur"), "Currency", "upper case"),
        (dataclasses.replace(CAP, currency="XXY"), "Currency", "ISO 4217"),
        (dataclasses.replace(CAP, trans_id=""), "TransID", "missing"),
        (dataclasses.replace(CAP, trans_id=123), "TransID", "must be text"),
        (dataclasses.replace(CAP, pay_id="abc"), "PayID", "exactly 32"),
        (dataclasses.replace(CAP, ref_nr="Réf"), "RefNr", "ASCII"),
        (dataclasses.replace(CAP, tid="T" * 18), "TID", "1 to 17"),
        (dataclasses.replace(CAP, complete_type="YESS"), "CompleteType", "1 to 3"),
        (CreditEx(1000, "EUR", "PAY-1", None), "payer", "missing"),  # type: ignore[arg-type]
        (CreditEx(1000, "EUR", "PAY-1", "a@b.example", note="n" * 759), "note", "1 to 758"),
        (RefTrans(990, "EUR", "SUB-1", BAID, order_desc="o" * 31), "OrderDesc", "1 to 30"),
        (RefTrans(990, "EUR", "SUB-1", BAID, capture="Manual"), "Capture", "must be Auto"),
        (RefTrans(990, "EUR", "SUB-1", BAID, tx_type="BAID"), "TxType", "Order or Auth"),
        (RefTrans(990, "EUR", "SUB-1", "B 1"), "BillingAgreementID", "letters, digits"),
        (dataclasses.replace(CAP, trans_id="Ω-1"), "TransID", "cannot be encoded in iso-8859-1"),
        (dataclasses.replace(CAP, trans_id="a\udcff"), "TransID", "not valid iso-8859-1"),
    ],
)
def test_field_rules(record: Any, field: str, text: str) -> None:
    err = write_error(record)
    assert (err.line, err.field) == (2, field), err
    assert text in str(err)


def test_values_are_nfc_normalised_before_writing() -> None:
    rec = CreditEx(1000, "EUR", "PAY-1", "a@b.example", note="fide\u0301lite\u0301")
    data = write(rec)
    assert "fidélité".encode("iso-8859-1") in data
    assert load_batch(io.BytesIO(data)).records[0].note == "fidélité"  # type: ignore[union-attr]


def test_utf8_charset_and_lf() -> None:
    rec = CreditEx(1000, "EUR", "PAY-Ω", "a@b.example", note="ok")
    options = BatchOptions(charset="utf-8", newline="\n")
    data = write(rec, options=options)
    assert "PAY-Ω".encode() in data and b"\r" not in data
    assert load_batch(io.BytesIO(data), options=options).records == [dataclasses.replace(rec, line=2)]


# version rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "version", "field", "text"),
    [
        (CAP, "1.0", "RefNr", "RefNr only in versions x.1-x.4"),
        (dataclasses.replace(CAP, ref_nr=None, tid=T1), "1.1", "TID", "TID needs version 1.4"),
        (dataclasses.replace(CAP, complete_type="YES"), "1.2", "CompleteType", "Capture records of version 1.4"),
        (Authorize(1000, "EUR", "A-1", P1, tid=T1), "2.0", "TID", "TID needs"),
        (dataclasses.replace(CAP, sub_mid="SHOP"), "1.4", "SubMID", "2.x"),
        (dataclasses.replace(CAP, status="OK"), "1.4", "Status", "result column"),
        (dataclasses.replace(CAP, code="00000000"), "1.4", "Code", "result column"),
        (dataclasses.replace(CAP, code_ext="1"), "1.4", "CodeExt", "result column"),
        (dataclasses.replace(CAP, extra=("x",)), "1.4", "extra", "response files"),
        (RefTrans(990, "EUR", "S-1", BAID, pay_id=P5), "1.4", "PayID", "result column"),
    ],
)
def test_columns_outside_the_version(record: Any, version: str, field: str, text: str) -> None:
    err = write_error(record, version=version)
    assert (err.line, err.field) == (2, field), err
    assert text in str(err) and f"version {version}" in str(err)


def test_sub_mid_required_in_2x() -> None:
    err = write_error(CAP, version="2.4")
    assert err.field == "SubMID" and "missing" in str(err)


def test_reverse_refnr_switch() -> None:
    rev = Reverse(2500, "EUR", "REV-1", P1, ref_nr="RV-1")
    assert b"PAYPAL,Reverse,2500,EUR,REV-1,RV-1," + P1.encode() + b"\r\n" in write(rev)
    err = write_error(rev, options=BatchOptions(reverse_refnr=False))
    assert err.field == "RefNr" and "reverse_refnr is off" in str(err)
    off = write(dataclasses.replace(rev, ref_nr=None), options=BatchOptions(reverse_refnr=False))
    assert b"PAYPAL,Reverse,2500,EUR,REV-1," + P1.encode() + b"\r\n" in off


def test_capture_14_always_writes_complete_type_and_tid() -> None:
    data = write(dataclasses.replace(CAP, ref_nr=None))
    assert f"PAYPAL,Capture,1999,EUR,CAP-1,,{P2},,\r\n".encode() in data
    data = write(Credit(500, "EUR", "C-1", P2), Credit(500, "EUR", "C-2", P2, tid=T1))
    assert f"C-1,,{P2}\r\n".encode() in data and f"C-2,,{P2},{T1}\r\n".encode() in data


# responses -----------------------------------------------------------------------------------------


def test_response_rules() -> None:
    ok = dataclasses.replace(CAP, status="OK", code="00000000")
    err = write_error(dataclasses.replace(CAP, code="00000000"), kind="response")
    assert err.field == "Status" and "missing" in str(err)
    err = write_error(dataclasses.replace(ok, code=None), kind="response")
    assert err.field == "Code" and "missing" in str(err)
    err = write_error(dataclasses.replace(ok, ref_nr=None), version="1.0", kind="response")
    assert err.field == "Code" and "x.0 files carry no Code" in str(err)
    err = write_error(RefTrans(990, "EUR", "S-1", BAID, status="OK", code="00000000"), version="1.0", kind="response")
    assert err.field == "Code" and "x.0" in str(err)


def test_response_extras() -> None:
    rec = dataclasses.replace(CAP, status="FAILED", code="21500067", extra=("a", "b", "c"))
    data = write(rec, kind="response")
    assert f"{P2},a,b,c,FAILED,21500067,\r\n".encode() in data
    assert load_batch(io.BytesIO(data)).records == [dataclasses.replace(rec, line=2)]
    for bad, text in (
        (dataclasses.replace(rec, extra=("a",)), "would read back as TID"),
        (dataclasses.replace(rec, extra=("a", "b", "c"), tid=T1), "would read back"),
        (dataclasses.replace(rec, extra=("a,b", "c", "d")), "without ','"),
        (dataclasses.replace(rec, extra=("Ω", "c", "d")), "cannot be encoded"),
    ):
        err = write_error(bad, kind="response")
        assert err.field == "extra" and text in str(err), err
    x0 = dataclasses.replace(rec, ref_nr=None, code=None)
    err = write_error(x0, version="1.0", kind="response")
    assert err.field == "extra" and "versions x.1-x.4" in str(err)


# header, lifecycle ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("mid", "text"), [("", "1 to 30"), ("M" * 31, "1 to 30"), ("BNP,DEMO", "','"), ("BNP\x00", "control")])
def test_bad_merchant_id(mid: str, text: str) -> None:
    with pytest.raises(BatchError) as info:
        BatchWriter(io.BytesIO(), merchant_id=mid)
    assert info.value.field == "MerchantID" and info.value.line == 1 and text in str(info.value)


def test_unknown_version() -> None:
    with pytest.raises(BatchError, match=r"unknown batch version '1\.9'"):
        BatchWriter(io.BytesIO(), merchant_id="BNP_DEMO", version="1.9")
    with pytest.raises(ValueError, match="kind"):
        BatchWriter(io.BytesIO(), merchant_id="BNP_DEMO", kind="both")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [{"charset": "no-such-charset"}, {"charset": "utf-16"}, {"newline": "\r"}, {"reftrans_order_desc_max": 0}, {"date_format": "YYYYMMDD"}, {"date_format": "%Y,%m"}],
)
def test_bad_options(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        BatchOptions(**kwargs)


def test_date_format_and_default_date() -> None:
    buf = io.BytesIO()
    write_batch(buf, [], merchant_id="BNP_DEMO", date=dt.date(2024, 2, 29), options=BatchOptions(date_format="%d.%m.%Y"))
    assert buf.getvalue() == b"HEAD,BNP_DEMO,29.02.2024,1.4\r\nFOOT,0,0\r\n"
    w = BatchWriter(io.BytesIO(), merchant_id="BNP_DEMO")
    assert w.date == dt.date.today()


def test_not_a_record_and_closed_writer() -> None:
    w = BatchWriter(io.BytesIO(), merchant_id="BNP_DEMO")
    with pytest.raises(TypeError, match="not a batch record"):
        w.write("PAYPAL,Capture")  # type: ignore[arg-type]
    footer = w.close()
    assert w.close() is footer  # idempotent
    with pytest.raises(ValueError, match="closed"):
        w.write(CAP)


def test_abort_removes_the_file_and_writes_no_footer(tmp_path: Path) -> None:
    path = tmp_path / "T.dat"
    def fill(w: BatchWriter) -> None:
        w.write(CAP)
        assert path.exists()
        w.write(dataclasses.replace(CAP, amount=-1))

    w = BatchWriter(path, merchant_id="BNP_DEMO")
    with pytest.raises(BatchError), w:
        fill(w)
    assert not path.exists()
    w.abort()  # idempotent
    with pytest.raises(ValueError, match="aborted"):
        w.close()
    stream = io.BytesIO()
    w2 = BatchWriter(stream, merchant_id="BNP_DEMO")
    w2.write(CAP)
    w2.abort()
    assert b"FOOT" not in stream.getvalue() and not stream.closed


def test_writer_to_path_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "T20240131001BNP_DEMO.dat"
    with BatchWriter(path, merchant_id="BNP_DEMO", date=DATE) as w:
        w.write_all(iter([CAP, CAP]))
        assert (w.count, w.amount_total, w.line) == (2, 3998, 3)
    assert w.footer is not None and (w.footer.count, w.footer.amount_total) == (2, 3998)
    assert path.read_bytes().endswith(b"FOOT,2,3998\r\n")
    assert len(load_batch(path).records) == 2


def test_slow_path_caches_currencies_then_fast_path() -> None:
    """The first record of a currency is checked in full; the next ones take the fast path and
    still refuse what the full check refuses."""
    err = write_error(CAP, CAP, dataclasses.replace(CAP, pay_id="x" * 31 + "!"))
    assert err.line == 4 and err.field == "PayID"
    err = write_error(CAP, dataclasses.replace(CAP, trans_id="A,B"))
    assert err.line == 3 and err.field == "TransID"
    err = write_error(CAP, dataclasses.replace(CAP, trans_id="Ω-1"))
    assert err.line == 3 and err.field == "TransID" and "cannot be encoded" in str(err)
    err = write_error(CAP, dataclasses.replace(CAP, trans_id=None))
    assert err.line == 3 and err.field == "TransID" and "missing" in str(err)


def test_many_records_are_flushed_in_chunks() -> None:
    buf = io.BytesIO()
    with BatchWriter(buf, merchant_id="BNP_DEMO", date=DATE) as w:
        for i in range(1200):
            w.write(dataclasses.replace(CAP, trans_id=f"CAP-{i}"))
            if i == 1100:
                assert buf.getvalue().count(b"\r\n") == 1 + 1024  # HEAD + two chunks of 512
    batch = load_batch(io.BytesIO(buf.getvalue()))
    assert len(batch.records) == 1200 and batch.records[-1].trans_id == "CAP-1199"  # type: ignore[union-attr]
