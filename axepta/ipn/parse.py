"""Reading an IPN body: :func:`parse_ipn` (PROTOCOL.md §9.1)."""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from axepta.errors import NotificationError
from axepta.ipn.message import (
    _DATE_ATTRIBUTES,
    _MONEY_ATTRIBUTES,
    _TEXT_ATTRIBUTES,
    CartItem,
    IpnMessage,
    MassPayment,
)
from axepta.ipn.values import (
    CaseType,
    MassPayStatus,
    PaymentStatus,
    PendingReason,
    ReasonCode,
    TxnType,
    _decimal,
    _int,
    _open_enum,
    _text,
    parse_ipn_date,
)

logger = logging.getLogger("axepta.ipn")

#: IPN messages are a few KiB; anything beyond this is not one.
MAX_IPN_BYTES = 256 * 1024
_FALLBACK_CHARSET = "cp1252"


def _charset_of(pairs: list[tuple[bytes, bytes]], content_type: str | None, warnings: list[str]) -> str:
    declared = next((v for k, v in pairs if k.strip().lower() == b"charset"), None)
    candidates: list[tuple[str, str]] = []
    if declared is not None:
        candidates.append(("the message's charset", declared.decode("ascii", "replace").strip()))
    if content_type:
        match = re.search(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", content_type, re.IGNORECASE)
        if match:
            candidates.append(("the Content-Type charset", match[1]))
    for where, name in candidates:
        try:
            return codecs.lookup(name).name
        except LookupError:
            warnings.append(f"{where} {name[:40]!r} is unknown; decoded as windows-1252")
            logger.warning("IPN %s %r is unknown; decoding as windows-1252", where, name[:40])
            return _FALLBACK_CHARSET
    if declared is None:
        logger.info("IPN without charset; decoding as windows-1252")
    return _FALLBACK_CHARSET


def _decode(value: bytes, charset: str, name: str, warnings: list[str]) -> str:
    try:
        return value.decode(charset)
    except UnicodeDecodeError:
        warnings.append(f"{name} is not valid {charset}; undecodable bytes replaced")
        return value.decode(charset, "replace")


def _records(fields: Mapping[str, str], names: tuple[str, ...], *, bare: bool = False) -> list[int]:
    """Record numbers 1, 2, … while at least one of ``names`` carries that number."""
    numbers = []
    n = 1
    while any(f"{name}_{n}" in fields or (bare and f"{name}{n}" in fields) for name in names):
        numbers.append(n)
        n += 1
    return numbers


def parse_ipn(raw: bytes, content_type: str | None = None) -> IpnMessage:
    """Decode an IPN body (PROTOCOL.md §9.1).

    ``raw`` is the request body exactly as received (``bytes``: the same bytes must be posted
    back). Values are percent-decoded to bytes, then decoded with the message's own ``charset``
    variable, else the charset of ``content_type`` (the request's ``Content-Type`` header), else
    windows-1252. Nothing in the values makes the parse fail; oddities are listed in
    :attr:`IpnMessage.warnings`.

    Raises :class:`TypeError` for a ``str`` body (re-encoding breaks the postback) and
    :class:`~axepta.errors.NotificationError` for a body that is empty or over
    :data:`MAX_IPN_BYTES` (``reason`` ``format`` or ``size``).
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError(
            f"parse_ipn needs the raw body bytes, not {type(raw).__name__}: re-encoding a "
            "message makes PayPal answer INVALID"
        )
    body = bytes(raw)
    if len(body) > MAX_IPN_BYTES:
        raise NotificationError(f"the IPN body is larger than {MAX_IPN_BYTES} bytes", reason="size")
    pairs = []
    for segment in body.split(b"&"):
        if segment:
            name, _, text = segment.partition(b"=")
            pairs.append((unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(text.replace(b"+", b" "))))
    if not pairs:
        raise NotificationError("the IPN body is empty", reason="format")
    warnings: list[str] = []
    charset = _charset_of(pairs, content_type, warnings)
    fields: dict[str, str] = {}
    for key_bytes, value_bytes in pairs:
        key = key_bytes.decode("ascii", "replace").strip()
        if key in fields:
            warnings.append(f"variable {key[:40]!r} occurs twice; the first is kept")
            continue
        fields[key] = _decode(value_bytes, charset, key[:40], warnings)
    return _build(body, fields, charset, warnings)


def _build(body: bytes, fields: dict[str, str], charset: str, warnings: list[str]) -> IpnMessage:
    values: dict[str, Any] = {name: _text(fields.get(name)) for name in _TEXT_ATTRIBUTES}
    for name in _MONEY_ATTRIBUTES:
        values[name] = _decimal(fields.get(name), name, warnings)
    for name in _DATE_ATTRIBUTES:
        values[name] = parse_ipn_date(fields.get(name))
    txn_type = _open_enum(TxnType, fields.get("txn_type"))
    mass_payments: list[MassPayment] = []
    items: list[CartItem] = []
    if txn_type == TxnType.MASSPAY or "masspay_txn_id_1" in fields:
        record_names = (
            "masspay_txn_id", "receiver_email", "mc_gross", "mc_fee", "mc_currency", "status", "unique_id",
            "reason_code", "payment_gross", "payment_fee",
        )
        for n in _records(fields, record_names):
            mass_payments.append(
                MassPayment(
                    index=n,
                    masspay_txn_id=_text(fields.get(f"masspay_txn_id_{n}")),
                    receiver_email=_text(fields.get(f"receiver_email_{n}")),
                    mc_gross=_decimal(fields.get(f"mc_gross_{n}"), f"mc_gross_{n}", warnings),
                    mc_fee=_decimal(fields.get(f"mc_fee_{n}"), f"mc_fee_{n}", warnings),
                    mc_currency=_text(fields.get(f"mc_currency_{n}")),
                    status=_open_enum(MassPayStatus, fields.get(f"status_{n}")),
                    unique_id=_text(fields.get(f"unique_id_{n}")),
                    reason_code=_open_enum(ReasonCode, fields.get(f"reason_code_{n}")),
                    payment_gross=_decimal(fields.get(f"payment_gross_{n}"), f"payment_gross_{n}", warnings),
                    payment_fee=_decimal(fields.get(f"payment_fee_{n}"), f"payment_fee_{n}", warnings),
                )
            )
    else:
        for n in _records(fields, ("item_name", "item_number", "quantity", "mc_gross"), bare=True):

            def pick(name: str, n: int = n) -> str | None:
                value = fields.get(f"{name}_{n}")
                return fields.get(f"{name}{n}") if value is None else value

            items.append(
                CartItem(
                    index=n,
                    item_name=_text(pick("item_name")),
                    item_number=_text(pick("item_number")),
                    quantity=_int(pick("quantity")),
                    mc_gross=_decimal(pick("mc_gross"), f"mc_gross_{n}", warnings),
                )
            )
    filters = [
        _text(fields[f"fraud_management_pending_filters_{n}"]) or ""
        for n in _records(fields, ("fraud_management_pending_filters",))
    ]
    for warning in warnings:
        logger.warning("IPN %s: %s", values["txn_id"] or values["ipn_track_id"] or "-", warning)
    return IpnMessage(
        raw=body,
        fields=fields,
        charset=charset,
        warnings=tuple(warnings),
        txn_type=txn_type,
        payment_status=_open_enum(PaymentStatus, fields.get("payment_status")),
        pending_reason=_open_enum(PendingReason, fields.get("pending_reason")),
        reason_code=_open_enum(ReasonCode, fields.get("reason_code")),
        case_type=_open_enum(CaseType, fields.get("case_type")),
        quantity=_int(fields.get("quantity")),
        num_cart_items=_int(fields.get("num_cart_items")),
        test_ipn=(fields.get("test_ipn") or "").strip() == "1",
        resend=(fields.get("resend") or "").strip().lower() == "true",
        mass_payments=mass_payments,
        fraud_management_pending_filters=filters,
        items=items,
        **values,
    )

