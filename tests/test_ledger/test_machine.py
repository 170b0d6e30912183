"""The pure state machine: table rows, then properties over arbitrary sequences of facts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from axepta.ledger.machine import (
    FAILED,
    FINISHED,
    NOT_FINISHED,
    ORDER,
    SOURCES,
    STATES,
    TABLE,
    Books,
    Decision,
    Fact,
    capture_limit,
    check_intent,
    decide,
    group_of,
)


def apply(books: Books, decision: Decision) -> Books:
    if not decision.changes:
        return books
    return Books(
        state=decision.state,
        amount=books.amount,
        amount_authorized=books.amount_authorized + decision.delta_authorized,
        amount_captured=books.amount_captured + decision.delta_captured,
        amount_refunded=books.amount_refunded + decision.delta_refunded,
        charged_back=books.charged_back if decision.charged_back is None else decision.charged_back,
        capture=books.capture,
        tx_type=books.tx_type,
    )


def run(books: Books, *facts: Fact) -> Books:
    for fact in facts:
        books = apply(books, decide(books, fact))
    return books


def test_groups_cover_every_state_once() -> None:
    assert sorted(NOT_FINISHED + FINISHED + FAILED) == sorted(STATES)
    assert [group_of(s) for s in ("created", "captured", "expired")] == ["not_finished", "finished", "failed"]
    with pytest.raises(ValueError, match="unknown payment state"):
        group_of("paid")


def test_sale_approved_then_refunded_in_two_parts() -> None:
    books = Books("created", 1000, capture="Auto")
    books = run(books, Fact("captured_at_approval", "notification"))
    assert (books.state, books.amount_captured) == ("captured", 1000)
    first = decide(books, Fact("credit_ok", "reply", amount=400))
    assert first.events == ("payment.refunded",)
    books = run(books, Fact("credit_ok", "reply", amount=400), Fact("credit_ok", "reply", amount=600))
    assert (books.state, books.amount_refunded) == ("refunded", 1000)
    assert decide(books, Fact("credit_ok", "reply", amount=1)).verdict == "conflict"


def test_order_authorize_partial_captures_close_at_100_percent() -> None:
    books = run(Books("created", 1000, capture="Manual", tx_type="Order"), Fact("approved", "notification"))
    assert books.state == "approval_pending_completion"
    books = run(books, Fact("authorize_ok", "reply", amount=1000), Fact("capture_ok", "reply", amount=300))
    assert (books.state, books.amount_authorized, books.amount_captured) == ("captured", 1000, 300)
    books = run(books, Fact("capture_ok", "reply", amount=700))
    assert books.state == "closed"
    over = decide(books, Fact("capture_ok", "reply", amount=151))
    assert over.verdict == "conflict" and "115 %" in (over.note or "")
    assert decide(books, Fact("capture_ok", "reply", amount=150)).verdict == "applied"


def test_complete_type_yes_closes_below_100_percent() -> None:
    books = Books("authorized", 1000, amount_authorized=1000)
    assert run(books, Fact("capture_ok", "reply", amount=200, complete=True)).state == "closed"


def test_a_notification_never_carries_money() -> None:
    with pytest.raises(ValueError, match="D14"):
        Fact("capture_ok", "notification", amount=5)
    # an authenticated authorisation at approval applies the amount the shop ordered
    decision = decide(Books("created", 1234, tx_type="Auth"), Fact("authorized", "notification"))
    assert (decision.state, decision.delta_authorized) == ("authorized", 1234)
    assert decide(Books("created", 10), Fact("capture_ok", "notification")).verdict == "conflict"


def test_late_and_repeated_results_change_nothing() -> None:
    books = Books("captured", 1000, amount_captured=1000)
    assert decide(books, Fact("approved", "notification")).verdict == "stale"
    assert decide(books, Fact("captured_at_approval", "notification")).verdict == "duplicate"
    assert decide(books, Fact("failed", "notification")).verdict == "stale"
    approved = Books("approval_pending_completion", 1000)
    assert decide(approved, Fact("approved", "notification")).verdict == "duplicate"


def test_success_for_a_failed_payment_is_a_conflict_for_a_person() -> None:
    for state in FAILED:
        decision = decide(Books(state, 1000), Fact("captured_at_approval", "notification"))
        assert decision.verdict == "conflict"
        assert "PayPal may hold money" in (decision.note or "")


def test_expiry_and_voids_before_and_after_a_capture() -> None:
    authorized = Books("authorized", 1000, amount_authorized=1000)
    assert decide(authorized, Fact("ipn_expired", "ipn")).state == "expired"
    assert decide(authorized, Fact("ipn_voided", "ipn")).state == "reversed"
    partly = run(authorized, Fact("capture_ok", "reply", amount=100))
    assert decide(partly, Fact("ipn_expired", "ipn")).state == "closed"
    assert decide(partly, Fact("ipn_voided", "ipn")).state == "closed"
    assert decide(partly, Fact("reverse_ok", "reply")).state == "closed"
    # Timeout only for a payment still waiting
    assert decide(Books("approval_pending_completion", 5), Fact("expired", "notification")).state == "expired"
    assert decide(authorized, Fact("expired", "notification")).verdict == "stale"


def test_chargeback_flag_set_and_cleared() -> None:
    books = Books("captured", 1000, amount_captured=1000)
    charged = decide(books, Fact("charged_back", "ipn"))
    assert (charged.charged_back, charged.events) == (True, ("payment.charged_back",))
    books = apply(books, charged)
    assert decide(books, Fact("charged_back", "ipn")).verdict == "duplicate"
    cleared = decide(books, Fact("chargeback_cancelled", "ipn"))
    assert cleared.charged_back is False
    assert decide(Books("captured", 5), Fact("chargeback_cancelled", "ipn")).verdict == "duplicate"


def test_inquiry_moves_forward_only_and_flags_what_is_behind() -> None:
    books = Books("created", 1000, capture="Auto")
    forward = decide(books, Fact("inquired", "inquiry", inquired=(1000, 1000, 0)))
    assert (forward.state, forward.delta_captured, forward.delta_authorized) == ("captured", 1000, 1000)
    behind = decide(Books("captured", 1000, amount_captured=1000), Fact("inquired", "inquiry", inquired=(0, 0, 0)))
    assert behind.verdict == "stale" and "below the books" in (behind.note or "")
    nothing = decide(Books("created", 1000), Fact("inquired", "inquiry", inquired=(0, 0, 0)))
    assert nothing.verdict == "duplicate" and nothing.state == "created"  # never expired by an inquiry


def test_intents_are_checked_before_anything_is_sent() -> None:
    books = Books("authorized", 1000, amount_authorized=1000, amount_captured=900)
    assert capture_limit(books) == 1150
    assert check_intent(books, "capture", 250) is None
    assert "115 %" in (check_intent(books, "capture", 251) or "")
    assert "captured total" in (check_intent(books, "credit", 901) or "")
    assert check_intent(books, "credit", 900) is None


# -- properties -------------------------------------------------------------------------------

AMOUNTS = st.integers(min_value=0, max_value=5000)


@st.composite
def facts(draw: st.DrawFn) -> Fact:
    kind = draw(st.sampled_from(sorted(TABLE)))
    if kind == "inquired":
        return Fact(kind, "inquiry", inquired=(draw(AMOUNTS), draw(AMOUNTS), draw(AMOUNTS)))
    source = draw(st.sampled_from(SOURCES))
    amount = None if source == "notification" else draw(st.none() | AMOUNTS)
    return Fact(kind, source, amount=amount, complete=draw(st.booleans()))


books_start = st.builds(
    Books,
    state=st.sampled_from(NOT_FINISHED),
    amount=st.integers(min_value=1, max_value=5000),
    capture=st.sampled_from([None, "Auto", "Manual"]),
    tx_type=st.sampled_from([None, "Order", "Auth"]),
)


def _rank(state: str) -> int:
    return ORDER.index(state) if state in ORDER else len(ORDER)


@settings(max_examples=400, deadline=None)
@given(books_start, st.lists(facts(), max_size=25))
def test_any_sequence_keeps_the_invariants(books: Books, sequence: list[Fact]) -> None:
    for fact in sequence:
        decision = decide(books, fact)
        assert decision == decide(books, fact)  # pure
        after = apply(books, decision)
        # forward only; the Failed group is terminal
        assert _rank(after.state) >= _rank(books.state)
        if books.state in FAILED:
            assert after.state == books.state
        # totals never fall; refunds never exceed captures; captures stay within 115 %
        assert after.amount_authorized >= books.amount_authorized
        assert after.amount_captured >= books.amount_captured
        assert after.amount_refunded >= books.amount_refunded
        assert after.amount_refunded <= after.amount_captured
        if after.amount_captured > books.amount_captured:
            assert after.amount_captured <= capture_limit(after)
        # money moves only from replies, IPN and inquiries, or by the shop's own ordered amount
        moved = (
            after.amount_authorized - books.amount_authorized,
            after.amount_captured - books.amount_captured,
            after.amount_refunded - books.amount_refunded,
        )
        if any(moved) and fact.source == "notification":
            assert set(moved) <= {0, books.amount}
        if any(moved) and fact.source in ("reply", "ipn", "person") and TABLE[fact.kind].amount == "fact":
            assert set(moved) <= {0, fact.amount}
        # nothing changes unless applied; a decision that changes something says what
        if decision.verdict != "applied":
            assert after == books
        books = after


@settings(max_examples=300, deadline=None)
@given(books_start, st.lists(facts(), max_size=15), facts())
def test_a_fact_delivered_twice_counts_once_unless_each_one_moves_money(
    books: Books, sequence: list[Fact], fact: Fact
) -> None:
    books = run(books, *sequence)
    once = apply(books, decide(books, fact))
    again = decide(once, fact)
    if not TABLE[fact.kind].repeatable:
        assert not again.changes, (fact, once, again)
