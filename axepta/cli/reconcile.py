"""``axepta reconcile``: settle unknown outcomes and stale payments against the gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from axepta.cli._common import emit_json, make_http_client, state, stdout
from axepta.cli.config import check_guard, load_settings
from axepta.cli.ledger import open_ledger

if TYPE_CHECKING:  # the client and the books load when the command runs, never for --help
    from axepta.ledger import ReconcileReport

__all__ = ["app"]

app = typer.Typer(help="Settle unknown outcomes and stale payments against the gateway.")


@app.command("reconcile")
def reconcile_cmd(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be done; send nothing."),
    min_age: float = typer.Option(
        60, "--min-age", metavar="SECONDS", min=0, help="Leave operations younger than this alone (default 60)."
    ),
    stale_after: float = typer.Option(
        1500,
        "--stale-after",
        metavar="SECONDS",
        min=0,
        help="Inquire Not-Finished payments unchanged for this long (default 1500: 25 min).",
    ),
) -> None:
    """Settle unknown outcomes and stale payments against the gateway.

    Operations left open are sent again with the same ReqId, or inquired first when they have
    none; operations younger than --min-age are left alone."""
    from axepta.client import AxeptaClient

    settings = load_settings(ctx)
    check_guard(settings)
    credentials = settings.credentials()
    with open_ledger(ctx) as ledger, make_http_client() as http, AxeptaClient(
        credentials,
        base_url=settings.base_url,
        browser_base_url=settings.browser_base_url,
        http_client=http,
        small_amounts_enabled=settings.small_amounts_enabled,
    ) as client:
        report = ledger.reconcile(client, min_age=min_age, stale_after=stale_after, dry_run=dry_run)
    if state(ctx).json:
        emit_json({"ok": True, **report.as_json()})
        return
    _show(report)


def _show(report: ReconcileReport) -> None:
    out = stdout()
    if not report.settled and not report.left:
        out.print("nothing to reconcile", markup=False, highlight=False)
        return
    from rich.table import Table

    for title, items in (("Settled", report.settled), ("Left open", report.left)):
        if not items:
            continue
        t = Table(title=title + (" (dry run)" if report.dry_run else ""), title_justify="left")
        for column in ("TransID", "kind", "ReqId", "action", "outcome", "note"):
            t.add_column(column, overflow="fold")
        for item in items:
            t.add_row(item.trans_id, item.kind, item.req_id or "—", item.action, item.outcome, item.note or "")
        out.print(t)
