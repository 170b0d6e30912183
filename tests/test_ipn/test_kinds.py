"""Message kinds and fields the real corpus showed (issue 12 item 4): Mass Pay records whatever their
numbering, recurring-payment / subscription / billing-agreement fields typed, Adaptive Payments
messages, cart items with their handling, shipping and tax, ``receipt_ID``, JavaScript-style dates."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from axepta.ipn import (
    AdaptiveTransaction,
    IpnDeduplicator,
    MassPayStatus,
    TxnType,
    parse_ipn,
    parse_ipn_date,
)
from tests.test_ipn.test_corpus import parsed

PDT = timezone(timedelta(hours=-7))
PST = timezone(timedelta(hours=-8))


# --- Mass Pay numbering -------------------------------------------------------------------------


def test_masspay_records_from_0_are_all_read_in_numeric_order(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="axepta.ipn"):
        message = parsed("gumroad/payout_processor/records_from_0")
    assert message.txn_type is None  # no txn_type: the records are still read
    assert [r.index for r in message.mass_payments] == [0, 1, 2, 3]
    assert [r.masspay_txn_id for r in message.mass_payments] == ["sometxn1", "sometxn2", "sometxn3", "sometxn3"]
    assert [r.unique_id for r in message.mass_payments] == ["1", "2", "3", "4"]
    assert message.mass_payments[1].reason_code == "1002" and message.mass_payments[0].mc_fee == Decimal("2.99")
    (warning,) = [w for w in message.warnings if "Mass Pay" in w]
    assert "0, 1, 2, 3" in warning and "not 1..n" in warning
    assert warning in caplog.text


def test_masspay_records_10_and_11_are_read() -> None:
    message = parsed("gumroad/payout_processor/records_10_11")
    assert [(r.index, r.masspay_txn_id, r.status) for r in message.mass_payments] == [
        (10, "sometxn1", MassPayStatus.COMPLETED), (11, "sometxn2", MassPayStatus.FAILED),
    ]
    assert any("10, 11" in w for w in message.warnings)


def test_masspay_gaps_and_order_in_the_body_do_not_matter() -> None:
    body = (b"txn_type=masspay&payment_status=Completed&masspay_txn_id_10=J&status_10=Completed"
            b"&masspay_txn_id_2=B&status_2=Unclaimed&masspay_txn_id_1=A&status_1=Failed&mc_gross_2=5.00")
    message = parse_ipn(body)
    assert [(r.index, r.masspay_txn_id) for r in message.mass_payments] == [(1, "A"), (2, "B"), (10, "J")]
    assert message.mass_payments[1].mc_gross == Decimal("5.00")
    assert any("1, 2, 10" in w for w in message.warnings)


def test_masspay_numbered_1_to_n_gives_no_warning() -> None:
    message = parsed("offsite_payments/mass_pay_http_raw_data")
    assert [r.index for r in message.mass_payments] == [1, 2, 3]
    assert not [w for w in message.warnings if "Mass Pay" in w]


def test_masspay_without_txn_type_is_recognised_by_its_record_fields() -> None:
    message = parse_ipn(b"payment_status=Processed&unique_id_1=P1&status_1=Unclaimed&receiver_email_1=a%40b.c")
    assert [(r.index, r.unique_id) for r in message.mass_payments] == [(1, "P1")]
    assert message.items == []


def test_an_absurd_record_number_is_not_a_crash() -> None:
    message = parse_ipn(b"txn_type=masspay&masspay_txn_id_" + b"9" * 5000 + b"=X&masspay_txn_id_1=A")
    assert [r.masspay_txn_id for r in message.mass_payments] == ["A"]


def test_masspay_records_are_deduplicated_whatever_their_numbering() -> None:
    dedup = IpnDeduplicator()
    first = [d for _, d in dedup.record_mass_payments(parsed("gumroad/payout_processor/records_10_11"))]
    again = [d for _, d in dedup.record_mass_payments(parsed("gumroad/payout_processor/records_10_11"))]
    assert first == ["new", "new"] and again == ["duplicate", "duplicate"]


# --- Recurring payments, subscriptions, billing agreements ----------------------------------------


def test_recurring_payment_fields_are_typed() -> None:
    message = parsed("civicrm/PayPalProIPNTest::getPaypalProRecurTransaction")
    assert message.txn_type is TxnType.RECURRING_PAYMENT
    assert message.next_payment_date == datetime(2013, 8, 14, 3, 0, 0, tzinfo=PDT)
    assert message.time_created is None and message.fields["time_created"] == "14 => 51 => 55 Feb 14, 2013 PST"
    assert message.amount == Decimal("15.00") and message.amount_per_cycle == Decimal("15.00")
    assert message.initial_payment_amount == Decimal("0.00") and message.outstanding_balance == Decimal("0.00")
    assert (message.profile_status, message.payment_cycle, message.period_type) == ("Active", "Monthly", "Regular")
    assert (message.product_name, message.product_type, message.currency_code) == ("=>  15 Per 1 month", "1", "USD")
    assert message.rp_invoice_id == "i=c2r9c15f7be20b4f3fef1f77e4c37424&m=contribute&c=1&r=1&b=1&p=1"
    assert message.recurring_payment_id == "I-8XHAKBG12SFP" and message.receipt_id == "1428-3355-5949-8495"


def test_time_created_is_a_date() -> None:
    message = parsed("django-paypal/test_paypal_date_format")
    assert message.time_created == datetime(2015, 11, 1, 1, 13, 5, tzinfo=PDT)
    assert message.subscr_effective == datetime(2009, 1, 2, 23, 4, 6, tzinfo=PST)
    assert message.retry_at == datetime(2009, 1, 2, 23, 4, 6, tzinfo=PST)
    assert message.next_payment_date == datetime(2009, 2, 2, 23, 4, 6, tzinfo=PST)


def test_subscription_fields_are_typed() -> None:
    signup = parsed("ccvpn3/PAYPAL_IPN_SUBSCR_SIGNUP")
    assert signup.txn_type is TxnType.SUBSCR_SIGNUP
    assert signup.mc_amount3 == Decimal("9.00") and signup.period3 == "3 M"
    cancel = parsed("ccvpn3/PAYPAL_IPN_SUBSCR_CANCEL")
    assert cancel.recurring is True and cancel.reattempt is True and cancel.mc_amount3 == Decimal("9.00")
    body = (b"txn_type=subscr_signup&subscr_id=I-1&amount1=0.00&mc_amount1=0.00&period1=7+D&amount3=9.00"
            b"&period3=1+M&recurring=0&recur_times=12&reattempt=1&subscr_date=10%3A00%3A00+Jan+02%2C+2020+PST")
    message = parse_ipn(body)
    assert (message.amount1, message.mc_amount1, message.period1) == (Decimal("0.00"), Decimal("0.00"), "7 D")
    assert (message.amount3, message.period3, message.recurring, message.recur_times) == (Decimal("9.00"), "1 M", False, 12)


def test_billing_agreement_fields_are_typed() -> None:
    message = parsed("bitwarden/successful-payment.txt")
    assert message.txn_type is TxnType.MERCH_PMT and message.mp_id == "B-4DP02332FD689211K"
    assert (message.mp_status, message.mp_currency, message.mp_cycle_start) == ("0", "USD", 30)
    assert message.mp_desc is None and message.mp_custom is None
    assert (message.discount, message.insurance_amount, message.shipping_discount) == (Decimal("0.00"),) * 3


# --- Adaptive Payments ------------------------------------------------------------------------------


def test_adaptive_payments_message_is_recognised_and_read() -> None:
    message = parsed("paypal-sdk-core-dotnet/ipnMsg")
    assert message.adaptive
    assert message.pay_key == "AP-70354820B64901803"
    assert (message.transaction_type, message.status, message.action_type) == ("Adaptive Payment PAY", "COMPLETED", "PAY")
    assert (message.sender_email, message.fees_payer) == ("jb-us-seller@paypal.com", "EACHRECEIVER")
    assert message.payment_request_date == datetime(2012, 12, 6, 22, 50, 0, tzinfo=PST)
    (tx,) = message.transactions
    assert tx == AdaptiveTransaction(
        index=0, id="0UJ53158NW5107715", id_for_sender_txn="8UL93971B69293341", receiver="platfo_1255612361_per@gmail.com",
        amount=Decimal("2.00"), currency="USD", status="Completed", status_for_sender_txn="Completed",
        pending_reason="NONE", is_primary_receiver=False,
    )
    assert message.dedup_key == ("AP-70354820B64901803", "completed")
    assert message.as_dict()["transactions"][0]["amount"] == "2.00"


def test_adaptive_transactions_in_numeric_order_with_refunds() -> None:
    body = (b"pay_key=AP-1&transaction_type=Adaptive+Payment+PAY&status=COMPLETED"
            b"&transaction%5B1%5D.id=T1&transaction%5B1%5D.amount=EUR+1.50&transaction%5B1%5D.is_primary_receiver=true"
            b"&transaction[0].id=T0&transaction[0].amount=EUR+10.00&transaction[0].refund_amount=EUR+2.00"
            b"&transaction[0].refund_id=R0&transaction[0].amount=EUR+99.00")
    message = parse_ipn(body)
    assert [(t.index, t.id, t.amount, t.currency) for t in message.transactions] == [
        (0, "T0", Decimal("10.00"), "EUR"), (1, "T1", Decimal("1.50"), "EUR"),
    ]
    assert message.transactions[0].refund_amount == Decimal("2.00") and message.transactions[0].refund_id == "R0"
    assert message.transactions[1].is_primary_receiver is True
    assert any("transaction[0].amount" in w for w in message.warnings)  # repeated: the first is kept


def test_an_unreadable_adaptive_amount_is_a_warning() -> None:
    message = parse_ipn(b"pay_key=AP-1&transaction[0].amount=lots")
    assert message.transactions[0].amount is None and message.transactions[0].currency is None
    assert any("transaction[0].amount" in w for w in message.warnings)


# --- Cart items ---------------------------------------------------------------------------------------


def test_cart_items_keep_handling_shipping_and_tax() -> None:
    message = parsed("gumroad/event_handler/cart_with_invoice")
    (item,) = message.items
    assert (item.index, item.item_name, item.item_number, item.mc_gross) == (1, "something", "AK-1234", Decimal("12.34"))
    assert (item.mc_handling, item.mc_shipping, item.tax) == (Decimal("1.67"), Decimal("1.02"), None)
    assert item.as_dict()["mc_handling"] == "1.67"
    posted = parsed("django-paypal/test_posted_params_attribute")
    assert posted.items[0].tax is not None and posted.items[0].tax == Decimal(posted.fields["tax1"])


def test_cart_items_with_underscores_and_gaps() -> None:
    body = (b"txn_type=cart&num_cart_items=2&item_name_1=A&mc_gross_1=1.00&mc_handling_1=0.10&mc_shipping_1=0.20"
            b"&tax_1=0.05&item_name_3=C&mc_gross_3=3.00&quantity_3=2")
    message = parse_ipn(body)
    assert [(i.index, i.item_name, i.mc_gross, i.quantity) for i in message.items] == [
        (1, "A", Decimal("1.00"), None), (3, "C", Decimal("3.00"), 2),
    ]
    assert (message.items[0].mc_handling, message.items[0].mc_shipping, message.items[0].tax) == (
        Decimal("0.10"), Decimal("0.20"), Decimal("0.05"),
    )


# --- receipt_ID, any case ------------------------------------------------------------------------------


def test_receipt_id_whatever_its_case() -> None:
    message = parsed("gumroad/event_handler/reversal")
    assert "receipt_ID" in message.fields and message.receipt_id == message.fields["receipt_ID"]
    assert parse_ipn(b"txn_id=1&RECEIPT_id=2222-3333").receipt_id == "2222-3333"
    assert parse_ipn(b"txn_id=1&receipt_id=1111&receipt_ID=2222").receipt_id == "1111"  # the exact name first


# --- JavaScript-style dates (the IPN simulator) ----------------------------------------------------------


def test_javascript_dates_honour_their_offset() -> None:
    message = parsed("gumroad/event_handler/reversal")
    assert message.fields["payment_date"] == "Sun May 24 2015 14:32:31 GMT-0700 (PDT)"
    assert message.payment_date == datetime(2015, 5, 24, 14, 32, 31, tzinfo=PDT)
    assert message.payment_date.astimezone(UTC) == datetime(2015, 5, 24, 21, 32, 31, tzinfo=UTC)
    assert message.warnings == ()
    assert parse_ipn_date("Tue Jan 05 2016 10:00:00 GMT+0100 (CET)") == datetime(
        2016, 1, 5, 10, 0, 0, tzinfo=timezone(timedelta(hours=1)))
    assert parse_ipn_date("Tue Jan 05 2016 10:00:00 GMT+0000 (Coordinated Universal Time)") == datetime(
        2016, 1, 5, 10, 0, 0, tzinfo=UTC)
    assert parse_ipn_date("Tue Jan 05 2016 10:00:00 GMT-0800") == datetime(2016, 1, 5, 10, 0, 0, tzinfo=PST)


def test_a_pst_pdt_label_wins_over_a_disagreeing_offset(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="axepta.ipn"):
        value = parse_ipn_date("Sun May 24 2015 14:32:31 GMT-0800 (PDT)")
    assert value == datetime(2015, 5, 24, 14, 32, 31, tzinfo=PDT)
    assert "disagrees" in caplog.text


def test_weekday_names_are_not_zones() -> None:
    assert parse_ipn_date("Thu Dec 06 22:50:00 PST 2012") == datetime(2012, 12, 6, 22, 50, 0, tzinfo=PST)
    assert parse_ipn_date("10:00:00 Mon Jan 05, 2015 PDT") == datetime(2015, 1, 5, 10, 0, 0, tzinfo=PDT)


def test_dates_keep_the_label_rule_and_optional_seconds() -> None:
    assert parse_ipn_date("23:04:06 Feb 02, 2009 PDT") == datetime(2009, 2, 2, 23, 4, 6, tzinfo=PDT)
    assert parse_ipn_date("01:28 Jan 25 2015 PDT") == datetime(2015, 1, 25, 1, 28, 0, tzinfo=PDT)
    assert parse_ipn_date("Sun May 24 2015 14:32 GMT-0700 (PDT)") == datetime(2015, 5, 24, 14, 32, 0, tzinfo=PDT)
    assert parse_ipn_date("Sun May 24 2015 14:32:31 GMT-9999 (XYZ)") is None  # an impossible offset
