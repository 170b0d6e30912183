"""``axepta crypto``: the crypto core from the terminal, for debugging. Keys come from the
environment (or ``--profile``) and are never printed."""

from __future__ import annotations

import sys

import typer

from axepta.cli._common import emit_json, state, stdout, table
from axepta.cli.config import load_credentials
from axepta.crypto import mac_message, parse_params, sign

app = typer.Typer(help="Encrypt, decrypt and sign with the configured keys (debugging).", no_args_is_help=True)


def _read(value: str | None) -> str:
    if value is not None:
        return value
    return sys.stdin.read().rstrip("\r\n")


@app.command("encrypt")
def encrypt_cmd(
    ctx: typer.Context,
    plaintext: str | None = typer.Argument(None, help="Key=Value&… plaintext; stdin when absent."),
) -> None:
    """Encrypt a plaintext into Len and Data with the configured Blowfish key."""
    creds = load_credentials(ctx)
    enc = creds.codec.encrypt(_read(plaintext))
    if state(ctx).json:
        emit_json({"len": enc.length, "data": enc.data})
    else:
        stdout().print(f"Len={enc.length}&Data={enc.data}", highlight=False, markup=False)


@app.command("decrypt")
def decrypt_cmd(
    ctx: typer.Context,
    data: str | None = typer.Argument(None, help="The hex Data; stdin when absent."),
    length: int | None = typer.Option(None, "--len", help="The Len value, if known."),
) -> None:
    """Decrypt Data with the configured Blowfish key and show its fields."""
    creds = load_credentials(ctx)
    text = creds.codec.decrypt(_read(data), length)
    params = parse_params(text)
    if state(ctx).json:
        emit_json({"plaintext": text, "fields": params.to_dict()})
    else:
        stdout().print(table("Decrypted fields", list(params.to_dict().items())))


@app.command("mac")
def mac_cmd(
    ctx: typer.Context,
    fields: list[str] = typer.Argument(..., help="The fields in order, e.g. PAYID TRANSID MID AMOUNT CUR (use '' for empty)."),
) -> None:
    """HMAC-SHA256 of the fields joined with '*' under the configured HMAC key."""
    creds = load_credentials(ctx)
    message = mac_message(*fields)
    mac = sign(creds.hmac_key_bytes(), *fields)
    if state(ctx).json:
        emit_json({"message": message, "mac": mac})
    else:
        stdout().print(f"{message}\n{mac}", highlight=False, markup=False)
