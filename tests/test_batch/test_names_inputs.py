"""§8.6 file names, and records from CSV / JSON lines input."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from axepta.batch import (
    INPUT_COLUMNS,
    BatchError,
    Capture,
    CreditEx,
    RefTrans,
    batch_file_name,
    iter_csv_records,
    iter_jsonl_records,
    parse_batch_file_name,
    record_from_fields,
)
from tests.test_batch._support import BAID, DATE, P2

# file names ------------------------------------------------------------------------------------


def test_sftp_and_manual_names() -> None:
    assert batch_file_name("BNP_DEMO", date=DATE) == "T20240131001BNP_DEMO.dat"
    assert batch_file_name("BNP_DEMO", date=DATE, counter=12, transfer="manual") == "T20240131BNP_DEMO012.dat"
    assert batch_file_name("BNP_DEMO", date=DATE, counter=999, phase="P", extension=".DAT") == "P20240131999BNP_DEMO.DAT"
    assert batch_file_name("BNP_DEMO", phase="W").startswith("W" + dt.date.today().strftime("%Y%m%d") + "001")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"counter": 0}, "Counter"),
        ({"counter": 1000}, "Counter"),
        ({"counter": True}, "Counter"),
        ({"phase": "X"}, "Phase"),
        ({"transfer": "ftp"}, "Transfer"),
        ({"extension": "dat"}, "Extension"),
        ({"merchant_id": "../etc"}, "MerchantID"),
        ({"merchant_id": "BNP DEMO"}, "MerchantID"),
        ({"merchant_id": ""}, "MerchantID"),
    ],
)
def test_name_errors(kwargs: dict[str, object], field: str) -> None:
    args = {"merchant_id": "BNP_DEMO", "date": DATE} | kwargs
    mid = args.pop("merchant_id")
    with pytest.raises(BatchError) as info:
        batch_file_name(mid, **args)  # type: ignore[arg-type]
    assert info.value.field == field


def test_parse_names_and_change_phase() -> None:
    name = parse_batch_file_name("T20240131007BNP_DEMO_1.dat")
    assert (name.phase, name.date, name.counter, name.merchant_id) == ("T", DATE, 7, "BNP_DEMO_1")
    assert str(name.with_phase("P")) == "P20240131007BNP_DEMO_1.dat"
    manual = parse_batch_file_name("W20240131BNP_DEMO_1002.DAT", transfer="manual")
    assert (manual.merchant_id, manual.counter, manual.extension) == ("BNP_DEMO_1", 2, ".DAT")
    assert str(manual) == "W20240131BNP_DEMO_1002.DAT"
    for bad in ("X20240131001BNP.dat", "T2024013100.dat", "T20241301001BNP.dat", "T20240131ABCBNP.dat", "T20240131001.dat"):
        with pytest.raises(BatchError):
            parse_batch_file_name(bad)
    with pytest.raises(BatchError, match="phase"):
        name.with_phase("Q")  # type: ignore[arg-type]


# record_from_fields -----------------------------------------------------------------------------


def test_record_from_wire_names_and_snake_case() -> None:
    rec = record_from_fields({"Action": "Capture", "Amount": "1999", "Currency": "EUR", "TransID": "CAP-1", "PayID": P2, "RefNr": "", "TID": None})
    assert rec == Capture(1999, "EUR", "CAP-1", P2)
    same = record_from_fields({"action": "Capture", "amount": 1999, "currency": "EUR", "trans_id": "CAP-1", "pay-id": P2})
    assert same == rec
    ex = record_from_fields({"Action": "CreditEx", "Amount": 100, "Currency": "EUR", "TransID": "P", "payer": "a@b.example"}, line=9)
    assert isinstance(ex, CreditEx) and ex.line == 9 and ex.note is None
    rt = record_from_fields({"Action": "REFTRANS", "Amount": 990, "Currency": "EUR", "TransID": "S", "BillingAgreementID": BAID, "OrderDesc": "Abo"})
    assert isinstance(rt, RefTrans) and rt.order_desc == "Abo"


def test_missing_required_text_is_left_to_the_writer() -> None:
    rec = record_from_fields({"Action": "Capture", "Amount": 1999})
    assert isinstance(rec, Capture) and rec.trans_id is None and rec.pay_id is None  # type: ignore[comparison-overlap]


@pytest.mark.parametrize(
    ("fields", "field", "text"),
    [
        ({"Amount": 1}, "Action", "missing"),
        ({"Action": "ABO", "Amount": 1}, "Action", "not supported"),
        ({"Action": "capture", "Amount": 1}, "Action", "did you mean Capture?"),
        ({"Action": 5, "Amount": 1}, "Action", "unknown action 5"),
        ({"Action": "Capture"}, "Amount", "missing"),
        ({"Action": "Capture", "Amount": "19.99"}, "Amount", "minor units"),
        ({"Action": "Capture", "Amount": 19.99}, "Amount", "not float"),
        ({"Action": "Capture", "Amount": True}, "Amount", "not bool"),
        ({"Action": "Capture", "Amount": 1, "TransID": 5}, "TransID", "must be text"),
        ({"Action": "Capture", "Amount": 1, "payer": "a@b"}, "payer", "does not apply to Capture"),
        ({"Action": "Capture", "Amount": 1, "Colour": "red"}, "Colour", "unknown column"),
        ({"Action": "Capture", "Amount": 1, "TransID": "a", "trans_id": "b"}, "TransID", "given twice"),
    ],
)
def test_record_from_fields_errors(fields: dict[str, object], field: str, text: str) -> None:
    with pytest.raises(BatchError) as info:
        record_from_fields(fields, line=4, source="in.csv")
    err = info.value
    assert err.field == field and err.line == 4 and text in str(err)
    assert str(err).startswith("in.csv, line 4: ")


# CSV and JSON lines -----------------------------------------------------------------------------

HEADER = ",".join(INPUT_COLUMNS)


def csv_records(text: str) -> list[object]:
    return list(iter_csv_records(io.StringIO(text), source="in.csv"))


def test_csv_records_with_line_numbers_and_quoted_newlines() -> None:
    text = (
        "Action,Amount,Currency,TransID,PayID,RefNr\n"
        f"Capture,1999,EUR,CAP-1,{P2},INV-1\n"
        "\n"
        f'Capture,2000,EUR,"CAP\n2",{P2},\n'
        f"Capture,2001,EUR,CAP-3,{P2},\n"
    )
    a, b, c = csv_records(text)
    assert a.line == 2 and b.line == 4 and c.line == 6  # type: ignore[attr-defined]
    assert b.trans_id == "CAP\n2"  # type: ignore[attr-defined]  # refused later by the writer


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "no header row"),
        ("Action,Amount,Bogus\n", 1, "unknown column 'Bogus'"),
        ("Action,Amount,amount\n", 1, "appears twice"),
        ("Amount,Currency\n", 1, "no Action column"),
        ("Action,Amount\nCapture,1,extra\n", 2, "3 values for 2 header columns"),
        ("Action,Amount\nCapture,1\nCredit,x\n", 3, "minor units"),
        ('Action,Amount\nCapture,"1\n', 2, "not valid CSV"),
    ],
)
def test_csv_errors(text: str, line: int, message: str) -> None:
    with pytest.raises(BatchError) as info:
        csv_records(text)
    assert info.value.line == line and message in str(info.value)


def test_full_header_is_accepted() -> None:
    assert HEADER.startswith("Action,Amount,Currency,TransID,RefNr,PayID,TID,CompleteType,payer,note,OrderDesc")
    assert csv_records(HEADER + "\n") == []


def test_jsonl_records_and_errors() -> None:
    first = json.dumps({"Action": "Capture", "Amount": 1999, "Currency": "EUR", "TransID": "CAP-1", "PayID": P2})
    text = first + '\n\n{"Action":"Credit","Amount":"5"}\n'
    a, b = list(iter_jsonl_records(io.StringIO(text)))
    assert a == Capture(1999, "EUR", "CAP-1", P2) and a.line == 1 and b.line == 3
    for bad, message in (("{nope\n", "not valid JSON"), ("[1, 2]\n", "JSON object")):
        with pytest.raises(BatchError, match=message) as info:
            list(iter_jsonl_records(io.StringIO(bad), source="in.jsonl"))
        assert info.value.line == 1 and info.value.source == "in.jsonl"
