"""``axepta inquire``: ask the gateway for a payment's status (PROTOCOL.md §4.15).

``--pay-id`` given: ``inquire.aspx``; ``--trans-id`` alone: ``inquire24.aspx`` (when the PayID is
unknown). Read-only: no ReqId, nothing to confirm, and "not found" or "unavailable" are answers
(exit 0), not errors. With ``--json``: exactly one object, ``{"ok": true, "found", "available",
"state", "amount_authorized", "amount_captured", "amount_refunded", "currency", "last_status", …}``
(amounts in minor units). The client and the settings are imported when the command runs, never
for ``axepta --help``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

import typer

from axepta.cli import _common
from axepta.cli._common import emit_json, state, stderr, stdout

if TYPE_CHECKING:
    from axepta.cli.config import Settings
    from axepta.inquiry import PreparedInquiry
    from axepta.models.inquiry import Inquiry

__all__ = ["app", "inquire_cmd"]

app = typer.Typer()

_LABELS = {"inquire": "inquire (by PayID)", "inquire24": "inquire24 (by TransID)"}
_STATES = {
    "none": "none: nothing authorised, captured or refunded",
    "authorized": "authorized",
    "captured": "captured",
    "refunded": "refunded",
}


def _money(minor: int | None, currency: str | None) -> str:
    if minor is None:
        return "-"
    if not currency:
        return f"{minor} (minor units)"
    from axepta.amounts import from_minor_units
    from axepta.errors import AxeptaError

    try:
        return f"{from_minor_units(minor, currency)} {currency} ({minor})"
    except (AxeptaError, ValueError):
        return f"{minor} {currency} (minor units)"


def _json(settings: Settings, prepared: PreparedInquiry, result: Inquiry) -> dict[str, Any]:
    return {
        "ok": True,
        **result.summary(),
        "environment": settings.environment,
        "merchant_id": settings.merchant_id,
        "url": prepared.url,
    }


def _show(prepared: PreparedInquiry, result: Inquiry) -> None:
    out = stdout()
    label = _LABELS[prepared.operation]
    if result.found:
        state_text = _STATES.get(result.state or "", result.state or "-")
        if result.state == "captured":
            state_text += " in full" if result.fully_captured else " (partly)"
        elif result.state == "refunded":
            state_text += " in full" if result.fully_refunded else " (partly)"
        rows: list[tuple[str, Any]] = [
            ("state", state_text),
            ("authorized", _money(result.amount_authorized, result.currency)),
            ("captured", _money(result.amount_captured, result.currency)),
            ("refunded", _money(result.amount_refunded, result.currency)),
            ("last status", result.last_status or "-"),
            ("PayID", result.pay_id),
            ("TransID", result.trans_id),
            ("XID", result.xid),
        ]
        if result.missing_amounts:
            rows.append(("absent (counted as 0)", ", ".join(result.missing_amounts)))
        out.print(_common.table(f"{label}: found", rows))
        if (result.last_status or "").upper() == "FAILED":
            if result.last_step_failed:
                out.print("LastStatus FAILED with nothing authorised: evidence that the payment failed (D-INQ-3).", markup=False, highlight=False)
            else:
                out.print(
                    "LastStatus names the last step only (a refused follow-up such as a credit); "
                    "the amounts above are the payment's state (D-INQ-3).",
                    markup=False, highlight=False,
                )
        return
    rows = [
        ("PayID", prepared.pay_id or result.pay_id or "-"),
        ("TransID", prepared.trans_id),
        ("Code", result.code),
        ("Status", result.status),
        ("Description", result.description),
    ]
    if result.available:
        out.print(_common.table(f"{label}: not found", rows))
        out.print(
            "The platform does not know this payment (D-INQ-4). This alone cancels nothing.",
            markup=False, highlight=False,
        )
    else:
        out.print(_common.table(f"{label}: unavailable", rows))
        out.print(
            "Inquiries may not be available on this test merchant (D-INQ-7): nothing can be "
            "concluded about the payment.",
            markup=False, highlight=False,
        )


def _dry_run(ctx: typer.Context, settings: Settings, prepared: PreparedInquiry) -> None:
    shown = prepared.redacted()
    if state(ctx).json:
        emit_json({"ok": True, "dry_run": True, "sent": False, "environment": settings.environment, "merchant_id": settings.merchant_id, **shown})
        return
    out = stdout()
    head = [
        ("operation", _LABELS[prepared.operation]),
        ("environment", settings.environment),
        ("POST", shown["url"]),
        ("ReqId", "(none: an inquiry moves no money)"),
    ]
    out.print(_common.table("Dry run: nothing sent", head))
    out.print(_common.table("Fields inside Data (encrypted)", list(shown["fields"].items())))
    out.print(_common.table("Form posted", list(shown["form"].items())))


@app.command("inquire")
def inquire_cmd(
    ctx: typer.Context,
    trans_id: Annotated[str, typer.Option("--trans-id", help="TransID: the payment's original TransID (ans..64).", show_default=False)],
    pay_id: Annotated[
        str | None,
        typer.Option("--pay-id", metavar="PAYID", help="PayID (32 letters and digits): ask inquire.aspx. Without it, inquire24.aspx looks the TransID up.", show_default=False),
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option("--currency", help="Expected currency: a reply in another one is refused.", show_default=False),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the URL and the fields that would be sent (MAC and Data redacted); send nothing.")] = False,
    timeout: Annotated[
        str | None,
        typer.Option("--timeout", metavar="SECONDS", help="Overall deadline in seconds, retries included (default 45, PROTOCOL.md §3.3). An inquiry changes nothing: asking again is safe.", show_default=False),
    ] = None,
) -> None:
    """Ask the gateway for a payment's status and amounts (inquire.aspx, or inquire24.aspx by TransID).

    Prints the authorised, captured and refunded amounts and the state they imply. Nothing
    moves, so nothing is confirmed; "not found" and "unavailable" (a test merchant that does not
    serve inquiries) are answers and exit 0."""
    from axepta.cli.config import check_guard, load_settings
    from axepta.cli.payments import timeout_seconds
    from axepta.client import AxeptaClient

    deadline = timeout_seconds(timeout)
    extra: dict[str, Any] = {} if deadline is None else {"timeout": deadline}
    settings = load_settings(ctx)
    credentials = settings.credentials()
    check_guard(settings)
    logger = logging.getLogger("axepta")
    quiet = logging.NullHandler()  # the client's log line would repeat what is printed here
    logger.addHandler(quiet)
    try:
        with _common.make_http_client() as http, AxeptaClient(
            credentials, base_url=settings.base_url, browser_base_url=settings.browser_base_url, http_client=http, **extra
        ) as client:
            prepared = client.prepare_inquiry(trans_id=trans_id, pay_id=pay_id)
            if dry_run:
                _dry_run(ctx, settings, prepared)
                return
            stderr().print(f"sending {_LABELS[prepared.operation]} to {prepared.url}", markup=False, highlight=False)
            result = client.send_inquiry(prepared, currency=currency)
    finally:
        logger.removeHandler(quiet)
    if state(ctx).json:
        emit_json(_json(settings, prepared, result))
    else:
        _show(prepared, result)
