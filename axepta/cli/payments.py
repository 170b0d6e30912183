"""The payment commands: ``order``, ``complete``, ``authorize``, ``capture``, ``credit`` (alias
``refund``), ``credit-ex``, ``reverse`` and ``reftrans``.

Every command builds the operation's request model from options named after the wire fields
(``--trans-id`` for ``TransID`` …), checks the settings (PROTOCOL.md §3.5 guard), prepares the
request with :meth:`axepta.AxeptaClient.prepare` and then either shows it (``--dry-run``: URL and
clear fields, ``MAC`` and ``Data`` redacted, nothing sent) or asks for confirmation and sends it.

* Confirmation: money-moving operations, and anything sent to a production merchant, ask on a
  terminal unless ``--yes``; without a terminal and without ``--yes`` they refuse (exit 2)
  instead of waiting for an answer that never comes.
* ReqId: the ReqId sent (``--req-id`` or generated once) is printed before sending, in the
  result and in ``--json``; a network failure prints the exact command that retries with it.
* Output: a table for people, exactly one JSON object with ``--json``; errors go to stderr and
  become exit codes in :func:`axepta.cli._common.exit_code_for`.
"""

from __future__ import annotations

import json
import shlex
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from enum import Enum, StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from axepta.amounts import check_currency, from_minor_units, parse_decimal, to_minor_units
from axepta.cli import _common
from axepta.cli._common import NotConfirmed, UsageFailure, emit_json, state, stderr, stdout
from axepta.errors import (
    AxeptaError,
    CryptoError,
    InvalidRequestError,
    ProtocolError,
    SignatureError,
    TransportError,
)

if TYPE_CHECKING:
    # imported when a command runs, not for ``--help`` (start-up: see axepta/cli/__init__.py)

    from axepta.cli.config import Settings
    from axepta.client import AxeptaClient
    from axepta.credentials import Credentials
    from axepta.models.requests import Address, BasketLine, PaymentUnit, Request
    from axepta.models.results import Result
    from axepta.protocol import PreparedRequest

__all__ = ["app", "command_line", "make_client", "stdin_is_interactive"]

app = typer.Typer()

PROG = "axepta"
PANEL = "Payments"
ADDRESS = "Delivery address"
SENDING = "Sending"
ORDER = "Order details"

#: Operation labels for people (the endpoint names of PROTOCOL.md §4).
LABELS = {
    "paypal_orders": "paypalorders (create order)",
    "paypal_complete": "paypalComplete (complete shortcut order)",
    "authorize": "Authorize",
    "capture": "capture",
    "credit": "credit (refund)",
    "credit_ex": "creditex (credit without reference)",
    "reverse": "reverse",
    "paypal_reftrans": "paypalreftrans (reference transaction)",
}


# ---------------------------------------------------------------------------------------------
# choices (case-insensitive, completed by the shell)


class CaptureMode(StrEnum):
    auto = "Auto"
    manual = "Manual"


class TxType(StrEnum):
    order = "Order"
    auth = "Auth"
    baid = "BAID"


class PayPalMethod(StrEnum):
    shortcut = "shortcut"


class Mode(StrEnum):
    redirect = "redirect"


class Language(StrEnum):
    AU = "AU"
    DE = "DE"
    FR = "FR"
    IT = "IT"
    GB = "GB"
    ES = "ES"
    US = "US"


# ---------------------------------------------------------------------------------------------
# options shared by the commands (each named after its wire field)

PayIdArg = Annotated[str, typer.Argument(metavar="PAYID", help="PayID: the gateway's id of the payment (32 letters and digits).", show_default=False)]
TransIdOpt = Annotated[str, typer.Option("--trans-id", help="TransID: your id of the payment (ans..64).", show_default=False)]
AmountOpt = Annotated[
    str | None,
    typer.Option(
        "--amount",
        metavar="DECIMAL",
        help="Amount in major units, e.g. 12.34; converted exactly (HUF, JPY and TWD take no decimals with PayPal). Give --amount or --amount-minor.",
        show_default=False,
    ),
]
AmountMinorOpt = Annotated[
    str | None,
    typer.Option("--amount-minor", metavar="INTEGER", help="Amount as sent on the wire, in minor units (1234 = 12.34 EUR).", show_default=False),
]
CurrencyOpt = Annotated[str, typer.Option("--currency", help="Currency: ISO 4217 code, e.g. EUR.", show_default=False)]
RefNrOpt = Annotated[str | None, typer.Option("--ref-nr", help="RefNr: your reference, e.g. an invoice number (..30).", show_default=False)]
ReqIdOpt = Annotated[
    str | None,
    typer.Option(
        "--req-id",
        help="ReqId: idempotency key, 1-32 letters and digits; generated when absent. Retry a failed call with the same ReqId.",
        show_default=False,
        rich_help_panel=SENDING,
    ),
]
TidOpt = Annotated[str | None, typer.Option("--tid", help="TID: PayPal's id of the authorisation or capture concerned (..17).", show_default=False)]
NoteOpt = Annotated[str | None, typer.Option("--note", help="Note: text for the recipient (..768).", show_default=False)]
TimeoutOpt = Annotated[
    str | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Overall deadline of the call in seconds: connecting, sending and waiting for the reply (default 45, PROTOCOL.md §3.3). After it the outcome is unknown: retry with the same ReqId.",
        show_default=False,
        rich_help_panel=SENDING,
    ),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Send without asking for confirmation.", rich_help_panel=SENDING)]
DryRunOpt = Annotated[
    bool,
    typer.Option("--dry-run", help="Show the URL and the fields that would be sent (MAC and Data redacted); send nothing.", rich_help_panel=SENDING),
]
FirstNameOpt = Annotated[str | None, typer.Option("--first-name", help="FirstName (..50).", rich_help_panel=ADDRESS, show_default=False)]
LastNameOpt = Annotated[str | None, typer.Option("--last-name", help="LastName (..50).", rich_help_panel=ADDRESS, show_default=False)]
StreetOpt = Annotated[str | None, typer.Option("--addr-street", help="AddrStreet (..100).", rich_help_panel=ADDRESS, show_default=False)]
Street2Opt = Annotated[str | None, typer.Option("--addr-street2", help="AddrStreet2 (..100).", rich_help_panel=ADDRESS, show_default=False)]
CityOpt = Annotated[str | None, typer.Option("--addr-city", help="AddrCity (..40).", rich_help_panel=ADDRESS, show_default=False)]
StateOpt = Annotated[str | None, typer.Option("--addr-state", help="AddrState: PayPal's 2-letter code for US and CA.", rich_help_panel=ADDRESS, show_default=False)]
ZipOpt = Annotated[str | None, typer.Option("--addr-zip", help="AddrZip (..20).", rich_help_panel=ADDRESS, show_default=False)]
CountryOpt = Annotated[str | None, typer.Option("--addr-country-code", help="AddrCountryCode: ISO 3166-1 alpha-2, e.g. FR.", rich_help_panel=ADDRESS, show_default=False)]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="Phone: digits; spaces and punctuation dropped, + becomes 00.", rich_help_panel=ADDRESS, show_default=False)]


# ---------------------------------------------------------------------------------------------
# seams for tests


def stdin_is_interactive() -> bool:
    """Whether a person can answer a confirmation prompt (stdin is a terminal)."""
    return sys.stdin.isatty()


def make_client(settings: Settings, credentials: Credentials, http: Any, timeout: float | None = None) -> AxeptaClient:
    """The client of one command, on the HTTP client of :func:`axepta.cli._common.make_http_client`;
    ``timeout`` (``--timeout``) is the overall deadline of each call, else the client's default."""
    from axepta.client import AxeptaClient

    extra: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    return AxeptaClient(
        credentials,
        **extra,
        base_url=settings.base_url,
        browser_base_url=settings.browser_base_url,
        http_client=http,
        small_amounts_enabled=settings.small_amounts_enabled,
    )


# ---------------------------------------------------------------------------------------------
# building requests from options


def minor_amount(amount: str | None, amount_minor: str | None, currency: str, *, option: str = "--amount") -> int:
    """The wire amount of ``--amount`` (major units, a plain decimal converted exactly) or
    ``--amount-minor`` (ASCII digits); exactly one of them must be given. Errors name the
    option and the accepted form."""
    if (amount is None) == (amount_minor is None):
        raise UsageFailure(f"give exactly one of {option} and {option}-minor", field="Amount", rule=f"exactly one of {option}, {option}-minor")
    cur = currency_code(currency)
    if amount_minor is not None:
        text = amount_minor.strip()
        if not (text.isascii() and text.isdigit()):
            raise UsageFailure(
                f"{option}-minor: {amount_minor!r} is not a whole number of minor units; write ASCII digits only, e.g. 1250 for 12.50 EUR",
                field="Amount",
                rule="digits",
            )
        return int(text)
    assert amount is not None
    try:
        return to_minor_units(parse_decimal(amount, field=option), cur)
    except InvalidRequestError as exc:
        message = str(exc)
        for label in ("Amount: ", f"{option}: "):
            message = message.removeprefix(label)
        raise UsageFailure(f"{option}: {message}", field="Amount", rule=exc.rule) from None


def currency_code(currency: str) -> str:
    """``--currency`` upper-cased and checked (ISO 4217)."""
    return check_currency(currency.strip().upper())


def address_of(
    first_name: str | None,
    last_name: str | None,
    street: str | None,
    street2: str | None,
    city: str | None,
    state_code: str | None,
    zip_code: str | None,
    country_code: str | None,
    phone: str | None,
) -> Address | None:
    """The address options as an :class:`~axepta.Address`, or ``None`` when none is given."""
    parts = {
        "first_name": first_name,
        "last_name": last_name,
        "street": street,
        "street2": street2,
        "city": city,
        "state": state_code,
        "zip": zip_code,
        "country_code": country_code,
        "phone": phone,
    }
    if all(v is None for v in parts.values()):
        return None
    from axepta.models.requests import Address

    return Address(**parts)


def basket_line(text: str, n: int) -> BasketLine:
    """``--basket-line "Name,Amount,Number,Quantity[,Description[,Tax]]"`` (the OrderDesc<n>
    wire format: amount and tax per unit in minor units)."""
    from axepta.models.requests import BasketLine

    key = f"OrderDesc{n}"
    parts = text.split(",")
    if not 4 <= len(parts) <= 6:
        raise InvalidRequestError(
            f"{key}: a basket line is Name,Amount,Number,Quantity[,Description[,Tax]]; found {len(parts)} elements",
            field=key,
            rule="Name,Amount,Number,Quantity,Description,Tax",
        )
    parts += [""] * (6 - len(parts))
    name, amount, number, quantity, description, tax = parts

    def integer(value: str, what: str) -> int:
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            raise InvalidRequestError(f"{key}: {what} must be an integer (minor units); found {value!r}", field=key, rule="integer")
        return int(value)

    return BasketLine(
        name=name,
        amount=integer(amount, "Amount"),
        number=number,
        quantity=integer(quantity, "Quantity"),
        description=description,
        tax=integer(tax, "Tax") if tax.strip() else None,
    )


_UNIT_KEYS = {
    "merchantemailaddress": "merchant_email",
    "merchantid": "merchant_id",
    "amount": "amount",
    "itemtotal": "item_total",
    "taxtotal": "tax_total",
    "shippingamount": "shipping_amount",
    "invoiceid": "invoice_id",
    "orderdescription": "order_description",
}
_ITEM_KEYS = {
    "name": "name",
    "quantity": "quantity",
    "unitamount": "unit_amount",
    "tax": "tax",
    "description": "description",
    "category": "category",
}
_INT_FIELDS = frozenset({"amount", "item_total", "tax_total", "shipping_amount", "quantity", "unit_amount", "tax"})


def _mapped(obj: Mapping[str, Any], keys: Mapping[str, str], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = keys.get(str(key).lower())
        if name is None:
            raise InvalidRequestError(f"{where}: unknown key {key!r} (known: {', '.join(keys)})", field=where, rule="PaymentUnit JSON keys")
        if name in _INT_FIELDS and isinstance(value, str) and value.isascii() and value.isdigit():
            value = int(value)
        out[name] = value
    return out


def payment_unit(text: str, n: int) -> PaymentUnit:
    """``--payment-unit JSON``: one seller as the JSON object of PROTOCOL.md §4.3
    (``merchantid``, ``amount``, ``orderitems`` … amounts in minor units)."""
    from axepta.models.requests import OrderItem, PaymentUnit

    key = f"PaymentUnit{n}"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"{key}: not valid JSON ({exc.msg})", field=key, rule="JSON object") from None
    if not isinstance(obj, dict):
        raise InvalidRequestError(f"{key}: must be a JSON object", field=key, rule="JSON object")
    items = obj.pop("orderitems", None) or []
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidRequestError(f"{key}: orderitems must be a list of objects", field=key, rule="JSON object")
    values = _mapped(obj, _UNIT_KEYS, key)
    values["items"] = tuple(OrderItem(**_mapped(i, _ITEM_KEYS, f"{key}.orderitems")) for i in items)
    return PaymentUnit(**values)


def risk_pairs(pairs: list[str] | None) -> dict[str, str] | None:
    """``--risk-evaluation KEY=VALUE`` (repeatable) as a mapping."""
    if not pairs:
        return None
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidRequestError(f"RiskEvaluation: {pair!r} is not KEY=VALUE", field="RiskEvaluation", rule="KEY=VALUE")
        out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# the command line to retry with


def _value_text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


def _tokens(ctx: Any, skip: frozenset[str]) -> list[str]:
    """The parameters of ``ctx`` that were given on the command line, as tokens."""
    args: list[str] = []
    opts: list[str] = []
    for param in ctx.command.params:
        name = param.name
        if name is None or name in skip:
            continue
        source = ctx.get_parameter_source(name)
        if source is None or source.name != "COMMANDLINE":
            continue
        value = ctx.params.get(name)
        if param.param_type_name == "argument":
            values = value if isinstance(value, list | tuple) else [value]
            args += [_value_text(v) for v in values]
            continue
        flag = max(param.opts, key=len)
        if getattr(param, "is_flag", False):
            if value:
                opts.append(flag)
            elif param.secondary_opts:
                opts.append(max(param.secondary_opts, key=len))
            continue
        values = value if getattr(param, "multiple", False) and isinstance(value, list | tuple) else [value]
        for v in values:
            opts += [flag, _value_text(v)]
    return args + opts


def command_line(ctx: typer.Context, *, req_id: str) -> str:
    """The command that repeats this one with ``--req-id REQ_ID`` (shell-quoted): global options
    and command options as given, ``--dry-run`` dropped."""
    root = ctx.find_root()
    parts = [PROG, *_tokens(root, frozenset({"version"}))]
    parts.append(ctx.info_name or ctx.command.name or "")
    parts += _tokens(ctx, frozenset({"req_id", "dry_run"}))
    parts += ["--req-id", req_id]
    return shlex.join(parts)


# ---------------------------------------------------------------------------------------------
# running an operation


@contextmanager
def _collect_warnings() -> Iterator[list[str]]:
    """Library warnings (a currency outside PayPal's list …) become lines for people."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages: list[str] = []
        yield messages
    messages += [str(w.message) for w in caught]


def _money(request: Request) -> dict[str, Any]:
    return {
        "minor": request.amount,
        "currency": request.currency,
        "major": str(from_minor_units(request.amount, request.currency)),
    }


def _money_text(request: Request) -> str:
    return f"{from_minor_units(request.amount, request.currency)} {request.currency} (Amount={request.amount})"


def _summary_rows(settings: Settings, prepared: PreparedRequest) -> list[tuple[str, Any]]:
    request = prepared.request
    rows: list[tuple[str, Any]] = [
        ("operation", LABELS.get(prepared.operation, prepared.operation)),
        ("environment", settings.environment.upper() if settings.environment == "production" else settings.environment),
        ("merchant", settings.merchant_id),
        ("url", prepared.url),
        ("amount", _money_text(request)),
    ]
    if prepared.pay_id:
        rows.append(("PayID", prepared.pay_id))
    rows.append(("TransID", prepared.trans_id))
    rows.append(("ReqId", prepared.req_id or "(none: this operation has no ReqId)"))
    return rows


def _confirm(settings: Settings, prepared: PreparedRequest, *, yes: bool) -> None:
    production = settings.environment == "production"
    if yes or not (prepared.money_moving or production):
        return
    what = "a money-moving request" if prepared.money_moving else "a request to a production merchant"
    if not stdin_is_interactive():
        raise UsageFailure(
            f"refusing to send {what} without confirmation: stdin is not a terminal; pass --yes "
            "to send, or --dry-run to see what would be sent",
            rule="--yes needed without a terminal",
        )
    err = stderr()
    err.print(_common.table("About to send", _summary_rows(settings, prepared)))
    if production:
        err.print("[bold red]This is a PRODUCTION merchant: real money moves.[/]")
    try:
        ok = typer.confirm(f"Send this {LABELS.get(prepared.operation, prepared.operation)}?", default=False, err=True)
    except typer.Abort:
        ok = False
    if not ok:
        raise NotConfirmed("not confirmed: nothing was sent")


def _result_dict(result: Result, callback_url: str, merchant_id: str) -> dict[str, Any]:
    from axepta.models.results import PayPalOrderResult
    from axepta.protocol import approve_url

    data = result.model_dump(mode="json", exclude={"raw"})
    data["raw"] = {k: v for k, v in result.raw.items() if k.lower() not in ("mac", "data", "len")}
    if isinstance(result, PayPalOrderResult):
        data["approval_url"] = result.approval_url
        # The Smart Button's onApprove target (004's script): cbPayPal.aspx?rd=… for this order.
        data["approve_url"] = (
            approve_url(callback_url, merchant_id, result.pay_id, result.order_id)
            if result.pay_id and result.order_id
            else None
        )
    return data


def _show_dry_run(ctx: typer.Context, settings: Settings, prepared: PreparedRequest, notes: list[str]) -> None:
    shown = prepared.redacted()
    if state(ctx).json:
        emit_json(
            {
                "ok": True,
                "dry_run": True,
                "sent": False,
                "environment": settings.environment,
                "merchant_id": settings.merchant_id,
                "amount": _money(prepared.request),
                **shown,
                "warnings": notes,
            }
        )
        return
    out = stdout()
    head = [
        ("operation", LABELS.get(prepared.operation, prepared.operation)),
        ("environment", settings.environment),
        ("POST", shown["url"]),
        ("amount", _money_text(prepared.request)),
        ("ReqId", prepared.req_id or "(none: this operation has no ReqId)"),
        ("money moving", "yes" if prepared.money_moving else "no"),
    ]
    out.print(_common.table("Dry run: nothing sent", head))
    out.print(_common.table("Fields inside Data (encrypted)", list(shown["fields"].items())))
    out.print(_common.table("Form posted", list(shown["form"].items())))


def _show_result(ctx: typer.Context, settings: Settings, prepared: PreparedRequest, result: Result, notes: list[str], callback_url: str) -> None:
    data = _result_dict(result, callback_url, settings.merchant_id or "")
    if state(ctx).json:
        emit_json(
            {
                "ok": True,
                "operation": prepared.operation,
                "environment": settings.environment,
                "merchant_id": settings.merchant_id,
                "url": prepared.url,
                "req_id": prepared.req_id,
                "amount": _money(prepared.request),
                "result": data,
                "warnings": notes,
            }
        )
        return
    from rich.text import Text

    rows: list[tuple[str, Any]] = [("amount", _money_text(prepared.request))]
    urls = {"approval_url", "approve_url", "paypal_url", "redirect_url"}
    skip = {"operation", "mid", "raw", "req_id"} | urls
    rows += [(name, value) for name, value in data.items() if name not in skip and value not in (None, "", [], {})]
    rows.append(("req_id", prepared.req_id or "(none: this operation has no ReqId)"))
    title = f"{LABELS.get(prepared.operation, prepared.operation)}: {result.status or 'OK'}"
    out = stdout()
    out.print(_common.table(title, rows))
    # URLs on lines of their own, whole, so they can be copied
    if data.get("approval_url"):
        out.print(Text(f"send the buyer to: {data['approval_url']}"), soft_wrap=True)
    if data.get("approve_url"):
        out.print(Text(f"Smart Button onApprove (cbPayPal) URL: {data['approve_url']}"), soft_wrap=True)


_SETTING_WORDS = {
    "set small_amounts_enabled": "set AXEPTA_SMALL_AMOUNTS_ENABLED=true, or small_amounts_enabled = true in the profile,",
}


def _option_names(ctx: typer.Context) -> dict[str, str]:
    """Wire names (``PayerID``) and Python names (``payer_id``) of this command's fields, with
    the option a person types (``--payer-id``; ``PAYID`` for the argument)."""
    names: dict[str, str] = {}
    for param in ctx.command.params:
        name = str(param.name or "")
        shown = max(param.opts, key=len) if param.param_type_name == "option" else (param.metavar or name.upper())
        names[name] = shown
        names[name.replace("_", "").lower()] = shown  # the wire name, compared without case
        if name == "billing_agreement":
            names["billingagreementid"] = shown
    return names


def in_cli_words(ctx: typer.Context, message: str) -> str:
    """A library message in the CLI's language: ``PayerID``/``payer_id`` become ``--payer-id``,
    ``Capture=Manual`` becomes ``--capture=Manual``, settings are named by their environment
    variable and profile key, and pydantic's "Value error, " prefix goes."""
    import re

    names = _option_names(ctx)
    message = message.replace("Value error, ", "")
    for words, said in _SETTING_WORDS.items():
        message = message.replace(words, said)

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        if "_" in word:
            return names.get(word, word)
        if word[0].isupper():  # a wire name: PayerID, TxType, URLSuccess
            return names.get(word.lower(), word)
        return word

    return re.sub(r"(?<![\w-])[A-Za-z][A-Za-z0-9_]*(?![\w-])", swap, message)


def _build_checked(ctx: typer.Context, step: Callable[[], Any]) -> Any:
    """Run ``step`` (build or prepare the request); its refusal speaks the CLI's language."""
    try:
        return step()
    except InvalidRequestError as exc:
        said = in_cli_words(ctx, str(exc))
        if said == str(exc) and not isinstance(exc, UsageFailure):
            raise
        raise UsageFailure(said, field=exc.field, rule=exc.rule) from None


MAX_TIMEOUT = 3600


def timeout_seconds(text: str | None) -> float | None:
    """``--timeout``: a plain decimal number of seconds, more than 0 and at most an hour."""
    if text is None:
        return None
    try:
        value = parse_decimal(text, field="--timeout")
    except InvalidRequestError:
        value = None
    if value is None or not 0 < value <= MAX_TIMEOUT:
        raise UsageFailure(
            f"--timeout: {text!r} is not a number of seconds between 0 and {MAX_TIMEOUT} (e.g. 10 or 2.5)",
            field="timeout",
            rule="seconds",
        )
    return float(value)


def run(ctx: typer.Context, build: Callable[[], Request], *, yes: bool, dry_run: bool, timeout: str | None = None) -> None:
    """Build, check, prepare, then show (``--dry-run``) or confirm and send one request."""
    from rich.text import Text

    from axepta.cli.config import check_guard, load_settings

    deadline = timeout_seconds(timeout)
    request = _build_checked(ctx, build)
    settings = load_settings(ctx)
    credentials = settings.credentials()
    check_guard(settings)
    with _common.quiet_library_log(), _common.make_http_client() as http, make_client(settings, credentials, http, deadline) as client:
        with _collect_warnings() as notes:
            prepared = _build_checked(ctx, lambda: client.prepare(request))
        err = stderr()
        for note in notes:
            err.print(Text(f"warning: {note}", style="yellow"))
        if dry_run:
            _show_dry_run(ctx, settings, prepared, notes)
            return
        _confirm(settings, prepared, yes=yes)
        err.print(
            Text(
                f"sending {LABELS.get(prepared.operation, prepared.operation)} to {prepared.url}"
                + (f" with ReqId {prepared.req_id}" if prepared.req_id else "")
            )
        )
        try:
            result = client.send(prepared)
        except AxeptaError as exc:
            _annotate(ctx, exc, prepared)
            raise
        except KeyboardInterrupt:
            # Interrupted while the request may be on its way: the outcome is unknown, exactly
            # as after a timeout, and the way out is the same (retry with the same ReqId).
            interrupted = TransportError(
                f"{prepared.operation}: interrupted while waiting for the gateway; the outcome is unknown",
                req_id=prepared.req_id,
                sent=True,
                operation=prepared.operation,
            )
            _annotate(ctx, interrupted, prepared)
            raise interrupted from None
    try:
        _show_result(ctx, settings, prepared, result, notes, client.core.callback_url)
        sys.stdout.flush()
    except Exception as exc:  # whatever broke the output, the operation itself succeeded
        _common.output_failed(LABELS.get(prepared.operation, prepared.operation), _result_lines(prepared, result), exc)


def _result_lines(prepared: PreparedRequest, result: Result) -> list[str]:
    """The result in a few lines for stderr (exit 5): what a person needs to find the payment."""
    data = result.model_dump(mode="json", exclude={"raw"})
    ids = [f"{label}={data[name]}" for name, label in (("pay_id", "PayID"), ("trans_id", "TransID"), ("tid", "TID"), ("order_id", "orderid")) if data.get(name)]
    lines = [f"result: Status {result.status or '-'}, Code {result.code or '-'}" + (f", {', '.join(ids)}" if ids else "")]
    lines.append(f"amount: {_money_text(prepared.request)}")
    lines.append(f"ReqId: {prepared.req_id or '(none: this operation has no ReqId)'}")
    return lines


def _annotate(ctx: typer.Context, exc: AxeptaError, prepared: PreparedRequest) -> None:
    """Give a failed call its ReqId and, when its outcome is unknown and the operation has a ReqId, the exact command that retries it safely."""
    if prepared.req_id and getattr(exc, "req_id", None) is None:
        exc.req_id = prepared.req_id  # type: ignore[attr-defined]
    unknown = isinstance(exc, TransportError | ProtocolError | SignatureError | CryptoError)
    if unknown and prepared.req_id:
        exc.retry_command = command_line(ctx, req_id=prepared.req_id)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# the commands


@app.command("order", rich_help_panel=PANEL)
def order_cmd(
    ctx: typer.Context,
    trans_id: TransIdOpt,
    currency: CurrencyOpt,
    order_desc: Annotated[str, typer.Option("--order-desc", help="OrderDesc: what is bought (..127).", show_default=False)],
    url_success: Annotated[str, typer.Option("--url-success", help="URLSuccess: https URL the buyer returns to after approval (no query string).", show_default=False)],
    url_failure: Annotated[str, typer.Option("--url-failure", help="URLFailure: https URL the buyer returns to after a failure or cancel.", show_default=False)],
    url_notify: Annotated[str, typer.Option("--url-notify", help="URLNotify: https URL the gateway posts the result to.", show_default=False)],
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    capture: Annotated[CaptureMode, typer.Option("--capture", case_sensitive=False, help="Capture: Auto (sale) or Manual (then --tx-type Order or Auth).")] = CaptureMode.auto,
    tx_type: Annotated[TxType | None, typer.Option("--tx-type", case_sensitive=False, help="TxType: Order or Auth with --capture Manual; BAID creates a billing agreement (needs --ref-nr).", show_default=False)] = None,
    paypal_method: Annotated[PayPalMethod | None, typer.Option("--paypal-method", case_sensitive=False, help="PayPalMethod: shortcut (finish with `axepta complete`).", show_default=False)] = None,
    mode: Annotated[Mode | None, typer.Option("--mode", case_sensitive=False, help="mode: redirect (the gateway answers with the PayPal redirect).", show_default=False)] = None,
    ref_nr: RefNrOpt = None,
    req_id: ReqIdOpt = None,
    user_data: Annotated[str | None, typer.Option("--user-data", help="UserData: echoed back with the result (..1024).", rich_help_panel=ORDER, show_default=False)] = None,
    account: Annotated[str | None, typer.Option("--account", help="Account: which of your PayPal accounts receives the money (..128).", rich_help_panel=ORDER, show_default=False)] = None,
    language: Annotated[Language | None, typer.Option("--language", case_sensitive=False, help="Language of the PayPal pages.", rich_help_panel=ORDER, show_default=False)] = None,
    no_shipping: Annotated[bool, typer.Option("--no-shipping", help="NoShipping=1: hide the delivery address (digital goods only).", rich_help_panel=ORDER)] = False,
    basket_line_: Annotated[list[str] | None, typer.Option("--basket-line", metavar="LINE", help="OrderDesc2…99 basket line 'Name,Amount,Number,Quantity[,Description[,Tax]]', amount and tax per unit in minor units (repeatable; Amount must equal the lines' total plus shipping).", rich_help_panel=ORDER, show_default=False)] = None,
    sh_amount: Annotated[str | None, typer.Option("--sh-amount", metavar="DECIMAL", help="ShAmount: shipping in major units (with basket lines).", rich_help_panel=ORDER, show_default=False)] = None,
    sh_amount_minor: Annotated[str | None, typer.Option("--sh-amount-minor", metavar="INTEGER", help="ShAmount in minor units.", rich_help_panel=ORDER, show_default=False)] = None,
    payment_unit_: Annotated[list[str] | None, typer.Option("--payment-unit", metavar="JSON", help="PaymentUnit1…N: one marketplace seller as a JSON object (merchantid, amount, orderitems … in minor units; repeatable).", rich_help_panel=ORDER, show_default=False)] = None,
    risk_evaluation: Annotated[list[str] | None, typer.Option("--risk-evaluation", metavar="KEY=VALUE", help="RiskEvaluation additional data agreed with PayPal (repeatable).", rich_help_panel=ORDER, show_default=False)] = None,
    first_name: FirstNameOpt = None,
    last_name: LastNameOpt = None,
    addr_street: StreetOpt = None,
    addr_street2: Street2Opt = None,
    addr_city: CityOpt = None,
    addr_state: StateOpt = None,
    addr_zip: ZipOpt = None,
    addr_country_code: CountryOpt = None,
    phone: PhoneOpt = None,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Create a PayPal order (ExternalServices/paypalorders.aspx).

    Prints the PayID to keep, PayPal's order id for the Smart Button, or the approval URL (redirect mode, billing agreement). No money moves until the buyer approves; a production merchant still asks for confirmation.
    """

    def build() -> Request:
        from axepta.models.requests import PayPalOrderRequest

        cur = currency_code(currency)
        shipping = None
        if sh_amount is not None or sh_amount_minor is not None:
            shipping = minor_amount(sh_amount, sh_amount_minor, cur, option="--sh-amount")
        return PayPalOrderRequest(
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            order_desc=order_desc,
            url_success=url_success,
            url_failure=url_failure,
            url_notify=url_notify,
            capture=capture.value,
            tx_type=tx_type.value if tx_type else None,
            paypal_method=paypal_method.value if paypal_method else None,
            mode=mode.value if mode else None,
            ref_nr=ref_nr,
            req_id=req_id,
            user_data=user_data,
            account=account,
            language=language.value if language else None,
            no_shipping=True if no_shipping else None,
            address=address_of(first_name, last_name, addr_street, addr_street2, addr_city, addr_state, addr_zip, addr_country_code, phone),
            basket=tuple(basket_line(line, n) for n, line in enumerate(basket_line_ or (), start=2)),
            shipping_amount=shipping,
            payment_units=tuple(payment_unit(u, n) for n, u in enumerate(payment_unit_ or (), start=1)),
            risk_evaluation=risk_pairs(risk_evaluation),
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)


@app.command("complete", rich_help_panel=PANEL)
def complete_cmd(
    ctx: typer.Context,
    pay_id: PayIdArg,
    trans_id: TransIdOpt,
    currency: CurrencyOpt,
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    ref_nr: RefNrOpt = None,
    first_name: FirstNameOpt = None,
    last_name: LastNameOpt = None,
    addr_street: StreetOpt = None,
    addr_street2: Street2Opt = None,
    addr_city: CityOpt = None,
    addr_state: StateOpt = None,
    addr_zip: ZipOpt = None,
    addr_country_code: CountryOpt = None,
    phone: PhoneOpt = None,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Complete a shortcut order after the buyer's approval (paypalComplete.aspx).

    Sending --first-name replaces the delivery address and then needs --last-name, --addr-street, --addr-city, --addr-zip and --addr-country-code. This operation has no ReqId: after a network failure, check the outcome before trying again.
    """

    def build() -> Request:
        from axepta.models.requests import CompleteRequest

        cur = currency_code(currency)
        return CompleteRequest(
            pay_id=pay_id,
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            ref_nr=ref_nr,
            address=address_of(first_name, last_name, addr_street, addr_street2, addr_city, addr_state, addr_zip, addr_country_code, phone),
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)


@app.command("authorize", rich_help_panel=PANEL)
def authorize_cmd(
    ctx: typer.Context,
    pay_id: PayIdArg,
    trans_id: TransIdOpt,
    currency: CurrencyOpt,
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    first_name: FirstNameOpt = None,
    last_name: LastNameOpt = None,
    addr_street: StreetOpt = None,
    addr_street2: Street2Opt = None,
    addr_city: CityOpt = None,
    addr_state: StateOpt = None,
    addr_zip: ZipOpt = None,
    addr_country_code: CountryOpt = None,
    phone: PhoneOpt = None,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Authorise an approved Order payment (Authorize.aspx, TxType=Auth).

    For orders created with --capture Manual --tx-type Order; capture afterwards. This operation has no ReqId: after a network failure, check the outcome before trying again.
    """

    def build() -> Request:
        from axepta.models.requests import AuthorizeRequest

        cur = currency_code(currency)
        return AuthorizeRequest(
            pay_id=pay_id,
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            address=address_of(first_name, last_name, addr_street, addr_street2, addr_city, addr_state, addr_zip, addr_country_code, phone),
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)


@app.command("capture", rich_help_panel=PANEL)
def capture_cmd(
    ctx: typer.Context,
    pay_id: PayIdArg,
    trans_id: TransIdOpt,
    currency: CurrencyOpt,
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    ref_nr: RefNrOpt = None,
    req_id: ReqIdOpt = None,
    tid: TidOpt = None,
    complete: Annotated[bool, typer.Option("--complete", help="CompleteType=YES: this capture closes the PayPal order.")] = False,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Capture an authorised payment, fully or partly (capture.aspx).

    The result's TID is PayPal's capture id, needed to refund one of several captures.
    """

    def build() -> Request:
        from axepta.models.requests import CaptureRequest

        cur = currency_code(currency)
        return CaptureRequest(
            pay_id=pay_id,
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            ref_nr=ref_nr,
            req_id=req_id,
            tid=tid,
            complete=complete,
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)


def credit_cmd(
    ctx: typer.Context,
    pay_id: PayIdArg,
    trans_id: TransIdOpt,
    currency: CurrencyOpt,
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    ref_nr: RefNrOpt = None,
    req_id: ReqIdOpt = None,
    tid: Annotated[str | None, typer.Option("--tid", help="TID: the capture to refund (required after several partial captures).", show_default=False)] = None,
    note: NoteOpt = None,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Refund a captured payment, fully or partly (credit.aspx, with reference).

    After several partial captures, --tid names the capture to refund.
    """

    def build() -> Request:
        from axepta.models.requests import CreditRequest

        cur = currency_code(currency)
        return CreditRequest(
            pay_id=pay_id,
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            ref_nr=ref_nr,
            req_id=req_id,
            tid=tid,
            note=note,
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)


app.command("credit", rich_help_panel=PANEL)(credit_cmd)
app.command("refund", rich_help_panel=PANEL, help="Alias of credit: refund a captured payment (credit.aspx).")(credit_cmd)


@app.command("credit-ex", rich_help_panel=PANEL)
def credit_ex_cmd(
    ctx: typer.Context,
    trans_id: Annotated[str, typer.Option("--trans-id", help="TransID: a new id for this payout (ans..64).", show_default=False)],
    currency: CurrencyOpt,
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    payer_id: Annotated[str | None, typer.Option("--payer-id", help="PayerID: the recipient's PayPal account id (..13).", show_default=False)] = None,
    payer: Annotated[str | None, typer.Option("--payer", help="Payer: the recipient's e-mail (MassPay, after activation).", show_default=False)] = None,
    note: Annotated[str | None, typer.Option("--note", help="Note: MassPay text for the recipient (..768).", show_default=False)] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="Subject: MassPay e-mail subject (..255).", show_default=False)] = None,
    ref_nr: RefNrOpt = None,
    req_id: ReqIdOpt = None,
    account: Annotated[str | None, typer.Option("--account", help="Account: which of your PayPal accounts pays (..128).", show_default=False)] = None,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Pay a PayPal account without a previous payment (creditex.aspx).

    Exactly one recipient: --payer-id, or --payer with optional --note and --subject (MassPay, after activation by the helpdesk).
    """

    def build() -> Request:
        from axepta.models.requests import CreditExRequest

        cur = currency_code(currency)
        return CreditExRequest(
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            payer_id=payer_id,
            payer=payer,
            note=note,
            subject=subject,
            ref_nr=ref_nr,
            req_id=req_id,
            account=account,
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)


@app.command("reverse", rich_help_panel=PANEL)
def reverse_cmd(
    ctx: typer.Context,
    pay_id: PayIdArg,
    trans_id: TransIdOpt,
    currency: CurrencyOpt,
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    req_id: ReqIdOpt = None,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Cancel what is authorised and not captured yet (reverse.aspx).

    Releases the open authorisation of the payment; captured money is refunded with credit.
    """

    def build() -> Request:
        from axepta.models.requests import ReverseRequest

        cur = currency_code(currency)
        return ReverseRequest(
            pay_id=pay_id,
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            req_id=req_id,
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)


@app.command("reftrans", rich_help_panel=PANEL)
def reftrans_cmd(
    ctx: typer.Context,
    billing_agreement: Annotated[str, typer.Option("--billing-agreement", help="BillingAgreementID from the BAID approval, e.g. B-7EK12345AB123456C.", show_default=False)],
    trans_id: Annotated[str, typer.Option("--trans-id", help="TransID: a new id for this charge (ans..64).", show_default=False)],
    currency: CurrencyOpt,
    amount: AmountOpt = None,
    amount_minor: AmountMinorOpt = None,
    ref_nr: RefNrOpt = None,
    order_desc: Annotated[str | None, typer.Option("--order-desc", help="OrderDesc (at most 30 characters here).", show_default=False)] = None,
    timeout: TimeoutOpt = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Charge a billing agreement (paypalreftrans.aspx).

    The charge is captured at once. This operation has no ReqId: after a network failure, check the outcome before trying again.
    """

    def build() -> Request:
        from axepta.models.requests import ReferenceTransactionRequest

        cur = currency_code(currency)
        return ReferenceTransactionRequest(
            billing_agreement_id=billing_agreement,
            trans_id=trans_id,
            amount=minor_amount(amount, amount_minor, cur),
            currency=cur,
            ref_nr=ref_nr,
            order_desc=order_desc,
        )

    run(ctx, build, yes=yes, dry_run=dry_run, timeout=timeout)

