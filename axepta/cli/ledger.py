"""``axepta ledger``: the books (migrate, payments, show, export, prune).

The books' URL is the global ``--database-url``, else ``AXEPTA_DATABASE_URL``, else
``sqlite:///axepta.db``. In ``--json`` output amounts are integers in minor units.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer

from axepta.cli import inbox
from axepta.cli._common import EXIT_DECLINED, UsageFailure, emit_json, fail, state, stdout, table

if TYPE_CHECKING:  # the books load when a command runs, never for --help
    from axepta.ledger import Ledger, Payment

__all__ = ["app", "database_url", "open_ledger"]

app = typer.Typer(help="The books: payments, operations and transitions (SQLite or PostgreSQL).", no_args_is_help=True)

_GROUP_HELP = "not-finished, finished or failed."


def database_url(ctx: typer.Context) -> str | None:
    """The global ``--database-url`` (``None``: ``AXEPTA_DATABASE_URL``, else the default)."""
    url = getattr(state(ctx), "database_url", None)
    return str(url) if url else None


def open_ledger(ctx: typer.Context) -> Ledger:
    from axepta.ledger import Ledger

    return Ledger(database_url(ctx))


def _payments(ledger: Ledger, group: str | None, state_: str | None, limit: int, merchant_id: str | None) -> list[Payment]:
    try:
        return ledger.payments(group=group, state=state_, limit=limit, merchant_id=merchant_id)
    except ValueError as exc:
        raise UsageFailure(str(exc), rule="known group and state") from None


@app.command("migrate")
def migrate_cmd(ctx: typer.Context) -> None:
    """Create or upgrade the books' schema (Alembic migrations shipped with axepta)."""
    with open_ledger(ctx) as ledger:
        before, after = ledger.migrate()
        where = ledger.redacted_url
    if state(ctx).json:
        emit_json({"ok": True, "database": where, "before": before, "after": after})
        return
    change = "already at" if before == after else f"{before or 'no schema'} ->"
    stdout().print(f"books at {where}: {change} {after}", markup=False, highlight=False)


def _money(amount: int, currency: str) -> str:
    from axepta.amounts import from_minor_units

    try:
        return f"{from_minor_units(amount, currency)} {currency}"
    except Exception:
        return f"{amount} (minor units) {currency}"


@app.command("payments")
def payments_cmd(
    ctx: typer.Context,
    group: str | None = typer.Option(None, "--group", help=_GROUP_HELP),
    state_: str | None = typer.Option(None, "--state", help="A payment state (created, captured, …)."),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="At most this many, newest first."),
    merchant_id: str | None = typer.Option(None, "--merchant-id", help="Only this merchant's payments."),
) -> None:
    """List payments, newest first, by group (Not-Finished, Finished, Failed) or state."""
    with open_ledger(ctx) as ledger:
        found = _payments(ledger, group, state_, limit, merchant_id)
    if state(ctx).json:
        emit_json({"ok": True, "payments": [p.as_json() for p in found]})
        return
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"{len(found)} payment(s)", title_justify="left")
    for column in ("TransID", "state", "group", "amount", "captured", "refunded", "created (UTC)"):
        t.add_column(column)
    for p in found:
        t.add_row(
            Text(p.trans_id), p.state, p.group.replace("_", "-"), _money(p.amount, p.currency),
            _money(p.amount_captured, p.currency), _money(p.amount_refunded, p.currency),
            p.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )  # fmt: skip
    stdout().print(t)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    trans_id: str = typer.Argument(..., metavar="TRANSID", help="The payment's TransID."),
    merchant_id: str | None = typer.Option(None, "--merchant-id", help="The merchant (several share the books)."),
) -> None:
    """One payment with its operations, messages and transitions."""
    with open_ledger(ctx) as ledger:
        shown = ledger.show(trans_id, merchant_id=merchant_id)
    as_json = state(ctx).json
    if shown is None:
        message = f"no payment with TransID {trans_id} in the books"
        if as_json:
            emit_json({"ok": False, "exit_code": EXIT_DECLINED, "error": {"type": "NotFound", "message": message}})
        fail(message, EXIT_DECLINED)
    if as_json:
        emit_json({"ok": True, **shown})
        return
    out = stdout()
    payment = shown["payment"]
    out.print(table(f"Payment {trans_id}", [(k, v) for k, v in payment.items() if v is not None]))
    from rich.table import Table

    ops = Table(title="Operations", title_justify="left")
    for column in ("id", "kind", "ReqId", "outcome", "code", "amount", "attempts", "note"):
        ops.add_column(column)
    for o in shown["operations"]:
        note = o["attention"] or o["error"] or ""
        ops.add_row(
            str(o["id"]), o["kind"], o["req_id"] or "—", o["outcome"], o["code"] or "—",
            str(o["amount"]), str(o["attempts"]), note,
        )  # fmt: skip
    out.print(ops)
    moves = Table(title="Transitions", title_justify="left")
    for column in ("from", "to", "authorised", "captured", "refunded", "cause", "at (UTC)"):
        moves.add_column(column)
    for t in shown["transitions"]:
        moves.add_row(
            t["from"] or "—", t["to"], f"{t['delta_authorized']:+d}", f"{t['delta_captured']:+d}",
            f"{t['delta_refunded']:+d}", t["cause"], t["created_at"][:19].replace("T", " "),
        )  # fmt: skip
    out.print(moves)
    if shown["messages"]:
        msgs = Table(title="Messages", title_justify="left")
        for column in ("id", "source", "state", "received (UTC)"):
            msgs.add_column(column)
        for m in shown["messages"]:
            msgs.add_row(str(m["id"]), m["source"], m["state"], m["received_at"][:19].replace("T", " "))
        out.print(msgs)


_EXPORT_COLUMNS = (
    "merchant_id", "kind", "trans_id", "pay_id", "ref_nr", "reference", "state", "group", "amount", "currency",
    "amount_authorized", "amount_captured", "amount_refunded", "charged_back", "capture", "tx_type",
    "attention", "created_at", "updated_at",
)  # fmt: skip


def _write_export(out: TextIO, payments: list[Payment], fmt: str) -> None:
    if fmt == "jsonl":
        for p in payments:
            row = p.as_json()
            out.write(json.dumps({k: row[k] for k in _EXPORT_COLUMNS}, ensure_ascii=False) + "\n")
        return
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_EXPORT_COLUMNS)
    for p in payments:
        row = p.as_json()
        writer.writerow(["" if row[k] is None else row[k] for k in _EXPORT_COLUMNS])


@app.command("export")
def export_cmd(
    ctx: typer.Context,
    fmt: str = typer.Option("csv", "--format", help="csv or jsonl."),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: stdout)."),
    group: str | None = typer.Option(None, "--group", help=_GROUP_HELP),
    state_: str | None = typer.Option(None, "--state", help="A payment state."),
    limit: int = typer.Option(100_000, "--limit", min=1, help="At most this many, newest first."),
) -> None:
    """Export payments (amounts in minor units) as CSV or JSON Lines; no personal data."""
    if fmt not in ("csv", "jsonl"):
        raise UsageFailure("--format must be csv or jsonl", field="--format", rule="csv or jsonl")
    as_json = state(ctx).json
    if as_json and output is None:
        raise UsageFailure("--json needs -o FILE (stdout carries the JSON summary)", field="--output", rule="a file with --json")
    with open_ledger(ctx) as ledger:
        found = _payments(ledger, group, state_, limit, None)
    if output is None:
        _write_export(sys.stdout, found, fmt)
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        _write_export(handle, found, fmt)
    if as_json:
        emit_json({"ok": True, "count": len(found), "format": fmt, "path": str(output)})
    else:
        stdout().print(f"{len(found)} payment(s) written to {output}", markup=False, highlight=False)


@app.command("prune")
def prune_cmd(
    ctx: typer.Context,
    older_than: float = typer.Option(400, "--older-than", metavar="DAYS", min=0, help="Age in days (default 400)."),
) -> None:
    """Delete personal data older than DAYS (message bodies and fields, payers' e-mail); money records stay."""
    with open_ledger(ctx) as ledger:
        messages, payments = ledger.prune(older_than_days=older_than)
    result: dict[str, Any] = {"ok": True, "older_than_days": older_than, "messages": messages, "payments": payments}
    if state(ctx).json:
        emit_json(result)
        return
    stdout().print(
        f"pruned personal data of {messages} message(s) and {payments} payment(s) older than {older_than:g} days",
        markup=False,
        highlight=False,
    )


# the receiving side of the books: ledger messages, ledger events, ledger replay
app.registered_commands.extend(inbox.app.registered_commands)
