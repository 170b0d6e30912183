"""``axepta simulator ipn send``: a local stand-in for PayPal's IPN simulator (posts an IPN to a
listener and answers the listener's verification postback itself)."""

from __future__ import annotations

import typer

from axepta.cli._common import EXIT_CONFIG, EXIT_DECLINED, emit_json, fail, state, stdout

__all__ = ["app", "send"]

app = typer.Typer(help="A local stand-in for PayPal's IPN simulator (no account, no network).", no_args_is_help=True)


def _extra(values: list[str]) -> dict[str, str]:
    extra: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise typer.BadParameter(f"expected NAME=VALUE, not {item[:60]!r}", param_hint="--field")
        extra[name] = value
    return extra


@app.command("send")
def send(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", metavar="URL", help="The IPN listener (http only to a loopback host)."),
    txn_type: str = typer.Option("web_accept", "--txn-type", help="txn_type (web_accept, send_money, …)."),
    payment_status: str = typer.Option("Completed", "--payment-status", help="payment_status (Completed, Refunded, …)."),
    payer_email: str = typer.Option(..., "--payer-email", help="The buyer's PayPal e-mail address."),
    mc_gross: str = typer.Option(..., "--mc-gross", help="Gross amount in major units (negative for refunds)."),
    mc_currency: str = typer.Option("EUR", "--mc-currency", help="Currency (ISO 4217)."),
    receiver_email: str = typer.Option(..., "--receiver-email", help="The shop's PayPal e-mail address."),
    txn_id: str | None = typer.Option(None, "--txn-id", help="PayPal transaction id (generated when absent)."),
    parent_txn_id: str | None = typer.Option(None, "--parent-txn-id", help="The original txn_id (refunds, reversals)."),
    mc_fee: str | None = typer.Option(None, "--mc-fee", help="PayPal's fee in major units."),
    field: list[str] = typer.Option([], "--field", metavar="NAME=VALUE", help="Another variable (repeatable)."),
    verify_port: int = typer.Option(
        8766, "--verify-port", min=0, max=65535,
        help="Port of the verify URL on 127.0.0.1 (point the listener's --ipn-verify-url at it).",
    ),
    answer: str = typer.Option(
        "verified", "--answer", help="What the postback of this message gets: verified, invalid or error (HTTP 500)."
    ),
    wait: float = typer.Option(10.0, "--wait", min=0, max=600, help="Seconds to wait for the postback."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, max=120, help="Seconds allowed for the POST."),
) -> None:
    """Post one IPN to --to and answer its verification postback at
    http://127.0.0.1:PORT/cgi-bin/webscr (VERIFIED for these exact bytes, INVALID for anything
    else). Exits 0 when the listener answered 200 and verified the message, else 1."""
    from axepta.simulator.ipn_standin import IpnStandIn, build_ipn

    if answer not in ("verified", "invalid", "error"):
        raise typer.BadParameter("expected verified, invalid or error", param_hint="--answer")
    body = build_ipn(
        txn_type=txn_type, payment_status=payment_status, payer_email=payer_email, mc_gross=mc_gross,
        mc_currency=mc_currency, receiver_email=receiver_email, txn_id=txn_id, parent_txn_id=parent_txn_id,
        mc_fee=mc_fee, extra=_extra(field),
    )
    try:
        standin = IpnStandIn(port=verify_port, answer=answer)  # type: ignore[arg-type]
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{verify_port}: {exc.strerror or exc}", EXIT_CONFIG)
    with standin:
        delivery = standin.send(to, body, wait=wait, timeout=timeout)
    if state(ctx).json:
        emit_json({**delivery.as_dict(), "verify_url": standin.verify_url})
    else:
        out = stdout()
        said = f"HTTP {delivery.status_code}" if delivery.status_code is not None else delivery.error
        out.print(f"IPN {delivery.txn_id} ({txn_type} {payment_status} {mc_gross} {mc_currency}) → {to}: {said}",
                  markup=False, highlight=False)
        postbacks = ", ".join(p.answer for p in delivery.postbacks) or f"none within {wait:g} s"
        out.print(f"  verification postback at {standin.verify_url}: {postbacks}", markup=False, highlight=False)
    if not delivery.ok:
        raise typer.Exit(EXIT_DECLINED)
