"""Notifications applied per second by the books, against a raw single-row INSERT floor of the
same engine, measured in the same run.

(a) ours:  ``Ledger.receive_notification`` on a genuine result body for a payment in the books
           (decrypt, MAC and MID checks, the message committed with its MAC-bound key, the
           payment moved by the state machine, a transition, an event and the PayPal ids
           written, all in one transaction: the express lane, ledger/store/express.py) — each
           notification a different payment, each ``applied``;
(b) floor: the least a durable receiver must do: one single-row ``INSERT`` of the body with a
           unique key, committed, with the driver alone (sqlite3 / psycopg), on the same engine
           with the same durability settings.

Engines: SQLite (one process; WAL, ``synchronous=NORMAL``, the books' default, on both sides);
PostgreSQL with 1 and with 4 worker processes on a throwaway server started from the machine's
binaries (tests/_postgres.py), twice: with ``fsync=off`` as the tests run it (no commit waits
for the disk: the strictest ratio, all CPU and round trips) and with PostgreSQL's own defaults
(``fsync``, ``synchronous_commit``, ``full_page_writes`` on: each commit waits for the WAL on
disk, as a shop's server runs). Statistics are gathered after loading (``ANALYZE``, as autovacuum
keeps them). Target: ours ≥ 0.25x the floor on each engine. The last lines say what one
PostgreSQL serves per day at the measured rate.

Run: .venv/bin/python benchmarks/bench_inbox.py [--count 500] [--postgres test|production|both]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axepta import Credentials  # noqa: E402
from axepta.crypto import encode_params, sign  # noqa: E402
from axepta.ledger import Ledger  # noqa: E402
from axepta.ledger.store import queries  # noqa: E402

MID = "BNP_DEMO_AXEPTA"
BLOWFISH = "Tc5*2D_xs7B[6E?w"
HMAC_KEY = "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8"
CREDS = Credentials(MID, BLOWFISH, HMAC_KEY)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def body(trans_id: str, pay_id: str) -> bytes:
    """A realistic genuine result (PROTOCOL.md §4.7) for one payment, as the platform posts it."""
    fields = {
        "mid": MID, "PayID": pay_id, "XID": pay_id[::-1], "TransID": trans_id, "Status": "OK", "Code": "00000000",
        "Description": "success", "RefNr": trans_id[-12:], "Name": "Jean Dupont", "E-Mail": "jean@example.com",
        "AddrStreet": "1 rue de la Paix", "AddrCity": "Paris", "AddrZip": "75002", "AddrCountryCode": "FR",
        "PayerID": "LPLWNMTBWMFAY", "TID": "8AB12345CD6789012", "TransactionID": "5O190127TN364715T",
        "mc_gross": "12.34", "mc_fee": "0.63",
    }
    fields["MAC"] = sign(HMAC_KEY.encode(), pay_id, trans_id, MID, "OK", "00000000")
    enc = CREDS.codec.encrypt(encode_params(fields))
    return f"MerchantID={MID}&Len={enc.length}&Data={enc.data}".encode()


def prepare(url: str, prefix: str, count: int) -> list[bytes]:
    """``count`` payments in the books and one genuine result body for each."""
    with Ledger(url) as ledger, ledger.store.write() as conn:
        for n in range(count):
            queries.insert_payment(conn, {
                "merchant_id": MID, "kind": "order", "trans_id": f"{prefix}-{n}", "amount": 1234,
                "currency": "EUR", "capture": "Auto", "state": "created", "created_at": NOW, "updated_at": NOW,
            })
    return [body(f"{prefix}-{n}", f"{prefix[:8]:0<8}{n:024x}") for n in range(count)]


def analyze(dsn: str) -> None:
    """Statistics as autovacuum keeps them on a running server: without them the planner may look a
    payment up through the (merchant_id, pay_id) index and filter on TransID, scanning the merchant."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")


def apply_all(url: str, bodies: list[bytes]) -> float:
    """Seconds to receive every body (each must be applied)."""
    with Ledger(url) as ledger:
        ledger.messages(limit=1)  # connect and check the schema outside the timing
        start = time.perf_counter()
        for raw in bodies:
            receipt = ledger.receive_notification(raw, CREDS)
            if receipt.outcome != "applied":
                raise SystemExit(f"expected applied, got {receipt.outcome} ({receipt.reason})")
        return time.perf_counter() - start


def sqlite_floor(path: Path, bodies: list[bytes], synchronous: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")  # as the books run, on both sides
    conn.execute("CREATE TABLE floor (id INTEGER PRIMARY KEY, k TEXT UNIQUE NOT NULL, body BLOB)")
    start = time.perf_counter()
    for n, raw in enumerate(bodies):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO floor (k, body) VALUES (?, ?)", (f"key-{n}", raw))
        conn.execute("COMMIT")
    took = time.perf_counter() - start
    conn.close()
    return took


def pg_floor_worker(dsn: str, prefix: str, bodies: list[bytes], ready: Any, go: Any, out: Any) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        ready.wait()
        go.wait()
        start = time.perf_counter()
        for n, raw in enumerate(bodies):
            conn.execute("INSERT INTO floor (k, body) VALUES (%s, %s)", (f"{prefix}-{n}", raw))
        out.put(time.perf_counter() - start)


def ours_worker(url: str, bodies: list[bytes], ready: Any, go: Any, out: Any) -> None:
    with Ledger(url) as ledger:
        ledger.messages(limit=1)
        ready.wait()
        go.wait()
        start = time.perf_counter()
        for raw in bodies:
            if ledger.receive_notification(raw, CREDS).outcome != "applied":
                raise SystemExit("not applied")
        out.put(time.perf_counter() - start)


def parallel(target: Any, args: list[tuple[Any, ...]]) -> float:
    """Wall seconds for the workers to finish together (started behind one barrier)."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, out = ctx.Barrier(len(args) + 1), ctx.Barrier(len(args) + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, ready, go, out)) for a in args]
    for p in procs:
        p.start()
    ready.wait()
    start = time.perf_counter()
    go.wait()
    for _ in procs:
        out.get(timeout=600)
    took = time.perf_counter() - start
    for p in procs:
        p.join(timeout=60)
        if p.exitcode:
            raise SystemExit(f"a worker failed (exit {p.exitcode})")
    return took


def line(label: str, count: int, ours: float, floor: float) -> float:
    rate, floor_rate = count / ours, count / floor
    print(f"{label:<24} ours {rate:8.0f}/s   floor {floor_rate:8.0f}/s   ratio {rate / floor_rate:5.2f}x (target >= 0.25x)")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=500, help="notifications per measurement")
    parser.add_argument("--postgres", choices=("test", "production", "both"), default="both",
                        help="the PostgreSQL server's durability: fsync off as in the tests, on as PostgreSQL ships, or both")
    args = parser.parse_args()
    count = args.count
    print(f"notifications applied per second vs a raw single-row INSERT, {count} each")
    for synchronous in ("normal", "full"):
        with tempfile.TemporaryDirectory(prefix="axepta-bench-inbox-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'books.db'}?synchronous={synchronous}"
            with Ledger(url) as ledger:
                ledger.migrate()
            bodies = prepare(url, "SQ", count)
            floor = sqlite_floor(Path(tmp) / "floor.db", bodies, synchronous)
            line(f"SQLite sync {synchronous}", count, apply_all(url, bodies), floor)
    for durable in {"test": (False,), "production": (True,), "both": (False, True)}[args.postgres]:
        if not postgres(count, durable):
            break
    return 0


def postgres(count: int, durable: bool) -> bool:
    """The PostgreSQL lines on a throwaway server; ``False`` when none can start."""
    try:
        from tests._postgres import PostgresServer, PostgresUnavailable
    except ImportError:
        print("PostgreSQL skipped: tests/_postgres.py not found")
        return False
    try:
        server = PostgresServer(durable=durable).start()
    except PostgresUnavailable as exc:
        print(f"PostgreSQL skipped: {exc}")
        return False
    settings = "fsync on (PostgreSQL's defaults)" if durable else "fsync off (test server)"
    try:
        url = server.create_database()
        with Ledger(url) as ledger:
            ledger.migrate()
        import psycopg

        dsn = url  # psycopg takes the books' URL as it is
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE floor (id BIGSERIAL PRIMARY KEY, k TEXT UNIQUE NOT NULL, body BYTEA)")
        one = prepare(url, "PG1", count)
        analyze(dsn)
        ours1 = parallel(ours_worker, [(url, one)])
        floor1 = parallel(pg_floor_worker, [(dsn, "f1", one)])
        label = "PG fsync on" if durable else "PG fsync off"
        line(f"{label}, 1 worker", count, ours1, floor1)
        shares = [prepare(url, f"PG4{w}", count) for w in range(4)]
        analyze(dsn)
        ours4 = parallel(ours_worker, [(url, s) for s in shares])
        floor4 = parallel(pg_floor_worker, [(dsn, f"f4{w}", s) for w, s in enumerate(shares)])
        rate4 = line(f"{label}, 4 workers", 4 * count, ours4, floor4)
        print(f"one PostgreSQL ({settings}) at the 4-worker rate: {rate4 * 86400 / 1e6:.1f} million "
              f"notifications per day ({rate4:.0f}/s on this 2-core machine, shared with its load)")
    finally:
        server.stop()
    return True


if __name__ == "__main__":
    raise SystemExit(main())
