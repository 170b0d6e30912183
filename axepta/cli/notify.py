"""``axepta notify``: decode and verify a notification of the platform (``URLNotify``,
``URLSuccess``, ``URLFailure``) with the configured keys. Keys, ``Data`` and ``MAC`` are never
printed."""

from __future__ import annotations

from typing import Any

import typer

from axepta.cli._common import (
    EXIT_DECLINED,
    emit_json,
    error_payload,
    quiet_library_log,
    state,
    stdout,
    table,
)
from axepta.cli.config import load_credentials
from axepta.codes import explain
from axepta.credentials import Credentials
from axepta.errors import BlowfishKeyError, CryptoError, GatewayError, NotificationError
from axepta.notify import Notification, decode_notification

app = typer.Typer(help="Decode and verify the platform's notifications.", no_args_is_help=True)

_SUMMARY = (
    "state", "succeeded", "pay_id", "xid", "trans_id", "status", "code", "description", "code_ext",
    "ref_nr", "user_data",
)


def _explanation(code: str | None) -> str | None:
    try:
        return explain(code or "").summary
    except ValueError:
        return None


def _not_successful(note: Notification) -> GatewayError:
    code = note.code or "-"
    explanation = _explanation(note.code)
    what = "expired (Status Timeout)" if note.expired else f"{note.state}"
    return GatewayError(
        f"the notification is not a success: {what}, Code {code}"
        f"{f' ({explanation})' if explanation else ''}"
        f"{f', Status {note.status}' if note.status else ''}"
        f"; PayID={note.pay_id or '-'}, TransID={note.trans_id or '-'}",
        code=code,
        status=note.status,
        description=note.description,
        pay_id=note.pay_id,
        trans_id=note.trans_id,
        explanation=explanation,
        code_ext=note.code_ext,
    )


def _rows(note: Notification) -> list[tuple[str, Any]]:
    data = note.as_dict()
    rows: list[tuple[str, Any]] = [(name, data[name]) for name in _SUMMARY if data[name] is not None]
    explanation = _explanation(note.code)
    if explanation:
        rows.insert(next(i for i, row in enumerate(rows) if row[0] == "code") + 1, ("code meaning", explanation))
    for name in Notification.FIELDS:
        if name in _SUMMARY or name in ("raw", "clear", "merchant_id", "encrypted"):
            continue
        value = data[name]
        if value in (None, [], ()):
            continue
        if name == "order_status":
            value = "; ".join(f"{s['index']}: {s['status']} {s['id'] or ''}".strip() for s in value)
        rows.append((name, value))
    if not note.encrypted:
        rows.append(("encrypted", "no (accepted in clear with --allow-clear)"))
    if note.clear:
        rows.append(("clear fields (not authenticated)", ", ".join(note.clear)))
    return rows


def _noise_with_this_key(payload: bytes | str, credentials: Credentials) -> bool:
    """Whether the notification's ``Data`` decrypts, with the configured key, into noise (not
    ``Key=Value&…`` at all): what a wrong Blowfish key gives."""
    from urllib.parse import parse_qsl

    from axepta.protocol import _is_noise

    text = payload.decode("iso-8859-1") if isinstance(payload, bytes) else payload
    fields = {key.lower(): value for key, value in parse_qsl(text.strip(), keep_blank_values=True)}
    data = fields.get("data")
    if not data:
        return False
    try:
        plaintext = credentials.codec.decrypt(data.strip(), None)
    except (CryptoError, ValueError):
        return False
    return _is_noise(plaintext.rstrip("\0 ")) or not plaintext.rstrip("\0").isprintable()


@app.command("decode")
def decode_cmd(
    ctx: typer.Context,
    body: str | None = typer.Argument(
        None, help="The form body or query string (MerchantID=…&Len=…&Data=…); stdin when absent."
    ),
    allow_clear: bool = typer.Option(
        False, "--allow-clear", help="Accept a result sent in clear (no Data) when its MAC verifies."
    ),
) -> None:
    """Decrypt a notification and verify its merchant ID and MAC. Exit 1 with the reason when
    it is rejected or not a success (any Code but 00000000, or an expired Timeout)."""
    credentials = load_credentials(ctx)
    payload: bytes | str = body if body is not None else typer.get_binary_stream("stdin").read()
    with quiet_library_log():
        try:
            note = decode_notification(payload, credentials, allow_clear=allow_clear)
        except NotificationError as exc:
            if getattr(exc, "reason", None) == "decrypt" and _noise_with_this_key(payload, credentials):
                raise BlowfishKeyError(
                    "the notification's Data does not decrypt to a gateway message with the configured "
                    "Blowfish key: the key is most likely wrong (or the notification was forged or "
                    "tampered with); nothing in it is trusted"
                ) from None
            raise
    failure = None if note.succeeded else _not_successful(note)
    if state(ctx).json:
        out: dict[str, Any] = {"ok": failure is None, "notification": note.as_dict()}
        if failure is not None:
            out["exit_code"] = EXIT_DECLINED
            out["error"] = error_payload(failure)
        emit_json(out)
        if failure is not None:
            raise typer.Exit(EXIT_DECLINED)
        return
    stdout().print(table("Notification (MAC verified)", _rows(note)))
    if failure is not None:
        raise failure
