"""Run every benchmark and write benchmarks/RESULTS.md (machine, date, each figure with the ratio
to its baseline measured in the same run). Used by `make bench`."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}"


def main() -> int:
    scripts = sorted(p for p in HERE.glob("bench_*.py"))
    sections: list[str] = []
    failed = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=1800, check=False)
        took = time.perf_counter() - start
        out = proc.stdout.strip()
        print(out, flush=True)
        if proc.returncode:
            failed += 1
            print(proc.stderr[-2000:], file=sys.stderr)
        status = "ok" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
        sections.append(f"## {script.name} ({status}, {took:.0f} s)\n\n```text\n{out}\n```\n")
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        "# Benchmark results\n\n"
        f"- date: {now}\n- machine: {machine()}\n- command: `make bench`\n\n"
        "Each benchmark measures its own baseline in the same run and prints the ratio to it.\n\n"
        + "\n".join(sections)
    )
    (HERE / "RESULTS.md").write_text(text, "utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
