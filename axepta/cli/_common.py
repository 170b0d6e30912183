"""Shared CLI plumbing: global state, output (rich for people, one JSON object for scripts),
credentials lookup and the one place where errors become exit codes."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from axepta.codes import explain
from axepta.errors import (
    AxeptaError,
    ConfigurationError,
    CryptoError,
    GatewayError,
    InvalidRequestError,
    NotificationError,
    ProtocolError,
    SignatureError,
    TransportError,
)

EXIT_OK = 0
EXIT_DECLINED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_NETWORK = 4


def exit_code_for(exc: BaseException) -> int:
    """The exit code of an error: the only mapping of errors to exit codes (CONTRACT.md)."""
    if isinstance(exc, TransportError):
        return EXIT_NETWORK
    if isinstance(exc, ConfigurationError):
        return EXIT_CONFIG
    if isinstance(exc, InvalidRequestError):
        return EXIT_USAGE
    if isinstance(exc, GatewayError | NotificationError | SignatureError | ProtocolError | CryptoError):
        return EXIT_DECLINED
    return EXIT_DECLINED


@dataclass
class State:
    """Global options, kept on the click context."""

    base_url: str | None = None
    json: bool = False
    profile: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def state(ctx: typer.Context) -> State:
    """The global options of this invocation (``--json``, ``--base-url``, ``--profile``)."""
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def stdout() -> Console:
    return Console(soft_wrap=True)


def stderr() -> Console:
    return Console(stderr=True, soft_wrap=True)


def emit_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()


def table(title: str | None, rows: list[tuple[str, Any]]) -> Table:
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value")
    for key, value in rows:
        t.add_row(key, "" if value is None else str(value))
    return t


def error_payload(exc: AxeptaError) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    for name in ("code", "status", "pay_id", "trans_id", "req_id", "field", "rule", "reason", "code_ext"):
        value = getattr(exc, name, None)
        if value is not None:
            payload[name] = value
    if isinstance(exc, GatewayError):
        try:
            info = explain(exc.code)
            payload["explanation"] = info.summary
            if info.advice:
                payload["advice"] = info.advice
        except ValueError:
            pass
    return payload


def report_error(exc: AxeptaError, *, as_json: bool) -> int:
    """Print ``exc`` (stderr for people; plus one JSON object on stdout with ``--json``) and
    return its exit code."""
    code = exit_code_for(exc)
    payload = error_payload(exc)
    if as_json:
        emit_json({"ok": False, "exit_code": code, "error": payload})
    err = stderr()
    err.print(f"[bold red]error[/]: {payload['message']}", markup=True, highlight=False)
    if "explanation" in payload:
        err.print(f"  code {payload['code']}: {payload['explanation']}", highlight=False)
    if "advice" in payload:
        err.print(f"  advice: {payload['advice']}", highlight=False)
    retry = getattr(exc, "retry_command", None)
    if retry:
        err.print(f"  retry with: {retry}", highlight=False, markup=False)
    return code


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    stderr().print(f"[bold red]error[/]: {message}", highlight=False)
    raise typer.Exit(code)


class AxeptaGroup(TyperGroup):
    """The root command group: every ``AxeptaError`` raised by any command ends here and
    becomes its exit code, so commands never map errors themselves."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AxeptaError as exc:
            ctx.exit(report_error(exc, as_json=state(ctx).json))
