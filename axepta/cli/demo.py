"""``axepta demo``: the whole PayPal journey against the embedded simulator, as a table."""

from __future__ import annotations

import logging
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from axepta.cli._common import EXIT_DECLINED, emit_json, state, stderr, stdout
from axepta.demo import DemoStep, run_demo

__all__ = ["app", "demo"]

app = typer.Typer()


def _short(pay_id: str | None) -> str:
    return "—" if not pay_id else pay_id[:8] + "…"


def _amount(minor: int) -> str:
    return f"{minor / 100:.2f}"  # the demo's amounts are EUR


def _print_books(console: Console, books: dict[str, Any]) -> None:
    """The shop's books at the end: payments by group, the customer's account, messages, events."""
    if not books:
        return
    table = Table(title="The books (ledger)", title_justify="left")
    for column in ("TransID", "state", "group", "amount", "authorised", "captured", "refunded"):
        table.add_column(column, no_wrap=True, justify="right" if column in ("amount", "authorised", "captured", "refunded") else "left")
    for p in books.get("payments", []):
        table.add_row(Text(p["trans_id"]), Text(p["state"]), Text(p["group"].replace("_", "-")), Text(_amount(p["amount"])),
                      Text(_amount(p["amount_authorized"])), Text(_amount(p["amount_captured"])),
                      Text(_amount(p["amount_refunded"])))
    console.print()
    console.print(table)
    for account in books.get("accounts", []):
        entries = ", ".join(f"{e['kind']} {_amount(e['amount'])}" for e in account["entries"])
        console.print(f"account {account['account']}: {_amount(account['balance'])} {account['currency']} ({entries})",
                      markup=False, highlight=False)
    messages = ", ".join(f"{k} {v}" for k, v in sorted(books.get("messages", {}).items()))
    events = ", ".join(f"{k} {v}" for k, v in sorted(books.get("events", {}).items()))
    console.print(f"messages: {messages}", markup=False, highlight=False)
    console.print(f"events: {events}", markup=False, highlight=False)


def demo(ctx: typer.Context) -> None:
    """Run the whole PayPal flow against the embedded simulator (no account, no network).

    Order, approval, notification, authorize, captures, refund, reversal, billing agreement and a
    declined capture. Exits 0 only when every step behaved as expected."""
    as_json = state(ctx).json
    out = stdout()

    def progress(step: DemoStep) -> None:
        if not as_json:
            mark = "[green]✓[/]" if step.ok else "[bold red]✗[/]"
            out.print(f"{mark} {step.number:>2}. ", end="", highlight=False)
            out.print(f"{step.title}  {step.status or ''} {step.code or ''}".rstrip(), markup=False, highlight=False)

    # the client logs declined calls at WARNING; here the table says it better
    quiet = logging.NullHandler()
    library = logging.getLogger("axepta")
    library.addHandler(quiet)
    try:
        if not as_json:
            out.print("[bold]Axepta PayPal demo[/] — embedded simulator, random keys, no network", highlight=False)
        report = run_demo(on_step=progress)
    finally:
        library.removeHandler(quiet)

    if as_json:
        emit_json(report.as_dict())
    else:
        table = Table(title="PayPal journey (amounts in EUR)", title_justify="left")
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("operation", no_wrap=True)
        table.add_column("PayID", no_wrap=True)
        table.add_column("Status", no_wrap=True)
        table.add_column("Code", no_wrap=True)
        table.add_column("meaning", overflow="fold", ratio=1)
        for step in report.steps:
            table.add_row(
                Text(str(step.number), style="green" if step.ok else "bold red"),
                Text(step.operation),
                Text(_short(step.pay_id)),
                Text(step.status or "—"),
                Text(step.code or "—"),
                Text(step.meaning),
            )
        # piped (make demo, CI logs): no terminal to fit, so do not squeeze the table into 80 columns
        console = out if out.is_terminal else Console(soft_wrap=True, width=max(out.width, 120))
        console.print()
        console.print(table)
        _print_books(console, report.books)
        if report.ok:
            out.print(
                f"[green]All {len(report.steps)} steps behaved as expected[/] "
                f"({report.notifications} notifications decoded and verified).",
                highlight=False,
            )
    if not report.ok:
        failed = [s.number for s in report.steps if not s.ok]
        err = stderr()
        err.print("[bold red]demo failed[/]", highlight=False)
        if failed:
            err.print(f"  steps not as expected: {failed}", markup=False, highlight=False)
        if report.error:
            err.print(f"  {report.error}", markup=False, highlight=False)
        raise typer.Exit(EXIT_DECLINED)


app.command("demo")(demo)
