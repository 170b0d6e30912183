"""Every Python block of README.md and docs/*.md runs as written (issue 13 item 7), unless it is
explicitly marked as a fragment: a line ``<!-- fragment -->`` right before its opening fence
(API signatures, a handler's body out of its web framework …). Blocks of ``>>>`` lines run as
doctests. Each block runs in a fresh interpreter, in an empty directory, with the demo
merchant's credentials in the environment. Some blocks are also exercised in depth elsewhere
(tests/test_readme.py, tests/test_notify/test_web.py, tests/test_receive/test_docs.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(?P<before>[^\n]*)\n```python(?P<info>[^\n]*)\n(?P<code>.*?)```", re.S)
MARK = "<!-- fragment -->"


def _files_of(code: str) -> dict[str, str]:
    """The blocks of the same page that start with ``# name.py``: the files a block may import."""
    for path in FILES:
        text = path.read_text("utf-8")
        if code in text:
            return {m["code"].split("\n", 1)[0][2:].strip(): m["code"] for m in FENCE.finditer(text) if re.match(r"# \w+\.py\n", m["code"])}
    return {}


def _blocks() -> list[tuple[str, str, bool]]:
    found = []
    for path in FILES:
        text = path.read_text("utf-8")
        for match in FENCE.finditer(text):
            line = text[: match.start("code")].count("\n")
            found.append((f"{path.relative_to(ROOT)}:{line}", match["code"], match["before"].strip() == MARK))
    return found


BLOCKS = _blocks()
RUN = [(name, code) for name, code, fragment in BLOCKS if not fragment]


def test_the_convention_is_the_only_one() -> None:
    for path in FILES:
        text = path.read_text("utf-8")
        assert "```py\n" not in text and "```python3" not in text, path
        for match in FENCE.finditer(text):
            assert match["info"].strip() == "", f"{path}: use {MARK} before the fence, not an info string"
    assert len(RUN) >= 20  # most blocks run; fragments are the exception


@pytest.mark.slow
@pytest.mark.parametrize(("name", "code"), RUN, ids=[name for name, _ in RUN])
def test_python_block_runs(name: str, code: str, tmp_path: Path) -> None:
    if code.lstrip().startswith(">>>"):
        script = "import doctest, sys\nt = doctest.DocTestParser().get_doctest(sys.stdin.read(), {}, 'doc', 'doc', 0)\nr = doctest.DocTestRunner()\nr.run(t)\nsys.exit(1 if r.failures else 0)\n"
        argv, stdin = [sys.executable, "-c", script], code
    else:
        for file_name, source in _files_of(code).items():
            (tmp_path / file_name).write_text(source, "utf-8")
        (tmp_path / "example.py").write_text(code, "utf-8")
        argv, stdin = [sys.executable, str(tmp_path / "example.py")], None
    env = {
        **os.environ,
        "AXEPTA_MERCHANT_ID": DEMO_MID,
        "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH,
        "AXEPTA_HMAC_KEY": DEMO_HMAC,
        "AXEPTA_CONFIG": str(tmp_path / "absent.toml"),
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(argv, input=stdin, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, f"{name}:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
