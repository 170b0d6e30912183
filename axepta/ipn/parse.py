"""Reading an IPN body: :func:`parse_ipn` (PROTOCOL.md §9.1)."""

from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import unquote_to_bytes

from axepta.errors import NotificationError
from axepta.ipn.message import (
    _DATE_ATTRIBUTES,
    _FLAG_ATTRIBUTES,
    _INT_ATTRIBUTES,
    _MONEY_ATTRIBUTES,
    _TEXT_ATTRIBUTES,
    AdaptiveTransaction,
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


#: Codecs Python knows that are not charsets of text: their names fall back to windows-1252.
_NOT_CHARSETS = frozenset({"idna", "punycode", "undefined", "unicode_escape", "raw_unicode_escape"})
_CHARSET_NAME = re.compile(r"[A-Za-z0-9._:-]{1,40}")
_CONTENT_TYPE_CHARSET = re.compile(r"charset\s*=\s*\"?([^\";,\s]*)", re.IGNORECASE)


def _codec(name: str) -> tuple[str | None, str]:
    """The codec for a charset name, or ``None`` and why when the name is no text charset:
    unknown, not a plain name (``utf-8%00``), a bytes-to-bytes codec (``hex``, ``base64``,
    ``rot13``, …) or a transform that is no encoding of text (``idna``, ``punycode``,
    ``undefined``)."""
    if not _CHARSET_NAME.fullmatch(name):
        return None, "is unknown"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None, "is unknown"
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("-", "_") in _NOT_CHARSETS:
        return None, "is not a text charset"
    return info.name, ""


def _charset_of(pairs: list[tuple[bytes, bytes]], content_type: str | None, warnings: list[str]) -> str:
    declared = next((v for k, v in pairs if k.strip().lower() == b"charset"), None)
    candidates: list[tuple[str, str]] = []
    if declared is not None:
        candidates.append(("the message's charset", declared.decode("latin-1").strip()))
    if content_type:
        match = _CONTENT_TYPE_CHARSET.search(content_type)
        if match:
            candidates.append(("the Content-Type charset", match[1]))
    for where, name in candidates:
        codec, why = _codec(name)
        if codec is not None:
            return codec
        _fall_back(f"{where} {name[:40]!r} {why}", warnings)
        return _FALLBACK_CHARSET
    if declared is None:
        logger.info("IPN without charset; decoding as windows-1252")
    return _FALLBACK_CHARSET


def _fall_back(why: str, warnings: list[str]) -> None:
    warnings.append(f"{why}; decoded as windows-1252")
    logger.warning("IPN %s; decoding as windows-1252", why)


def _decode(value: bytes, charset: str, name: str, warnings: list[str]) -> str:
    try:
        return value.decode(charset)
    except UnicodeDecodeError:
        warnings.append(f"{name} is not valid {charset}; undecodable bytes replaced")
        return value.decode(charset, "replace")


def _decode_all(pairs: list[tuple[bytes, bytes]], charset: str, warnings: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for key_bytes, value_bytes in pairs:
        key = key_bytes.decode("ascii", "replace").strip()
        if key in fields:
            warnings.append(f"variable {key[:40]!r} occurs twice; the first is kept")
            continue
        fields[key] = _decode(value_bytes, charset, key[:40], warnings)
    return fields


def parse_ipn(raw: bytes, content_type: str | None = None) -> IpnMessage:
    """Decode an IPN body (PROTOCOL.md §9.1).

    ``raw`` is the request body exactly as received (``bytes``: the same bytes must be posted
    back). Values are percent-decoded to bytes, then decoded with the message's own ``charset``
    variable, else the charset of ``content_type`` (the request's ``Content-Type`` header), else
    windows-1252; a charset that is unknown or no text charset (``hex``, ``base64``, ``idna``,
    ``utf-8%00``, …) is windows-1252 too, with a warning. Nothing in the values makes the parse
    fail; oddities are listed in :attr:`IpnMessage.warnings` (and logged).

    Raises :class:`TypeError` for a ``str`` body (re-encoding breaks the postback) and
    :class:`~axepta.errors.NotificationError` for a body that is empty or over
    :data:`MAX_IPN_BYTES` (``reason`` ``format`` or ``size``) — nothing else.
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
    try:
        fields = _decode_all(pairs, charset, warnings)
    except (UnicodeError, LookupError, ValueError):  # a codec that fails even with "replace"
        _fall_back(f"the values cannot be decoded as {charset}", warnings)
        charset = _FALLBACK_CHARSET
        fields = _decode_all(pairs, charset, warnings)
    return _build(body, fields, charset, warnings)


class _Fields:
    """The decoded variables, read by name: the exact name first, else the same name in another
    case (PayPal writes ``receipt_ID``)."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = fields
        self.folded: dict[str, str] = {}
        for key, value in fields.items():
            self.folded.setdefault(key.lower(), value)

    def get(self, name: str) -> str | None:
        value = self.fields.get(name)
        return self.folded.get(name) if value is None else value


_NUMBERED = re.compile(r"(.+?)_?([0-9]{1,9})")
_MASSPAY_NAMES = frozenset(
    ("masspay_txn_id", "receiver_email", "mc_gross", "mc_fee", "mc_currency", "status", "unique_id", "reason_code",
     "payment_gross", "payment_fee")
)
#: Variables that only a Mass Pay record carries with a number: they make a message Mass Pay even
#: without ``txn_type``.
_MASSPAY_ONLY = frozenset(("masspay_txn_id", "unique_id", "status"))
_ITEM_NAMES = frozenset(("item_name", "item_number", "quantity", "mc_gross", "mc_handling", "mc_shipping", "tax"))
_ADAPTIVE = re.compile(r"transaction\[([0-9]{1,9})\]\.(\w+)")
_ADAPTIVE_AMOUNT = re.compile(r"(?:([A-Za-z]{3})\s+)?(-?[0-9]{1,15}(?:\.[0-9]{1,8})?)")


def _numbered(fields: Mapping[str, str], names: frozenset[str], *, bare: bool) -> dict[int, dict[str, str]]:
    """``name_n`` (and, when ``bare``, ``namen``) variables grouped by ``n`` in numeric order,
    whatever the numbers (0, gaps, 10 and 11): ``{n: {name: value}}``. ``name_n`` wins over
    ``namen``; the first occurrence over later ones."""
    found: dict[int, dict[tuple[str, bool], str]] = {}
    for key, value in fields.items():
        match = _NUMBERED.fullmatch(key)
        if match is None or match[1] not in names:
            continue
        underscored = key[len(match[1])] == "_"
        if underscored or bare:
            found.setdefault(int(match[2]), {}).setdefault((match[1], underscored), value)
    records: dict[int, dict[str, str]] = {}
    for n in sorted(found):
        record = found[n]
        records[n] = {
            name: record[(name, True)] if (name, True) in record else record[(name, False)]
            for name in sorted(names)
            if (name, True) in record or (name, False) in record
        }
    return records


def _not_one_to_n(numbers: list[int]) -> bool:
    return numbers != list(range(1, len(numbers) + 1))


def _shown_numbers(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + (f", … ({len(numbers)} in all)" if len(numbers) > 10 else "")


def _mass_payments(fields: Mapping[str, str], warnings: list[str]) -> list[MassPayment]:
    records = _numbered(fields, _MASSPAY_NAMES, bare=False)
    numbers = list(records)
    if numbers and _not_one_to_n(numbers):
        warnings.append(f"Mass Pay records numbered {_shown_numbers(numbers)} (not 1..n); read in numeric order")
    out = []
    for n, record in records.items():

        def money(name: str, record: dict[str, str] = record, n: int = n) -> Decimal | None:
            return _decimal(record.get(name), f"{name}_{n}", warnings)

        out.append(
            MassPayment(
                index=n,
                masspay_txn_id=_text(record.get("masspay_txn_id")),
                receiver_email=_text(record.get("receiver_email")),
                mc_gross=money("mc_gross"),
                mc_fee=money("mc_fee"),
                mc_currency=_text(record.get("mc_currency")),
                status=_open_enum(MassPayStatus, record.get("status")),
                unique_id=_text(record.get("unique_id")),
                reason_code=_open_enum(ReasonCode, record.get("reason_code")),
                payment_gross=money("payment_gross"),
                payment_fee=money("payment_fee"),
            )
        )
    return out


def _items(fields: Mapping[str, str], warnings: list[str]) -> list[CartItem]:
    out = []
    for n, record in _numbered(fields, _ITEM_NAMES, bare=True).items():

        def money(name: str, record: dict[str, str] = record, n: int = n) -> Decimal | None:
            return _decimal(record.get(name), f"{name}_{n}", warnings)

        out.append(
            CartItem(
                index=n,
                item_name=_text(record.get("item_name")),
                item_number=_text(record.get("item_number")),
                quantity=_int(record.get("quantity")),
                mc_gross=money("mc_gross"),
                mc_handling=money("mc_handling"),
                mc_shipping=money("mc_shipping"),
                tax=money("tax"),
            )
        )
    return out


def _adaptive_amount(text: str | None, name: str, warnings: list[str]) -> tuple[Decimal | None, str | None]:
    value = _text(text)
    if value is None:
        return None, None
    match = _ADAPTIVE_AMOUNT.fullmatch(value)
    if match is None:
        warnings.append(f"{name} is not a currency and an amount")
        return None, None
    return Decimal(match[2]), match[1].upper() if match[1] else None


def _flag(text: str | None) -> bool | None:
    value = _text(text)
    return None if value is None else value.lower() in ("1", "true")


def _transactions(fields: Mapping[str, str], warnings: list[str]) -> list[AdaptiveTransaction]:
    records: dict[int, dict[str, str]] = {}
    for key, value in fields.items():
        match = _ADAPTIVE.fullmatch(key)
        if match is not None:
            records.setdefault(int(match[1]), {}).setdefault(match[2].lower(), value)
    out = []
    for n in sorted(records):
        record = records[n]
        amount, currency = _adaptive_amount(record.get("amount"), f"transaction[{n}].amount", warnings)
        refund, _ = _adaptive_amount(record.get("refund_amount"), f"transaction[{n}].refund_amount", warnings)
        out.append(
            AdaptiveTransaction(
                index=n,
                id=_text(record.get("id")),
                id_for_sender_txn=_text(record.get("id_for_sender_txn")),
                receiver=_text(record.get("receiver")),
                amount=amount,
                currency=currency,
                status=_text(record.get("status")),
                status_for_sender_txn=_text(record.get("status_for_sender_txn")),
                pending_reason=_text(record.get("pending_reason")),
                is_primary_receiver=_flag(record.get("is_primary_receiver")),
                invoice_id=_text(record.get("invoiceid")),
                payment_type=_text(record.get("paymenttype")),
                refund_id=_text(record.get("refund_id")),
                refund_amount=refund,
                refund_account_charged=_text(record.get("refund_account_charged")),
            )
        )
    return out


def _is_masspay(txn_type: TxnType | None, fields: Mapping[str, str]) -> bool:
    if txn_type == TxnType.MASSPAY:
        return True
    for key in fields:
        match = _NUMBERED.fullmatch(key)
        if match is not None and match[1] in _MASSPAY_ONLY and key[len(match[1])] == "_":
            return True
    return False


def _build(body: bytes, fields: dict[str, str], charset: str, warnings: list[str]) -> IpnMessage:
    read = _Fields(fields)
    values: dict[str, Any] = {name: _text(read.get(name)) for name in _TEXT_ATTRIBUTES}
    for name in _MONEY_ATTRIBUTES:
        values[name] = _decimal(read.get(name), name, warnings)
    for name in _DATE_ATTRIBUTES:
        values[name] = parse_ipn_date(read.get(name))
    for name in _INT_ATTRIBUTES:
        values[name] = _int(read.get(name))
    for name in _FLAG_ATTRIBUTES:
        values[name] = _flag(read.get(name))
    txn_type = _open_enum(TxnType, read.get("txn_type"))
    masspay = _is_masspay(txn_type, fields)
    mass_payments = _mass_payments(fields, warnings) if masspay else []
    items = [] if masspay else _items(fields, warnings)
    transactions = _transactions(fields, warnings)
    filters = [
        _text(record.get("fraud_management_pending_filters")) or ""
        for record in _numbered(fields, frozenset(("fraud_management_pending_filters",)), bare=False).values()
    ]
    for warning in warnings:
        logger.warning("IPN %s: %s", values["txn_id"] or values["ipn_track_id"] or "-", warning)
    return IpnMessage(
        raw=body,
        fields=fields,
        charset=charset,
        warnings=tuple(warnings),
        txn_type=txn_type,
        payment_status=_open_enum(PaymentStatus, read.get("payment_status")),
        pending_reason=_open_enum(PendingReason, read.get("pending_reason")),
        reason_code=_open_enum(ReasonCode, read.get("reason_code")),
        case_type=_open_enum(CaseType, read.get("case_type")),
        test_ipn=(read.get("test_ipn") or "").strip() == "1",
        resend=(read.get("resend") or "").strip().lower() == "true",
        mass_payments=mass_payments,
        fraud_management_pending_filters=filters,
        items=items,
        transactions=transactions,
        **values,
    )
