"""The ``axepta`` command line (Typer). Each command group lives in its own module; errors
become exit codes in one place (:class:`axepta.cli._common.AxeptaGroup`)."""

from __future__ import annotations

import typer

from axepta import __version__
from axepta.cli import (
    accounts,
    batch,
    codes,
    config_cmd,
    crypto,
    demo,
    inquire,
    ipn,
    ledger,
    notify,
    payments,
    reconcile,
    serve,
    simulator,
)
from axepta.cli._common import AxeptaGroup, State

__all__ = ["app", "main"]

app = typer.Typer(
    name="axepta",
    cls=AxeptaGroup,
    help="PayPal through BNP Paribas' Axepta gateway: payments, notifications, batch files, simulator.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"axepta {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    base_url: str | None = typer.Option(None, "--base-url", envvar="AXEPTA_BASE_URL", help="Gateway base URL."),
    json_output: bool = typer.Option(False, "--json", help="Print exactly one JSON object on stdout."),
    profile: str | None = typer.Option(None, "--profile", envvar="AXEPTA_PROFILE", help="Profile of the config file."),
    database_url: str | None = typer.Option(
        None, "--database-url", envvar="AXEPTA_DATABASE_URL", help="The books (SQLAlchemy URL); default sqlite:///axepta.db."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """PayPal through BNP Paribas' Axepta gateway."""
    ctx.obj = State(base_url=base_url, json=json_output, profile=profile, database_url=database_url)


app.add_typer(codes.app, name="codes")
app.add_typer(crypto.app, name="crypto")
app.add_typer(config_cmd.app, name="config")
app.add_typer(batch.app, name="batch")
app.add_typer(notify.app, name="notify")
app.add_typer(ipn.app, name="ipn")
app.add_typer(payments.app)  # order, complete, authorize, capture, credit/refund, credit-ex, reverse, reftrans
app.add_typer(inquire.app)  # inquire: status inquiry (read-only)
app.add_typer(simulator.app, name="simulator")
app.command("demo")(demo.demo)
app.add_typer(serve.app)
app.add_typer(accounts.app, name="accounts")
app.add_typer(ledger.app, name="ledger")  # migrate, payments, show, export, prune, messages, events, replay
app.add_typer(reconcile.app)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="axepta")
