"""The pure plans of the receiving side (no database): inbox keys and answers, the facts a
notification or a verified IPN reports, the top-up rule, the retry policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from axepta.credentials import Credentials
from axepta.ipn import parse_ipn
from axepta.ledger import accounts, inbox, outbox
from axepta.ledger.accounts import NO_ACCOUNT, Original, plan_topup
from axepta.ledger.machine import TABLE
from axepta.notify import decode_notification
from axepta.simulator.ipn_standin import build_ipn
from tests.test_notify._support import genuine_body

# -- inbox: keys ---------------------------------------------------------------------------------


def test_notification_key_uses_bound_fields_only(credentials: Credentials) -> None:
    a = decode_notification(genuine_body(), credentials)
    b = decode_notification(genuine_body(XID="0" * 32, RefNr="OTHER", TID="X", UserData="spliced"), credentials)
    assert inbox.notification_key(a) == inbox.notification_key(b)
    assert inbox.notification_key(a) == f"{a.pay_id}|{a.trans_id}|OK|00000000"
    failed = decode_notification(genuine_body(Status="FAILED", Code="21500067"), credentials)
    assert inbox.notification_key(failed) != inbox.notification_key(a)


def test_notification_fields_mark_bound_and_unbound(credentials: Credentials) -> None:
    fields = inbox.notification_fields(decode_notification(genuine_body(), credentials))
    assert fields["PayID"]["bound"] and fields["TransID"]["bound"] and fields["Code"]["bound"]
    assert fields["Status"]["bound"] and fields["mid"]["bound"]
    assert not fields["XID"]["bound"] and not fields["mc_gross"]["bound"] and not fields["TID"]["bound"]
    assert "MAC" not in fields and "Data" not in fields


def _ipn(**overrides: object) -> bytes:
    values: dict[str, object] = {"payer_email": "alice@example.com", "mc_gross": "25.00", "mc_currency": "EUR",
                                 "receiver_email": "shop@example.com", "txn_id": "T1"}
    values.update(overrides)
    return build_ipn(**values)  # type: ignore[arg-type]


def test_ipn_key_is_txn_id_and_status() -> None:
    completed, pending = parse_ipn(_ipn()), parse_ipn(_ipn(payment_status="Pending"))
    assert inbox.ipn_key(completed) == "txn:T1:completed"
    assert inbox.ipn_key(pending) == "txn:T1:pending"
    # the same message resent (another ipn_track_id, resend=true) has the same key
    resent = parse_ipn(_ipn(extra={"resend": "true"}))
    assert inbox.ipn_key(resent) == inbox.ipn_key(completed)


def test_ipn_key_without_txn_id() -> None:
    body = b"txn_type=subscr_signup&subscr_id=I-ABC&ipn_track_id=track1&charset=UTF-8"
    assert inbox.ipn_key(parse_ipn(body)) == "subscr_signup:I-ABC:track1"
    agreement = b"txn_type=mp_cancel&mp_id=B-1&ipn_track_id=t2"
    assert inbox.ipn_key(parse_ipn(agreement)) == "mp_cancel:B-1:t2"
    bare = b"payer_email=a%40b.c&charset=UTF-8"
    key = inbox.ipn_key(parse_ipn(bare))
    assert key.startswith("sha256:") and key == inbox.ipn_key(parse_ipn(bare))
    assert key != inbox.ipn_key(parse_ipn(bare + b"&x=1"))


def test_masspay_keys_per_record() -> None:
    body = (b"txn_type=masspay&payment_status=Processed&ipn_track_id=tr&masspay_txn_id_1=M1&status_1=Unclaimed"
            b"&mc_gross_1=5.00&mc_currency_1=EUR&unique_id_1=P1&masspay_txn_id_2=M2&status_2=Completed"
            b"&mc_gross_2=7.00&mc_currency_2=EUR&status_3=Failed&mc_gross_3=1.00")
    message = parse_ipn(body)
    parent = inbox.ipn_key(message)
    keys = [inbox.masspay_key(r, parent) for r in message.mass_payments]
    assert keys == ["masspay:M1:unclaimed", "masspay:M2:completed", f"{parent}#3:failed"]


def test_long_keys_are_digested() -> None:
    key = inbox.ipn_key(parse_ipn(_ipn(txn_id="T" * 64, payment_status="A" * 64)))
    assert len(key) <= 255


# -- inbox: answers and redelivery ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("applied", 200), ("duplicate", 200), ("stale", 200), ("conflict", 200), ("unmatched", 404),
     ("rejected", 400), ("failed", 500)],
)
def test_answer_table_for_axepta_results(outcome: str, status: int) -> None:
    assert inbox.answer_for(outcome) == status


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("applied", 200), ("duplicate", 200), ("unmatched", 200), ("stored", 200), ("invalid", 200),
     ("rejected", 400), ("unverified", 500), ("failed", 500)],
)
def test_answer_table_for_ipn(outcome: str, status: int) -> None:
    assert inbox.answer_for(outcome, "ipn") == status


def test_every_outcome_has_an_answer_and_storage_failure_is_500() -> None:
    assert set(inbox.OUTCOMES) == set(inbox.IPN_ANSWERS)
    assert set(inbox.ANSWERS) < set(inbox.OUTCOMES)
    assert inbox.STORAGE_FAILURE == 500
    with pytest.raises(KeyError):
        inbox.answer_for("maybe")
    with pytest.raises(KeyError):
        inbox.answer_for("stored")  # an Axepta result is never just stored


def test_redelivery() -> None:
    for state in ("received", "unmatched", "failed", "unverified"):
        assert inbox.redelivery(state) == "process"
    for state in ("applied", "duplicate", "stale", "conflict", "invalid", "parked"):
        assert inbox.redelivery(state) == "settled"
    assert set(inbox.REPROCESS) | set(inbox.SETTLED) | {"rejected"} == set(inbox.MESSAGE_STATES)
    with pytest.raises(ValueError):
        inbox.redelivery("lost")


# -- inbox: notification facts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "capture", "tx_type", "method", "fact"),
    [
        ("OK", "00000000", "Auto", None, None, "captured_at_approval"),
        ("OK", "00000000", "Manual", "Auth", None, "authorized"),
        ("OK", "00000000", "Manual", "Order", None, "approved"),
        ("OK", "00000000", "Auto", None, "shortcut", "approved"),
        ("OK", "00000000", "Auto", "BAID", None, "approved"),  # an agreement moves no money
        ("AUTHORIZE_REQUEST", "00000000", "Manual", "Order", None, "approved"),
        ("FAILED", "21500067", "Auto", None, None, "failed"),
        ("Timeout", "00000000", "Manual", "Order", None, "expired"),
        ("OK", "61500000", "Auto", None, None, "pending"),
        ("OK", "01234567", "Auto", None, None, None),
    ],
)
def test_notification_fact(credentials: Credentials, status: str, code: str, capture: str, tx_type: str | None,
                           method: str | None, fact: str | None) -> None:
    n = decode_notification(genuine_body(Status=status, Code=code), credentials)
    assert inbox.notification_fact(n, capture=capture, tx_type=tx_type, paypal_method=method) == fact
    assert fact is None or fact in TABLE


# -- inbox: verified IPN facts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind", "amount"),
    [("Refunded", "ipn_refund", 1250), ("Reversed", "charged_back", None),
     ("Canceled_Reversal", "chargeback_cancelled", None), ("Voided", "ipn_voided", None),
     ("Expired", "ipn_expired", None), ("Denied", "failed", None), ("Completed", "confirm", None),
     ("Pending", "confirm", None)],
)
def test_ipn_payment_fact(status: str, kind: str, amount: int | None) -> None:
    gross = "-12.50" if status in ("Refunded", "Reversed") else "12.50"
    fact = inbox.ipn_payment_fact(parse_ipn(_ipn(payment_status=status, mc_gross=gross, parent_txn_id="P")))
    assert (fact.kind, fact.amount) == (kind, amount)
    assert kind == "confirm" or kind in TABLE


def test_refund_of_the_shops_own_credit_confirms_it() -> None:
    message = parse_ipn(_ipn(payment_status="Refunded", mc_gross="-5.00", txn_id="REFUND1", parent_txn_id="CAP1"))
    assert inbox.ipn_payment_fact(message, known_refund_ids=frozenset({"REFUND1"})).kind == "confirm"
    assert inbox.ipn_payment_fact(message, known_refund_ids=frozenset({"OTHER"})).kind == "ipn_refund"


def test_refund_with_an_inexact_amount_is_a_conflict() -> None:
    message = parse_ipn(_ipn(payment_status="Refunded", mc_gross="-5", mc_currency="JPY", parent_txn_id="P",
                             extra={"mc_gross": "-5.5"}))
    fact = inbox.ipn_payment_fact(message)
    assert fact.kind == "conflict" and "mc_gross" in fact.reason


def test_masspay_facts() -> None:
    body = (b"txn_type=masspay&masspay_txn_id_1=M1&status_1=Completed&masspay_txn_id_2=M2&status_2=Returned"
            b"&masspay_txn_id_3=M3&status_3=Unclaimed")
    kinds = [inbox.masspay_fact(r).kind for r in parse_ipn(body).mass_payments]
    assert kinds == ["payout_ok", "failed", "confirm"]


def test_minor_units_exact_or_error() -> None:
    assert inbox.minor_units(Decimal("-25.00"), "EUR") == 2500
    assert inbox.minor_units(Decimal("1500"), "JPY") == 1500
    with pytest.raises(ValueError, match="mc_gross"):
        inbox.minor_units(Decimal("1.005"), "EUR")
    with pytest.raises(ValueError, match="missing"):
        inbox.minor_units(None, "EUR")


# -- accounts: the top-up rule ------------------------------------------------------------------------------


@pytest.mark.parametrize("txn_type", ["web_accept", "send_money", "express_checkout", "web-accept"])
def test_completed_topup_credits_the_linked_account_gross(txn_type: str) -> None:
    plan = plan_topup(parse_ipn(_ipn(txn_type=txn_type, mc_gross="25.00", mc_fee="1.15")), linked_account="acme")
    assert (plan.action, plan.account, plan.amount, plan.currency, plan.fee) == ("credit", "acme", 2500, "EUR", 115)
    assert plan.entry_kind == "topup" and plan.event == "account.credited"


def test_topup_from_an_unlinked_address_waits() -> None:
    plan = plan_topup(parse_ipn(_ipn()), linked_account=None)
    assert plan.action == "unmatched" and plan.reason == NO_ACCOUNT and plan.amount == 2500


@pytest.mark.parametrize(
    ("txn_type", "status"),
    [("cart", "Completed"), ("subscr_payment", "Completed"), ("web_accept", "Pending"), ("send_money", "Denied")],
)
def test_not_a_topup(txn_type: str, status: str) -> None:
    plan = plan_topup(parse_ipn(_ipn(txn_type=txn_type, payment_status=status)), linked_account="acme")
    assert plan.action == "none" and plan.event is None


def test_refund_and_reversal_debit_the_original_account() -> None:
    original = Original("acme", "EUR", 2500)
    refund = parse_ipn(_ipn(payment_status="Refunded", mc_gross="-10.00", parent_txn_id="T1", txn_id="R1"))
    plan = plan_topup(refund, linked_account=None, original=original)
    assert (plan.action, plan.account, plan.amount, plan.entry_kind, plan.event) == (
        "debit", "acme", -1000, "refund", "account.debited")
    reversal = parse_ipn(_ipn(payment_status="Reversed", mc_gross="-15.00", parent_txn_id="T1", txn_id="R2"))
    plan = plan_topup(reversal, linked_account=None, original=Original("acme", "EUR", 2500, debited=-1000))
    assert (plan.action, plan.amount, plan.entry_kind) == ("debit", -1500, "reversal")


def test_debit_beyond_the_topup_or_in_another_currency_is_a_conflict() -> None:
    refund = parse_ipn(_ipn(payment_status="Refunded", mc_gross="-20.00", parent_txn_id="T1", txn_id="R1"))
    assert plan_topup(refund, linked_account=None, original=Original("acme", "EUR", 2500, debited=-1000)).action == "conflict"
    assert plan_topup(refund, linked_account=None, original=Original("acme", "USD", 2500)).action == "conflict"


def test_refund_without_its_original_waits() -> None:
    refund = parse_ipn(_ipn(payment_status="Refunded", mc_gross="-20.00", parent_txn_id="NOPE", txn_id="R1"))
    plan = plan_topup(refund, linked_account="acme", original=None)
    assert plan.action == "unmatched" and "NOPE" in plan.reason


def test_canceled_reversal_credits_back_at_most_what_was_reversed() -> None:
    cancel = parse_ipn(_ipn(payment_status="Canceled_Reversal", mc_gross="15.00", parent_txn_id="T1", txn_id="C1"))
    plan = plan_topup(cancel, linked_account=None, original=Original("acme", "EUR", 2500, debited=-1500, reversed=-1500))
    assert (plan.action, plan.account, plan.amount, plan.entry_kind) == ("credit", "acme", 1500, "canceled_reversal")
    assert plan_topup(cancel, linked_account=None, original=Original("acme", "EUR", 2500)).action == "conflict"


def test_bad_topup_amounts_are_conflicts() -> None:
    assert plan_topup(parse_ipn(_ipn(mc_gross="-1.00")), linked_account="acme").action == "conflict"
    inexact = parse_ipn(_ipn(mc_currency="JPY", extra={"mc_gross": "10.5"}))
    assert plan_topup(inexact, linked_account="acme").action == "conflict"


def test_emails_compare_case_insensitively() -> None:
    assert accounts.normalise_email("  Alice@Example.COM ") == "alice@example.com"


# -- outbox: retries ------------------------------------------------------------------------------------------


def test_backoff_doubles_up_to_the_longest_then_parks() -> None:
    policy = outbox.RetryPolicy(first=2, factor=2, longest=10, max_attempts=5, lease=30)
    assert [policy.delay(n) for n in range(1, 6)] == [2, 4, 8, 10, 10]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    retry = policy.after_failure(1, now)
    assert retry.action == "retry" and retry.at == now + timedelta(seconds=2)
    assert policy.after_failure(5, now).action == "park"
    assert policy.lease_until(now) == now + timedelta(seconds=30)
    with pytest.raises(ValueError):
        policy.delay(0)


@pytest.mark.parametrize("kwargs", [{"first": 0}, {"factor": 0.5}, {"longest": 1, "first": 2}, {"max_attempts": 0},
                                    {"lease": 0}])
def test_policy_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        outbox.RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_verify_retry_stays_inside_paypals_four_days() -> None:
    policy = outbox.VERIFY_RETRY
    total = sum(policy.delay(n) for n in range(1, policy.max_attempts))
    assert timedelta(days=2) < timedelta(seconds=total) < timedelta(days=4)


def test_handlers_for_kinds_patterns_and_all() -> None:
    registry = {"payment.captured": ["a"], "payment.*": ["b"], "*": ["c"], "account.credited": ["d"]}
    assert outbox.handlers_for("payment.captured", registry) == ["a", "b", "c"]
    assert outbox.handlers_for("account.credited", registry) == ["c", "d"]
    assert outbox.check_kind("payment.*") == "payment.*" and outbox.check_kind("*") == "*"
    with pytest.raises(ValueError, match=r"payment\.capture"):
        outbox.check_kind("payment.capture")


def test_every_event_the_machine_writes_is_a_known_kind() -> None:
    written = {row.event for row in TABLE.values() if row.event}
    assert written <= set(outbox.EVENT_KINDS)
