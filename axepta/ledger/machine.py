"""The payment state machine of LEDGER.md: pure, no I/O, no database.

:func:`decide` takes what the books hold for one payment (:class:`Books`) and one fact
(:class:`Fact`: a reply to the shop's own call, an authenticated notification, a verified IPN,
an inquiry) and returns a :class:`Decision` — the new state, the amount deltas, the events to
write, or a verdict that changes nothing (``duplicate``, ``stale``, ``conflict``). The store
applies a decision in the same transaction as the change that caused it (one writer per payment).

Rules (LEDGER.md "Payment states and transitions"):

* states only move forward along :data:`ORDER`; the Failed group is terminal; a late or repeated
  fact is ``stale`` or ``duplicate``; a success for a payment in the Failed group is a
  ``conflict`` for a person, never silently stale;
* Σ captures ≤ 115 % of the authorised amount (the ordered amount while nothing is recorded as
  authorised); Σ refunds ≤ Σ captures; a fact that would break either is a ``conflict``;
* money comes from the shop's own replies, verified IPN and inquiries (inquiries only forward);
  a notification (source ``notification``) never carries an amount: what it authorises or
  captures is the amount the shop itself ordered (PROTOCOL.md D14).

The transitions live in :data:`TABLE`, one keyword row per fact kind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

__all__ = [
    "FACT_KINDS",
    "FAILED",
    "FINISHED",
    "GROUPS",
    "NOT_FINISHED",
    "ORDER",
    "OVERCAPTURE_PERCENT",
    "SOURCES",
    "STATES",
    "TABLE",
    "Books",
    "Decision",
    "Fact",
    "Row",
    "capture_limit",
    "check_intent",
    "decide",
    "group_of",
]

NOT_FINISHED: Final = ("created", "pending", "approval_pending_completion")
FINISHED: Final = ("authorized", "captured", "closed", "refunded")
FAILED: Final = ("failed", "reversed", "expired", "cancelled")
#: Forward order of the states that are not failures (LEDGER.md "Order").
ORDER: Final = ("created", "pending", "approval_pending_completion", *FINISHED)
STATES: Final = (*ORDER, *FAILED)
GROUPS: Final = {"not_finished": NOT_FINISHED, "finished": FINISHED, "failed": FAILED}
#: PayPal accepts captures up to 115 % of the authorised amount (PROTOCOL.md §1.7).
OVERCAPTURE_PERCENT: Final = 115
#: Who reported a fact. Only ``reply``, ``ipn`` and ``inquiry`` facts carry amounts.
SOURCES: Final = ("reply", "notification", "ipn", "inquiry", "person")

Verdict = Literal["applied", "duplicate", "stale", "conflict"]
Money = Literal["authorized", "captured", "refunded"]


def group_of(state: str) -> str:
    """``"not_finished"``, ``"finished"`` or ``"failed"``."""
    for name, states in GROUPS.items():
        if state in states:
            return name
    raise ValueError(f"unknown payment state {state!r}")


@dataclass(frozen=True, slots=True)
class Books:
    """What the books hold for one payment (the part the rules read)."""

    state: str
    amount: int  # what the shop ordered
    amount_authorized: int = 0
    amount_captured: int = 0
    amount_refunded: int = 0
    charged_back: bool = False
    capture: str | None = None  # Auto, Manual
    tx_type: str | None = None  # Order, Auth, BAID

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"unknown payment state {self.state!r}")


@dataclass(frozen=True, slots=True)
class Fact:
    """Something that happened to a payment.

    ``kind`` is a key of :data:`TABLE`. ``amount`` (minor units) is required for the money facts
    of a ``reply``, ``ipn`` or ``inquiry`` and refused for a ``notification`` (its amounts are not
    MAC-bound). An inquiry reports ``authorized``/``captured``/``refunded`` as totals
    (``inquired``), never as deltas. ``complete`` marks a capture sent with ``CompleteType=YES``."""

    kind: str
    source: str
    amount: int | None = None
    complete: bool = False
    inquired: tuple[int, int, int] | None = None  # AmountAuth, AmountCap, AmountCred

    def __post_init__(self) -> None:
        if self.kind not in TABLE:
            raise ValueError(f"unknown fact {self.kind!r}; known: {', '.join(TABLE)}")
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}")
        if self.source == "notification" and self.amount is not None:
            raise ValueError("a notification's amount is not MAC-bound and never decides money (D14)")
        if self.amount is not None and self.amount < 0:
            raise ValueError("amount must be >= 0 minor units")
        if self.kind == "inquired" and (self.inquired is None or min(self.inquired) < 0):
            raise ValueError("an inquiry fact carries its three totals (>= 0)")


@dataclass(frozen=True, slots=True)
class Decision:
    """What to write: ``verdict``, the ``state`` after the fact, the deltas, the events, the
    ``charged_back`` flag when it changes, and a ``note`` for people (conflicts, discrepancies)."""

    verdict: Verdict
    state: str
    delta_authorized: int = 0
    delta_captured: int = 0
    delta_refunded: int = 0
    charged_back: bool | None = None
    events: tuple[str, ...] = ()
    note: str | None = None

    @property
    def changes(self) -> bool:
        return self.verdict == "applied"


@dataclass(frozen=True, slots=True)
class Row:
    """One row of the transition table.

    ``to``: the state the fact moves the payment to. ``money``: the total it adds to.
    ``amount``: ``"fact"`` (the fact's own amount) or ``"ordered"`` (the shop's ordered amount,
    for authenticated notifications). ``repeatable``: each fact counts again (each capture, each
    refund). ``success``: a success (a conflict for a payment in the Failed group). ``event``:
    written when the row applies. ``before_capture``: only while nothing is captured; otherwise
    the payment is ``closed`` instead (IPN ``Voided``/``Expired`` after a partial capture,
    ``reverse`` of what is still open)."""

    to: str | None
    event: str | None = None
    money: Money | None = None
    amount: Literal["fact", "ordered"] | None = None
    repeatable: bool = False
    success: bool = True
    before_capture: bool = False
    flag: bool | None = None  # sets charged_back


TABLE: Final[dict[str, Row]] = {
    # the order and its approval (authenticated results, replies to complete / reftrans)
    "approved": Row(to="approval_pending_completion", event="payment.approved"),
    "pending": Row(to="pending"),
    "authorized": Row(to="authorized", event="payment.authorized", money="authorized", amount="ordered"),
    "captured_at_approval": Row(to="captured", event="payment.captured", money="captured", amount="ordered"),
    # replies to the shop's own follow-ups
    "authorize_ok": Row(to="authorized", event="payment.authorized", money="authorized", amount="fact"),
    "capture_ok": Row(to="captured", event="payment.captured", money="captured", amount="fact", repeatable=True),
    "credit_ok": Row(to="refunded", event="payment.refunded", money="refunded", amount="fact", repeatable=True),
    "reverse_ok": Row(to="reversed", event="payment.reversed", before_capture=True),
    "payout_ok": Row(to="closed", event="payment.captured"),
    # verified IPN (PayPal's own pages) and the platform's own failures
    "ipn_refund": Row(to="refunded", event="payment.refunded", money="refunded", amount="fact", repeatable=True),
    "ipn_voided": Row(to="reversed", event="payment.reversed", before_capture=True),
    "ipn_expired": Row(to="expired", event="payment.expired", before_capture=True, success=False),
    "charged_back": Row(to=None, event="payment.charged_back", flag=True, success=False),
    "chargeback_cancelled": Row(to=None, event="payment.chargeback_cancelled", flag=False, success=False),
    "failed": Row(to="failed", event="payment.failed", success=False),
    "cancelled": Row(to="cancelled", event="payment.failed", success=False),
    "expired": Row(to="expired", event="payment.expired", success=False),
    "closed": Row(to="closed"),
    # an inquiry's three totals, merged forward only (reconcile)
    "inquired": Row(to=None),
}
FACT_KINDS: Final = tuple(TABLE)


def capture_limit(books: Books) -> int:
    """Σ captures may reach this: 115 % of the authorised amount (or of the ordered amount while
    the books record no authorisation: a ``Capture=Auto`` sale, or approval not yet received)."""
    base = books.amount_authorized or books.amount
    return base * OVERCAPTURE_PERCENT // 100


def check_intent(books: Books, kind: str, amount: int, *, pending: int = 0) -> str | None:
    """Before a money-moving call leaves: the rule it would break, or ``None``.

    ``kind`` is an operation kind (``capture``, ``credit`` …); ``pending`` is what operations of
    the same kind still in flight may add. A capture beyond 115 % of the authorised amount, or a
    credit beyond what the books show captured, is refused here."""
    in_flight = f" (with {pending} in flight)" if pending else ""
    if kind == "capture" and books.amount_captured + pending + amount > capture_limit(books):
        return (
            f"captures would reach {books.amount_captured + pending + amount}{in_flight}, above 115 % "
            f"of the authorised amount ({capture_limit(books)} allowed)"
        )
    if kind == "credit" and books.amount_refunded + pending + amount > books.amount_captured:
        return (
            f"refunds would reach {books.amount_refunded + pending + amount}{in_flight}, above the "
            f"captured total {books.amount_captured} the books show (run `axepta reconcile` if they "
            "are behind)"
        )
    return None


def _rank(state: str) -> int:
    return ORDER.index(state) if state in ORDER else len(ORDER)


def decide(books: Books, fact: Fact) -> Decision:
    """The decision for ``fact`` on a payment whose books are ``books``. Pure."""
    row = TABLE[fact.kind]
    if fact.kind == "inquired":
        return _merge_inquiry(books, fact)
    if row.flag is not None:
        return _flag(books, row)
    failed = books.state in FAILED
    if failed and row.success:
        return Decision(
            "conflict",
            books.state,
            note=f"{fact.kind} reported for a payment in state {books.state}: PayPal may hold money",
        )
    if row.money is not None:
        return _money(books, fact, row)
    target = row.to
    assert target is not None
    if row.before_capture and books.amount_captured > 0:
        target = "closed"
    if target in FAILED:
        return _to_failed(books, fact, row, target)
    if failed:
        return Decision("stale", books.state)
    return _forward(books, target, row.event)


Deltas = tuple[int, int, int]  # authorized, captured, refunded


def _forward(books: Books, target: str, event: str | None, deltas: Deltas = (0, 0, 0)) -> Decision:
    if target == books.state and not any(deltas):
        return Decision("duplicate", books.state)
    if _rank(target) < _rank(books.state) and not any(deltas):
        return Decision("stale", books.state)
    state = target if _rank(target) > _rank(books.state) else books.state
    return _applied(state, deltas, events=(event,) if event else ())


def _applied(state: str, deltas: Deltas, *, events: tuple[str, ...], note: str | None = None) -> Decision:
    a, c, r = deltas
    return Decision(
        "applied", state, delta_authorized=a, delta_captured=c, delta_refunded=r, events=events, note=note
    )


def _to_failed(books: Books, fact: Fact, row: Row, target: str) -> Decision:
    if books.state == target:
        return Decision("duplicate", books.state)
    if books.state in FAILED:
        return Decision("stale", books.state)
    allowed = books.state in NOT_FINISHED or (
        row.before_capture and books.state == "authorized" and books.amount_captured == 0
    )
    if target == "reversed":
        allowed = books.state in NOT_FINISHED or books.state == "authorized"
    if not allowed:
        return Decision("stale", books.state)
    return Decision("applied", target, events=(row.event,) if row.event else ())


def _amount(books: Books, fact: Fact, row: Row) -> int | None:
    if row.amount == "ordered":
        return books.amount
    if fact.source == "notification":
        return None  # never from a notification's unbound fields (D14)
    return fact.amount


def _money(books: Books, fact: Fact, row: Row) -> Decision:
    amount = _amount(books, fact, row)
    if amount is None:
        return Decision("conflict", books.state, note=f"{fact.kind}: no trusted amount")
    assert row.to is not None and row.money is not None
    if not row.repeatable:
        already = getattr(books, f"amount_{row.money}")
        if already:
            return _forward(books, row.to, None) if _rank(row.to) > _rank(books.state) else (
                Decision("duplicate" if books.state == row.to else "stale", books.state)
            )
    deltas: Deltas = (
        amount if row.money == "authorized" else 0,
        amount if row.money == "captured" else 0,
        amount if row.money == "refunded" else 0,
    )
    after = _plus(books, deltas)
    broken = _broken(books, after)
    if broken:
        return Decision("conflict", books.state, note=f"{fact.kind} of {amount}: {broken}")
    target = row.to
    if row.money == "captured" and (fact.complete or after.amount_captured >= (after.amount_authorized or after.amount)):
        target = "closed" if row.repeatable else target
    return _forward(books, target, row.event, deltas)


def _plus(books: Books, deltas: Deltas) -> Books:
    a, c, r = deltas
    return replace(
        books,
        amount_authorized=books.amount_authorized + a,
        amount_captured=books.amount_captured + c,
        amount_refunded=books.amount_refunded + r,
    )


def _broken(before: Books, after: Books) -> str | None:
    if after.amount_captured > capture_limit(after) and after.amount_captured > before.amount_captured:
        return f"captures {after.amount_captured} above 115 % ({capture_limit(after)})"
    if after.amount_refunded > after.amount_captured:
        return f"refunds {after.amount_refunded} above captures {after.amount_captured}"
    return None


def _flag(books: Books, row: Row) -> Decision:
    if books.charged_back == row.flag:
        return Decision("duplicate", books.state)
    return Decision("applied", books.state, charged_back=row.flag, events=(row.event,) if row.event else ())


_INQUIRY_STATE: Final = {0: None, 1: "authorized", 2: "captured", 3: "refunded"}


def _merge_inquiry(books: Books, fact: Fact) -> Decision:
    """Inquiry totals move the books forward only; a total behind the books is a discrepancy."""
    assert fact.inquired is not None
    a, c, r = fact.inquired
    notes = [
        f"inquiry {name} {theirs} is below the books' {ours}"
        for name, theirs, ours in (
            ("AmountAuth", a, books.amount_authorized),
            ("AmountCap", c, books.amount_captured),
            ("AmountCred", r, books.amount_refunded),
        )
        if theirs < ours
    ]
    deltas: Deltas = (
        max(0, a - books.amount_authorized),
        max(0, c - books.amount_captured),
        max(0, r - books.amount_refunded),
    )
    note = "; ".join(notes) or None
    if not any(deltas):
        return Decision("duplicate" if not notes else "stale", books.state, note=note)
    if books.state in FAILED:
        return Decision("conflict", books.state, note=f"inquiry shows money for a {books.state} payment")
    after = _plus(books, deltas)
    broken = _broken(books, after)
    if broken:
        return Decision("conflict", books.state, note=f"inquiry: {broken}")
    level = 3 if after.amount_refunded else 2 if after.amount_captured else 1 if after.amount_authorized else 0
    target = _INQUIRY_STATE[level] or books.state
    events = tuple(
        kind
        for kind, delta in zip(("payment.authorized", "payment.captured", "payment.refunded"), deltas, strict=True)
        if delta
    )
    state = target if _rank(target) > _rank(books.state) else books.state
    return _applied(state, deltas, events=events, note=note)
