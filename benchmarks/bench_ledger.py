"""The books' cost: client calls per second and client CPU per call, without a ledger (the
baseline) and journaling into SQLite and PostgreSQL, measured in the same run.

Each call is a real ``create_paypal_order`` over loopback against ``axepta simulator serve`` in
its own process (so the CPU counted, ``time.process_time()`` of this process, is the client's:
request building, Blowfish, HTTP, reply parsing, and with a ledger the three journal
transactions: payment + operation committed before the request leaves, ``sent``, outcome).
SQLite in a temp directory (WAL, ``synchronous=FULL``); PostgreSQL in a throwaway server started
from the machine's binaries (tests/_postgres.py), skipped when none can start. Goal: journaling
at most 1.5x the CPU of a call without it on SQLite.

Run: .venv/bin/python benchmarks/bench_ledger.py [--calls 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axepta import AxeptaClient, Credentials  # noqa: E402
from axepta.ledger import Ledger  # noqa: E402

MID = "BNP_DEMO_AXEPTA"
BLOWFISH = "Tc5*2D_xs7B[6E?w"
HMAC_KEY = "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8"
URLS = {
    "url_success": "https://shop.example/ok",
    "url_failure": "https://shop.example/ko",
    "url_notify": "https://shop.example/notify",
}


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "AXEPTA_MERCHANT_ID": MID, "AXEPTA_BLOWFISH_KEY": BLOWFISH, "AXEPTA_HMAC_KEY": HMAC_KEY}
    proc = subprocess.Popen(
        [sys.executable, "-m", "axepta", "--json", "simulator", "serve", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    return proc, json.loads(line)["url"]


def measure(label: str, url: str, ledger: Ledger | None, calls: int) -> tuple[float, float]:
    """(calls per second, CPU milliseconds per call) of ``calls`` orders."""
    credentials = Credentials(MID, BLOWFISH, HMAC_KEY)
    with AxeptaClient(credentials, base_url=url, browser_base_url=url, ledger=ledger) as client:
        def one(n: int) -> None:
            client.create_paypal_order(
                trans_id=f"{label}-{n}", amount=1000 + n % 7, currency="EUR", order_desc="Bench", **URLS
            )

        for n in range(20):  # warm-up: pools, caches, first compiled statements
            one(-n - 1)
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(calls):
            one(n)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return calls / wall, cpu / calls * 1000


def postgres() -> tuple[Callable[[], None], str] | None:
    try:
        from tests._postgres import PostgresServer, PostgresUnavailable
    except ImportError:
        return None
    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        print(f"PostgreSQL skipped: {exc}")
        return None
    return server.stop, server.create_database()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    proc, url = start_simulator()
    rows: list[tuple[str, float, float]] = []
    try:
        rows.append(("no ledger (baseline)", *measure("base", url, None, args.calls)))
        with tempfile.TemporaryDirectory() as tmp, Ledger(f"sqlite:///{tmp}/books.db") as ledger:
            ledger.migrate()
            rows.append(("SQLite journal", *measure("sqlite", url, ledger, args.calls)))
        pg = postgres()
        if pg is not None:
            stop, pg_url = pg
            try:
                with Ledger(pg_url) as ledger:
                    ledger.migrate()
                    rows.append(("PostgreSQL journal", *measure("pg", url, ledger, args.calls)))
            finally:
                stop()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    base_rate, base_cpu = rows[0][1], rows[0][2]
    print(f"{args.calls} create_paypal_order calls each, simulator in its own process over loopback")
    print(f"{'configuration':24} {'calls/s':>9} {'CPU ms/call':>12} {'CPU ratio':>10} {'rate ratio':>11}")
    for label, calls_per_s, cpu_ms in rows:
        print(f"{label:24} {calls_per_s:9.0f} {cpu_ms:12.2f} {cpu_ms / base_cpu:9.2f}x {calls_per_s / base_rate:10.2f}x")
    sqlite_ratio = rows[1][2] / base_cpu
    print(f"goal: SQLite journaling <= 1.5x the CPU of a call without it: {sqlite_ratio:.2f}x "
          f"({'met' if sqlite_ratio <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
