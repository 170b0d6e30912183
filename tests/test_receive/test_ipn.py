"""``Ledger.receive_ipn`` on both engines, verified through the IPN stand-in over loopback:
store, verify, check, apply — payments matched by PayPal ids, Mass Pay record by record, top-ups
by the account rule — and each fact counted once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from axepta.errors import ConfigurationError
from axepta.ledger import Ledger
from axepta.ledger.outbox import RetryPolicy
from axepta.simulator.ipn_standin import IpnStandIn, build_ipn
from tests.test_receive._support import NOW, SHOP, add_payment

RECEIVERS = [SHOP]


@pytest.fixture
def engine_name() -> str:
    """SQLite only here: what differs between the engines (locks, SKIP LOCKED, concurrent
    deliveries) is proven on both in test_notifications.py, test_events.py and on PostgreSQL in
    test_concurrency.py; this file tests the logic above them (and keeps make test short)."""
    return "sqlite"


@pytest.fixture
def ledger(books_url: str) -> Iterator[Ledger]:
    with Ledger(books_url) as books:
        yield books


@pytest.fixture
def standin() -> Iterator[IpnStandIn]:
    with IpnStandIn() as s:
        yield s


def ipn(standin: IpnStandIn, **values: Any) -> bytes:
    fields: dict[str, Any] = {"payer_email": "alice@example.com", "mc_gross": "25.00", "mc_currency": "EUR",
                              "receiver_email": SHOP, "txn_type": "send_money"}
    fields.update(values)
    body = build_ipn(**fields)
    standin.remember(body)  # PayPal sent it: the stand-in answers VERIFIED to its postback
    return body


def receive(ledger: Ledger, standin: IpnStandIn, body: bytes, **kwargs: Any) -> Any:
    return ledger.receive_ipn(body, receivers=RECEIVERS, verify_url=standin.verify_url, **kwargs)


def test_topup_credits_the_linked_account_once(ledger: Ledger, standin: IpnStandIn) -> None:
    ledger.accounts.link_email("acme", "Alice@Example.com")
    body = ipn(standin, txn_id="TOP1", mc_fee="1.15")
    first = receive(ledger, standin, body)
    assert (first.status_code, first.outcome, first.account, first.verification) == (200, "applied", "acme", "verified")
    for _ in range(2):  # PayPal resends the same message
        again = receive(ledger, standin, body)
        assert (again.status_code, again.outcome) == (200, "duplicate")
    assert ledger.accounts.balance("acme", "EUR") == 2500
    assert ledger.accounts.balance("acme", "USD") == 0
    (entry,) = ledger.accounts.entries("acme")
    assert (entry.amount, entry.fee, entry.kind, entry.txn_id) == (2500, 115, "topup", "TOP1")
    (event,) = ledger.events()
    assert event.kind == "account.credited" and event.account == "acme" and event.payload["balance"] == 2500


def test_refund_reversal_and_cancelled_reversal_follow_the_original(ledger: Ledger, standin: IpnStandIn) -> None:
    ledger.accounts.link_email("acme", "alice@example.com")
    receive(ledger, standin, ipn(standin, txn_id="TOP2", mc_gross="30.00"))
    refund = receive(ledger, standin, ipn(standin, txn_id="R1", parent_txn_id="TOP2", payment_status="Refunded",
                                          mc_gross="-10.00"))
    assert refund.outcome == "applied" and ledger.accounts.balance("acme", "EUR") == 2000
    reversal = receive(ledger, standin, ipn(standin, txn_id="R2", parent_txn_id="TOP2", payment_status="Reversed",
                                            mc_gross="-20.00"))
    assert reversal.outcome == "applied" and ledger.accounts.balance("acme", "EUR") == 0
    too_much = receive(ledger, standin, ipn(standin, txn_id="R3", parent_txn_id="TOP2", payment_status="Refunded",
                                            mc_gross="-1.00"))
    assert too_much.outcome == "conflict" and ledger.accounts.balance("acme", "EUR") == 0
    back = receive(ledger, standin, ipn(standin, txn_id="C1", parent_txn_id="TOP2", payment_status="Canceled_Reversal",
                                        mc_gross="20.00"))
    assert back.outcome == "applied" and ledger.accounts.balance("acme", "EUR") == 2000
    kinds = [e.kind for e in reversed(ledger.events())]
    assert kinds == ["account.credited", "account.debited", "account.debited", "account.credited"]
    assert [e.kind for e in ledger.accounts.entries("acme")] == ["topup", "refund", "reversal", "canceled_reversal"]


def test_unknown_address_waits_until_assigned(ledger: Ledger, standin: IpnStandIn) -> None:
    receipt = receive(ledger, standin, ipn(standin, txn_id="TOP3", payer_email="bob@example.com"))
    assert (receipt.status_code, receipt.outcome, receipt.account) == (200, "unmatched", None)
    (waiting,) = ledger.accounts.unmatched()
    assert waiting.id == receipt.message_id and waiting.fields["payer_email"]["value"] == "bob@example.com"
    assigned = ledger.accounts.assign(waiting.id, "bobco")
    assert (assigned.outcome, assigned.account) == ("applied", "bobco")
    assert ledger.accounts.balance("bobco", "EUR") == 2500 and ledger.accounts.unmatched() == []
    with pytest.raises(ValueError, match="not a top-up waiting"):
        ledger.accounts.assign(waiting.id, "bobco")
    # the refund of an assigned top-up finds its account through the original
    refund = receive(ledger, standin, ipn(standin, txn_id="R4", parent_txn_id="TOP3", payment_status="Refunded",
                                          payer_email="bob@example.com", mc_gross="-25.00"))
    assert refund.account == "bobco" and ledger.accounts.balance("bobco", "EUR") == 0


def test_not_a_topup_is_kept_unmatched(ledger: Ledger, standin: IpnStandIn) -> None:
    ledger.accounts.link_email("acme", "alice@example.com")
    for status in ("Pending", "Denied"):
        receipt = receive(ledger, standin, ipn(standin, txn_id="P1", payment_status=status))
        assert (receipt.status_code, receipt.outcome) == (200, "unmatched")
    cart = receive(ledger, standin, ipn(standin, txn_type="cart"))
    assert cart.outcome == "unmatched" and ledger.accounts.balance("acme", "EUR") == 0
    assert ledger.accounts.unmatched() == [] and ledger.events() == []


def test_invalid_is_recorded_and_never_applied(ledger: Ledger, standin: IpnStandIn) -> None:
    ledger.accounts.link_email("acme", "alice@example.com")
    forged = build_ipn(payer_email="alice@example.com", mc_gross="1000.00", receiver_email=SHOP, txn_type="send_money")
    receipt = receive(ledger, standin, forged)  # the stand-in never sent it: INVALID
    assert (receipt.status_code, receipt.outcome) == (200, "invalid")
    message = ledger.message(receipt.message_id)
    assert message is not None and message.state == "invalid" and message.dedup_key is None
    assert ledger.accounts.balance("acme", "EUR") == 0


def test_unverified_is_retried_with_backoff_then_applied(ledger: Ledger) -> None:
    ledger.accounts.link_email("acme", "alice@example.com")
    with IpnStandIn(answer="error") as failing:
        body = ipn(failing, txn_id="TOP5")
        receipt = receive(ledger, failing, body)
        assert (receipt.status_code, receipt.outcome) == (500, "unverified")
        message = ledger.message(receipt.message_id)
        assert message is not None and message.state == "unverified" and message.next_attempt_at is not None
        assert ledger.verify_ipn_messages(receivers=RECEIVERS, verify_url=failing.verify_url) == []  # not due yet
        failing.answer = "verified"  # PayPal reachable again
        later = lambda: message.next_attempt_at  # noqa: E731 - the clock jumps past the backoff
        (done,) = ledger.verify_ipn_messages(receivers=RECEIVERS, verify_url=failing.verify_url, now=later)
    assert done.outcome == "applied" and ledger.accounts.balance("acme", "EUR") == 2500


def test_unverified_is_parked_after_the_bound(ledger: Ledger) -> None:
    policy = RetryPolicy(first=0.001, longest=0.001, max_attempts=2, lease=30)
    with IpnStandIn(answer="error") as failing:
        body = ipn(failing)
        receipt = ledger.receive_ipn(body, receivers=RECEIVERS, verify=False)
        assert (receipt.status_code, receipt.outcome) == (200, "stored")
        import time

        for _ in range(2):
            time.sleep(0.01)
            ledger.verify_ipn_messages(receivers=RECEIVERS, verify_url=failing.verify_url, policy=policy)
    message = ledger.message(receipt.message_id)
    assert message is not None and message.state == "parked" and message.attempts == 2


def test_queue_mode_stores_then_the_verifier_applies(ledger: Ledger, standin: IpnStandIn) -> None:
    ledger.accounts.link_email("acme", "alice@example.com")
    stored = ledger.receive_ipn(ipn(standin, txn_id="TOP6"), receivers=RECEIVERS, verify=False)
    assert (stored.status_code, stored.outcome) == (200, "stored") and ledger.accounts.balance("acme", "EUR") == 0
    (applied,) = ledger.verify_ipn_messages(receivers=RECEIVERS, verify_url=standin.verify_url)
    assert applied.outcome == "applied" and applied.message_id == stored.message_id
    assert ledger.verify_ipn_messages(receivers=RECEIVERS, verify_url=standin.verify_url) == []
    assert ledger.accounts.balance("acme", "EUR") == 2500


def test_an_ipn_for_another_receiver_is_rejected(ledger: Ledger, standin: IpnStandIn) -> None:
    ledger.accounts.link_email("acme", "alice@example.com")
    receipt = receive(ledger, standin, ipn(standin, receiver_email="someone.else@example.com"))
    assert (receipt.status_code, receipt.outcome) == (400, "rejected")
    assert ledger.accounts.balance("acme", "EUR") == 0


def test_environment_mismatch_is_rejected_before_verifying(ledger: Ledger, standin: IpnStandIn) -> None:
    receipt = receive(ledger, standin, ipn(standin), environment="production")  # a test_ipn=1 message
    assert (receipt.status_code, receipt.outcome) == (400, "rejected")
    assert standin.postbacks(b"") == ()


def test_receivers_are_required(ledger: Ledger) -> None:
    with pytest.raises(ConfigurationError, match="receiver"):
        ledger.receive_ipn(b"txn_id=1", receivers=[])


def test_empty_body_is_rejected(ledger: Ledger) -> None:
    assert ledger.receive_ipn(b"", receivers=RECEIVERS).outcome == "rejected"


def test_refund_made_in_paypal_pages_updates_the_matched_payment(ledger: Ledger, standin: IpnStandIn) -> None:
    add_payment(ledger, "ORDER1", amount=5000, state="captured", amount_captured=5000, ids={"tid": "CAP1"})
    body = ipn(standin, txn_id="REF1", parent_txn_id="CAP1", payment_status="Refunded", mc_gross="-12.00",
               txn_type="express_checkout")
    receipt = receive(ledger, standin, body)
    assert receipt.outcome == "applied" and receipt.payment is not None
    assert (receipt.payment.state, receipt.payment.amount_refunded) == ("refunded", 1200)
    assert receive(ledger, standin, body).outcome == "duplicate"
    assert [e.kind for e in ledger.events()] == ["payment.refunded"]
    # a chargeback and its cancellation flag the payment; the account books are untouched
    chargeback = receive(ledger, standin, ipn(standin, txn_id="CB1", parent_txn_id="CAP1", payment_status="Reversed",
                                              mc_gross="-38.00"))
    assert chargeback.outcome == "applied" and ledger.payment("ORDER1").charged_back  # type: ignore[union-attr]
    won = receive(ledger, standin, ipn(standin, txn_id="CB2", parent_txn_id="CAP1", payment_status="Canceled_Reversal",
                                       mc_gross="38.00"))
    assert won.outcome == "applied" and not ledger.payment("ORDER1").charged_back  # type: ignore[union-attr]


def test_ipn_confirming_the_shops_own_capture_changes_nothing(ledger: Ledger, standin: IpnStandIn) -> None:
    add_payment(ledger, "ORDER2", amount=5000, state="captured", amount_captured=5000, ids={"tid": "CAP2"})
    receipt = receive(ledger, standin, ipn(standin, txn_id="CAP2", mc_gross="50.00", txn_type="express_checkout"))
    assert receipt.outcome == "duplicate" and receipt.payment is not None and receipt.payment.amount_captured == 5000
    assert ledger.events() == []


def test_a_completed_ipn_for_another_amount_is_a_conflict_and_moves_nothing(
    ledger: Ledger, standin: IpnStandIn
) -> None:
    # short, tenfold, a negative
    for n, gross in enumerate(("49.99", "500.00", "-50.00")):
        add_payment(ledger, f"ORDER4{n}", amount=5000, state="captured", amount_captured=5000, ids={"tid": f"CAP4{n}"})
        receipt = receive(ledger, standin, ipn(standin, txn_id=f"CAP4{n}", mc_gross=gross, txn_type="express_checkout"))
        assert (receipt.status_code, receipt.outcome) == (200, "conflict"), gross
        assert receipt.reason is not None and "mc_gross" in receipt.reason, gross
        payment = ledger.payment(f"ORDER4{n}")
        assert payment is not None and (payment.state, payment.amount_captured) == ("captured", 5000)
    assert ledger.events() == []
    pending = receive(ledger, standin, ipn(standin, txn_id="CAP40", mc_gross="50.00", payment_status="Pending",
                                           txn_type="express_checkout"))
    assert pending.outcome == "duplicate"  # the amount the books expect: a confirmation


def test_a_completed_ipn_for_a_partial_capture_is_checked_against_that_capture(
    ledger: Ledger, standin: IpnStandIn
) -> None:
    from axepta.ledger.store import queries

    for n, gross, outcome in ((1, "20.00", "duplicate"), (2, "50.00", "conflict")):
        payment_id = add_payment(ledger, f"ORDER5{n}", amount=5000, state="partially_captured",
                                 amount_captured=2000, capture="Manual", tx_type="Auth")
        with ledger.store.write() as conn:
            queries.insert_operation(conn, {
                "payment_id": payment_id, "merchant_id": "BNP_DEMO_AXEPTA", "kind": "capture", "req_id": f"{n}" * 32,
                "amount": 2000, "currency": "EUR", "request": {}, "outcome": "succeeded", "tid": f"CAP5{n}",
                "attempts": 1, "created_at": NOW, "updated_at": NOW,
            })  # fmt: skip
        receipt = receive(ledger, standin, ipn(standin, txn_id=f"CAP5{n}", mc_gross=gross, txn_type="express_checkout"))
        assert receipt.outcome == outcome, gross
    assert receipt.reason is not None and "20.00" in receipt.reason  # the capture's amount, not the order's


def test_ipn_in_another_currency_than_its_payment_is_a_conflict(ledger: Ledger, standin: IpnStandIn) -> None:
    add_payment(ledger, "ORDER3", state="captured", amount_captured=1234, ids={"tid": "CAP3"})
    receipt = receive(ledger, standin, ipn(standin, txn_id="CAP3", mc_currency="USD"))
    assert receipt.outcome == "conflict"


def test_masspay_records_one_by_one(ledger: Ledger, standin: IpnStandIn) -> None:
    add_payment(ledger, "PAYOUT1", kind="payout", state="pending")
    add_payment(ledger, "PAYOUT2", kind="payout", state="pending")
    records = {
        "masspay_txn_id_1": "M1", "status_1": "Completed", "unique_id_1": "PAYOUT1", "mc_gross_1": "12.34",
        "mc_currency_1": "EUR", "receiver_email_1": "a@example.com",
        "masspay_txn_id_2": "M2", "status_2": "Unclaimed", "unique_id_2": "PAYOUT2", "mc_gross_2": "5.00",
        "mc_currency_2": "EUR", "receiver_email_2": "b@example.com",
        "masspay_txn_id_3": "M3", "status_3": "Completed", "unique_id_3": "NOBODY", "mc_gross_3": "1.00",
        "mc_currency_3": "EUR", "receiver_email_3": "c@example.com",
        "payer_email": SHOP,
    }
    body = ipn(standin, txn_type="masspay", payment_status="Processed", extra=records, payer_email=SHOP)
    body = body.replace(b"&txn_id=", b"&x_txn_id=")  # a Mass Pay IPN names no txn_id
    standin.remember(body)
    receipt = receive(ledger, standin, body)
    assert receipt.outcome == "applied"
    states = {m.dedup_key: m.state for m in ledger.messages(source="masspay")}
    assert states == {"masspay:M1:completed": "applied", "masspay:M2:unclaimed": "duplicate",
                      "masspay:M3:completed": "unmatched"}
    assert ledger.payment("PAYOUT1").state == "closed"  # type: ignore[union-attr]
    assert ledger.payment("PAYOUT2").state == "pending"  # type: ignore[union-attr]
    # the second IPN of the batch: record 2 now Completed, record 1 repeated
    second = body.replace(b"status_2=Unclaimed", b"status_2=Completed").replace(b"payment_status=Processed",
                                                                                b"payment_status=Completed")
    second = second.replace(b"ipn_track_id=", b"ipn_track_id=2")  # another message, another track id
    standin.remember(second)
    assert receive(ledger, standin, second).outcome == "applied"
    assert ledger.payment("PAYOUT2").state == "closed"  # type: ignore[union-attr]
    assert len(ledger.messages(source="masspay")) == 4
    assert sorted(e.kind for e in ledger.events()) == ["payment.captured", "payment.captured"]


def test_replay_processes_waiting_messages_only(ledger: Ledger, standin: IpnStandIn) -> None:
    waiting = receive(ledger, standin, ipn(standin, txn_id="TOP9", payer_email="carol@example.com"))
    assert waiting.outcome == "unmatched"
    ledger.accounts.link_email("carol", "carol@example.com")
    replayed = ledger.replay(waiting.message_id, receivers=RECEIVERS, verify_url=standin.verify_url)
    assert (replayed.outcome, replayed.account) == ("applied", "carol")
    again = ledger.replay(waiting.message_id, receivers=RECEIVERS, verify_url=standin.verify_url)
    assert again.outcome == "duplicate" and ledger.accounts.balance("carol", "EUR") == 2500
    with pytest.raises(LookupError):
        ledger.replay(999999, receivers=RECEIVERS)
