"""Shared CLI plumbing: global state, output (rich for people, one JSON object for scripts),
credentials lookup and the one place where errors become exit codes."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
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

if TYPE_CHECKING:
    import httpx

EXIT_OK = 0
EXIT_DECLINED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_NETWORK = 4


class UsageFailure(InvalidRequestError):
    """A usage error the CLI finds itself (two options that exclude each other, a missing
    ``--yes`` without a terminal): exit 2, reported like any other error (``--json`` too)."""


class NotConfirmed(AxeptaError):
    """The person at the terminal did not confirm: nothing was sent (exit 1)."""


def exit_code_for(exc: BaseException) -> int:
    """The exit code of an error: the only mapping of errors to exit codes (CONTRACT.md).

    ``4`` network failure or timeout (outcome unknown); ``3`` configuration, including the
    gateway's 20100044/20120044 (authentication: both a ``GatewayError`` and a
    ``ConfigurationError``); ``2`` usage or a request field that breaks a rule; ``1`` declined
    by the gateway, an untrustworthy reply or notification, or not confirmed."""
    if isinstance(exc, TransportError):
        return EXIT_NETWORK
    if isinstance(exc, ConfigurationError):
        return EXIT_CONFIG
    if isinstance(exc, InvalidRequestError):
        return EXIT_USAGE
    if isinstance(exc, GatewayError | NotificationError | SignatureError | ProtocolError | CryptoError | NotConfirmed):
        return EXIT_DECLINED
    return EXIT_DECLINED


@dataclass
class State:
    """Global options, kept on the click context."""

    base_url: str | None = None
    json: bool = False
    profile: str | None = None
    database_url: str | None = None  # the books (--database-url / AXEPTA_DATABASE_URL)
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
    """A two-column table for people. Values are shown literally (a gateway ``Description``
    such as ``[bank]`` is not taken for rich markup)."""
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")  # long values (URLs) fold, never cut
    for key, value in rows:
        t.add_row(Text(key), Text("" if value is None else str(value)))
    return t


_PAYLOAD_ATTRIBUTES = (
    "code", "status", "pay_id", "trans_id", "req_id", "field", "rule", "reason", "code_ext",
    "operation", "sent", "retry_command",
)


def error_payload(exc: AxeptaError) -> dict[str, Any]:
    """The JSON shape of an error: its type, message and identifiers (never keys, Data or MACs),
    plus the explanation and advice of its response code when it carries one."""
    payload: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    for name in _PAYLOAD_ATTRIBUTES:
        value = getattr(exc, name, None)
        if value is not None:
            payload[name] = value
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        try:
            info = explain(code)
        except ValueError:
            pass
        else:
            payload["explanation"] = info.summary
            if info.advice:
                payload["advice"] = info.advice
    return payload


def report_error(exc: AxeptaError, *, as_json: bool) -> int:
    """Print ``exc`` (stderr for people; plus one JSON object on stdout with ``--json``) and
    return its exit code."""
    code = exit_code_for(exc)
    payload = error_payload(exc)
    if as_json:
        emit_json({"ok": False, "exit_code": code, "error": payload})
    err = stderr()
    err.print("[bold red]error[/]: ", end="", markup=True, highlight=False)
    err.print(payload["message"], markup=False, highlight=False)
    if "explanation" in payload:
        err.print(f"  code {payload['code']}: {payload['explanation']}", markup=False, highlight=False)
    if "advice" in payload:
        err.print(f"  advice: {payload['advice']}", markup=False, highlight=False)
    if payload.get("req_id"):
        err.print(f"  ReqId: {payload['req_id']}", markup=False, highlight=False)
    retry = payload.get("retry_command")
    if retry:
        err.print(f"  retry with: {retry}", markup=False, highlight=False)
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


def make_http_client() -> httpx.Client:
    """The HTTP client every command that talks to the gateway uses (PROTOCOL.md §3.3:
    explicit timeouts, redirects never followed). Tests replace this function (monkeypatch) to
    inject an in-process transport such as the simulator's; it is deliberately not an option,
    so it stays out of ``--help``."""
    import httpx  # imported here: commands that never talk to the gateway stay fast

    return httpx.Client(timeout=httpx.Timeout(45, connect=5, read=30), follow_redirects=False)
