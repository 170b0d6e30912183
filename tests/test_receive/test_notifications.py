"""``Ledger.receive_notification`` on both engines: LEDGER.md's table of answers, exactly once,
MAC-bound keys only, and the message committed before it is answered."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.ledger.store import express
from axepta.ledger.store import receiving as sql
from tests.test_notify._support import PAY_ID, encrypt, with_mac
from tests.test_receive._support import add_payment, result

PAY = "a" * 32


@pytest.fixture
def ledger(books_url: str) -> Any:
    with Ledger(books_url) as books:
        yield books


def test_capture_at_approval_applies_once(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T1", amount=1234, capture="Auto")
    body = result("T1", PAY)
    first = ledger.receive_notification(body, credentials)
    assert (first.status_code, first.outcome) == (200, "applied")
    assert first.payment is not None and first.payment.state == "captured"
    assert first.payment.amount_captured == 1234  # the ordered amount, never the message's (D14)
    assert first.payment.pay_id == PAY  # learnt from the bound PayID
    again = [ledger.receive_notification(body, credentials) for _ in range(4)]
    assert {(r.status_code, r.outcome) for r in again} == {(200, "duplicate")}
    assert {r.message_id for r in again} == {first.message_id}
    assert len(ledger.transitions("T1")) == 1
    assert [e.kind for e in ledger.events()] == ["payment.captured"]
    (message,) = ledger.messages(source="axepta")
    assert message.state == "applied" and message.dedup_key == f"{PAY}|T1|OK|00000000"
    assert message.fields["PayID"]["bound"] and not message.fields["XID"]["bound"]


def test_unknown_transid_is_404_then_applies_once_the_payment_exists(ledger: Ledger, credentials: Credentials) -> None:
    body = result("LATE", PAY, status="AUTHORIZE_REQUEST")
    first = ledger.receive_notification(body, credentials)
    assert (first.status_code, first.outcome, first.payment) == (404, "unmatched", None)
    assert ledger.messages(state="unmatched")[0].id == first.message_id
    add_payment(ledger, "LATE", capture="Manual", tx_type="Order")
    retry = ledger.receive_notification(body, credentials)  # the platform's retry after the 404
    assert (retry.status_code, retry.outcome, retry.message_id) == (200, "applied", first.message_id)
    assert retry.payment is not None and retry.payment.state == "approval_pending_completion"
    assert [e.kind for e in ledger.events()] == ["payment.approved"]


def test_late_failed_after_ok_is_stale(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T2", capture="Auto")
    assert ledger.receive_notification(result("T2", PAY), credentials).outcome == "applied"
    late = ledger.receive_notification(result("T2", PAY, status="FAILED", code="21500067"), credentials)
    assert (late.status_code, late.outcome) == (200, "stale")
    assert late.payment is not None and late.payment.state == "captured"
    assert len(ledger.events()) == 1


def test_success_after_failure_is_a_conflict_for_a_person(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T3", capture="Auto")
    failed = ledger.receive_notification(result("T3", PAY, status="FAILED", code="21500067"), credentials)
    assert failed.outcome == "applied" and failed.payment is not None and failed.payment.state == "failed"
    ok = ledger.receive_notification(result("T3", PAY), credentials)
    assert (ok.status_code, ok.outcome) == (200, "conflict")
    assert ok.payment is not None and ok.payment.state == "failed" and ok.payment.attention
    assert [e.kind for e in ledger.events()] == ["payment.failed"]


def test_another_payid_for_a_known_transid_is_a_conflict(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T4", pay_id=PAY)
    other = ledger.receive_notification(result("T4", "b" * 32), credentials)
    assert (other.status_code, other.outcome) == (200, "conflict")
    assert other.reason is not None and "another PayID" in other.reason
    assert ledger.events() == []


def test_a_payid_the_books_hold_for_another_transid_is_a_conflict(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T4B", pay_id=PAY)
    other = ledger.receive_notification(result("UNKNOWN", PAY), credentials)
    assert (other.status_code, other.outcome) == (200, "conflict")
    assert other.payment is not None and other.payment.trans_id == "T4B" and other.payment.state == "created"
    assert ledger.events() == []


def test_forged_is_rejected_without_taking_the_genuine_key(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T5")
    fields = with_mac({"mid": credentials.merchant_id, "PayID": PAY, "TransID": "T5", "Status": "OK", "Code": "00000000"},
                      hmac_key="not-the-key")
    data, length = encrypt("&".join(f"{k}={v}" for k, v in fields.items()))
    forged = f"MerchantID={credentials.merchant_id}&Len={length}&Data={data}".encode()
    receipt = ledger.receive_notification(forged, credentials)
    assert (receipt.status_code, receipt.outcome) == (400, "rejected")
    stored = ledger.message(receipt.message_id or 0)
    assert stored is not None and stored.dedup_key is None and stored.state == "rejected" and stored.reason
    genuine = ledger.receive_notification(result("T5", PAY), credentials)
    assert genuine.outcome == "applied"


def test_garbage_and_other_merchants_are_rejected(ledger: Ledger, credentials: Credentials) -> None:
    for payload in (b"", b"Data=ZZZZ&Len=3", {"MerchantID": "OTHER", "Data": "00", "Len": "1"}):
        receipt = ledger.receive_notification(payload, credentials)  # type: ignore[arg-type]
        assert (receipt.status_code, receipt.outcome) == (400, "rejected"), payload
    other = Credentials("OTHER_MID", "other-blowfish-k", "other-hmac-key")
    add_payment(ledger, "T6")
    receipt = ledger.receive_notification(result("T6", PAY, creds=other), credentials)
    assert receipt.outcome == "rejected"


def test_spliced_unbound_fields_are_the_same_message(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T7")
    a = ledger.receive_notification(result("T7", PAY, XID="1" * 32, RefNr="A"), credentials)
    b = ledger.receive_notification(result("T7", PAY, XID="2" * 32, RefNr="B", mc_gross="99999.00"), credentials)
    assert (a.outcome, b.outcome) == ("applied", "duplicate")
    assert b.payment is not None and b.payment.amount_captured == 1234


def test_notification_ids_are_kept_with_their_source(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T8")
    ledger.receive_notification(result("T8", PAY, TID="CAPTURE1", TransactionID="ORDER1"), credentials)
    ids = {(i.kind, i.value, i.source) for i in ledger.payment_ids("T8")}
    assert {("tid", "CAPTURE1", "notification"), ("transaction_id", "ORDER1", "notification")} <= ids


def test_storage_failure_answers_500_and_the_retry_applies(
    ledger: Ledger, credentials: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_payment(ledger, "T9")
    real, real_express = sql.add_payment_ids, express.Effects
    calls = {"n": 0}

    def broken(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        raise RuntimeError("disk full")

    monkeypatch.setattr(sql, "add_payment_ids", broken)  # fails after the payment was moved
    monkeypatch.setattr(express, "Effects", broken)  # the express lane fails too
    failed = ledger.receive_notification(result("T9", PAY), credentials)
    assert (failed.status_code, failed.outcome) == (500, "failed") and calls["n"] == 2
    assert failed.reason is not None and "RuntimeError" in failed.reason and "disk full" not in failed.reason
    payment = ledger.payment("T9")
    assert payment is not None and payment.state == "created"  # nothing half-applied
    (failed_row,) = ledger.messages()
    assert failed_row.state == "failed" and ledger.events() == []
    monkeypatch.setattr(sql, "add_payment_ids", real)
    monkeypatch.setattr(express, "Effects", real_express)
    retry = ledger.receive_notification(result("T9", PAY), credentials)
    assert (retry.status_code, retry.outcome) == (200, "applied")
    assert len(ledger.events()) == 1


def test_two_workers_at_the_same_moment_change_nothing_twice(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T10")
    body = result("T10", PAY)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def deliver() -> None:
        barrier.wait(timeout=10)
        outcomes.append(ledger.receive_notification(body, credentials).outcome)

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 7
    assert len(ledger.events()) == 1 and len(ledger.transitions("T10")) == 1
    assert len(ledger.messages()) == 1


def test_a_review_code_is_kept_for_a_person(ledger: Ledger, credentials: Credentials) -> None:
    add_payment(ledger, "T11")
    receipt = ledger.receive_notification(result("T11", PAY, code="01234567"), credentials)
    assert (receipt.status_code, receipt.outcome) == (200, "conflict")
    assert receipt.payment is not None and receipt.payment.state == "created" and receipt.payment.attention


def test_pay_id_of_the_demo_fixture_is_not_special(ledger: Ledger, credentials: Credentials) -> None:
    # the fixture's default PayID flows through unchanged (a guard on the helper itself)
    add_payment(ledger, "T12")
    assert ledger.receive_notification(result("T12", PAY_ID), credentials).payment.pay_id == PAY_ID  # type: ignore[union-attr]
