"""URLNotify delivery of the simulated platform (PROTOCOL.md §7.2).

Each notification is posted as ``Len=…&Data=…`` (``application/x-www-form-urlencoded;
charset=iso-8859-1``). Any answer but HTTP 200 — or no answer — is retried on the platform's
schedule: 8 more attempts after gaps of 1, 8, 27, 64, 125, 216, 343 and 512 minutes (n³
minutes, 1 296 minutes in all), each gap multiplied by the simulator's ``time_factor`` so tests
run the whole schedule in milliseconds.

One background scheduler thread (a daemon, started on first use) hands due deliveries to a
small bounded pool of sender threads; :meth:`Notifier.close` stops both. Timers of the
simulator (pending payments that time out) run on the same scheduler.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final, Literal

import httpx

from axepta import _http
from axepta.fields import check_url

__all__ = [
    "NOTIFY_RETRY_GAPS_MINUTES",
    "Delivery",
    "DeliveryAttempt",
    "Notifier",
    "Scheduler",
    "Timer",
]

logger = logging.getLogger("axepta.simulator")

#: Gaps between URLNotify attempts, in minutes (n³): 9 attempts in all (PROTOCOL.md §7.2).
NOTIFY_RETRY_GAPS_MINUTES: Final[tuple[int, ...]] = (1, 8, 27, 64, 125, 216, 343, 512)

_HEADERS: Final = {"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1", **_http.ACCEPT_IDENTITY}
#: the shop's answer matters by its status only: more than this is not read (nor decoded)
_MAX_ANSWER_BYTES: Final = 64 * 1024
_MAX_LOG: Final = 10_000


class Timer:
    """A callable scheduled on a :class:`Scheduler`; :meth:`Scheduler.cancel` drops it (and
    whatever it references) at once. ``fn`` is ``None`` once it ran or was cancelled."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn: Callable[[], None] | None = fn


class Scheduler:
    """Runs callables at monotonic times on a bounded pool; one daemon thread waits for them.

    ``call_at`` returns a :class:`Timer` at once; :meth:`cancel` forgets it. A due callable
    is handed to the pool only when a sender is free, so work waiting for a busy (or hanging)
    URLNotify stays here, where it can still be cancelled, and not in the pool's queue.
    Cancelled entries are purged once they make up half of the heap. :meth:`close` drops what
    has not started and waits for what runs (each callable is short: one HTTP post with a
    deadline)."""

    def __init__(self, *, workers: int = 4, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._cancelled = 0
        self._workers = max(1, workers)
        self._free = threading.Semaphore(self._workers)
        self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="axepta-sim-notify")
        self._thread: threading.Thread | None = None
        self._closed = False

    def call_at(self, due: float, fn: Callable[[], None]) -> Timer:
        timer = Timer(fn)
        with self._cond:
            if self._closed:
                timer.fn = None
                return timer
            heapq.heappush(self._heap, (due, next(self._seq), timer))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="axepta-sim-scheduler", daemon=True)
                self._thread.start()
            if self._heap[0][2] is timer:  # otherwise the thread's wake-up time still holds
                self._cond.notify()
        return timer

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        return self.call_at(self._clock() + max(0.0, delay), fn)

    def cancel(self, timer: Timer) -> None:
        """Forget ``timer`` if it has not started (its callable is released at once)."""
        with self._cond:
            if timer.fn is None:
                return
            timer.fn = None
            self._cancelled += 1
            if self._cancelled > 64 and 2 * self._cancelled > len(self._heap):
                self._heap = [entry for entry in self._heap if entry[2].fn is not None]
                heapq.heapify(self._heap)
                self._cancelled = 0

    def pending(self) -> int:
        """Timers that have neither run nor been cancelled."""
        with self._cond:
            return len(self._heap) - self._cancelled

    def _run(self) -> None:
        while True:
            # a free sender first (outside the lock: cancel() and call_at() go on meanwhile)
            while not self._free.acquire(timeout=0.2):
                if self._closed:
                    return
            fn = self._next_due()
            if fn is None:  # closed
                self._free.release()
                return
            # close() joins this thread before it shuts the pool down
            self._pool.submit(self._run_one, fn)

    def _next_due(self) -> Callable[[], None] | None:
        with self._cond:
            while not self._closed:
                now = self._clock()
                if self._heap and self._heap[0][0] <= now:
                    timer = heapq.heappop(self._heap)[2]
                    fn = timer.fn
                    if fn is None:
                        self._cancelled -= 1
                        continue
                    timer.fn = None
                    return fn
                wait = min(self._heap[0][0] - now, 1.0) if self._heap else 1.0
                self._cond.wait(timeout=wait)
            return None

    def _run_one(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        finally:
            self._free.release()

    def close(self) -> None:
        """Stop the thread, forget timers that have not fired, wait for running callables."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cancelled = 0
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One post to URLNotify: the HTTP status (``None`` when no answer came) or the error."""

    attempt: int
    status_code: int | None
    error: str | None
    at: float


@dataclass(slots=True)
class Delivery:
    """One notification and its attempts. ``state`` is ``pending`` (more attempts to come),
    ``delivered`` (a 200 came back) or ``failed`` (schedule exhausted, or the simulator closed).
    ``body`` is the form that was posted (``Len=…&Data=…``)."""

    id: int
    merchant_id: str
    pay_id: str
    status: str
    code: str
    url: str
    body: bytes = field(repr=False)
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    state: Literal["pending", "delivered", "failed"] = "pending"


def _given_up(delivery: Delivery) -> bool:
    # a function, so that a type checker does not assume the state it read before the post
    return delivery.state != "pending"


class Notifier:
    """Posts notifications and retries them on the (compressed) schedule.

    ``http_client`` is used for every post; without it one is built (and closed by
    :meth:`close`) over ``transport`` — e.g. ``httpx.MockTransport(shop_handler)`` or a WSGI/ASGI
    transport to reach an in-process shop — following no redirect. ``timeout`` seconds bound
    each post as a whole (a wall-clock deadline over connect, headers and body on the default
    transport); the shop's answer is asked uncompressed and read up to 64 KiB.
    ``time_factor`` multiplies every gap (``1.0`` = real minutes). Fault hooks: the next
    notifications can be posted twice (:meth:`duplicate_next`) or held and then posted in
    reverse order (:meth:`reorder_next`).

    Memory is bounded by ``max_deliveries`` (10 000): the log keeps the last ones, and a
    delivery still pending when it falls out of the log is given up (``failed``, counted in
    :attr:`abandoned`, logged once per 1 000) and its next attempt cancelled — so nothing
    outside the log (a scheduled retry, a post waiting for a sender) keeps a body alive."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        time_factor: float = 1.0,
        gaps_minutes: Sequence[float] = NOTIFY_RETRY_GAPS_MINUTES,
        clock: Callable[[], float] = time.monotonic,
        max_deliveries: int = _MAX_LOG,
    ) -> None:
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be >= 1")
        self._scheduler = scheduler
        self._owns_client = http_client is None
        self._http_client = http_client
        self._transport = transport
        self._timeout = timeout
        self._time_factor = float(time_factor)
        self._gaps = tuple(float(g) for g in gaps_minutes)
        self._clock = clock
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._log: deque[Delivery] = deque(maxlen=max_deliveries)
        #: the next attempt of each pending delivery, by delivery id (cancelled when given up)
        self._timers: dict[int, Timer] = {}
        self._open = 0
        self.abandoned = 0
        self._duplicates = 0
        self._reorder_size = 0
        self._held: list[Delivery] = []
        self._closed = False

    # -- faults -----------------------------------------------------------------------------

    def duplicate_next(self, count: int = 1) -> None:
        """Post each of the next ``count`` notifications twice (two deliveries, same body)."""
        with self._lock:
            self._duplicates += count

    def reorder_next(self, count: int = 2) -> None:
        """Hold the next ``count`` notifications, then post them newest first."""
        if count < 2:
            raise ValueError("reordering needs at least 2 notifications")
        with self._lock:
            self._reorder_size = count

    def release_held(self) -> int:
        """Post the notifications held for reordering now (newest first); returns how many."""
        with self._lock:
            held, self._held, self._reorder_size = list(reversed(self._held)), [], 0
        self._post_in_order(held)
        return len(held)

    # -- sending ----------------------------------------------------------------------------

    def submit(self, *, merchant_id: str, pay_id: str, status: str, code: str, url: str, body: bytes) -> None:
        """Queue one notification for ``url`` (checked again: https, or http on loopback)."""
        check_url("URLNotify", url)
        with self._lock:
            if self._closed:
                return
            copies = 1
            if self._duplicates:
                self._duplicates -= 1
                copies = 2
            deliveries = [
                Delivery(next(self._ids), merchant_id, pay_id, status, code, url, body) for _ in range(copies)
            ]
            self._open += len(deliveries)
            self._make_room(len(deliveries))
            self._log.extend(deliveries)
            if self._reorder_size:
                self._held.extend(deliveries)
                if len(self._held) < self._reorder_size:
                    return
                deliveries, self._held, self._reorder_size = list(reversed(self._held)), [], 0
                reordered = True
            else:
                reordered = False
            if not reordered:
                for delivery in deliveries:
                    self._timers[delivery.id] = self._scheduler.call_later(
                        0.0, functools.partial(self._attempt, delivery)
                    )
                return
        self._post_in_order(deliveries)

    def _make_room(self, incoming: int) -> None:
        """Give up the pending deliveries that ``incoming`` new ones push out of the log."""
        log = self._log
        assert log.maxlen is not None
        overflow = len(log) + incoming - log.maxlen
        for i in range(max(0, min(overflow, len(log)))):
            old = log[i]
            if old.state != "pending":
                continue
            old.state = "failed"
            self._open -= 1
            self.abandoned += 1
            timer = self._timers.pop(old.id, None)
            if timer is not None:
                self._scheduler.cancel(timer)
            if self.abandoned % 1000 == 1:
                logger.warning(
                    "notification log full (%d): pending notifications are given up, oldest first "
                    "(%d so far; URLNotify %s unreachable or slow?)",
                    log.maxlen, self.abandoned, old.url.partition("?")[0],
                )
        if overflow > 0:
            self._lock.notify_all()

    def _post_in_order(self, deliveries: list[Delivery]) -> None:
        # one task posts them one after the other, so the shop sees exactly this order
        if deliveries:
            self._scheduler.call_later(0.0, functools.partial(self._attempt_all, deliveries))

    def _attempt_all(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            self._attempt(delivery)

    def _client(self) -> httpx.Client:
        # built on first use: a default client costs a TLS context, most simulators never need one
        with self._lock:
            if self._http_client is None:
                self._http_client = httpx.Client(
                    transport=self._transport or _http.sync_transport(),
                    timeout=self._timeout,
                    follow_redirects=False,
                )
            return self._http_client

    def _attempt(self, delivery: Delivery) -> None:
        with self._lock:
            self._timers.pop(delivery.id, None)
            if delivery.state != "pending":  # given up while it waited
                return
        number = len(delivery.attempts) + 1
        status: int | None = None
        error: str | None = None
        deadline = time.monotonic() + self._timeout
        try:
            with _http.deadline_scope(deadline), self._client().stream(
                "POST", delivery.url, content=delivery.body, headers=_HEADERS
            ) as response:
                with contextlib.suppress(_http.BodyTooLarge):  # stop reading: the status answers
                    _http.read_body(response, _MAX_ANSWER_BYTES, deadline)
                status = response.status_code
        except (httpx.HTTPError, _http.DeadlineExceeded, _http.EncodingRefused) as exc:
            error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a shop handler that raises: the platform sees no answer
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            delivery.attempts.append(DeliveryAttempt(number, status, error, self._clock()))
            if _given_up(delivery):  # while this attempt ran (log full, or closed)
                return
            if status == 200:
                delivery.state = "delivered"
            elif number > len(self._gaps) or self._closed:
                delivery.state = "failed"
            if delivery.state != "pending":
                self._open -= 1
                self._lock.notify_all()
                logger.info(
                    "notification %s for PayID=%s %s after %d attempt(s)",
                    delivery.status, delivery.pay_id, delivery.state, number,
                )
                return
            gap = self._gaps[number - 1] * 60.0 * self._time_factor
            self._timers[delivery.id] = self._scheduler.call_later(gap, functools.partial(self._attempt, delivery))

    # -- observing --------------------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """Every notification so far (the last 10 000), oldest first."""
        with self._lock:
            return list(self._log)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no notification is pending (delivered or given up); ``False`` on timeout.
        Held (reordered) notifications that are still waiting for company count as pending."""
        deadline = self._clock() + timeout
        with self._lock:
            while self._open:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return False
                self._lock.wait(timeout=min(remaining, 0.1))
            return True

    def close(self) -> None:
        """Stop sending: pending deliveries end as ``failed``. Closes an owned HTTP client."""
        with self._lock:
            self._closed = True
            for delivery in self._log:
                if delivery.state == "pending":
                    delivery.state = "failed"
            self._open = 0
            self._held.clear()
            self._timers.clear()
            self._lock.notify_all()
            client = self._http_client if self._owns_client else None
        if client is not None:
            client.close()
