"""Load: money-moving calls against the simulator over loopback HTTP, pooled vs naive clients.

Scenarios, each run for a bounded time (``--duration`` seconds, default 5; it stops by itself):

(a) async, pooled: one ``AsyncAxeptaClient`` as shipped (its own httpx pool, httpx's default
    limits), ``--concurrency`` (200) captures in flight at any time, each of a distinct
    authorised payment, each with its ReqId;
(a2) async, sharded pool: the same client given an ``httpx.AsyncClient`` whose transport spreads
    requests over 25 small pools of 8 connections (:class:`ShardedTransport`) — httpcore's
    async pool spends O(connections x requests) CPU on every request event, which dominates at
    200 in flight (see docs/load.md);
(b) async, naive: the same, but every call opens a new ``httpx.AsyncClient`` (a new TLS
    context and a new TCP connection per call), as typical integrations do;
(c) sync, pooled: one ``AxeptaClient`` shared by ``--threads`` (16) threads;
(d) sync, naive: the same threads, a new ``httpx.Client`` per call.

Reported: calls, calls/s, p50/p99 latency, errors (goal: none), and the pooled/naive throughput
ratio for async and for sync (goal: at least 5x). After each scenario the simulator's own books
are read back: every successful call must be exactly one capture there (nothing lost, nothing
twice).

The simulator runs in a child process (``multiprocessing``, spawn) on an ephemeral 127.0.0.1
port, so that server and client each have their own interpreter lock on this 2-core machine;
the child reports its CPU time, which tells whether the server is the bottleneck.

Run: .venv/bin/python benchmarks/bench_load.py [--duration 5] [--concurrency 200] [--threads 16]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import multiprocessing as mp
import os
import ssl
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials

MID = "BNP_DEMO_AXEPTA"
BLOWFISH = "Tc5*2D_xs7B[6E?w"
HMAC = "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8"
URLS = {
    "url_success": "https://shop.example/ok",
    "url_failure": "https://shop.example/ko",
    "url_notify": "https://shop.example/notify",
}
AUTHORISED = 9_000_000_000  # minor units: room for millions of 100-unit captures per payment
STEP = 100


# ---------------------------------------------------------------------------------------------
# the simulator, in a child process


def serve(conn: Connection) -> None:
    """Child process: a simulator on an ephemeral loopback port. Commands over ``conn``:
    ``("books", pay_ids)`` -> captures and captured total per payment, stats and CPU seconds;
    ``("stop",)``."""
    from axepta.simulator import Simulator, SimulatorServer

    credentials = Credentials(MID, BLOWFISH, HMAC)
    # notifications of approvals go to an in-process shop: nothing leaves the machine
    shop = httpx.MockTransport(lambda request: httpx.Response(200))
    with Simulator(credentials, time_factor=1e-3, notify_transport=shop, max_payments=1_000_000,
                   max_req_ids=10_000_000, pending_timeout_minutes=1e9) as sim, \
            SimulatorServer(sim, port=0) as server:  # fmt: skip
        conn.send(server.url)
        while True:
            command = conn.recv()
            if command[0] == "stop":
                break
            books = {}
            for pay_id in command[1]:
                view = sim.payment(pay_id)
                books[pay_id] = (len(view.captures), view.captured)
            times = os.times()
            conn.send((books, sim.stats(), times.user + times.system))


class Server:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=serve, args=(child,), daemon=True)
        self._proc.start()
        if not self._conn.poll(30):
            raise RuntimeError("the simulator process did not start")
        self.url: str = self._conn.recv()

    def books(self, pay_ids: list[str]) -> tuple[dict[str, tuple[int, int]], dict[str, int], float]:
        self._conn.send(("books", pay_ids))
        result: tuple[dict[str, tuple[int, int]], dict[str, int], float] = self._conn.recv()
        return result

    def stop(self) -> None:
        self._conn.send(("stop",))
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)


class ShardedTransport(httpx.AsyncBaseTransport):
    """``shards`` small connection pools used in turn. httpcore's async pool rescans every
    connection (and every queued request) on each request event, so its CPU cost grows with the
    square of what is in flight; small pools keep each scan short."""

    def __init__(self, shards: int = 25, per_shard: int = 8) -> None:
        tls = ssl.create_default_context()  # one TLS context for all shards (verification on)
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        self._pools = [httpx.AsyncHTTPTransport(verify=tls, limits=limits) for _ in range(shards)]
        self._next = itertools.cycle(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


# ---------------------------------------------------------------------------------------------
# measurements


@dataclass
class Run:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    captured: Counter[str] = field(default_factory=Counter)  # pay_id -> successful captures
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def calls(self) -> int:
        return len(self.latencies) + sum(self.errors.values())

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0

    def percentile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        cuts = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return cuts[round(q * 1000) - 1] * 1000

    def line(self) -> str:
        errors = sum(self.errors.values())
        detail = f" ({dict(self.errors)})" if errors else ""
        return (
            f"  {self.name:<22} {self.calls:>7,} calls {self.rate:>8,.0f} calls/s   "
            f"p50 {self.percentile(0.50):7.1f} ms   p99 {self.percentile(0.99):7.1f} ms   "
            f"errors {errors}{detail}   cpu client {self.client_cpu / self.wall:4.0%} "
            f"server {self.server_cpu / self.wall:4.0%}"
        )


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def _setup(url: str, credentials: Credentials, count: int) -> list[tuple[str, str]]:
    """``count`` orders (Capture=Manual, TxType=Auth) approved through cbPayPal.aspx."""
    payments: list[tuple[str, str]] = []
    async with AsyncAxeptaClient(credentials, base_url=url, browser_base_url=url) as client, \
            httpx.AsyncClient(follow_redirects=False) as browser:  # fmt: skip
        semaphore = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            trans_id = f"LOAD-{i:05d}"
            async with semaphore:
                order = await client.create_paypal_order(
                    trans_id=trans_id, amount=AUTHORISED, currency="EUR", order_desc="load test",
                    capture="Manual", tx_type="Auth", **URLS,
                )  # fmt: skip
                button = client.paypal_button_params(
                    trans_id=trans_id, amount=AUTHORISED, currency="EUR", order_desc="load test",
                    capture="Manual", tx_type="Auth", **URLS,
                )  # fmt: skip
                assert order.pay_id and order.order_id
                approved = await browser.get(button.approve_url(order.pay_id, order.order_id))
                assert approved.status_code == 302 and "/ok?" in approved.headers["location"], approved
                payments.append((order.pay_id, trans_id))

        await asyncio.gather(*(one(i) for i in range(count)))
    return payments


async def run_async(
    name: str, server: Server, payments: list[tuple[str, str]], duration: float,
    call: Callable[[str, str], Awaitable[Any]],
) -> Run:  # fmt: skip
    run = Run(name)
    _, _, server_cpu = server.books([])
    client_cpu = _cpu()
    started = time.perf_counter()
    deadline = started + duration

    async def worker(pay_id: str, trans_id: str) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                await call(pay_id, trans_id)
            except Exception as exc:
                run.errors[type(exc).__name__] += 1
            else:
                run.latencies.append(time.perf_counter() - t0)
                run.captured[pay_id] += 1

    await asyncio.gather(*(worker(p, t) for p, t in payments))
    run.wall = time.perf_counter() - started
    run.client_cpu = _cpu() - client_cpu
    return _settle(run, server, payments, server_cpu)


def run_threads(
    name: str, server: Server, payments: list[tuple[str, str]], duration: float,
    call: Callable[[str, str], Any],
) -> Run:  # fmt: skip
    run = Run(name)
    lock = threading.Lock()
    _, _, server_cpu = server.books([])
    client_cpu = _cpu()
    started = time.perf_counter()
    deadline = started + duration

    def worker(pay_id: str, trans_id: str) -> None:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                call(pay_id, trans_id)
            except Exception as exc:
                with lock:
                    run.errors[type(exc).__name__] += 1
            else:
                elapsed = time.perf_counter() - t0
                with lock:
                    run.latencies.append(elapsed)
                    run.captured[pay_id] += 1

    threads = [threading.Thread(target=worker, args=pt) for pt in payments]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.wall = time.perf_counter() - started
    run.client_cpu = _cpu() - client_cpu
    return _settle(run, server, payments, server_cpu)


_books_before: dict[str, tuple[int, int]] = {}


def _settle(run: Run, server: Server, payments: list[tuple[str, str]], server_cpu: float) -> Run:
    """Read the simulator's books back: each successful call is exactly one more capture."""
    books, stats, cpu = server.books([p for p, _ in payments])
    run.server_cpu = cpu - server_cpu
    for pay_id, _ in payments:
        count, total = books[pay_id]
        before_count, before_total = _books_before.get(pay_id, (0, 0))
        if count - before_count != run.captured[pay_id] or total - before_total != STEP * run.captured[pay_id]:
            run.errors["books-mismatch"] += 1
    if stats.get("replays", 0):
        run.errors["unexpected-replay"] += stats["replays"]
    _books_before.update(books)
    return run


# ---------------------------------------------------------------------------------------------


async def async_scenarios(
    server: Server, credentials: Credentials, payments: list[tuple[str, str]], duration: float
) -> tuple[Run, Run, Run]:
    url = server.url

    async with AsyncAxeptaClient(credentials, base_url=url, browser_base_url=url) as pooled:
        async def capture_pooled(pay_id: str, trans_id: str) -> Any:
            return await pooled.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

        await run_async("warm-up", server, payments, 1.0, capture_pooled)
        a = await run_async("async pooled", server, payments, duration, capture_pooled)

    async with httpx.AsyncClient(transport=ShardedTransport()) as http, AsyncAxeptaClient(
        credentials, base_url=url, browser_base_url=url, http_client=http
    ) as sharded:
        async def capture_sharded(pay_id: str, trans_id: str) -> Any:
            return await sharded.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

        await run_async("warm-up", server, payments, 1.0, capture_sharded)
        a2 = await run_async("async sharded pool", server, payments, duration, capture_sharded)

    async def capture_naive(pay_id: str, trans_id: str) -> Any:
        async with httpx.AsyncClient() as http, AsyncAxeptaClient(
            credentials, base_url=url, browser_base_url=url, http_client=http
        ) as client:
            return await client.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

    b = await run_async("async naive", server, payments, duration, capture_naive)
    return a, a2, b


def sync_scenarios(server: Server, credentials: Credentials, payments: list[tuple[str, str]], duration: float) -> tuple[Run, Run]:
    url = server.url
    with AxeptaClient(credentials, base_url=url, browser_base_url=url) as pooled:
        def capture_pooled(pay_id: str, trans_id: str) -> Any:
            return pooled.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

        run_threads("warm-up", server, payments, 1.0, capture_pooled)
        c = run_threads("sync pooled", server, payments, duration, capture_pooled)

    def capture_naive(pay_id: str, trans_id: str) -> Any:
        with httpx.Client() as http, AxeptaClient(credentials, base_url=url, browser_base_url=url, http_client=http) as client:
            return client.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

    d = run_threads("sync naive", server, payments, duration, capture_naive)
    return c, d


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=200, help="async calls in flight")
    parser.add_argument("--threads", type=int, default=16, help="threads of the sync client")
    args = parser.parse_args()
    credentials = Credentials(MID, BLOWFISH, HMAC)
    server = Server()
    try:
        payments = asyncio.run(_setup(server.url, credentials, max(args.concurrency, args.threads)))
        a, a2, b = asyncio.run(async_scenarios(server, credentials, payments[: args.concurrency], args.duration))
        c, d = sync_scenarios(server, credentials, payments[: args.threads], args.duration)
    finally:
        server.stop()
    print(
        f"captures over loopback HTTP against the simulator (separate process), {args.duration:g} s per "
        f"scenario, {os.cpu_count()} cores"
    )
    print(f"async: {args.concurrency} captures in flight (distinct payments, one ReqId each)")
    print(a.line())
    print(a2.line())
    print(b.line())
    print(f"sync: {args.threads} threads")
    print(c.line())
    print(d.line())
    def ratio(x: Run, y: Run) -> str:
        return f"{x.rate / y.rate:.1f}x" if y.rate else "inf"

    print(
        f"pooled/naive throughput: async {ratio(a, b)} (sharded pool {ratio(a2, b)}), "
        f"sync {ratio(c, d)} (goal >= 5x)"
    )
    errors = sum(sum(r.errors.values()) for r in (a, a2, b, c, d))
    print(f"errors: {errors} (goal 0); the simulator's books match every successful call: {errors == 0}")
    for run in (a, a2, c):
        server_share, client_share = run.server_cpu / run.wall, run.client_cpu / run.wall
        limit = "the simulator server" if server_share > 0.9 else "the client process" if client_share > 0.9 else "neither"
        print(
            f"bottleneck of '{run.name}': server {server_share:.0%} of a core, client {client_share:.0%} "
            f"-> saturated: {limit}"
        )
    if importlib.util.find_spec("sniffio") is None:
        print(
            "note: sniffio is not installed; httpcore tries `import sniffio` (and fails) twice per "
            "async request, which costs the async client about a third of its throughput here"
        )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
