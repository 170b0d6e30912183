"""``axepta serve``: the receiver over the books (uvicorn), on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
import sys

import typer

from axepta.cli._common import EXIT_CONFIG, emit_json, fail, state, stdout
from axepta.cli.config import load_credentials
from axepta.fields import is_loopback_host

__all__ = ["app", "serve"]

app = typer.Typer(help="The receiver over the books.", no_args_is_help=False)


def database_url(ctx: typer.Context) -> str | None:
    """The books' URL: the global ``--database-url``, else ``AXEPTA_DATABASE_URL`` (else the
    ledger's default, ``sqlite:///axepta.db``)."""
    return getattr(state(ctx), "database_url", None) or os.environ.get("AXEPTA_DATABASE_URL") or None


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (127.0.0.1 unless told otherwise)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (uvicorn)."),
    paypal_receiver: list[str] = typer.Option(
        [], "--paypal-receiver", metavar="EMAIL",
        help="The shop's own PayPal address for the IPN receiver check (repeatable; or AXEPTA_PAYPAL_RECEIVERS). "
        "Without one, /paypal/ipn is off.",
    ),
    ipn_verify_url: str | None = typer.Option(
        None, "--ipn-verify-url", metavar="URL", envvar="AXEPTA_IPN_VERIFY_URL",
        help="Where IPN postbacks go (tests, the IPN stand-in, the sandbox).",
    ),
    ipn_environment: str | None = typer.Option(
        None, "--ipn-environment", help="Reject IPN of the other environment before verifying: test or production."
    ),
    events: str | None = typer.Option(
        None, "--events", metavar="MODULE:FUNCTION", envvar="AXEPTA_SERVE_EVENTS",
        help="Called with the ledger to register event handlers (Ledger.on); events are then delivered in the background.",
    ),
    interval: float = typer.Option(1.0, "--interval", min=0.01, max=3600, help="Seconds between background rounds."),
    allow_money_actions: bool = typer.Option(
        False, "--allow-money-actions", help="Enable capture/refund/reverse on the admin pages."
    ),
) -> None:
    """Receive the platform's notifications (/axepta/notify) and PayPal's IPN (/paypal/ipn) into
    the books, with /healthz; stored IPN are verified and events delivered in the background."""
    from axepta.ledger import Ledger
    from axepta.server.app import load_handlers, receivers_from_env

    credentials = load_credentials(ctx)
    receivers = [r.strip() for r in paypal_receiver if r.strip()] or receivers_from_env()
    if ipn_environment not in (None, "test", "production"):
        raise typer.BadParameter("expected test or production", param_hint="--ipn-environment")
    if ipn_verify_url is not None:
        from axepta.ipn import verification_url

        verification_url(b"", verify_url=ipn_verify_url)
    if events:
        load_handlers(events)  # fail now, not in every worker
    url = database_url(ctx)
    with Ledger(url) as ledger:
        ledger.messages(limit=1)  # the books answer at this code's schema, or ConfigurationError naming migrate
        shown_url = ledger.redacted_url
    # the workers read their configuration from the environment (never from argv: keys stay out
    # of process lists)
    env = {
        "AXEPTA_MERCHANT_ID": credentials.merchant_id,
        "AXEPTA_BLOWFISH_KEY": credentials.blowfish_key.get_secret_value(),
        "AXEPTA_HMAC_KEY": credentials.hmac_key.get_secret_value(),
        "AXEPTA_CHARSET": credentials.charset,
        "AXEPTA_PAYPAL_RECEIVERS": ",".join(receivers),
        "AXEPTA_IPN_VERIFY_URL": ipn_verify_url or "",
        "AXEPTA_IPN_ENVIRONMENT": ipn_environment or "",
        "AXEPTA_SERVE_EVENTS": events or "",
        "AXEPTA_SERVE_INTERVAL": repr(interval),
        "AXEPTA_ALLOW_MONEY_ACTIONS": "1" if allow_money_actions else "",
    }
    if url:
        env["AXEPTA_DATABASE_URL"] = url
    os.environ.update(env)
    base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    routes = ["/axepta/notify", *(["/paypal/ipn"] if receivers else []), "/healthz",
              *(["/admin/"] if os.environ.get("AXEPTA_ADMIN_TOKEN") else [])]  # fmt: skip
    if state(ctx).json:
        emit_json({"url": base + "/", "routes": routes, "workers": workers, "database": shown_url,
                   "paypal_receivers": receivers, "merchant_id": credentials.merchant_id})
    else:
        out = stdout()
        out.print(f"axepta receiver on {base}/ ({workers} worker{'s' if workers > 1 else ''}), books {shown_url}",
                  markup=False, highlight=False)
        out.print(f"  routes: {', '.join(routes)}", markup=False, highlight=False)
        if not receivers:
            out.print("  IPN off: no --paypal-receiver", markup=False, highlight=False)
        if not is_loopback_host(host):
            out.print(f"  warning: listening on {host}, reachable from other machines", markup=False, highlight=False)
        out.print("  Ctrl-C or SIGTERM stops it", markup=False, highlight=False)
    sys.stdout.flush()
    import uvicorn

    try:
        uvicorn.run(
            "axepta.server.app:app_from_env", factory=True, host=host, port=port, workers=workers,
            access_log=False, log_level="warning", lifespan="on", timeout_graceful_shutdown=10,
        )
    except (OSError, SystemExit) as exc:
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            return
        fail(f"the receiver could not run on {host}:{port}: {exc}", EXIT_CONFIG)
