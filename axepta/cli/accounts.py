"""``axepta accounts``: customer accounts topped up from PayPal (seed 000)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from axepta.cli._common import EXIT_DECLINED, emit_json, fail, state, stdout
from axepta.cli.serve import database_url

__all__ = ["app"]

app = typer.Typer(help="Customer accounts topped up from PayPal: link, balance, unmatched, assign.", no_args_is_help=True)


def _ledger(ctx: typer.Context) -> Any:
    from axepta.ledger import Ledger

    return Ledger(database_url(ctx))


def _major(amount: int, currency: str) -> str:
    from axepta.amounts import from_minor_units

    try:
        return f"{from_minor_units(amount, currency)} {currency}"
    except Exception:
        return f"{amount} (minor units) {currency}"


@app.command("link")
def link(ctx: typer.Context, account: str = typer.Argument(...), email: str = typer.Argument(...)) -> None:
    """Link a PayPal e-mail address to an account: its top-ups credit that account."""
    with _ledger(ctx) as ledger:
        try:
            ledger.accounts.link_email(account, email)
        except ValueError as exc:
            fail(str(exc), EXIT_DECLINED)
    if state(ctx).json:
        emit_json({"ok": True, "account": account.strip(), "email": email.strip().casefold()})
    else:
        stdout().print(f"{email.strip().casefold()} → {account.strip()}", markup=False, highlight=False)


@app.command("balance")
def balance(
    ctx: typer.Context,
    account: str = typer.Argument(...),
    currency: str = typer.Option(..., "--currency", help="ISO 4217 code (balances are per currency)."),
) -> None:
    """An account's balance in one currency (JSON: minor units)."""
    with _ledger(ctx) as ledger:
        try:
            amount = ledger.accounts.balance(account, currency)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    code = currency.strip().upper()
    if state(ctx).json:
        emit_json({"ok": True, "account": account.strip(), "currency": code, "balance": amount})
    else:
        stdout().print(f"{account.strip()}: {_major(amount, code)}", markup=False, highlight=False)


def _waiting(message: Any) -> dict[str, Any]:
    fields = message.fields

    def value(name: str) -> Any:
        return (fields.get(name) or {}).get("value")

    return {
        **message.as_json(),
        "txn_id": value("txn_id"),
        "payer_email": value("payer_email"),
        "mc_gross": value("mc_gross"),
        "mc_currency": value("mc_currency"),
    }


@app.command("unmatched")
def unmatched(ctx: typer.Context, limit: int = typer.Option(100, "--limit", min=1, max=10000)) -> None:
    """Verified top-ups from PayPal addresses linked to no account (assign them)."""
    with _ledger(ctx) as ledger:
        waiting = [_waiting(m) for m in ledger.accounts.unmatched(limit=limit)]
    if state(ctx).json:
        emit_json({"ok": True, "messages": waiting})
        return
    if not waiting:
        stdout().print("no top-up waits for an account", highlight=False)
        return
    table = Table(title="Top-ups waiting for an account", title_justify="left")
    for column in ("message", "txn_id", "payer_email", "amount", "received"):
        table.add_column(column, no_wrap=column != "payer_email")
    for item in waiting:
        table.add_row(Text(str(item["id"])), Text(item["txn_id"] or "—"), Text(item["payer_email"] or "—"),
                      Text(f"{item['mc_gross']} {item['mc_currency']}"), Text(item["received_at"][:19]))
    stdout().print(table)


@app.command("assign")
def assign(ctx: typer.Context, message_id: int = typer.Argument(..., min=1), account: str = typer.Argument(...)) -> None:
    """Credit a waiting top-up (accounts unmatched) to an account now."""
    with _ledger(ctx) as ledger:
        try:
            receipt = ledger.accounts.assign(message_id, account)
        except (LookupError, ValueError) as exc:
            fail(str(exc).strip("'\""), EXIT_DECLINED)
        total = None
        entries = ledger.accounts.entries(account)
        mine = [e for e in entries if e.message_id == message_id]
        if mine:
            total = ledger.accounts.balance(account, mine[0].currency)
    if state(ctx).json:
        emit_json({"ok": receipt.outcome == "applied", **receipt.as_json(),
                   "entry": mine[0].as_json() if mine else None, "balance": total})
    else:
        out = stdout()
        if mine:
            out.print(f"message {message_id}: {_major(mine[0].amount, mine[0].currency)} credited to "
                      f"{account.strip()} (balance {_major(total or 0, mine[0].currency)})", markup=False, highlight=False)
        else:
            out.print(f"message {message_id}: {receipt.outcome} ({receipt.reason})", markup=False, highlight=False)
    if receipt.outcome != "applied":
        raise typer.Exit(EXIT_DECLINED)
