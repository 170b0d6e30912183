"""parse_ipn: the seed's sample messages, charsets, open enums, lenient dates and amounts."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axepta import NotificationError
from axepta.ipn import (
    IPN_LIVE_URL,
    IPN_SANDBOX_URL,
    CaseType,
    IpnMessage,
    MassPayStatus,
    PaymentStatus,
    PendingReason,
    ReasonCode,
    TxnType,
    parse_ipn,
    parse_ipn_date,
    verification_url,
)
from tests.test_ipn.conftest import FIXTURES, fixture

PST = timezone(timedelta(hours=-8))
PDT = timezone(timedelta(hours=-7))


def test_express_checkout_sample_of_the_guide() -> None:
    raw = fixture("express_checkout_completed.txt")
    m = parse_ipn(raw)
    assert m.raw == raw
    assert m.txn_type is TxnType.EXPRESS_CHECKOUT and m.payment_status is PaymentStatus.COMPLETED
    assert m.completed and m.txn_id == "61E67681CH3238416"
    assert m.mc_gross == Decimal("19.95") and m.mc_fee == Decimal("0.88") and m.mc_currency == "USD"
    assert m.payment_gross == Decimal("19.95") and m.tax == Decimal("0.00") and m.handling_amount == Decimal("0.00")
    assert m.payment_date == datetime(2009, 1, 13, 20, 12, 59, tzinfo=PST)
    assert m.fields["payment_date"] == "20:12:59 Jan 13, 2009 PST"
    assert (m.first_name, m.last_name, m.address_name) == ("Test", "User", "Test User")
    assert (m.address_street, m.address_city, m.address_state, m.address_zip) == ("1 Main St", "San Jose", "CA", "95131")
    assert (m.address_country, m.address_country_code, m.address_status) == ("United States", "US", "confirmed")
    assert m.payer_email == "gpmac_1231902590_per@paypal.com" and m.payer_id == "LPLWNMTBWMFAY"
    assert m.receiver_email == "gpmac_1231902686_biz@paypal.com" and m.receiver_id == "S8XGHLYDW9T3S"
    assert (m.payer_status, m.payment_type, m.protection_eligibility) == ("verified", "instant", "Eligible")
    assert m.quantity == 1 and m.custom is None and m.item_name is None and m.fields["custom"] == ""
    assert m.test_ipn and m.environment == "test" and not m.resend
    assert m.charset == "cp1252" and m.notify_version == "2.6" and m.warnings == ()
    assert m.mass_payments == [] and m.items == [] and m.fraud_management_pending_filters == []
    assert verification_url(raw) == IPN_SANDBOX_URL
    assert m.dedup_key == ("61E67681CH3238416", "completed")


def test_fraud_management_filters_pending_accepted_denied() -> None:
    pending = parse_ipn(fixture("fmf_pending.txt"))
    assert pending.txn_type is TxnType.VIRTUAL_TERMINAL and pending.payment_status is PaymentStatus.PENDING
    assert pending.pending_reason is PendingReason.ADDRESS
    assert pending.fraud_management_pending_filters == ["Maximum Transaction Amount", "Unconfirmed Address"]
    assert pending.payment_date == datetime(2008, 7, 15, 17, 11, 42, tzinfo=PDT)
    assert (pending.receipt_id, pending.business) == ("3075-7371-4622-1677", "acgrte_1215804264_biz@gmail.com")
    accepted = parse_ipn(fixture("fmf_accepted.txt"))
    assert accepted.completed and accepted.txn_id == pending.txn_id and accepted.mc_fee == Decimal("0.45")
    assert accepted.pending_reason is None
    denied = parse_ipn(fixture("fmf_denied.txt"))
    assert denied.payment_status is PaymentStatus.DENIED and denied.mc_gross == Decimal("2.11")
    assert not denied.completed


def test_adjustment_from_the_ipn_history() -> None:
    m = parse_ipn(fixture("history_adjustment_resent.txt"))
    assert m.txn_type is TxnType.ADJUSTMENT and m.reason_code is ReasonCode.CHARGEBACK_SETTLEMENT
    assert m.payment_status is PaymentStatus.COMPLETED and m.resend and not m.test_ipn
    assert m.parent_txn_id == "9XM96112B8559044S" and m.payment_fee == Decimal("10.00")
    assert m.payment_date == datetime(2010, 3, 25, 5, 15, 56, tzinfo=PDT)
    assert m.environment == "production" and verification_url(m.raw) == IPN_LIVE_URL


def test_adaptive_accounts_message_without_txn_id() -> None:
    m = parse_ipn(fixture("adaptive_account_confirmed.txt"))
    assert m.txn_id is None and m.txn_type is None and m.payment_status is None
    assert m.get("event_type") == "[ACCOUNT_CONFIRMED]" and m.get("account_key") == "AA6N5043354R131103K"
    assert m.get("missing") is None and m.get("missing", "x") == "x"
    ident, status = m.dedup_key
    assert ident.startswith("sha256:") and status == ""


def test_mass_pay_with_three_records_and_a_stray_one() -> None:
    m = parse_ipn(fixture("masspay_three_records.txt"))
    assert m.txn_type is TxnType.MASSPAY and m.payment_status is PaymentStatus.PROCESSED
    # record 5 after the gap is read too (never silently dropped), with a warning
    assert isinstance(m.mass_payments, list) and [r.index for r in m.mass_payments] == [1, 2, 3, 5]
    assert m.warnings == ("Mass Pay records numbered 1, 2, 3, 5 (not 1..n); read in numeric order",)
    first, second, third, stray = m.mass_payments
    assert (stray.masspay_txn_id, stray.status, stray.receiver_email) == ("5XX99999X9999999X", MassPayStatus.COMPLETED, None)
    assert (first.masspay_txn_id, first.receiver_email, first.mc_gross, first.mc_fee, first.mc_currency) == (
        "1FT13364H4839524J", "alice@example.com", Decimal("10.00"), Decimal("0.20"), "EUR"
    )
    assert first.status is MassPayStatus.COMPLETED and first.unique_id == "PAYOUT0001" and first.reason_code is None
    assert second.status is MassPayStatus.UNCLAIMED and second.mc_gross == Decimal("25.50")
    assert third.status is MassPayStatus.FAILED and third.reason_code is ReasonCode.MASSPAY_INVALID_USER_ID
    assert third.dedup_key == ("3HT35586K6051746L", "failed")
    assert m.items == []  # mc_gross_x are Mass Pay amounts here, not cart items
    assert m.payment_date == datetime(2024, 1, 13, 3, 12, 45, tzinfo=PST)
    assert m.dedup_key == ("7ab8c9d0e1f2", "processed")  # no txn_id: keyed on ipn_track_id


def test_windows_1252_message() -> None:
    raw = fixture("windows1252_names.txt")
    assert b"%80" in raw and b"%E9" in raw
    m = parse_ipn(raw)
    assert m.charset == "cp1252"
    assert (m.first_name, m.last_name) == ("René", "Lefèvre")
    assert (m.address_street, m.address_city) == ("12 rue de l’Église", "Besançon")
    assert [(i.index, i.item_name, i.item_number, i.quantity, i.mc_gross) for i in m.items] == [
        (1, "Café crème — 5 € offerts", "CAF-1", 2, Decimal("9.80")),
        (2, "Œuvre", "OEU-2", 1, Decimal("30.00")),
    ]
    assert m.num_cart_items == 2 and m.txn_type is TxnType.CART


def test_utf8_message() -> None:
    m = parse_ipn(fixture("utf8_names.txt"))
    assert m.charset == "utf-8"
    assert (m.first_name, m.last_name, m.address_street) == ("Zoë", "李小龍", "Straße 5 – Hof")
    assert m.item_name == "Ticket № 7 — 50 €"
    assert m.pending_reason is PendingReason.PAYMENTREVIEW and m.fields["pending_reason"] == "PaymentReview"
    assert m.payment_date is None and m.fields["payment_date"] == "N/A"


def test_charset_absent_unknown_or_in_the_content_type(caplog: pytest.LogCaptureFixture) -> None:
    assert parse_ipn(b"first_name=Ren%E9").first_name == "René"
    assert parse_ipn(b"first_name=Ren%C3%A9", "application/x-www-form-urlencoded; charset=UTF-8").first_name == "René"
    both = parse_ipn(b"charset=windows-1252&first_name=Ren%E9", 'application/x-www-form-urlencoded; charset="utf-8"')
    assert both.first_name == "René" and both.charset == "cp1252"  # the message's own charset wins
    with caplog.at_level(logging.WARNING, logger="axepta.ipn"):
        odd = parse_ipn(b"charset=klingon&first_name=Ren%E9")
    assert odd.first_name == "René" and odd.charset == "cp1252"
    assert odd.warnings == ("the message's charset 'klingon' is unknown; decoded as windows-1252",)
    assert "klingon" in caplog.text


def test_undecodable_bytes_never_reject() -> None:
    m = parse_ipn(b"charset=UTF-8&first_name=Ren%E9&last_name=ok")
    assert m.first_name == "Ren\ufffd" and m.last_name == "ok"
    assert m.warnings == ("first_name is not valid utf-8; undecodable bytes replaced",)
    cp = parse_ipn(b"first_name=%81%8D")  # undefined in windows-1252
    assert cp.first_name == "\ufffd\ufffd" and cp.warnings


def test_malformed_values_are_kept_as_text() -> None:
    m = parse_ipn(b"mc_gross=19%2C95&mc_fee=-0.30&quantity=two&payment_date=yesterday&txn_type=&test_ipn=0&mc_gross_1=x&item_name1=A")
    assert m.mc_gross is None and m.fields["mc_gross"] == "19,95" and m.mc_fee == Decimal("-0.30")
    assert m.quantity is None and m.payment_date is None and m.txn_type is None and not m.test_ipn
    assert m.items[0].mc_gross is None
    assert "mc_gross is not a decimal amount" in m.warnings and "mc_gross_1 is not a decimal amount" in m.warnings


def test_duplicate_variable_keeps_the_first() -> None:
    m = parse_ipn(b"txn_id=A&txn_id=B")
    assert m.txn_id == "A" and m.warnings == ("variable 'txn_id' occurs twice; the first is kept",)


def test_bad_bodies() -> None:
    with pytest.raises(TypeError, match="raw body bytes"):
        parse_ipn("txn_id=1")  # type: ignore[arg-type]
    with pytest.raises(NotificationError, match="empty") as info:
        parse_ipn(b"&&")
    assert info.value.reason == "format"
    with pytest.raises(NotificationError, match="larger") as info:
        parse_ipn(b"a=" + b"x" * 300_000)
    assert info.value.reason == "size"
    assert parse_ipn(bytearray(b"txn_id=1")).txn_id == "1"


def test_enums_accept_the_unknown_and_compare_loosely() -> None:
    assert TxnType("web-accept") is TxnType.WEB_ACCEPT and TxnType("Send-Money") is TxnType.SEND_MONEY
    assert PaymentStatus("canceled-reversal") is PaymentStatus.CANCELED_REVERSAL
    assert PaymentStatus.COMPLETED == "COMPLETED" and PaymentStatus.COMPLETED != "Pending"
    assert PendingReason("PaymentReview") is PendingReason.PAYMENTREVIEW
    assert ReasonCode("Buyer_Complaint") is ReasonCode.BUYER_COMPLAINT and ReasonCode("1004").known
    assert CaseType("CHARGEBACK") is CaseType.CHARGEBACK
    future = PaymentStatus("Partially-Refunded")
    assert not future.known and future == "partially_refunded" and str(future) == "Partially-Refunded"
    assert isinstance(future, PaymentStatus) and PaymentStatus.COMPLETED.known
    assert {PaymentStatus.COMPLETED: 1}.get("completed") == 1
    assert PaymentStatus.COMPLETED.__eq__(3) is NotImplemented
    m = parse_ipn(b"txn_type=new_case&case_type=complaint&reason_code=non_receipt&payment_status=Unclaimed-ish")
    assert m.txn_type is TxnType.NEW_CASE and m.case_type is CaseType.COMPLAINT
    assert m.reason_code is ReasonCode.NON_RECEIPT and not m.payment_status.known  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("05:15:56 Mar 25, 2010 PDT", datetime(2010, 3, 25, 5, 15, 56, tzinfo=PDT)),
        ("20:12:59 Jan 13, 2009 PST", datetime(2009, 1, 13, 20, 12, 59, tzinfo=PST)),
        ("08:00:00 13 Jan 09, 2009 PST", datetime(2009, 1, 13, 8, 0, 0, tzinfo=PST)),
        ("03:12:45 13 Jan 2024 PST", datetime(2024, 1, 13, 3, 12, 45, tzinfo=PST)),
        ("04:55:30 May 26, 2011 PDT", datetime(2011, 5, 26, 4, 55, 30, tzinfo=PDT)),
        ("04:55:30 May 26 2011 PDT", datetime(2011, 5, 26, 4, 55, 30, tzinfo=PDT)),
        ("23:59:59 December 31, 2023 PST", datetime(2023, 12, 31, 23, 59, 59, tzinfo=PST)),
        ("04:55:30 05 26, 2011 PDT", datetime(2011, 5, 26, 4, 55, 30, tzinfo=PDT)),
        ("12:00:00 Jan 5, 2010 CET", datetime(2010, 1, 5, 12, 0, 0)),
        ("12:00:00 Jan 5, 2010", datetime(2010, 1, 5, 12, 0, 0)),
        ("N/A", None),
        ("", None),
        (None, None),
        ("yesterday", None),
        ("10:00:00 31 Feb 2010 PST", None),
        ("Jan 5, 2010", None),
        ("25:61:00 Jan 5, 2010 PST", None),
    ],
)
def test_lenient_dates(text: str | None, expected: datetime | None) -> None:
    assert parse_ipn_date(text) == expected
    if expected is not None:
        assert parse_ipn_date(text).tzinfo == expected.tzinfo  # type: ignore[union-attr]


def test_dates_of_every_documented_variable() -> None:
    m = parse_ipn(
        b"auth_exp=10%3A00%3A00+13+Jan+09%2C+2009+PST&case_creation_date=11%3A00%3A00+14+Feb+10%2C+2010+PST"
        b"&echeck_time_processed=04%3A55%3A30+May+26%2C+2011+PDT&subscr_date=N%2FA&auth_amount=10.00&remaining_settle=5.50"
        b"&auth_id=0AB12345CD67890EF&auth_status=Pending&exchange_rate=1.0812&settle_amount=9.25&settle_currency=EUR"
    )
    assert m.auth_exp == datetime(2009, 1, 13, 10, tzinfo=PST) and m.case_creation_date == datetime(2010, 2, 14, 11, tzinfo=PST)
    assert m.echeck_time_processed == datetime(2011, 5, 26, 4, 55, 30, tzinfo=PDT) and m.subscr_date is None
    assert (m.auth_amount, m.remaining_settle, m.exchange_rate, m.settle_amount) == (
        Decimal("10.00"), Decimal("5.50"), Decimal("1.0812"), Decimal("9.25")
    )
    assert (m.auth_id, m.auth_status, m.settle_currency) == ("0AB12345CD67890EF", "Pending", "EUR")


def test_as_dict_and_repr() -> None:
    m = parse_ipn(fixture("masspay_three_records.txt"))
    data = m.as_dict()
    text = json.dumps(data)
    assert data["mass_payments"][2]["reason_code"] == "1001" and data["payment_status"] == "Processed"
    assert data["payment_date"] == "2024-01-13T03:12:45-08:00" and data["environment"] == "production"
    assert "raw" not in data and data["verify_sign"].startswith("Axyz") and "PAYOUT0003" in text
    assert repr(m) == (
        "IpnMessage(txn_type='masspay', txn_id=None, payment_status='Processed', mc_gross=None, "
        "mc_currency=None, test_ipn=False)"
    )
    cart = parse_ipn(fixture("windows1252_names.txt")).as_dict()
    assert cart["items"][0]["mc_gross"] == "9.80"


def test_every_fixture_parses() -> None:
    for path in sorted(FIXTURES.glob("*.txt")):
        assert isinstance(parse_ipn(path.read_bytes()), IpnMessage), path.name


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.one_of(st.none(), st.text(max_size=40)))
def test_arbitrary_bytes_never_raise_anything_else(raw: bytes, content_type: str | None) -> None:
    try:
        message = parse_ipn(raw, content_type)
    except NotificationError as exc:
        assert exc.reason == "format"  # noqa: PT017 - only an empty body may be refused
        return
    message.as_dict()
    assert message.raw == raw
