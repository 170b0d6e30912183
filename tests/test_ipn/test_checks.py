"""The checks after VERIFIED (§9.4) and the out-of-order-safe de-duplication."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from axepta import ConfigurationError
from axepta.ipn import IpnDeduplicator, check_ipn, ipn_decision, parse_ipn, status_rank
from tests.test_ipn.conftest import fixture

SALE = parse_ipn(fixture("express_checkout_completed.txt"))  # test_ipn=1, 19.95 USD
MASSPAY = parse_ipn(fixture("masspay_three_records.txt"))


def test_receiver_by_email_business_or_id() -> None:
    assert check_ipn(SALE, receiver_emails=["GPMAC_1231902686_BIZ@paypal.com "]).ok
    assert check_ipn(SALE, receiver_ids=["s8xghlydw9t3s"]).ok
    business = parse_ipn(fixture("fmf_accepted.txt"))
    assert check_ipn(business, receiver_emails=["acgrte_1215804264_biz@gmail.com"])
    wrong = check_ipn(SALE, receiver_emails=["other@shop.example"], receiver_ids=["NOTME"])
    assert not wrong and [p.check for p in wrong.problems] == ["receiver"]


def test_mass_pay_compares_the_sender() -> None:
    assert check_ipn(MASSPAY, receiver_emails=["payouts@shop.example"]).ok
    assert check_ipn(MASSPAY, receiver_ids=["S8XGHLYDW9T3S"]).ok
    assert not check_ipn(MASSPAY, receiver_emails=["alice@example.com"]).ok


def test_a_receiver_must_be_configured() -> None:
    with pytest.raises(ConfigurationError, match="receiving account"):
        check_ipn(SALE)
    with pytest.raises(ConfigurationError):
        check_ipn(SALE, receiver_emails=["  "])


def test_environment_against_test_ipn() -> None:
    assert check_ipn(SALE, receiver_ids=["S8XGHLYDW9T3S"], environment="test").ok
    problem = check_ipn(SALE, receiver_ids=["S8XGHLYDW9T3S"], environment="production").problems
    assert [p.check for p in problem] == ["environment"] and "test_ipn=1" in problem[0].message
    live = parse_ipn(fixture("history_adjustment_resent.txt"))
    assert [p.check for p in check_ipn(live, receiver_ids=["MPYFQXGX7PSG4"], environment="test").problems] == [
        "receiver", "environment"
    ]


def test_amount_and_currency() -> None:
    ok = check_ipn(SALE, receiver_ids=["S8XGHLYDW9T3S"], amount=Decimal("19.950"), currency="usd")
    assert ok.ok and ok.problems == ()
    bad = check_ipn(SALE, receiver_ids=["S8XGHLYDW9T3S"], amount=Decimal("19.96"), currency="EUR")
    assert [p.check for p in bad.problems] == ["amount", "currency"]
    assert bad.problems[0].message == "mc_gross is 19.95, expected 19.96"
    missing = check_ipn(MASSPAY, receiver_ids=["S8XGHLYDW9T3S"], amount=Decimal("1"), currency="EUR")
    assert [p.check for p in missing.problems] == ["amount", "currency"]
    with pytest.raises(TypeError, match="Decimal"):
        check_ipn(SALE, receiver_ids=["S8XGHLYDW9T3S"], amount=19.95)  # type: ignore[arg-type]


def test_status_ranks() -> None:
    assert status_rank("Pending") == status_rank("created") == status_rank("Processed") == 1
    assert status_rank("Completed") == status_rank("Denied") == status_rank("voided") == 2
    assert status_rank("Refunded") == status_rank("Reversed") == 3
    assert status_rank("Canceled-Reversal") == 4
    assert status_rank("Something_New") == status_rank(None) == 1


@pytest.mark.parametrize(
    ("seen", "status", "decision"),
    [
        ([], "Pending", "new"),
        (["Pending"], "Completed", "new"),
        (["Completed"], "completed", "duplicate"),
        (["Completed"], "Pending", "stale"),  # out of order: no regression
        (["Pending", "Completed"], "Pending", "duplicate"),
        (["Completed"], "Reversed", "new"),
        (["Reversed"], "Canceled_Reversal", "new"),
        (["Canceled_Reversal"], "Reversed", "stale"),
        (["Completed"], "Denied", "new"),
        (["Processed"], "Completed", "new"),
    ],
)
def test_ipn_decision(seen: list[str], status: str, decision: str) -> None:
    assert ipn_decision(seen, status) == decision


def test_ledger_pending_then_completed_and_out_of_order() -> None:
    pending, accepted = parse_ipn(fixture("fmf_pending.txt")), parse_ipn(fixture("fmf_accepted.txt"))
    in_order = IpnDeduplicator()
    assert [in_order.record(m) for m in (pending, accepted, accepted)] == ["new", "new", "duplicate"]
    reordered = IpnDeduplicator()
    # the late Pending is stale (stored, not applied); its resend is then a duplicate
    assert [reordered.record(m) for m in (accepted, pending, pending)] == ["new", "stale", "duplicate"]


def test_ledger_mass_pay_records() -> None:
    ledger = IpnDeduplicator()
    first = ledger.record_mass_payments(MASSPAY)
    assert [(r.index, d) for r, d in first] == [(1, "new"), (2, "new"), (3, "new"), (5, "new")]
    second_raw = fixture("masspay_three_records.txt").replace(b"payment_status=Processed", b"payment_status=Completed")
    second = parse_ipn(second_raw.replace(b"status_2=Unclaimed", b"status_2=Completed"))
    assert [(r.index, d) for r, d in ledger.record_mass_payments(second)] == [
        (1, "duplicate"), (2, "new"), (3, "duplicate"), (5, "duplicate"),
    ]
    assert [d for _, d in ledger.record_mass_payments(MASSPAY)] == ["duplicate"] * 4  # a resend
    late = IpnDeduplicator()
    assert [d for _, d in late.record_mass_payments(second)] == ["new"] * 4
    assert [d for _, d in late.record_mass_payments(MASSPAY)] == ["duplicate", "stale", "duplicate", "duplicate"]
    anonymous = parse_ipn(b"txn_type=masspay&receiver_email_1=a%40b.c&status_1=Completed&ipn_track_id=T1")
    assert [d for _, d in ledger.record_mass_payments(anonymous)] == ["new"]
    assert [d for _, d in ledger.record_mass_payments(anonymous)] == ["duplicate"]


def test_ledger_is_thread_safe() -> None:
    ledger = IpnDeduplicator()
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(ledger.record(SALE))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert sorted(results) == ["duplicate"] * 7 + ["new"]


def test_a_late_original_after_its_refund_is_stale() -> None:
    """Refunded, Reversed and Canceled_Reversal carry a new txn_id and name the original in
    parent_txn_id (§9.4): a Completed of the original that arrives after them must not move the
    payment backwards, while further refunds and reversals of it stay new."""
    completed = parse_ipn(b"txn_id=P1&payment_status=Completed&mc_gross=30.00")
    refund = parse_ipn(b"txn_id=R1&parent_txn_id=P1&payment_status=Refunded&mc_gross=-10.00")
    refund_2 = parse_ipn(b"txn_id=R2&parent_txn_id=P1&payment_status=Refunded&mc_gross=-5.00")
    reversal = parse_ipn(b"txn_id=V1&parent_txn_id=P1&payment_status=Reversed&mc_gross=-15.00")
    cancelled = parse_ipn(b"txn_id=C1&parent_txn_id=P1&payment_status=Canceled_Reversal&mc_gross=15.00")
    late = IpnDeduplicator()
    assert [late.record(m) for m in (refund, completed, refund_2, refund)] == ["new", "stale", "new", "duplicate"]
    in_order = IpnDeduplicator()
    assert [in_order.record(m) for m in (completed, refund, refund_2, reversal, cancelled, refund)] == [
        "new", "new", "new", "new", "new", "duplicate",
    ]
    # a refund after the reversal was cancelled is a new event, not a late one
    after_cancel = IpnDeduplicator()
    assert [after_cancel.record(m) for m in (completed, reversal, cancelled, refund)] == ["new"] * 4
    pending = parse_ipn(b"txn_id=P1&payment_status=Pending&pending_reason=echeck")
    assert in_order.record(pending) == "stale"
