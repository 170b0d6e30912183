"""Batch files: build and parse 1,000,000 records; peak memory flat as the file grows.

(a) build: BatchWriter over a realistic mix of actions (version 1.4), records/s;
(b) parse: BatchReader over the same file (every field validated, footer checked), records/s;
(c) floor: a plain csv.reader pass over the same file (no validation, no objects);
(d) peak memory (tracemalloc) of build and parse at 100k vs 1M records: it must not grow.

Goal: parse within 3x of csv.reader.

Run: .venv/bin/python benchmarks/bench_batch.py [--records 1000000] [--small 100000]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import os
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from axepta.batch import (
    Authorize,
    BatchReader,
    BatchRecord,
    BatchWriter,
    Capture,
    Credit,
    CreditEx,
    RefTrans,
    Reverse,
)

MID = "BNP_DEMO_AXEPTA"
DATE = dt.date(2024, 1, 31)
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP", "JPY", "CHF", "SEK")


def records(n: int) -> Iterator[BatchRecord]:
    """A deterministic mix: 40% Capture, 20% Credit, 10% each Authorize, Reverse, CreditEx, REFTRANS."""
    for i in range(n):
        amount = 100 + (i * 7919) % 250_000
        cur = CURRENCIES[i % len(CURRENCIES)]
        tx = f"ORDER-{i:09d}"
        pay_id = f"{i:08d}{'a1b2c3d4e5f6a7b8c9d0e1f2'}"
        kind = i % 10
        if kind < 4:
            yield Capture(amount, cur, tx, pay_id, ref_nr=f"INV-{i}", tid=None if i % 3 else f"7AB{i % 100000:05d}XY")
        elif kind < 6:
            yield Credit(amount, cur, tx, pay_id, ref_nr=f"CN-{i}", tid=f"3CD{i % 100000:05d}ZZ" if i % 2 else None)
        elif kind == 6:
            yield Authorize(amount, cur, tx, pay_id)
        elif kind == 7:
            yield Reverse(amount, cur, tx, pay_id, ref_nr=f"RV-{i}")
        elif kind == 8:
            yield CreditEx(amount, cur, tx, f"payee{i}@example.com", ref_nr=f"MP-{i}", note="Merci pour votre fidélité")
        else:
            yield RefTrans(amount, cur, tx, "B-5YH12345KL678901", ref_nr=f"SUB-{i}", order_desc="Abonnement mensuel", capture="Auto")


def build(path: Path, n: int) -> float:
    start = time.perf_counter()
    with BatchWriter(path, merchant_id=MID, version="1.4", date=DATE) as writer:
        writer.write_all(records(n))
    return time.perf_counter() - start


def parse(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    n = 0
    with BatchReader(path) as reader:
        for _ in reader:
            n += 1
        assert reader.footer is not None and reader.footer.count == n
    return time.perf_counter() - start, n


def csv_floor(path: Path) -> float:
    start = time.perf_counter()
    with open(path, encoding="iso-8859-1", newline="") as f:
        for _ in csv.reader(f):
            pass
    return time.perf_counter() - start


def peak(fn: object, *args: object) -> int:
    gc.collect()
    tracemalloc.start()
    fn(*args)  # type: ignore[operator]
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, small = args.records, args.small
    with tempfile.TemporaryDirectory() as tmp:
        big_file = Path(tmp) / "T20240131001BNP_DEMO_AXEPTA.dat"
        small_file = Path(tmp) / "T20240131002BNP_DEMO_AXEPTA.dat"
        t_build = min(build(big_file, n) for _ in range(args.repeat))
        size = os.path.getsize(big_file)
        parses = [parse(big_file) for _ in range(args.repeat)]
        t_parse = min(p[0] for p in parses)
        t_csv = min(csv_floor(big_file) for _ in range(args.repeat))
        build(small_file, small)
        mem = {
            ("build", small): peak(build, Path(tmp) / "m1.dat", small),
            ("build", n): peak(build, Path(tmp) / "m2.dat", n),
            ("parse", small): peak(parse, small_file),
            ("parse", n): peak(parse, big_file),
        }
    print(f"file: {n:,} records (1.4, mixed actions), {size / 1e6:.1f} MB, best of {args.repeat}")
    print(f"  build  {n / t_build:>12,.0f} records/s  ({t_build:.2f} s)")
    print(f"  parse  {n / t_parse:>12,.0f} records/s  ({t_parse:.2f} s)")
    print(f"  csv    {n / t_csv:>12,.0f} rows/s     ({t_csv:.2f} s, plain csv.reader floor)")
    print(f"parse/csv.reader time ratio: {t_parse / t_csv:.2f}x (goal <= 3x)")
    print("peak memory (tracemalloc):")
    for what in ("build", "parse"):
        a, b = mem[(what, small)], mem[(what, n)]
        print(f"  {what}  {small:>9,} records: {a / 1024:8.0f} KiB   {n:>9,} records: {b / 1024:8.0f} KiB   ratio {b / a:.2f}")


if __name__ == "__main__":
    main()
