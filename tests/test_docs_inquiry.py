"""The status-inquiry examples of docs/client.md and docs/simulator.md run as written and print
exactly the output shown under them (the simulator is seeded: its ids are reproducible)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: a Python block, the line announcing its output, then the output block
EXAMPLE = re.compile(
    r"```python\n((?:(?!```).)*)```\n\n(?:Output \(real\)|Real output):\n\n```(?:text)?\n((?:(?!```).)*)```", re.S
)


def examples() -> list[tuple[str, str, str]]:
    found = []
    for name in ("client.md", "simulator.md"):
        for n, (code, output) in enumerate(EXAMPLE.findall((DOCS / name).read_text("utf-8"))):
            if ".inquire(" in code or 'inquire(http' in code:
                found.append((f"{name}#{n}", code, output))
    return found


def test_both_docs_have_an_inquiry_example() -> None:
    assert {name.split("#")[0] for name, _, _ in examples()} == {"client.md", "simulator.md"}


@pytest.mark.parametrize(("code", "output"), [(c, o) for _, c, o in examples()], ids=[n for n, _, _ in examples()])
def test_inquiry_example_prints_what_the_docs_show(code: str, output: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code, "utf-8")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == output
