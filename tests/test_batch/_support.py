"""The records behind the golden files (tests/test_batch/golden/*.dat), written by hand from
004's layouts (PROTOCOL.md §8.3-§8.5), independently of the writer."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from axepta.batch import (
    Authorize,
    BatchRecord,
    BatchVersion,
    Capture,
    Credit,
    CreditEx,
    RefTrans,
    Reverse,
)

GOLDEN = Path(__file__).resolve().parent / "golden"
DATE = dt.date(2024, 1, 31)
MID = "BNP_DEMO_AXEPTA"
MASTER_MID = "BNP_MASTER_AXEPTA"

P1 = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
P2 = "1b2c3d4e5f60718293a4b5c6d7e8f90a"
P3 = "2c3d4e5f60718293a4b5c6d7e8f90a1b"
P4 = "3d4e5f60718293a4b5c6d7e8f90a1b2c"
P5 = "4e5f60718293a4b5c6d7e8f90a1b2c3d"
BAID = "B-5YH12345KL678901"
T1 = "0VF52814937998046"
T2 = "7PX12345AB678901C"

VERSIONS = ["1.0", "1.1", "1.4", "2.0", "2.1", "2.4"]


def request_records(version: str) -> list[BatchRecord]:
    """The six requests of ``request_<version>.dat``."""
    v = BatchVersion.parse(version)
    ref = v.has_ref_nr
    tid = v.has_tid
    records: list[BatchRecord] = [
        Authorize(1000, "EUR", "AUTH-1", P1, tid=T1 if tid else None),
        Capture(1999, "EUR", "CAP-1", P2, ref_nr="INV-1" if ref else None, complete_type="YES" if tid else None, tid=T2 if tid else None),
        Credit(500, "EUR", "CRD-1", P3, ref_nr="CN-1" if ref else None, tid=T2 if tid else None),
        CreditEx(1000, "EUR", "PAYOUT-1", "buyer@example.com", ref_nr="MP-1" if ref else None, note="Merci"),
        Reverse(2500, "EUR", "REV-1", P4, ref_nr="RV-1" if ref else None),
        RefTrans(990, "EUR", "SUB-1", BAID, ref_nr="SUB-REF-1" if ref else None, order_desc="Abonnement", capture="Auto"),
    ]
    return _numbered(_subs(records, v))


def response_records(version: str) -> list[BatchRecord]:
    """The six results of ``response_<version>.dat``."""
    v = BatchVersion.parse(version)
    ref = v.has_ref_nr
    tid = v.has_tid
    if v.returns_code:
        ok = {"status": "OK", "code": "00000000"}
        results = [ok, ok, {"status": "FAILED", "code": "21500952", "code_ext": "10009"}, ok, {"status": "FAILED", "code": "21501519"}, ok]
    else:
        ok = {"status": "OK"}
        results = [ok, ok, {"status": "FAILED", "code_ext": "10009"}, ok, ok, ok]
    records: list[BatchRecord] = [
        Authorize(1000, "EUR", "AUTH-1", P1, tid=T1 if tid else None),
        Capture(1999, "EUR", "CAP-1", P2, ref_nr="INV-1" if ref else None, tid=T2 if tid else None),
        Credit(500, "EUR", "CRD-1", P3, ref_nr="CN-1" if ref else None, tid=T2 if tid else None),
        CreditEx(1000, "EUR", "PAYOUT-1", "buyer@example.com", ref_nr="MP-1" if ref else None, note="Merci"),
        Reverse(2500, "EUR", "REV-1", P4, ref_nr="RV-1" if ref else None),
        RefTrans(990, "EUR", "SUB-1", BAID, ref_nr="SUB-REF-1" if ref else None, order_desc="Abonnement", capture="Auto", pay_id=P5),
    ]
    records = [dataclasses.replace(r, **res) for r, res in zip(records, results, strict=True)]
    return _numbered(_subs(records, v))


def no_reverse_refnr_records(kind: str) -> list[BatchRecord]:
    """``request_1.4_no_reverse_refnr.dat`` / ``response_…``: Reverse without RefNr."""
    if kind == "request":
        records: list[BatchRecord] = [
            Capture(1999, "EUR", "CAP-1", P2, ref_nr="INV-1"),
            Reverse(2500, "EUR", "REV-1", P4),
            Reverse(700, "EUR", "REV-2", P1, tid=T1),
        ]
    else:
        records = [
            Capture(1999, "EUR", "CAP-1", P2, ref_nr="INV-1", status="OK", code="00000000"),
            Reverse(2500, "EUR", "REV-1", P4, status="OK", code="00000000"),
            Reverse(700, "EUR", "REV-2", P1, tid=T1, status="FAILED", code="21501519"),
        ]
    return _numbered(records)


def _subs(records: list[BatchRecord], version: BatchVersion) -> list[BatchRecord]:
    if not version.master:
        return records
    return [dataclasses.replace(r, sub_mid="BNP_SHOP_A" if i % 2 == 0 else "BNP_SHOP_B") for i, r in enumerate(records)]


def _numbered(records: list[BatchRecord]) -> list[BatchRecord]:
    return [dataclasses.replace(r, line=i + 2) for i, r in enumerate(records)]


def merchant(version: str) -> str:
    return MASTER_MID if version.startswith("2.") else MID


def lines(*body: str, version: str = "1.4", mid: str = MID, foot: str | None = None) -> bytes:
    """A CRLF batch file with ``body`` records; FOOT computed unless given."""
    total = 0
    for line in body:
        cols = line.split(",")
        if cols[0] == "PAYPAL" and len(cols) > 4:
            at = 2 + (version.startswith("2.")) + (cols[1] == "CreditEx") + (cols[1] == "CreditEx" and not version.endswith(".0"))
            amount = cols[at]
            if amount.isdigit():
                total += int(amount)
    footer = foot if foot is not None else f"FOOT,{len(body)},{total}"
    text = "\r\n".join([f"HEAD,{mid},20240131,{version}", *body, footer]) + "\r\n"
    return text.encode("iso-8859-1")
