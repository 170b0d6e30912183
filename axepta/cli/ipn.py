"""``axepta ipn``: read a PayPal IPN message and ask PayPal whether it is genuine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from axepta.cli._common import emit_json, state, stdout, table
from axepta.errors import NotificationError, TransportError
from axepta.ipn import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, IpnMessage, parse_ipn, verify_ipn

app = typer.Typer(help="PayPal IPN: parse a message, verify it with PayPal.", no_args_is_help=True)

_FILE_HELP = (
    "File holding the raw IPN body, exactly as received; stdin when absent. A trailing newline "
    "(added by editors, never part of an IPN) is dropped."
)


def _read(file: Path | None) -> bytes:
    raw = file.read_bytes() if file is not None else typer.get_binary_stream("stdin").read()
    return raw.rstrip(b"\r\n")


def _rows(message: IpnMessage) -> list[tuple[str, Any]]:
    data = message.as_dict()
    rows: list[tuple[str, Any]] = [("environment", data["environment"]), ("charset", data["charset"])]
    for name, value in data.items():
        if name in ("fields", "warnings", "environment", "charset", "mass_payments", "items", "transactions"):
            continue
        if value in (None, [], False):
            continue
        if name == "fraud_management_pending_filters":
            value = "; ".join(value)
        rows.append((name, value))
    for record in message.mass_payments:
        rows.append(
            (
                f"mass payment {record.index}",
                f"{record.masspay_txn_id or '-'} {record.receiver_email or '-'} "
                f"{record.mc_gross if record.mc_gross is not None else '-'} {record.mc_currency or ''} "
                f"{record.status or '-'} unique_id={record.unique_id or '-'}",
            )
        )
    for item in message.items:
        rows.append(
            (
                f"item {item.index}",
                f"{item.item_name or '-'} #{item.item_number or '-'} x{item.quantity or '-'} "
                f"{item.mc_gross if item.mc_gross is not None else '-'}"
                + "".join(
                    f" {label}={value}"
                    for label, value in (("handling", item.mc_handling), ("shipping", item.mc_shipping), ("tax", item.tax))
                    if value is not None
                ),
            )
        )
    for tx in message.transactions:
        rows.append(
            (
                f"transaction {tx.index}",
                f"{tx.id or '-'} {tx.receiver or '-'} {tx.amount if tx.amount is not None else '-'} "
                f"{tx.currency or ''} {tx.status or '-'}",
            )
        )
    for warning in message.warnings:
        rows.append(("warning", warning))
    return rows


@app.command("parse")
def parse_cmd(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False, readable=True, help=_FILE_HELP),
    content_type: str | None = typer.Option(
        None, "--content-type", help="The request's Content-Type header (its charset is used when the message names none)."
    ),
) -> None:
    """Decode an IPN message with its own charset and show its variables, typed."""
    message = parse_ipn(_read(file), content_type)
    if state(ctx).json:
        emit_json(message.as_dict())
        return
    stdout().print(table(f"IPN {message.txn_type or '(no txn_type)'}", _rows(message)))


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, exists=True, dir_okay=False, readable=True, help=_FILE_HELP),
    sandbox: bool | None = typer.Option(
        None, "--sandbox/--live", help="Endpoint to ask (default: sandbox when the message says test_ipn=1)."
    ),
    verify_url: str | None = typer.Option(None, "--verify-url", help="Another endpoint (https; http for loopback only)."),
    timeout: float = typer.Option(DEFAULT_TIMEOUT, "--timeout", min=0.01, help="Seconds for the whole postback."),
    connect_timeout: float = typer.Option(DEFAULT_CONNECT_TIMEOUT, "--connect-timeout", min=0.01, help="Seconds to connect."),
) -> None:
    """Post the message back to PayPal (cmd=_notify-validate). Exit 0 verified, 1 invalid,
    4 unverified (PayPal unreachable, timeout, or an unexpected answer: keep the message and
    verify it again later)."""
    raw = _read(file)
    result = verify_ipn(raw, sandbox=sandbox, verify_url=verify_url, timeout=timeout, connect_timeout=connect_timeout)
    if result.outcome == "invalid":
        raise NotificationError(f"PayPal answered INVALID ({result.url}): do not process this message", reason="invalid")
    if result.outcome == "unverified":
        raise TransportError(
            f"the IPN message is unverified ({result.detail}; {result.url}): outcome unknown, keep "
            "the message and verify it again later",
            operation="ipn_verify",
            sent=result.status_code is not None,
        )
    if state(ctx).json:
        emit_json({"ok": True, **result.as_dict()})
    else:
        stdout().print(table("IPN verification", list(result.as_dict().items())))
