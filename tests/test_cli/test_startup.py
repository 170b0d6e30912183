"""Start-up (issue 13 item 1): ``axepta --version`` and ``axepta --help`` import none of the
client, simulator, batch, IPN or ledger modules, and ``--help`` lists every command with the
one-line summary of the command itself (its module is not imported to show it)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from axepta.cli import COMMANDS, app

HEAVY = (
    "axepta.client",
    "axepta.simulator",
    "axepta.batch",
    "axepta.ipn",
    "axepta.ledger",
    "axepta.models",
    "axepta.protocol",
    "axepta.notify",
    "axepta.demo",
    "httpx",
    "pydantic",
)

_PROBE = """
import json, sys
sys.argv = ["axepta", *json.loads(sys.argv[1])]
from axepta.cli import main
try:
    main()
except SystemExit:
    pass
sys.stdout.flush()
sys.stderr.write("\\nMODULES=" + json.dumps(sorted(sys.modules)) + "\\n")
"""


def _modules_after(*argv: str) -> tuple[str, list[str]]:
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(argv))],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("MODULES="))
    return proc.stdout + proc.stderr.replace(line, ""), json.loads(line.removeprefix("MODULES="))


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


@pytest.mark.parametrize("argv", [("--version",), ("--help",), ()])
def test_version_and_help_import_no_command_module(argv: tuple[str, ...]) -> None:
    out, modules = _modules_after(*argv)
    assert out.strip()
    assert _heavy(modules) == []
    assert not [m for m in modules if m.startswith("axepta.cli.") and m not in ("axepta.cli._common", "axepta.cli._help")]


def test_payment_command_help_imports_no_client_nor_models() -> None:
    out, modules = _modules_after("capture", "--help")
    assert "--amount" in out
    assert _heavy(modules) == []


def test_help_lists_every_command_with_its_summary() -> None:
    out, _ = _modules_after("--help")
    for entry in COMMANDS:
        line = next((ln for ln in out.splitlines() if f" {entry.name} " in ln), None)
        assert line is not None, entry.name
        assert entry.summary[:40] in " ".join(out.split()), entry.name


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda e: e.name)
def test_registered_summary_is_the_commands_own_first_line(entry: object) -> None:
    from axepta.cli._common import Lazy

    assert isinstance(entry, Lazy)
    command = entry.load()
    own = (command.short_help or command.help or "").strip().split("\n\n")[0]
    assert " ".join(own.split()) == entry.summary


def test_every_command_runs_its_help() -> None:
    runner = CliRunner()
    for entry in COMMANDS:
        result = runner.invoke(app, [entry.name, "--help"], env={"COLUMNS": "100"})
        assert result.exit_code == 0, (entry.name, result.output)
        assert "Usage: axepta " + entry.name in " ".join(result.output.split())


def test_unknown_command_suggests_a_lazy_one() -> None:
    result = CliRunner().invoke(app, ["captur"], env={"COLUMNS": "100"})
    assert result.exit_code == 2
    assert "capture" in result.output


@pytest.mark.parametrize("argv", [(), ("capture",), ("order",), ("batch",), ("batch", "build"), ("config", "show")])
def test_help_pages_fit_80_columns_with_readable_placeholders(argv: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "<str>" not in result.output and "<bool>" not in result.output and "<int>" not in result.output
    assert "{" not in lines[1]  # the usage line: PAYID, not {PAYID}


def test_capture_help_placeholders() -> None:
    result = CliRunner().invoke(app, ["order", "--help"], env={"COLUMNS": "100"})
    text = result.output
    assert "Usage: axepta order [OPTIONS]" in text
    assert re.search(r"--amount\s+DECIMAL\s", text)
    assert re.search(r"--trans-id\s+TEXT\s", text)
    assert re.search(r"--capture\s+\[Auto\|Manual\]", text)
    assert re.search(r"--yes, -y\s+Send", text)  # a flag has no placeholder
    assert "[default: Auto]" in text and "[required]" in text
    capture = CliRunner().invoke(app, ["capture", "--help"], env={"COLUMNS": "100"}).output
    assert "Usage: axepta capture [OPTIONS] PAYID" in capture


@pytest.mark.parametrize(
    "argv",
    [
        ["codes", "explain", "00000000"],
        ["config", "show"],
        ["crypto", "encrypt", "A=1"],
        ["crypto", "mac", "a", "b"],
    ],
)
def test_json_successes_say_ok(argv: list[str]) -> None:
    from tests.test_cli.conftest import env

    result = CliRunner().invoke(app, ["--json", *argv], env=env())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
