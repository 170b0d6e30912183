"""docs/ledger.md: its Python example runs and prints what the page shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ledger.md").read_text("utf-8")


def test_the_quick_start_prints_its_real_output(tmp_path: Path) -> None:
    code = re.findall(r"```python\n(.*?)```", DOC, re.S)[0]
    shown = DOC.split(code, 1)[1].split("Real output:\n\n```\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code, "utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == shown
