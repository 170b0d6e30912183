"""BatchReader: structure, footer, every field rule; each error names its line."""

from __future__ import annotations

import io
import logging
import pickle

import pytest

from axepta.batch import (
    BatchError,
    BatchOptions,
    BatchReader,
    Capture,
    CreditEx,
    RefTrans,
    load_batch,
)
from axepta.errors import InvalidRequestError
from tests.test_batch._support import BAID, GOLDEN, P1, P2, P5, T1, lines

CAP = f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},,"


def read(data: bytes, **kw: object) -> list[object]:
    return load_batch(io.BytesIO(data), **kw).records  # type: ignore[arg-type]


def error(data: bytes, **kw: object) -> BatchError:
    with pytest.raises(BatchError) as info:
        read(data, **kw)
    return info.value


# structure --------------------------------------------------------------------------------


def test_batch_error_is_an_invalid_request_error_and_picklable() -> None:
    err = error(lines(CAP, foot="FOOT,2,1999"))
    assert isinstance(err, InvalidRequestError)
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is BatchError and again.line == err.line and str(again) == str(err)
    assert again.field == "CountRecords" and again.detail == err.detail


def test_empty_file() -> None:
    err = error(b"")
    assert err.line == 1 and "missing HEAD" in str(err)


def test_missing_head() -> None:
    err = error(f"{CAP}\r\nFOOT,1,1999\r\n".encode())
    assert err.line == 1 and err.field == "HEAD" and "first line must be HEAD" in str(err)


@pytest.mark.parametrize(
    ("head", "field", "text"),
    [
        ("HEAD,BNP_DEMO,20240131", "HEAD", "4 columns"),
        ("HEAD,BNP_DEMO,20240131,1.4,x", "HEAD", "4 columns"),
        ("HEAD,,20240131,1.4", "MerchantID", "1 to 30"),
        ("HEAD," + "M" * 31 + ",20240131,1.4", "MerchantID", "1 to 30"),
        ("HEAD,BNP_DEMO,2024-01-31,1.4", "Date", "date format"),
        ("HEAD,BNP_DEMO,20241331,1.4", "Date", "date format"),
        ("HEAD,BNP_DEMO,20240131,1.5", "Version", "unknown batch version"),
        ("HEAD,BNP_DEMO,20240131,3.0", "Version", "unknown batch version"),
        ("HEAD,BNP_DEMO,20240131,", "Version", "unknown batch version"),
    ],
)
def test_bad_head(head: str, field: str, text: str) -> None:
    err = error(f"{head}\r\nFOOT,0,0\r\n".encode())
    assert err.line == 1 and err.field == field and text in str(err)


def test_head_date_format_is_configurable() -> None:
    data = b"HEAD,BNP_DEMO,31.01.2024,1.4\r\nFOOT,0,0\r\n"
    batch = load_batch(io.BytesIO(data), options=BatchOptions(date_format="%d.%m.%Y"))
    assert batch.header.date.isoformat() == "2024-01-31"
    assert batch.records == [] and batch.kind == "request"


def test_missing_foot() -> None:
    data = b"HEAD,BNP_DEMO,20240131,1.4\r\n" + CAP.encode() + b"\r\n"
    err = error(data)
    assert err.line == 3 and err.field == "FOOT" and "missing FOOT" in str(err)


def test_missing_foot_after_head_only() -> None:
    err = error(b"HEAD,BNP_DEMO,20240131,1.4\r\n")
    assert err.line == 2 and "missing FOOT" in str(err)


@pytest.mark.parametrize("foot", ["FOOT", "FOOT,1", "FOOT,1,1999,3", "FOOT,one,1999", "FOOT,1,-5", "FOOT,1,19.99"])
def test_malformed_foot(foot: str) -> None:
    err = error(lines(CAP, foot=foot))
    assert err.line == 3 and err.field == "FOOT"


def test_footer_count_mismatch() -> None:
    err = error(lines(CAP, CAP, foot="FOOT,3,3998"))
    assert err.line == 4 and err.field == "CountRecords" and err.rule == "footer count"
    assert "2 PAYPAL records" in str(err)


def test_footer_sum_mismatch() -> None:
    err = error(lines(CAP, CAP, foot="FOOT,2,3997"))
    assert err.line == 4 and err.field == "SumAmount" and "add up to 3998" in str(err)


def test_footer_count_with_head_and_foot_is_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="axepta.batch"):
        batch = load_batch(io.BytesIO(lines(CAP, CAP, foot="FOOT,4,3998")))
    assert batch.footer.count_includes_head_foot and batch.footer.count == 4
    assert len(batch.records) == 2
    assert any("counts HEAD and FOOT" in r.getMessage() for r in caplog.records)


def test_footer_count_without_head_foot_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="axepta.batch"):
        load_batch(io.BytesIO(lines(CAP)))
    assert caplog.records == []


def test_content_after_foot() -> None:
    err = error(lines(CAP) + CAP.encode() + b"\r\n")
    assert err.line == 4 and "after FOOT" in str(err)


def test_blank_lines_after_foot_are_fine() -> None:
    assert len(read(lines(CAP) + b"\r\n\n")) == 1


def test_empty_line_inside() -> None:
    err = error(lines(CAP, "", CAP))
    assert err.line == 3 and "empty line" in str(err)


def test_second_head() -> None:
    err = error(lines(CAP, "HEAD,BNP_DEMO,20240131,1.4"))
    assert err.line == 3 and err.field == "HEAD"


def test_unknown_record_type() -> None:
    err = error(lines(CAP, f"CC,Capture,1999,EUR,CAP-1,INV-1,{P2},,"))
    assert err.line == 3 and err.field == "Type" and "'CC'" in str(err)


def test_unknown_action_with_hint() -> None:
    err = error(lines(f"PAYPAL,capture,1999,EUR,CAP-1,INV-1,{P2},,"))
    assert err.line == 2 and err.field == "Action" and "did you mean Capture?" in str(err)
    err = error(lines("PAYPAL,Refund,1999,EUR"))
    assert "unknown action 'Refund'" in str(err) and "did you mean" not in str(err)
    err = error(lines("PAYPAL"))
    assert err.line == 2 and "unknown action ''" in str(err)


def test_abo_is_refused_naming_the_line() -> None:
    err = error(lines(CAP, f"PAYPAL,ABO,990,EUR,SUB-1,,,Auto,,{BAID},,,,"))
    assert err.line == 3 and err.field == "Action" and "ABO" in str(err) and "not supported" in str(err)


def test_cr_inside_a_line() -> None:
    data = lines(CAP).replace(b"CAP-1", b"CAP\r-1")
    err = error(data)
    assert err.line == 2 and "CR" in str(err)


def test_undecodable_bytes_are_named_with_their_line() -> None:
    data = lines(CAP).replace(b"CAP-1", b"CAP-\xff")
    err = error(data, options=BatchOptions(charset="utf-8"))
    assert err.line == 2 and err.field == "TransID" and "not valid utf-8" in str(err)


def test_undecodable_head() -> None:
    err = error(b"HEAD,BNP\xff,20240131,1.4\r\nFOOT,0,0\r\n", options=BatchOptions(charset="utf-8"))
    assert err.line == 1 and err.field == "MerchantID"


# columns ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "field", "text"),
    [
        (f"PAYPAL,Capture,19x9,EUR,CAP-1,INV-1,{P2},,", "Amount", "not 1 to 10 digits"),
        (f"PAYPAL,Capture,0,EUR,CAP-1,INV-1,{P2},,", "Amount", "outside 1..9999999999"),
        (f"PAYPAL,Capture,00000,EUR,CAP-1,INV-1,{P2},,", "Amount", "outside"),
        (f"PAYPAL,Capture,12345678901,EUR,CAP-1,INV-1,{P2},,", "Amount", "not 1 to 10 digits"),
        (f"PAYPAL,Capture,,EUR,CAP-1,INV-1,{P2},,", "Amount", "missing"),
        (f"PAYPAL,Capture,1999,eur,CAP-1,INV-1,{P2},,", "Currency", "upper case"),
        (f"PAYPAL,Capture,1999,XYZ,CAP-1,INV-1,{P2},,", "Currency", "not an ISO 4217"),
        (f"PAYPAL,Capture,1999,EURO,CAP-1,INV-1,{P2},,", "Currency", "3-letter"),
        (f"PAYPAL,Capture,1999,EUR,,INV-1,{P2},,", "TransID", "missing"),
        (f"PAYPAL,Capture,1999,EUR,{'T' * 65},INV-1,{P2},,", "TransID", "1 to 64"),
        (f"PAYPAL,Capture,1999,EUR,CAP&1,INV-1,{P2},,", "TransID", "'&'"),
        (f"PAYPAL,Capture,1999,EUR,CAP\x01,INV-1,{P2},,", "TransID", "control"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INVé,{P2},,", "RefNr", "ASCII"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,{'R' * 31},{P2},,", "RefNr", "1 to 30"),
        ("PAYPAL,Capture,1999,EUR,CAP-1,INV-1,short,,", "PayID", "is not a PayID"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2[:-1]}-,,", "PayID", "is not a PayID"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},YESS,", "CompleteType", "1 to 3"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},,{'X' * 18}", "TID", "1 to 17"),
        ("PAYPAL,CreditEx,PAY-1,,1000,EUR,,Merci", "payer", "missing"),
        (f"PAYPAL,CreditEx,PAY-1,,1000,EUR,{'p' * 101},Merci", "payer", "1 to 100"),
        (f"PAYPAL,CreditEx,PAY-1,,1000,EUR,a@b.example,{'n' * 759}", "note", "1 to 758"),
        (f"PAYPAL,REFTRANS,990,EUR,SUB-1,,{'o' * 31},Auto,,{BAID},,,,", "OrderDesc", "1 to 30"),
        (f"PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Manual,,{BAID},,,,", "Capture", "must be Auto"),
        (f"PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Auto,Sale,{BAID},,,,", "TxType", "Order or Auth"),
        ("PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Auto,,B_123,,,,", "BillingAgreementID", "letters, digits or '-'"),
        ("PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Auto,,B-12345678901234567890,,,,", "BillingAgreementID", "1 to 19"),
        ("PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Auto,,,,,,", "BillingAgreementID", "missing"),
    ],
)
def test_field_errors_name_line_and_field(record: str, field: str, text: str) -> None:
    err = error(lines(CAP, record, foot="FOOT,2,2000"), kind="request")
    assert err.line == 3, err
    assert err.field == field, err
    assert text in str(err), err
    assert str(err).startswith("line 3: ")


def test_order_desc_limit_is_configurable() -> None:
    record = f"PAYPAL,REFTRANS,990,EUR,SUB-1,,{'o' * 100},Auto,,{BAID},,,,"
    (rec,) = read(lines(record), options=BatchOptions(reftrans_order_desc_max=127))
    assert isinstance(rec, RefTrans) and rec.order_desc == "o" * 100


@pytest.mark.parametrize(
    ("record", "field", "text"),
    [
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},OK,0000000,", "Code", "8 characters"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},OK,,", "Code", "missing"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},,00000000,", "Status", "missing"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},O K,00000000,", "Status", "letters only"),
        (f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},OK,00000000,{'9' * 65}", "CodeExt", "1 to 64"),
        (f"PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Auto,,{BAID},,{P5},OK,2150006", "Code", "8 characters"),
        (f"PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Auto,,{BAID},,{P5[:10]},OK,00000000", "PayID", "is not a PayID"),
    ],
)
def test_response_field_errors(record: str, field: str, text: str) -> None:
    ok = f"PAYPAL,Capture,1000,EUR,CAP-0,INV-0,{P2},OK,00000000,"
    err = error(lines(ok, record, foot="FOOT,2,2000"))
    assert (err.line, err.field) == (3, field), err
    assert text in str(err)


def test_column_count_errors_describe_the_layout() -> None:
    err = error(lines(f"PAYPAL,Capture,1999,EUR,CAP-1,{P2}"), kind="request")
    assert err.line == 2 and err.rule == "column count"
    assert "expected 5, 6 or 7" in str(err) and "then: nothing | TID | CompleteType,TID" in str(err)
    err = error(lines(f"PAYPAL,Credit,1999,EUR,CAP-1,X,{P2},OK"), kind="response")
    assert "expected at least 8" in str(err) and "echoed columns" in str(err)
    err = error(lines(f"PAYPAL,Reverse,1999,EUR,CAP-1,{P2}"), kind="request")
    assert "reverse_refnr is on" in str(err)
    err = error(lines(f"PAYPAL,Authorize,1999,EUR,CAP-1,{P2},T,X,Y"), kind="request")
    assert "expected 4 or 5" in str(err)


def test_x0_response_extra_columns_are_refused() -> None:
    record = f"PAYPAL,Capture,1999,EUR,CAP-1,{P2},OK,123,extra"
    err = error(lines(record, version="1.0"))
    assert err.line == 2 and err.rule == "column count" and "then: Status | Status,CodeExt" in str(err)


def test_2x_records_need_a_sub_mid() -> None:
    err = error(lines(f"PAYPAL,Capture,,1999,EUR,CAP-1,INV-1,{P2},,", version="2.4"))
    assert err.line == 2 and err.field == "SubMID" and "missing" in str(err)
    (rec,) = read(lines(f"PAYPAL,Capture,SHOP_1,1999,EUR,CAP-1,INV-1,{P2},,", version="2.4", foot="FOOT,1,1999"))
    assert isinstance(rec, Capture) and rec.sub_mid == "SHOP_1" and rec.amount == 1999


# kinds ----------------------------------------------------------------------------------------


def test_first_record_decides_the_kind() -> None:
    response = f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},OK,00000000,"
    err = error(lines(CAP, response))
    assert err.line == 3 and "(request, version 1.4)" in str(err)
    err = error(lines(response, CAP))
    assert err.line == 3 and "(response, version 1.4)" in str(err)


def test_explicit_kind() -> None:
    response = f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},OK,00000000,"
    err = error(lines(response), kind="request")
    assert err.line == 2 and err.rule == "column count"
    err = error(lines(CAP), kind="response")
    assert err.line == 2
    with BatchReader(io.BytesIO(lines(response)), kind="response") as reader:
        assert reader.kind == "response"
        assert [r.status for r in reader] == ["OK"]


def test_reftrans_request_result_positions_must_be_empty() -> None:
    record = f"PAYPAL,REFTRANS,990,EUR,SUB-1,,Abo,Auto,,{BAID},,{P1},,"
    err = error(lines(record), kind="request")
    assert err.line == 2 and err.field == "PayID" and "must be empty in a request" in str(err)
    # In auto mode a filled result position makes it a response, which needs a Status.
    err = error(lines(record))
    assert err.field == "Status" and "missing" in str(err)


def test_reftrans_x0_tolerates_a_code_column() -> None:
    with_code = f"PAYPAL,REFTRANS,990,EUR,SUB-1,Abo,Auto,,{BAID},,{P5},OK,00000000"
    without = f"PAYPAL,REFTRANS,990,EUR,SUB-1,Abo,Auto,,{BAID},,{P5},OK"
    a, b = read(lines(with_code, without, version="1.0", foot="FOOT,2,1980"))
    assert isinstance(a, RefTrans) and a.code == "00000000" and a.pay_id == P5
    assert isinstance(b, RefTrans) and b.code is None and b.status == "OK"
    (req,) = read(lines(f"PAYPAL,REFTRANS,990,EUR,SUB-1,Abo,Auto,,{BAID},,,,", version="1.0"))
    assert isinstance(req, RefTrans) and req.status is None


def test_response_echoes_are_mapped_or_kept() -> None:
    one = f"PAYPAL,Capture,1999,EUR,CAP-1,INV-1,{P2},{T1},OK,00000000,"
    two = f"PAYPAL,Capture,1999,EUR,CAP-2,INV-1,{P2},YES,{T1},OK,00000000,"
    three = f"PAYPAL,Capture,1999,EUR,CAP-3,INV-1,{P2},YES,{T1},zz,FAILED,21500067,"
    a, b, c = read(lines(one, two, three))
    assert isinstance(a, Capture) and a.tid == T1 and a.complete_type is None and a.extra == ()
    assert isinstance(b, Capture) and b.tid == T1 and b.complete_type == "YES"
    assert isinstance(c, Capture) and c.tid is None and c.extra == ("YES", T1, "zz") and c.code == "21500067"
    assert c.as_dict()["extra"] == ["YES", T1, "zz"]
    bad = f"PAYPAL,Capture,1999,EUR,CAP-3,INV-1,{P2},Y\x02S,{T1},zz,FAILED,21500067,"
    err = error(lines(bad))
    assert err.line == 2 and err.field == "extra"


def test_1x_has_no_tid_echo_mapping() -> None:
    rec = f"PAYPAL,Credit,1999,EUR,CRD-1,CN-1,{P2},{T1},OK,00000000,"
    (r,) = read(lines(rec, version="1.1"))
    assert r.extra == (T1,) and r.tid is None  # type: ignore[attr-defined]


# text -----------------------------------------------------------------------------------------


def test_latin1_text_and_utf8_charset() -> None:
    record = "PAYPAL,CreditEx,PAY-1,,1000,EUR,a@b.example,Merci pour votre fidélité"
    (a,) = read(lines(record))
    assert isinstance(a, CreditEx) and a.note == "Merci pour votre fidélité"
    utf8 = lines(record).decode("iso-8859-1").encode("utf-8")
    (b,) = read(utf8, options=BatchOptions(charset="utf-8"))
    assert b == a


def test_decomposed_text_is_normalised() -> None:
    record = "PAYPAL,CreditEx,PAY-1,,1000,EUR,a@b.example,fide\u0301lite\u0301"
    data = lines("PAYPAL,CreditEx,PAY-1,,1000,EUR,a@b.example,x").replace(b",x\r", record.split(",")[-1].join([",", "\r"]).encode("utf-8"))
    (rec,) = read(data, options=BatchOptions(charset="utf-8"))
    assert isinstance(rec, CreditEx) and rec.note == "fidélité"


def test_text_lines_and_line_numbers() -> None:
    text = lines(CAP, CAP).decode("iso-8859-1").splitlines(keepends=True)
    with BatchReader(text) as reader:
        records = list(reader)
        assert [r.line for r in records] == [2, 3]
        assert (reader.count, reader.amount_total) == (2, 3998)


def test_path_source_and_binary_file(tmp_path: object) -> None:
    path = GOLDEN / "request_1.4.dat"
    with open(path, "rb") as f, BatchReader(f) as reader:
        assert len(list(reader)) == 6
    with BatchReader(str(path)) as reader:
        assert reader.header.merchant_id == "BNP_DEMO_AXEPTA"


def test_iterating_twice_and_bad_kind() -> None:
    reader = BatchReader(io.BytesIO(lines(CAP)))
    list(reader)
    with pytest.raises(RuntimeError, match="only once"):
        iter(reader)
    with pytest.raises(ValueError, match="kind"):
        BatchReader(io.BytesIO(lines(CAP)), kind="both")  # type: ignore[arg-type]


def test_header_error_closes_an_opened_file(tmp_path: object) -> None:
    import pathlib

    p = pathlib.Path(str(tmp_path)) / "bad.dat"
    p.write_bytes(b"NOPE\r\n")
    with pytest.raises(BatchError):
        BatchReader(p)


def test_records_stream_lazily() -> None:
    """The footer is only checked at the end: records before it are yielded first."""
    reader = BatchReader(io.BytesIO(lines(CAP, CAP, foot="FOOT,9,1")))
    it = iter(reader)
    assert next(it).trans_id == "CAP-1"  # type: ignore[union-attr]
    assert next(it).line == 3  # type: ignore[union-attr]
    with pytest.raises(BatchError, match="CountRecords"):
        next(it)
    assert reader.footer is None
