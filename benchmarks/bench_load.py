"""Load: money-moving calls against the simulator over loopback HTTP — the async client at 10
and 200 in flight, its candidate transports side by side, the sync client, naive clients.

Scenarios, each run for a bounded time (``--duration`` seconds; it stops by itself):

* **sync**: one ``AxeptaClient`` as shipped shared by 4 threads (the baseline the async client
  must match at 200 in flight) and by 16 threads; naive (a new ``httpx.Client`` per call);
* **async as shipped**: ``AsyncAxeptaClient(credentials)`` — constructed as a user does, no
  ``http_client`` — at 10 and at 200 captures in flight; its own peak is the best of the two;
* **async candidates** (issue 14.1), each given to the same client as ``http_client``, at 10 and
  200 in flight: ``httpx pool`` (one ``httpx.AsyncClient``: the previous default), ``sharded``
  (25 httpcore pools of 8, :class:`axepta._http.ShardedAsyncTransport`), ``cap 16`` (the httpx
  pool behind a semaphore of 16 requests in flight), ``httpx-aiohttp`` (its ``AiohttpTransport``,
  when the package is installed);
* **latency-bound**: the same candidates at 200 in flight against a simulator that answers after
  ``--latency`` seconds (the real gateway takes ~300 ms): a cap on requests in flight caps
  throughput at cap / latency there;
* **async naive**: a new ``httpx.AsyncClient`` per call, 200 in flight.

Every call captures 1.00 EUR of a distinct authorised payment with its own ReqId. After each
scenario the simulator's books are read back: every successful call must be exactly one capture
there (nothing lost, nothing twice). Reported per scenario: calls/s, p50/p99, errors, client CPU
per call; then the ratios of issue 14.1 (200 in flight vs own peak, vs sync with 4 threads,
CPU per call) and pooled/naive.

The simulator runs in a child process (``multiprocessing``, spawn) on an ephemeral 127.0.0.1
port, so that server and client each have their own interpreter lock on this 2-core machine;
the child reports its CPU time, which tells whether the server is the bottleneck.

Run: .venv/bin/python benchmarks/bench_load.py [--duration 3] [--latency 0.1] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing as mp
import os
import ssl
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import httpx

from axepta._http import ShardedAsyncTransport
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
            if command[0] == "latency":
                sim.faults.clear()
                if command[1]:
                    sim.faults.latency(command[1])
                conn.send(None)
                continue
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

    def latency(self, seconds: float) -> None:
        self._conn.send(("latency", seconds))
        self._conn.recv()

    def stop(self) -> None:
        self._conn.send(("stop",))
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)


class CappedTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncHTTPTransport`` behind a semaphore: at most ``cap`` requests in the pool,
    held until their response is closed."""

    def __init__(self, cap: int = 16) -> None:
        limits = httpx.Limits(max_connections=cap, max_keepalive_connections=cap)
        self._inner = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(), limits=limits)
        self._slots = asyncio.Semaphore(cap)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._slots.acquire()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code, headers=response.headers, extensions=response.extensions,
            stream=_Releasing(response.stream, self._slots),
        )  # fmt: skip

    async def aclose(self) -> None:
        await self._inner.aclose()


class _Releasing(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, slots: asyncio.Semaphore) -> None:
        self._inner, self._slots, self._open = inner, slots, True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._open:
                self._open = False
                self._slots.release()


def candidates() -> dict[str, Callable[[], httpx.AsyncClient | None]]:
    """Name -> the ``http_client`` to give the async client (``None``: as shipped)."""
    found: dict[str, Callable[[], httpx.AsyncClient | None]] = {
        "as shipped": lambda: None,
        "httpx pool": lambda: httpx.AsyncClient(),
        "sharded 25x8": lambda: httpx.AsyncClient(transport=ShardedAsyncTransport()),
        "cap 16": lambda: httpx.AsyncClient(transport=CappedTransport(16)),
    }
    if importlib.util.find_spec("httpx_aiohttp") is not None:
        from httpx_aiohttp import AiohttpTransport

        found["httpx-aiohttp"] = lambda: httpx.AsyncClient(
            transport=AiohttpTransport(limits=httpx.Limits(max_connections=200))
        )
    return found


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
            f"  {self.name:<34} {self.calls:>7,} calls {self.rate:>8,.0f} calls/s   "
            f"p50 {self.percentile(0.50):7.1f} ms   p99 {self.percentile(0.99):7.1f} ms   "
            f"errors {errors}{detail}   client {self.cpu_per_call * 1000:4.2f} ms cpu/call "
            f"({self.client_cpu / self.wall:4.0%}) server {self.server_cpu / self.wall:4.0%}"
        )

    @property
    def cpu_per_call(self) -> float:
        return self.client_cpu / self.calls if self.calls else 0.0


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


async def async_run(
    name: str, server: Server, credentials: Credentials, payments: list[tuple[str, str]], duration: float,
    http_client: httpx.AsyncClient | None,
) -> Run:  # fmt: skip
    url = server.url
    client = AsyncAxeptaClient(credentials, base_url=url, browser_base_url=url, http_client=http_client)
    try:
        async def capture(pay_id: str, trans_id: str) -> Any:
            return await client.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

        await run_async("warm-up", server, payments, min(1.0, duration / 2), capture)
        return await run_async(name, server, payments, duration, capture)
    finally:
        await client.aclose()
        if http_client is not None:
            await http_client.aclose()


async def async_naive(server: Server, credentials: Credentials, payments: list[tuple[str, str]], duration: float) -> Run:
    url = server.url

    async def capture_naive(pay_id: str, trans_id: str) -> Any:
        async with httpx.AsyncClient() as http, AsyncAxeptaClient(
            credentials, base_url=url, browser_base_url=url, http_client=http
        ) as client:
            return await client.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

    return await run_async("async naive, 200 in flight", server, payments, duration, capture_naive)


def sync_run(name: str, server: Server, credentials: Credentials, payments: list[tuple[str, str]], duration: float) -> Run:
    url = server.url
    with AxeptaClient(credentials, base_url=url, browser_base_url=url) as pooled:
        def capture_pooled(pay_id: str, trans_id: str) -> Any:
            return pooled.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

        run_threads("warm-up", server, payments, min(1.0, duration / 2), capture_pooled)
        return run_threads(name, server, payments, duration, capture_pooled)


def sync_naive(server: Server, credentials: Credentials, payments: list[tuple[str, str]], duration: float) -> Run:
    url = server.url

    def capture_naive(pay_id: str, trans_id: str) -> Any:
        with httpx.Client() as http, AxeptaClient(credentials, base_url=url, browser_base_url=url, http_client=http) as client:
            return client.capture(pay_id=pay_id, trans_id=trans_id, amount=STEP, currency="EUR")

    return run_threads("sync naive, 16 threads", server, payments, duration, capture_naive)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per scenario")
    parser.add_argument("--latency", type=float, default=0.1, help="server latency of the latency-bound runs")
    parser.add_argument("--quick", action="store_true", help="only the client as shipped (async and sync)")
    args = parser.parse_args()
    credentials = Credentials(MID, BLOWFISH, HMAC)
    server = Server()
    runs: list[Run] = []
    report: list[str] = []

    def show(run: Run) -> Run:
        runs.append(run)
        print(run.line(), flush=True)
        return run

    try:
        payments = asyncio.run(_setup(server.url, credentials, 200))
        print(
            f"captures over loopback HTTP against the simulator (separate process), {args.duration:g} s per "
            f"scenario, {os.cpu_count()} cores"
        )
        print("sync: one AxeptaClient as shipped")
        sync4 = show(sync_run("sync, 4 threads", server, credentials, payments[:4], args.duration))
        sync16 = show(sync_run("sync, 16 threads", server, credentials, payments[:16], args.duration))
        naive16 = None if args.quick else show(sync_naive(server, credentials, payments[:16], args.duration))
        print("async: one AsyncAxeptaClient per candidate transport, N captures in flight")
        table: dict[str, dict[int, Run]] = {}
        for name, make in candidates().items():
            if args.quick and name != "as shipped":
                continue
            for level in (10, 200):
                run = asyncio.run(async_run(f"{name}, {level} in flight", server, credentials, payments[:level], args.duration, make()))
                table.setdefault(name, {})[level] = show(run)
        latency_runs: dict[str, Run] = {}
        if not args.quick and args.latency > 0:
            server.latency(args.latency)
            print(f"latency-bound: the simulator answers after {args.latency * 1000:.0f} ms, 200 in flight")
            for name, make in candidates().items():
                run = asyncio.run(async_run(f"{name}, 200 in flight", server, credentials, payments, args.duration, make()))
                latency_runs[name] = show(run)
            server.latency(0)
        anaive = None if args.quick else show(asyncio.run(async_naive(server, credentials, payments, args.duration)))
    finally:
        server.stop()

    def ratio(x: float, y: float) -> str:
        return f"{x / y:.2f}x" if y else "inf"

    print("issue 14.1, async at 200 in flight (goals: >= 0.9x own peak, >= 1.0x sync with 4 threads, <= 1.1 ms cpu/call, 0 errors):")
    for name, levels in table.items():
        at200, peak = levels[200], max(levels.values(), key=lambda r: r.rate)
        line = (
            f"  {name:<14} {ratio(at200.rate, peak.rate)} of its peak, {ratio(at200.rate, sync4.rate)} of sync/4 "
            f"threads, {at200.cpu_per_call * 1000:.2f} ms cpu/call"
        )
        if name in latency_runs:
            line += f"; latency-bound {latency_runs[name].rate:,.0f} calls/s"
        report.append(line)
        print(line)
    if naive16 is not None and anaive is not None:
        shipped = table["as shipped"][200]
        print(f"pooled/naive throughput: async {ratio(shipped.rate, anaive.rate)}, sync {ratio(sync16.rate, naive16.rate)} (goal >= 5x)")
    errors = sum(sum(r.errors.values()) for r in runs)
    print(f"errors: {errors} (goal 0); the simulator's books match every successful call: {errors == 0}")
    for run in (sync16, table["as shipped"][200]):
        server_share, client_share = run.server_cpu / run.wall, run.client_cpu / run.wall
        limit = "the simulator server" if server_share > 0.9 else "the client process" if client_share > 0.9 else "neither"
        print(
            f"bottleneck of '{run.name}': server {server_share:.0%} of a core, client {client_share:.0%} "
            f"-> saturated: {limit}"
        )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
