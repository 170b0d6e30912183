"""The outbox and the retry schedule, decided without I/O (LEDGER.md "Exactly once": effects).

Events are written in the transaction that causes them and delivered afterwards, at least once,
with their id. A handler that raises is retried with exponential backoff; after
:attr:`RetryPolicy.max_attempts` the event is ``parked`` for a person. The same policy re-verifies
``unverified`` IPN and retries messages whose processing ``failed``. Work is claimed with a lease
that expires, so a dead worker's claim returns to the pool.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal, TypeVar

__all__ = [
    "EVENT_KINDS",
    "EVENT_RETRY",
    "VERIFY_RETRY",
    "RetryPolicy",
    "Retry",
    "check_kind",
    "handlers_for",
]

#: The kinds of events the books write (``Ledger.on("*")`` receives them all).
EVENT_KINDS: Final = (
    "payment.approved",
    "payment.authorized",
    "payment.captured",
    "payment.refunded",
    "payment.reversed",
    "payment.failed",
    "payment.expired",
    "payment.charged_back",
    "payment.chargeback_cancelled",
    "account.credited",
    "account.debited",
)

H = TypeVar("H")


@dataclass(frozen=True, slots=True)
class Retry:
    """After a failed attempt: ``action`` ``retry`` at ``at``, or ``park`` (give up; a person looks)."""

    action: Literal["retry", "park"]
    at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff: attempt ``n`` (1-based) failed → wait ``first * factor**(n-1)``
    seconds, at most ``longest``; after ``max_attempts`` failed attempts → park. ``lease``
    seconds is how long a claim holds before another worker may take the work."""

    first: float = 2.0
    factor: float = 2.0
    longest: float = 3600.0
    max_attempts: int = 10
    lease: float = 60.0

    def __post_init__(self) -> None:
        if self.first <= 0 or self.factor < 1 or self.longest < self.first:
            raise ValueError("backoff needs first > 0, factor >= 1 and longest >= first")
        if self.max_attempts < 1 or self.lease <= 0:
            raise ValueError("max_attempts must be >= 1 and lease > 0")

    def delay(self, attempts: int) -> float:
        """Seconds to wait after ``attempts`` failed attempts (``attempts`` ≥ 1)."""
        if attempts < 1:
            raise ValueError("attempts counts failed attempts, from 1")
        return min(self.longest, self.first * self.factor ** min(attempts - 1, 64))

    def after_failure(self, attempts: int, now: datetime) -> Retry:
        """What to do once ``attempts`` attempts have failed."""
        if attempts >= self.max_attempts:
            return Retry("park")
        return Retry("retry", now + timedelta(seconds=self.delay(attempts)))

    def lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.lease)


#: Event handlers: 2 s, 4 s, … up to 1 h, parked after 10 failed attempts (about 35 min in all).
EVENT_RETRY: Final = RetryPolicy()
#: Re-verifying an ``unverified`` IPN from its stored bytes: 1 min doubling up to 6 h, 20
#: attempts (about 2.9 days: inside PayPal's own four days of resends, PROTOCOL.md §9.8, so IPN
#: History can still resend it when a person sees it parked).
VERIFY_RETRY: Final = RetryPolicy(first=60.0, factor=2.0, longest=6 * 3600.0, max_attempts=20, lease=120.0)


def handlers_for(kind: str, registry: Mapping[str, Sequence[H]]) -> list[H]:
    """The handlers of ``registry`` (pattern → handlers, in registration order) for an event of
    ``kind``: exact kinds, ``*`` for all, and shell patterns such as ``payment.*``."""
    found: list[H] = []
    for pattern, handlers in registry.items():
        if pattern == kind or pattern == "*" or fnmatch.fnmatchcase(kind, pattern):
            found.extend(handlers)
    return found


def check_kind(pattern: str, known: Iterable[str] = EVENT_KINDS) -> str:
    """``pattern`` when it names a known kind, ``*`` or a pattern that matches one; else
    ``ValueError`` listing the kinds (a typo in ``Ledger.on`` would silently never fire)."""
    kinds = tuple(known)
    if pattern == "*" or pattern in kinds or any(fnmatch.fnmatchcase(k, pattern) for k in kinds):
        return pattern
    raise ValueError(f"unknown event kind {pattern!r}; known: {', '.join(kinds)} (or '*')")
