"""The ``axepta`` command line (Typer). Each command group lives in its own module, imported only
when one of its commands runs; errors become exit codes in one place
(:class:`axepta.cli._common.AxeptaGroup`).

Start-up is part of the interface: ``axepta --version`` and ``axepta --help`` import no client,
simulator, batch, IPN or ledger module (tests/test_cli/test_startup.py checks ``sys.modules``;
benchmarks/bench_startup.py measures it). So this module imports nothing but Typer and
:mod:`axepta.cli._common`, and every command is registered in ``COMMANDS`` below.

How to add a command or a group of commands
-------------------------------------------
1. Write ``axepta/cli/<yours>.py`` defining ``app = typer.Typer(help="One line.", no_args_is_help=True)``
   and its commands (``@app.command("name")``). Heavy imports (client, models, ledger,
   SQLAlchemy, uvicorn …) may stay at the top of that module: it is imported only when its
   command runs (``--help`` of the command itself included).
2. Add one line to ``COMMANDS``:

   * a group, ``axepta ledger payments`` …::

         Lazy("ledger", "axepta.cli.ledger", "The books: payments, messages, events.")

   * a top-level command, ``axepta inquire`` (the command named ``inquire`` of that module's
     ``app``)::

         Lazy("inquire", "axepta.cli.inquire", "Ask the gateway for a payment's status.", panel=PAYMENTS, command=True)

   ``summary`` is what ``axepta --help`` shows: the first line of the command's docstring (or
   the group's ``help``), word for word; test_startup.py compares them. ``panel`` groups the
   line under a heading of ``--help`` (``PAYMENTS`` for the payment commands).
3. A subcommand inside an existing group (``simulator ipn send``) goes into that group's module
   (``axepta/cli/simulator.py`` adds ``app.add_typer(ipn_app, name="ipn")``): nothing here.
4. Never import a command module from here or from :mod:`axepta.cli._common`.
"""

from __future__ import annotations

import typer

from axepta import __version__
from axepta.cli._common import AxeptaGroup, Lazy, State

__all__ = ["COMMANDS", "app", "main"]

PAYMENTS = "Payments"

#: Every command of ``axepta``, in ``--help`` order (see the module docstring).
COMMANDS: tuple[Lazy, ...] = (
    Lazy("demo", "axepta.cli.demo", "Run the whole PayPal flow against the embedded simulator (no account, no network).", command=True),
    Lazy("codes", "axepta.cli.codes", "Explain gateway response codes."),
    Lazy("crypto", "axepta.cli.crypto", "Encrypt, decrypt and sign with the configured keys (debugging)."),
    Lazy("config", "axepta.cli.config_cmd", "Show and check the configuration (credentials, environment, base URL)."),
    Lazy("batch", "axepta.cli.batch", "Batch files: build request files, read request and response files."),
    Lazy("notify", "axepta.cli.notify", "Decode and verify the platform's notifications."),
    Lazy("ipn", "axepta.cli.ipn", "PayPal IPN: parse a message, verify it with PayPal."),
    Lazy("simulator", "axepta.cli.simulator", "The local gateway simulator (no account, no network)."),
    Lazy("serve", "axepta.cli.serve", "Receive the platform's notifications (/axepta/notify) and PayPal's IPN (/paypal/ipn) into the books, with /healthz; stored IPN are verified and events delivered in the background.", command=True),
    Lazy("accounts", "axepta.cli.accounts", "Customer accounts topped up from PayPal: link, balance, unmatched, assign."),
    Lazy("ledger", "axepta.cli.ledger", "The books: payments, operations and transitions (SQLite or PostgreSQL)."),
    Lazy("order", "axepta.cli.payments", "Create a PayPal order (ExternalServices/paypalorders.aspx).", panel=PAYMENTS, command=True),
    Lazy("complete", "axepta.cli.payments", "Complete a shortcut order after the buyer's approval (paypalComplete.aspx).", panel=PAYMENTS, command=True),
    Lazy("authorize", "axepta.cli.payments", "Authorise an approved Order payment (Authorize.aspx, TxType=Auth).", panel=PAYMENTS, command=True),
    Lazy("capture", "axepta.cli.payments", "Capture an authorised payment, fully or partly (capture.aspx).", panel=PAYMENTS, command=True),
    Lazy("credit", "axepta.cli.payments", "Refund a captured payment, fully or partly (credit.aspx, with reference).", panel=PAYMENTS, command=True),
    Lazy("refund", "axepta.cli.payments", "Alias of credit: refund a captured payment (credit.aspx).", panel=PAYMENTS, command=True),
    Lazy("credit-ex", "axepta.cli.payments", "Pay a PayPal account without a previous payment (creditex.aspx).", panel=PAYMENTS, command=True),
    Lazy("reverse", "axepta.cli.payments", "Cancel what is authorised and not captured yet (reverse.aspx).", panel=PAYMENTS, command=True),
    Lazy("reftrans", "axepta.cli.payments", "Charge a billing agreement (paypalreftrans.aspx).", panel=PAYMENTS, command=True),
    Lazy("inquire", "axepta.cli.inquire", "Ask the gateway for a payment's status and amounts (inquire.aspx, or inquire24.aspx by TransID).", panel=PAYMENTS, command=True),
    Lazy("reconcile", "axepta.cli.reconcile", "Settle unknown outcomes and stale payments against the gateway.", panel=PAYMENTS, command=True),
)


class _Root(AxeptaGroup):
    lazy = COMMANDS


app = typer.Typer(
    name="axepta",
    cls=_Root,
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
    base_url: str | None = typer.Option(None, "--base-url", metavar="URL", envvar="AXEPTA_BASE_URL", help="Gateway base URL."),
    json_output: bool = typer.Option(False, "--json", help="Print exactly one JSON object on stdout."),
    profile: str | None = typer.Option(None, "--profile", metavar="NAME", envvar="AXEPTA_PROFILE", help="Profile of the config file."),
    database_url: str | None = typer.Option(None, "--database-url", metavar="URL", envvar="AXEPTA_DATABASE_URL", help="The books (default sqlite:///axepta.db)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """PayPal through BNP Paribas' Axepta gateway."""
    ctx.obj = State(base_url=base_url, json=json_output, profile=profile, database_url=database_url)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="axepta")
