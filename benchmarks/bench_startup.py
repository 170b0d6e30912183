"""CLI start-up: ``axepta --version``, ``axepta --help`` and ``axepta capture --help`` as ratios
to ``python -c "import typer"`` measured in the same run (issue 13: targets 1.5x, 2.0x, 2.5x).

Each round runs every command once, in turn (interleaved, so a busy machine slows them alike);
the figure is the median of the rounds. ``ROUNDS`` (default 11) changes the number of rounds.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

TARGETS = {"--version": 1.5, "--help": 2.0, "capture --help": 2.5}

COMMANDS: dict[str, list[str]] = {
    "import typer": [sys.executable, "-c", "import typer"],
    "--version": [sys.executable, "-m", "axepta", "--version"],
    "--help": [sys.executable, "-m", "axepta", "--help"],
    "capture --help": [sys.executable, "-m", "axepta", "capture", "--help"],
}


def _run(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True, timeout=60)
    return time.perf_counter() - start


def main() -> int:
    rounds = int(os.environ.get("ROUNDS", "11"))
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    for argv in COMMANDS.values():  # warm the page cache and the bytecode caches
        _run(argv, env)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, argv in COMMANDS.items():
            times[name].append(_run(argv, env))
    base = statistics.median(times["import typer"])
    print(f"baseline `python -c \"import typer\"`: {base * 1000:.0f} ms (median of {rounds} interleaved rounds)")
    worst = 0
    for name, target in TARGETS.items():
        med = statistics.median(times[name])
        ratio = med / base
        ok = ratio <= target
        worst |= not ok
        print(f"axepta {name:<15} {med * 1000:6.0f} ms  {ratio:4.2f}x  (target <= {target}x: {'ok' if ok else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
