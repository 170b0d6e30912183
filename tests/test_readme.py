"""The README's Python examples run as written (their figures vary: random ids)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code, "utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    if "print(" in code:
        assert out.stdout.strip()


def test_deterministic_examples_print_what_the_readme_shows(tmp_path: Path) -> None:
    # The crypto and async examples have no random values: their printed output is in the README.
    for marker in ("codec = BlowfishCodec(", "async def main()"):
        code = next(b for b in BLOCKS if marker in b)
        script = tmp_path / "example.py"
        script.write_text(code, "utf-8")
        out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
        assert out.stdout.strip() in README
