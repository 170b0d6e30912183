"""Real PayPal IPN bodies (tests/data/ipn_corpus, a copy of shared/data/ipn_corpus): every entry
parses and matches the values its source asserts; the de-duplication sequences decide as their
sources do. The two dates the corpus marks as ambiguous are tested for the documented behaviour
(PROTOCOL.md §9.1: the PST/PDT label wins; seconds are optional)."""

from __future__ import annotations

import codecs
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from axepta.ipn import IpnDeduplicator, IpnMessage, check_ipn, parse_ipn, postback_body

CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "ipn_corpus"
SHARED_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "ipn_corpus"
CORPUS: list[dict[str, Any]] = json.loads((CORPUS_DIR / "corpus.json").read_text("utf-8"))
BY_ID = {entry["id"]: entry for entry in CORPUS}
SEQUENCES: dict[str, Any] = json.loads((CORPUS_DIR / "sequences.json").read_text("utf-8"))

#: The two cases the corpus marks as ambiguous, and what §9.1 decides for them.
AMBIGUOUS = {
    # django-paypal reads "23:04:06 Feb 02, 2009 PDT" as Los Angeles wall time (PST in February,
    # 07:04:06 UTC); the label wins here: PDT is UTC-7.
    ("django-paypal/IPNSimulatorTests.test_valid_webaccept", "payment_date_utc"): "2009-02-03T06:04:06+00:00",
    # django-paypal rejects "01:28 Jan 25 2015 PDT" (no seconds); seconds are optional here.
    ("django-paypal/test_paypal_date_invalid_format/subscr_date", "date_invalid"): "2015-01-25T08:28:00+00:00",
}

_DATES = {"payment_date_utc": "payment_date", "subscr_date_utc": "subscr_date", "auth_exp_utc": "auth_exp"}
_BOOLS = {"test_ipn", "resend"}
_MONEY = {"mc_gross", "mc_fee", "shipping", "tax", "auth_amount", "remaining_settle"}


def raw_body(entry: dict[str, Any]) -> bytes:
    if "body" in entry:
        return str(entry["body"]).encode("latin-1")
    return urlencode([tuple(pair) for pair in entry["body_pairs"]], encoding=entry["body_charset"]).encode("ascii")


def parsed(entry_id: str) -> IpnMessage:
    entry = BY_ID[entry_id]
    return parse_ipn(raw_body(entry), entry.get("content_type"))


def _utc(value: datetime | None) -> str | None:
    return None if value is None or value.tzinfo is None else value.astimezone(UTC).isoformat()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _record(record: Any, expected: dict[str, Any]) -> dict[str, Any]:
    got = record.as_dict()
    return {key: got[key] for key in expected}


def check_expected(message: IpnMessage, entry: dict[str, Any], key: str, want: Any) -> None:
    """One expected value of a corpus entry against the parsed message."""
    if key in _DATES:
        assert _utc(getattr(message, _DATES[key])) == want
    elif key in _BOOLS:
        assert getattr(message, key) is want
    elif key in _MONEY:
        assert getattr(message, key) == (None if want is None else Decimal(want))
    elif key == "charset":
        assert message.charset == codecs.lookup(want).name and message.fields["charset"] == want
    elif key == "charset_absent":
        assert ("charset" not in message.fields) is want and message.charset == "cp1252"
    elif key == "raw_fields":
        assert {name: message.fields.get(name) for name in want} == want
    elif key == "items":
        assert [_record(item, w) for item, w in zip(message.items, want, strict=True)] == want
    elif key == "masspay":
        assert [_record(rec, w) for rec, w in zip(message.mass_payments, want, strict=True)] == want
    elif key == "masspay_count":
        assert len(message.mass_payments) == want
    elif key == "masspay_statuses":
        assert [_text(r.status) for r in message.mass_payments] == want
    elif key == "masspay_reason_codes":
        assert [_text(r.reason_code) for r in message.mass_payments] == want
    elif key == "masspay_gross_sum":
        assert sum(r.mc_gross or Decimal(0) for r in message.mass_payments) == Decimal(want)
    elif key == "masspay_fee_sum":
        assert sum(r.mc_fee or Decimal(0) for r in message.mass_payments) == Decimal(want)
    elif key == "dates_parse":
        assert {name: getattr(message, name) is not None for name in want} == dict.fromkeys(want, True)
    elif key == "date_invalid":
        assert getattr(message, want) is None and message.fields[want]  # kept as text, never rejected
    elif key == "completed":
        assert message.completed is want
    elif key == "postback_body_equals_raw":
        assert postback_body(message.raw) == b"cmd=_notify-validate&" + raw_body(entry)
    elif key == "currency_check":
        for currency, outcome in want.items():
            result = check_ipn(message, receiver_emails=[message.receiver_email or "-"], currency=currency)
            assert ("ok" if result.ok else "rejected") == outcome
    elif isinstance(want, int):
        assert getattr(message, key) == want
    else:
        assert _text(getattr(message, key)) == want


@pytest.mark.parametrize("entry", CORPUS, ids=[e["id"] for e in CORPUS])
def test_corpus_entry(entry: dict[str, Any]) -> None:
    message = parse_ipn(raw_body(entry), entry.get("content_type"))
    assert message.raw == raw_body(entry)
    for key, want in entry["expected"].items():
        if (entry["id"], key) in AMBIGUOUS:
            continue
        check_expected(message, entry, key, want)


def test_the_corpus_is_complete_and_its_kinds_covered() -> None:
    assert len(CORPUS) == 55 and len(BY_ID) == 55
    kinds = {e["kind"] for e in CORPUS}
    assert {"masspay", "masspay-constructed", "recurring", "subscription", "adaptive_payments", "cart", "refund",
            "reversal", "canceled_reversal", "merch_pmt", "mp_signup", "dates", "dates-invalid"} <= kinds


def test_the_copy_equals_the_shared_corpus_when_present() -> None:
    if not SHARED_DIR.is_dir():
        pytest.skip("no shared/ beside the clone: the repository's copy is the corpus")
    for name in ("corpus.json", "sequences.json"):
        assert (CORPUS_DIR / name).read_bytes() == (SHARED_DIR / name).read_bytes(), name


def test_ambiguous_pdt_label_on_a_february_date_the_label_wins() -> None:
    message = parsed("django-paypal/IPNSimulatorTests.test_valid_webaccept")
    assert message.fields["payment_date"] == "23:04:06 Feb 02, 2009 PDT"
    assert _utc(message.payment_date) == AMBIGUOUS[("django-paypal/IPNSimulatorTests.test_valid_webaccept",
                                                    "payment_date_utc")]
    # django-paypal's reading (Los Angeles wall time) would be one hour later
    assert BY_ID["django-paypal/IPNSimulatorTests.test_valid_webaccept"]["expected"]["payment_date_utc"] == (
        "2009-02-03T07:04:06+00:00"
    )


def test_ambiguous_date_without_seconds_is_accepted() -> None:
    message = parsed("django-paypal/test_paypal_date_invalid_format/subscr_date")
    assert message.fields["subscr_date"] == "01:28 Jan 25 2015 PDT"
    assert _utc(message.subscr_date) == AMBIGUOUS[("django-paypal/test_paypal_date_invalid_format/subscr_date",
                                                   "date_invalid")]
    assert message.warnings == ()


@pytest.mark.parametrize("sequence", SEQUENCES["sequences"], ids=[s["id"] for s in SEQUENCES["sequences"]])
def test_sequence(sequence: dict[str, Any]) -> None:
    dedup = IpnDeduplicator()
    assert [dedup.record(parsed(entry_id)) for entry_id in sequence["entries"]] == sequence["expected"]


@pytest.mark.parametrize("sequence", SEQUENCES["masspay_sequences"], ids=[s["id"] for s in SEQUENCES["masspay_sequences"]])
def test_masspay_sequence(sequence: dict[str, Any]) -> None:
    dedup = IpnDeduplicator()
    got = [[decision for _, decision in dedup.record_mass_payments(parsed(e))] for e in sequence["entries"]]
    assert got == sequence["expected"]
