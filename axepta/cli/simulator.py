"""``axepta simulator serve``: the local gateway simulator on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import sys
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

import typer

from axepta.cli import simulator_ipn
from axepta.cli._common import EXIT_CONFIG, EXIT_USAGE, emit_json, fail, state, stderr, stdout
from axepta.cli.config import load_credentials
from axepta.credentials import Credentials
from axepta.errors import ConfigurationError
from axepta.simulator import Simulator, SimulatorServer

__all__ = ["MERCHANTS_ENV", "app", "load_merchants_file", "merchants_from_env", "parse_merchant"]

#: extra merchants, one ``MID:BLOWFISH:HMAC`` per line (keys never on the command line)
MERCHANTS_ENV = "AXEPTA_SIMULATOR_MERCHANTS"

app = typer.Typer(help="The local gateway simulator (no account, no network).", no_args_is_help=True)
app.add_typer(simulator_ipn.app, name="ipn")

_ARGV_KEYS = (
    "--merchant would put the Blowfish and HMAC keys on the command line, where every user of the "
    "machine sees them (ps, /proc) and the shell history keeps them: put extra merchants in a file "
    f"(--merchants-file PATH) or in the environment ({MERCHANTS_ENV}, one MID:BLOWFISH:HMAC per line)"
)


def parse_merchant(spec: str, where: str = MERCHANTS_ENV) -> Credentials:
    """``MID:BLOWFISH:HMAC`` → :class:`Credentials` (the HMAC key may contain ``:``, the
    merchant ID and the Blowfish key may not). Errors name ``where``, never the keys."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not all(parts):
        raise ConfigurationError(f"{where}: expected MID:BLOWFISH:HMAC (three non-empty parts)")
    try:
        return Credentials(parts[0], parts[1], parts[2])
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: merchant {parts[0]!r}: {exc}") from None


def merchants_from_env(environ: Mapping[str, str]) -> list[Credentials]:
    """The merchants of ``AXEPTA_SIMULATOR_MERCHANTS``: one ``MID:BLOWFISH:HMAC`` per line,
    blank lines and lines starting with ``#`` ignored."""
    merchants = []
    for number, line in enumerate(environ.get(MERCHANTS_ENV, "").splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            merchants.append(parse_merchant(line, f"{MERCHANTS_ENV} line {number}"))
    return merchants


def load_merchants_file(path: Path) -> list[Credentials]:
    """The merchants of a TOML file: ``[[merchant]]`` tables with ``merchant_id``,
    ``blowfish_key``, ``hmac_key`` and an optional ``charset``. Errors name the file, the entry
    and the field, never a key's value."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the merchants file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"the merchants file {path} is not valid TOML: {exc}") from None
    entries = data.get("merchant")
    unknown = sorted(set(data) - {"merchant"})
    if unknown or not isinstance(entries, list) or not entries:
        raise ConfigurationError(
            f"the merchants file {path} must hold [[merchant]] tables (merchant_id, blowfish_key, "
            "hmac_key, optional charset)" + (f"; unknown top-level keys: {', '.join(unknown)}" if unknown else "")
        )
    merchants = []
    for number, entry in enumerate(entries, 1):
        where = f"{path}: merchant {number}"
        if not isinstance(entry, dict):
            raise ConfigurationError(f"{where}: must be a table")
        extra = sorted(set(entry) - {"merchant_id", "blowfish_key", "hmac_key", "charset"})
        if extra:
            raise ConfigurationError(f"{where}: unknown keys {', '.join(extra)}")
        values = {}
        for name in ("merchant_id", "blowfish_key", "hmac_key", "charset"):
            value = entry.get(name, "iso-8859-1" if name == "charset" else None)
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"{where}: {name} must be a non-empty string")
            values[name] = value
        try:
            merchants.append(
                Credentials(values["merchant_id"], values["blowfish_key"], values["hmac_key"], values["charset"])
            )
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
    if path.stat().st_mode & 0o077:
        stderr().print(
            f"warning: the merchants file {path} holds keys and is readable by other users: chmod 600 {path}",
            markup=False, emoji=False, highlight=False,
        )
    return merchants


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command("serve")
def serve(
    ctx: typer.Context,
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one)."),
    merchants_file: Path | None = typer.Option(
        None, "--merchants-file", metavar="PATH",
        help="More merchants: a TOML file of [[merchant]] tables (merchant_id, blowfish_key, hmac_key, charset).",
    ),
    merchant: list[str] = typer.Option([], "--merchant", hidden=True, help="Refused: keys do not go in argv."),
    time_factor: float = typer.Option(
        1.0, "--time-factor", min=1e-9, help="Multiplies notification retry gaps and the ~3 h timeout."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Reproducible ids."),
    strict_merchant_id: bool = typer.Option(
        False, "--strict-merchant-id",
        help="Refuse a Data without MerchantID (20100003), as 004 reads; the platform accepts it.",
    ),
) -> None:
    """Serve every PayPal endpoint, cbPayPal.aspx (the buyer's approval) and URLNotify posts
    for the merchant whose credentials are in the environment (or --profile), plus those of
    --merchants-file and AXEPTA_SIMULATOR_MERCHANTS (one MID:BLOWFISH:HMAC per line): keys
    never go on the command line. Stops cleanly on Ctrl-C or SIGTERM."""
    if merchant:
        # the keys were already in argv: say why this is refused, never repeat them
        stderr().print(f"error: {_ARGV_KEYS}", markup=False, emoji=False, highlight=False)
        raise typer.Exit(EXIT_USAGE)
    merchants = merchants_from_env(os.environ)
    if merchants_file is not None:
        merchants.extend(load_merchants_file(merchants_file))
    try:
        merchants.insert(0, load_credentials(ctx))
    except ConfigurationError:
        if not merchants:
            raise
    simulator = Simulator(merchants, time_factor=time_factor, seed=seed, require_inner_merchant_id=strict_merchant_id)
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
