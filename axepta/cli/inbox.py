"""``axepta ledger messages``, ``ledger events`` and ``ledger replay``: the inbound messages and
the event outbox of the books (commands of the ``ledger`` group)."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from axepta.cli._common import EXIT_DECLINED, emit_json, fail, state, stdout
from axepta.cli.serve import database_url

__all__ = ["app", "events", "messages", "replay"]

app = typer.Typer(help="Inbound messages and the event outbox.", no_args_is_help=True)


def _ledger(ctx: typer.Context) -> Any:
    from axepta.ledger import Ledger

    return Ledger(database_url(ctx))


@app.command("messages")
def messages(
    ctx: typer.Context,
    message_state: str | None = typer.Option(None, "--state", help="received, applied, duplicate, stale, unmatched, "
                                             "rejected, unverified, invalid, conflict, failed, parked."),
    source: str | None = typer.Option(None, "--source", help="axepta, ipn or masspay."),
    limit: int = typer.Option(100, "--limit", min=1, max=10000),
) -> None:
    """Inbound messages (notifications, IPN, Mass Pay records), newest first."""
    with _ledger(ctx) as ledger:
        try:
            found = ledger.messages(state=message_state, source=source, limit=limit)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    if state(ctx).json:
        emit_json({"ok": True, "messages": [m.as_json() for m in found]})
        return
    table = Table(title=f"Messages ({len(found)})", title_justify="left")
    for column in ("id", "source", "state", "key", "received", "reason"):
        table.add_column(column, no_wrap=column not in ("key", "reason"), overflow="fold")
    for m in found:
        table.add_row(Text(str(m.id)), Text(m.source), Text(m.state), Text(m.dedup_key or "—"),
                      Text(m.received_at.isoformat()[:19]), Text(m.reason or ""))
    stdout().print(table)


@app.command("events")
def events(
    ctx: typer.Context,
    pending: bool = typer.Option(False, "--pending", help="Only events not delivered yet."),
    limit: int = typer.Option(100, "--limit", min=1, max=10000),
) -> None:
    """The event outbox (payment.captured, account.credited, …), newest first."""
    with _ledger(ctx) as ledger:
        found = ledger.events(pending=pending, limit=limit)
    if state(ctx).json:
        emit_json({"ok": True, "events": [e.as_json() for e in found]})
        return
    table = Table(title=f"Events ({len(found)})", title_justify="left")
    for column in ("id", "kind", "subject", "state", "attempts", "created", "last error"):
        table.add_column(column, no_wrap=column != "last error", overflow="fold")
    for e in found:
        table.add_row(Text(str(e.id)), Text(e.kind), Text(e.trans_id or e.account or "—"), Text(e.state),
                      Text(str(e.attempts)), Text(e.created_at.isoformat()[:19]), Text(e.last_error or ""))
    stdout().print(table)


@app.command("replay")
def replay(
    ctx: typer.Context,
    message_id: int = typer.Argument(..., min=1),
    paypal_receiver: list[str] = typer.Option([], "--paypal-receiver", metavar="EMAIL",
                                              help="The shop's PayPal address (IPN; or AXEPTA_PAYPAL_RECEIVERS)."),
    ipn_verify_url: str | None = typer.Option(None, "--ipn-verify-url", metavar="URL", envvar="AXEPTA_IPN_VERIFY_URL"),
) -> None:
    """Process a stored message again (an unmatched, failed or unverified one); a settled
    message changes nothing."""
    from axepta.server.app import receivers_from_env

    with _ledger(ctx) as ledger:
        stored = ledger.message(message_id)
        if stored is None:
            fail(f"no message {message_id} in the books", EXIT_DECLINED)
        credentials = None
        if stored.source == "axepta":
            from axepta.cli.config import load_credentials

            credentials = load_credentials(ctx)
        receivers = [r for r in paypal_receiver if r.strip()] or receivers_from_env()
        try:
            receipt = ledger.replay(message_id, credentials=credentials, receivers=receivers, verify_url=ipn_verify_url)
        except (LookupError, ValueError) as exc:
            fail(str(exc).strip("'\""), EXIT_DECLINED)
    if state(ctx).json:
        emit_json({"ok": receipt.status_code == 200, **receipt.as_json()})
    else:
        stdout().print(f"message {message_id}: {receipt.outcome} (HTTP {receipt.status_code})"
                       + (f" — {receipt.reason}" if receipt.reason else ""), markup=False, highlight=False)
    if receipt.status_code != 200:
        raise typer.Exit(EXIT_DECLINED)
