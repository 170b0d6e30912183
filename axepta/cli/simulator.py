"""``axepta simulator serve``: the local gateway simulator on 127.0.0.1."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

import typer

from axepta.cli import simulator_ipn
from axepta.cli._common import EXIT_CONFIG, emit_json, fail, state, stdout
from axepta.cli.config import load_credentials
from axepta.credentials import Credentials
from axepta.errors import ConfigurationError
from axepta.simulator import Simulator, SimulatorServer

__all__ = ["app", "parse_merchant"]

app = typer.Typer(help="The local gateway simulator (no account, no network).", no_args_is_help=True)
app.add_typer(simulator_ipn.app, name="ipn")


def parse_merchant(spec: str) -> Credentials:
    """``MID:BLOWFISH:HMAC`` → :class:`Credentials` (the HMAC key may contain ``:``, the
    merchant ID and the Blowfish key may not). Errors never repeat the keys."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise typer.BadParameter("expected MID:BLOWFISH:HMAC (three non-empty parts)", param_hint="--merchant")
    try:
        return Credentials(parts[0], parts[1], parts[2])
    except ConfigurationError as exc:
        raise typer.BadParameter(f"merchant {parts[0]!r}: {exc}", param_hint="--merchant") from None


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command("serve")
def serve(
    ctx: typer.Context,
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one)."),
    merchant: list[str] = typer.Option(
        [], "--merchant", metavar="MID:BLOWFISH:HMAC", help="Another merchant to serve (repeatable)."
    ),
    time_factor: float = typer.Option(
        1.0, "--time-factor", min=1e-9, help="Multiplies notification retry gaps and the ~3 h timeout."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Reproducible ids."),
) -> None:
    """Serve every PayPal endpoint, cbPayPal.aspx (the buyer's approval) and URLNotify posts
    for the merchant whose credentials are in the environment (or --profile), plus --merchant.
    Stops cleanly on Ctrl-C or SIGTERM."""
    merchants = [parse_merchant(spec) for spec in merchant]
    try:
        merchants.insert(0, load_credentials(ctx))
    except ConfigurationError:
        if not merchants:
            raise
    simulator = Simulator(merchants, time_factor=time_factor, seed=seed)
    try:
        server = SimulatorServer(simulator, port=port)
    except OSError as exc:
        simulator.close()
        fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", EXIT_CONFIG)
    # SIGTERM stops cleanly from the moment the URL can be read (a supervisor may stop us at once)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        ids = simulator.merchant_ids
        if state(ctx).json:
            emit_json({"url": server.url, "merchants": ids, "time_factor": time_factor})
        else:
            out = stdout()
            out.print(f"Axepta simulator listening on {server.url}", markup=False, highlight=False)
            out.print(f"  merchants: {', '.join(ids)}", markup=False, highlight=False)
            out.print(
                f"  point the client at it: AXEPTA_BASE_URL={server.url} "
                f"(AxeptaClient(..., base_url={server.url!r}, browser_base_url={server.url!r}))",
                markup=False, highlight=False,
            )
            out.print("  Ctrl-C or SIGTERM stops it", markup=False, highlight=False)
        sys.stdout.flush()  # the URL must reach a pipe before the first request
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        simulator.close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if not state(ctx).json:
        stdout().print("simulator stopped", highlight=False)
