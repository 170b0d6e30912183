"""The help pages of ``axepta`` (``--help`` of every command and group), rendered here rather
than by Typer's help module, which loads a Markdown parser and more on every ``--help``.

The layout is Typer's (usage, description, one framed panel per ``rich_help_panel``), with
placeholders a person can read: ``--amount DECIMAL``, ``--trans-id TEXT``, ``PAYID``,
``--capture [Auto|Manual]``; flags show none. The page fits the terminal (80 columns
included); without a terminal it is plain text. No rich: drawing the frames by hand keeps
``axepta --help`` within twice the start-up of ``import typer`` (benchmarks/bench_startup.py).
"""

from __future__ import annotations

import enum
import os
import shutil
import sys
import textwrap
from pathlib import PurePath
from typing import Any

#: Placeholders of the option types the commands use (anything else: ``VALUE``).
_TYPE_NAMES = {
    str: "TEXT",
    int: "INTEGER",
    float: "NUMBER",
    bool: "BOOLEAN",
    "text": "TEXT",
    "integer": "INTEGER",
    "float": "NUMBER",
    "boolean": "BOOLEAN",
    "path": "PATH",
    "filename": "FILE",
    "file": "FILE",
}


def _annotation(param: Any) -> Any:
    """The Python type of a parameter (recent Typer), or click's ``ParamType`` (older Typer)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        annotation = descriptor.annotation
        args = getattr(annotation, "__args__", None)
        if args and getattr(annotation, "__origin__", None) in (list, tuple):
            return args[0]
        return annotation
    return getattr(param, "type", None)


def _choices(param: Any) -> list[str]:
    annotation = _annotation(param)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    choices = getattr(annotation, "choices", None)
    if choices:
        return [str(c.value if isinstance(c, enum.Enum) else c) for c in choices]
    return []


def metavar(param: Any) -> str:
    """The placeholder of a parameter's value (empty for a flag)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    if param.metavar:
        return str(param.metavar)
    if getattr(param, "param_type_name", "") == "argument":
        return (param.name or "ARG").upper()
    choices = _choices(param)
    if choices:
        return "[" + "|".join(choices) + "]"
    annotation = _annotation(param)
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "PATH"
    key = annotation if isinstance(annotation, type) else getattr(annotation, "name", None)
    return _TYPE_NAMES.get(key, "VALUE")


def _default_text(param: Any) -> str | None:
    show = getattr(param, "show_default", None)
    if show is False or getattr(param, "is_flag", False) or param.required:
        return None
    if isinstance(show, str):
        return show
    default = param.default
    if default is None or callable(default) or default in ((), [], ""):
        return None
    if isinstance(default, enum.Enum):
        default = default.value
    return str(default)


def _param_help(param: Any) -> str:
    text = " ".join((getattr(param, "help", None) or "").split())
    extras: list[str] = []
    envvar = getattr(param, "envvar", None)
    if envvar and getattr(param, "show_envvar", True):
        extras.append("env var: " + (envvar if isinstance(envvar, str) else ", ".join(envvar)))
    default = _default_text(param)
    if default is not None:
        extras.append(f"default: {default}")
    if param.required:
        extras.append("required")
    return " ".join([text, *(f"[{e}]" for e in extras)]).strip()


def usage(command: Any, ctx: Any) -> str:
    pieces = [ctx.command_path, "[OPTIONS]"]
    for param in command.get_params(ctx):
        if getattr(param, "param_type_name", "") != "argument":
            continue
        name = metavar(param)
        if getattr(param, "nargs", 1) != 1:
            name += "..."
        pieces.append(name if param.required else f"[{name}]")
    if hasattr(command, "commands"):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _paragraphs(text: str) -> list[str]:
    return [" ".join(block.split()) for block in text.strip().split("\n\n") if block.strip()]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=max(width, 10), break_on_hyphens=False) or [""]


def _panel(title: str, rows: list[list[str]], width: int, style: _Style) -> list[str]:
    """A framed panel: ``╭─ title ─╮`` … ``╰─╯``; the last column of ``rows`` wraps."""
    inner = width - 4
    fixed = [max((len(row[i]) for row in rows), default=0) for i in range(len(rows[0]) - 1)] if rows else []
    indent = sum(w + 1 for w in fixed if w) + 1  # two spaces before the help
    lines = [style.dim("╭─ ") + style.bold(title) + style.dim(" " + "─" * max(width - len(title) - 5, 0) + "╮")]
    for row in rows:
        lead = " ".join(cell.ljust(w) for cell, w in zip(row, fixed, strict=False) if w)
        help_width = inner - indent
        if help_width < 24:  # a very narrow terminal: the help goes under the names
            texts = [lead, *("    " + t for t in _wrap(row[-1], inner - 4))]
        else:
            wrapped = _wrap(row[-1], help_width)
            texts = [(lead + "  " if lead else "") + wrapped[0], *(" " * indent + t for t in wrapped[1:])]
        for text in texts:
            shown = text[:inner].ljust(inner)
            lines.append(style.dim("│ ") + style.names(shown, len(lead)) + style.dim(" │"))
    lines.append(style.dim("╰" + "─" * (width - 2) + "╯"))
    return lines


class _Style:
    """ANSI styles on a terminal (unless NO_COLOR), plain text otherwise."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def _sgr(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and text else text

    def bold(self, text: str) -> str:
        return self._sgr("1", text)

    def dim(self, text: str) -> str:
        return self._sgr("2", text)

    def yellow(self, text: str) -> str:
        return self._sgr("33", text)

    def names(self, line: str, lead: int) -> str:
        return self._sgr("1;36", line[:lead]) + line[lead:] if lead else line


def render(command: Any, ctx: Any) -> str:
    """The help page of ``command`` as text (ANSI colours only when stdout is a terminal)."""
    width = max(min(shutil.get_terminal_size((80, 24)).columns, 120), 40)
    style = _Style(sys.stdout.isatty() and not os.environ.get("NO_COLOR"))
    lines = ["", " " + style.yellow("Usage: ") + style.bold(usage(command, ctx)), ""]
    for paragraph in _paragraphs(command.help or ""):
        lines += [" " + t for t in _wrap(paragraph, width - 2)]
        lines.append("")

    params: dict[str, list[Any]] = {}
    for param in command.get_params(ctx):
        if getattr(param, "hidden", False):
            continue
        default_panel = "Arguments" if getattr(param, "param_type_name", "") == "argument" else "Options"
        params.setdefault(getattr(param, "rich_help_panel", None) or default_panel, []).append(param)
    for title in sorted(params, key=lambda name: {"Arguments": 0, "Options": 1}.get(name, 2)):
        rows: list[list[str]] = []
        for param in params[title]:
            if getattr(param, "param_type_name", "") == "argument":
                names, placeholder = metavar(param), ""
            else:
                names, placeholder = ", ".join([*param.opts, *param.secondary_opts]), metavar(param)
            rows.append(["*" if param.required else " ", names, placeholder, _param_help(param)])
        lines += _panel(title, rows, width, style)

    if hasattr(command, "commands"):
        panels: dict[str, list[list[str]]] = {}
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is None or sub.hidden:
                continue
            summary = sub.short_help or (_paragraphs(sub.help or "") or [""])[0]
            panels.setdefault(getattr(sub, "rich_help_panel", None) or "Commands", []).append([name, summary])
        for title in sorted(panels, key=lambda name: name != "Commands"):
            lines += _panel(title, panels[title], width, style)
    if command.epilog:
        lines += ["", *(" " + t for t in _wrap(" ".join(command.epilog.split()), width - 2))]
    return "\n".join(lines) + "\n"


def install(command: Any) -> Any:
    """Give ``command`` (and, for a group, every subcommand) this module's help page."""

    def format_help(ctx: Any, formatter: Any) -> None:
        formatter.write(render(command, ctx))

    command.format_help = format_help
    if hasattr(command, "commands"):
        command.parse_args = _help_without_args(command)
        for sub in command.commands.values():
            install(sub)
    return command


def print_help_without_args(group: Any, ctx: Any, args: list[str]) -> None:
    """A group run without a command prints its help on stdout and exits 2 (usage). Typer
    versions differ here (some print nothing once the help is not Typer's own)."""
    if not args and group.no_args_is_help and not ctx.resilient_parsing:
        sys.stdout.write(ctx.get_help())
        sys.stdout.flush()
        ctx.exit(2)


def _help_without_args(group: Any) -> Any:
    parse = group.parse_args

    def parse_args(ctx: Any, args: list[str]) -> Any:
        print_help_without_args(group, ctx, args)
        return parse(ctx, args)

    return parse_args
