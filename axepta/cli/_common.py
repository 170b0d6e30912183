"""Shared CLI plumbing: global state, output (rich for people, one JSON object for scripts),
credentials lookup and the one place where errors become exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup, TyperOption

from axepta.errors import (
    AxeptaError,
    BlowfishKeyError,
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
    from pathlib import Path

    import httpx
    from rich.console import Console
    from rich.table import Table

EXIT_OK = 0
EXIT_DECLINED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_NETWORK = 4
EXIT_OUTPUT = 5  # the gateway answered success, the output could not be written: never retry


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
    database_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def state(ctx: typer.Context) -> State:
    """The global options of this invocation (``--json``, ``--base-url``, ``--profile``)."""
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def stdout() -> Console:
    from rich.console import Console  # rich is loaded by the commands that print, not by --version

    # emoji=False: text such as "MID:BLOWFISH:HMAC" or a Description must not turn into emoji
    return Console(soft_wrap=True, emoji=False)


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, emoji=False)


def emit_json(obj: Any) -> None:
    """Print exactly one JSON object on stdout. An object that does not say ``"ok"`` is a
    success: ``"ok": true`` comes first (every ``--json`` success carries it)."""
    if isinstance(obj, dict) and "ok" not in obj:
        obj = {"ok": True, **obj}
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()


def table(title: str | None, rows: list[tuple[str, Any]]) -> Table:
    """A two-column table for people. Values are shown literally (a gateway ``Description``
    such as ``[bank]`` is not taken for rich markup)."""
    from rich.table import Table
    from rich.text import Text

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
        from axepta.codes import explain

        try:
            info = explain(code)
        except ValueError:
            pass
        else:
            payload["explanation"] = info.summary
            if info.advice:
                payload["advice"] = info.advice
    return payload


@contextmanager
def quiet_library_log() -> Iterator[None]:
    """The library logs for applications (one line per call, a ``Len`` that cut characters …);
    without logging configured, Python would print its warnings to stderr next to the CLI's own
    report. A NullHandler keeps them out while a command runs; configured handlers still get
    them."""
    import logging

    logger = logging.getLogger("axepta")
    handler = logging.NullHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def report_error(exc: AxeptaError, *, as_json: bool, profile: str | None = None) -> int:
    """Print ``exc`` (stderr for people; plus one JSON object on stdout with ``--json``) and
    return its exit code."""
    code = exit_code_for(exc)
    payload = error_payload(exc)
    if isinstance(exc, BlowfishKeyError):
        setting = f"blowfish_key of profile {profile!r}" if profile else "AXEPTA_BLOWFISH_KEY"
        payload["advice"] = f"check the Blowfish key ({setting}): it must be the merchant's key for this environment"
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


def output_failed(what: str, details: list[str], exc: BaseException) -> NoReturn:
    """The operation succeeded at the gateway but its result could not be written (closed pipe,
    full disk …): say so on stderr with the result and the ReqId, and exit 5, never 1 or 2, so
    that no script retries an operation that moved money. No traceback."""
    import os

    try:  # stdout is unusable: its file descriptor now leads to /dev/null, so that what is
        # still buffered does not fail again (a traceback) when the process exits
        fd = sys.stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    lines = [
        f"error: the {what} succeeded at the gateway, but its result could not be written to "
        f"stdout ({type(exc).__name__}: {exc}). Do not retry: it has been done.",
        *(f"  {line}" for line in details),
    ]
    try:
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    raise typer.Exit(EXIT_OUTPUT)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    stderr().print(f"[bold red]error[/]: {message}", highlight=False)
    raise typer.Exit(code)


#: click's UsageError (Typer vendors click in recent versions, older ones use click itself).
_USAGE_ERROR: type[Any] = typer.BadParameter.__mro__[1]


@dataclass(frozen=True)
class Lazy:
    """A command (or group of commands) of the root command line whose module is imported only
    when it runs (see :mod:`axepta.cli` for how to register one).

    ``module`` defines a ``typer.Typer`` named ``app``. With ``command=False`` that whole app is
    the group ``name`` (``axepta config show``); with ``command=True`` the command ``name`` of
    that app is a top-level command (``axepta capture``). ``summary`` is the one line ``--help``
    shows (a test checks it is the command's own first line), ``panel`` its ``--help`` panel."""

    name: str
    module: str
    summary: str
    panel: str | None = None
    command: bool = False

    def load(self) -> Any:
        import typer.main

        from axepta.cli import _help

        app = import_module(self.module).app
        if not self.command:
            group = typer.main.get_group(app)
            group.name = self.name
            return _help.install(group)
        built = typer.main.get_command(app)
        if isinstance(built, TyperGroup):
            found = built.commands.get(self.name)
            if found is None:
                raise LookupError(f"{self.module}.app has no command {self.name!r}")
            return _help.install(found)
        built.name = self.name
        return _help.install(built)

    def placeholder(self) -> Any:
        """What ``--help`` lists without importing the module: name, summary and panel."""
        return TyperCommand(self.name, short_help=self.summary, help=self.summary, rich_help_panel=self.panel)


class LazyGroup(TyperGroup):
    """A command group whose subcommands in ``lazy`` are imported on first use. ``--help``
    lists them from their :class:`Lazy` entry (summary and panel) without importing anything."""

    lazy: ClassVar[tuple[Lazy, ...]] = ()
    _listing = False

    def _lazy(self) -> dict[str, Lazy]:
        return {entry.name: entry for entry in self.lazy}

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        return names + [entry.name for entry in self.lazy if entry.name not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        entry = self._lazy().get(cmd_name)
        if entry is None:
            return None
        if self._listing:
            return entry.placeholder()
        loaded = entry.load()
        self.commands[cmd_name] = loaded
        return loaded

    def parse_args(self, ctx: Any, args: list[str]) -> Any:
        from axepta.cli import _help

        _help.print_help_without_args(self, ctx, args)
        return super().parse_args(ctx, args)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from axepta.cli import _help

        self._listing = True
        try:
            formatter.write(_help.render(self, ctx))
        finally:
            self._listing = False

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except _USAGE_ERROR as exc:
            if args and "Did you mean" not in exc.message:
                from difflib import get_close_matches

                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    exc.message = exc.message.rstrip(".") + ". Did you mean " + ", ".join(repr(m) for m in matches) + "?"
            raise


class _RootOption(TyperOption):
    """A global option of ``axepta``: an absent value, or the text of ``--base-url`` and
    ``--profile``, is taken as it is. Recent Typer builds a pydantic adapter for every value it
    converts, even ``None``; that would load pydantic for ``axepta capture --help``."""

    def process_value(self, ctx: Any, value: Any) -> Any:
        if value is None or (isinstance(value, str) and self.name in ("base_url", "profile", "database_url")):
            return value if self.callback is None else self.callback(ctx, self, value)
        return super().process_value(ctx, value)


class AxeptaGroup(LazyGroup):
    """The root command group: every ``AxeptaError`` raised by any command ends here and
    becomes its exit code, so commands never map errors themselves."""

    def get_params(self, ctx: Any) -> Any:
        params = super().get_params(ctx)
        for param in params:  # --help and the completion options are added late: here
            if type(param) is TyperOption:
                param.__class__ = _RootOption
        return params

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AxeptaError as exc:
            ctx.exit(report_error(exc, as_json=state(ctx).json, profile=state(ctx).profile))


def output_path(given: str, *, option: str = "-o") -> tuple[Path, bool]:
    """The rule of every ``-o`` option: a path ending in ``/`` (or the OS separator), or an
    existing directory, is a directory, created when missing, into which the command writes
    its suggested file name; anything else is the file itself, whose directory must exist.
    Returns ``(path, is_directory)``; an unusable path is a usage error naming the option."""
    import os
    from pathlib import Path

    path = Path(given)
    if given.endswith(("/", os.sep)) or path.is_dir():
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageFailure(f"{option} {given}: cannot create the directory ({exc.strerror})", rule="-o DIR/") from None
        if not path.is_dir():
            raise UsageFailure(f"{option} {given}: exists and is not a directory", rule="-o DIR/")
        return path, True
    if not path.parent.is_dir():
        raise UsageFailure(
            f"{option} {given}: directory {str(path.parent)!r} does not exist; to write into a new "
            "directory, end it with / (it is created)",
            rule="-o DIR/",
        )
    return path, False


def make_http_client() -> httpx.Client:
    """The HTTP client every command that talks to the gateway uses (PROTOCOL.md §3.3:
    explicit timeouts, redirects never followed). Tests replace this function (monkeypatch) to
    inject an in-process transport such as the simulator's; it is deliberately not an option,
    so it stays out of ``--help``."""
    import httpx  # imported here: commands that never talk to the gateway stay fast

    from axepta import _http

    # the library's network backend: every socket operation ends by the call's deadline
    return httpx.Client(
        timeout=httpx.Timeout(45, connect=5, read=30), follow_redirects=False, transport=_http.sync_transport()
    )
