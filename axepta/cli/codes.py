"""``axepta codes``: response codes explained."""

from __future__ import annotations

import typer

from axepta.cli._common import EXIT_USAGE, emit_json, fail, state, stdout, table
from axepta.codes import explain

app = typer.Typer(help="Explain gateway response codes.", no_args_is_help=True)


@app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="An 8-character response code, e.g. 21500067.")) -> None:
    """Explain a response code: status, module and detail, with advice for the common ones."""
    try:
        info = explain(code)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    if state(ctx).json:
        emit_json(info.as_dict())
        return
    stdout().print(
        table(
            f"Code {info.code}",
            [
                ("status", f"{info.status}  {info.status_text}"),
                ("module", f"{info.module}  {info.module_text}"),
                ("detail", f"{info.detail}  {info.detail_text}"),
                ("outcome", info.outcome),
                ("advice", info.advice or "—"),
            ],
        )
    )
