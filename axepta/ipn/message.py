"""The typed IPN message (:class:`IpnMessage`) and its repeated records (:class:`MassPayment`,
:class:`CartItem`, :class:`AdaptiveTransaction`)."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from axepta.ipn.values import (
    CaseType,
    MassPayStatus,
    PaymentStatus,
    PendingReason,
    ReasonCode,
    TxnType,
    _normalise,
    _str_or_none,
)


@dataclass(frozen=True, slots=True)
class MassPayment:
    """One Mass Pay record (``_x`` variables, §9.7). ``index`` is the record's number as sent
    (PayPal numbers from 1; other senders from 0, or with gaps): records come in numeric order."""

    index: int
    masspay_txn_id: str | None = None
    receiver_email: str | None = None
    mc_gross: Decimal | None = None
    mc_fee: Decimal | None = None
    mc_currency: str | None = None
    status: MassPayStatus | None = None
    unique_id: str | None = None
    reason_code: ReasonCode | None = None
    payment_gross: Decimal | None = None
    payment_fee: Decimal | None = None

    @property
    def dedup_key(self) -> tuple[str, str]:
        """(``masspay_txn_id_x``, ``status_x``): the per-record de-duplication key."""
        return (self.masspay_txn_id or "", _normalise(self.status or ""))

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "masspay_txn_id": self.masspay_txn_id,
            "receiver_email": self.receiver_email,
            "mc_gross": _str_or_none(self.mc_gross),
            "mc_fee": _str_or_none(self.mc_fee),
            "mc_currency": self.mc_currency,
            "status": _str_or_none(self.status),
            "unique_id": self.unique_id,
            "reason_code": _str_or_none(self.reason_code),
        }


@dataclass(frozen=True, slots=True)
class CartItem:
    """One shopping-cart item (``item_name_x``/``item_namex``, ``item_number_x``,
    ``quantity_x``, ``mc_gross_x``, ``mc_handling_x``, ``mc_shipping_x``, ``tax_x``; the suffix
    with or without ``_``), ``index`` its number as sent; items come in numeric order."""

    index: int
    item_name: str | None = None
    item_number: str | None = None
    quantity: int | None = None
    mc_gross: Decimal | None = None
    mc_handling: Decimal | None = None
    mc_shipping: Decimal | None = None
    tax: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "item_name": self.item_name,
            "item_number": self.item_number,
            "quantity": self.quantity,
            "mc_gross": _str_or_none(self.mc_gross),
            "mc_handling": _str_or_none(self.mc_handling),
            "mc_shipping": _str_or_none(self.mc_shipping),
            "tax": _str_or_none(self.tax),
        }


@dataclass(frozen=True, slots=True)
class AdaptiveTransaction:
    """One receiver of an Adaptive Payments message (``transaction[n].*``), ``index`` its ``n``.

    ``amount`` and ``currency`` come from ``transaction[n].amount`` (``"USD 2.00"``);
    ``refund_amount`` likewise (its currency is the same). Statuses stay text (Adaptive Payments
    writes ``Completed``, ``Pending``, ``Refunded``, … and ``pending_reason`` ``NONE``).
    """

    index: int
    id: str | None = None
    id_for_sender_txn: str | None = None
    receiver: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    status: str | None = None
    status_for_sender_txn: str | None = None
    pending_reason: str | None = None
    is_primary_receiver: bool | None = None
    invoice_id: str | None = None
    payment_type: str | None = None
    refund_id: str | None = None
    refund_amount: Decimal | None = None
    refund_account_charged: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = str(value) if isinstance(value, Decimal) else value
        return out



_TEXT_ATTRIBUTES = (
    "txn_id", "parent_txn_id", "receiver_email", "receiver_id", "business", "payer_email", "payer_id",
    "payer_status", "payer_business_name", "first_name", "last_name", "contact_phone", "address_name",
    "address_street", "address_city", "address_state", "address_zip", "address_country",
    "address_country_code", "address_status", "residence_country", "mc_currency", "settle_currency",
    "payment_type", "protection_eligibility", "custom", "invoice", "item_name", "item_number", "memo",
    "receipt_id", "case_id", "auth_id", "auth_status", "transaction_entity", "notify_version",
    "verify_sign", "ipn_track_id", "mp_id", "subscr_id", "recurring_payment_id", "transaction_subject",
    # recurring payments profiles
    "profile_status", "payment_cycle", "period_type", "product_name", "product_type", "rp_invoice_id",
    "currency_code",
    # subscriptions
    "period1", "period2", "period3",
    # billing agreements
    "mp_status", "mp_desc", "mp_custom", "mp_currency",
    # Adaptive Payments
    "pay_key", "transaction_type", "status", "sender_email", "fees_payer", "action_type",
)
_MONEY_ATTRIBUTES = (
    "mc_gross", "mc_fee", "mc_handling", "mc_shipping", "payment_gross", "payment_fee", "handling_amount",
    "shipping", "tax", "settle_amount", "exchange_rate", "auth_amount", "remaining_settle", "discount",
    "insurance_amount", "shipping_discount",
    # recurring payments profiles
    "amount", "amount_per_cycle", "initial_payment_amount", "outstanding_balance",
    # subscriptions
    "amount1", "amount2", "amount3", "mc_amount1", "mc_amount2", "mc_amount3",
)
_DATE_ATTRIBUTES = (
    "payment_date", "auth_exp", "case_creation_date", "echeck_time_processed", "subscr_date",
    "auction_closing_date", "next_payment_date", "time_created", "subscr_effective", "retry_at",
    "payment_request_date",
)
_INT_ATTRIBUTES = ("quantity", "num_cart_items", "recur_times", "mp_cycle_start")
#: ``1`` is true, anything else false (subscriptions: ``recurring``, ``reattempt``).
_FLAG_ATTRIBUTES = ("recurring", "reattempt")


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class IpnMessage:
    """A decoded IPN message. Attributes are named as PayPal's variables; absent or empty
    values are ``None``.

    Typed: ``txn_type`` (:class:`TxnType`), ``payment_status`` (:class:`PaymentStatus`),
    ``pending_reason``, ``reason_code``, ``case_type`` (open enums: unknown values are kept);
    money (``mc_gross``, ``mc_fee``, ``auth_amount``, ``settle_amount``, ``exchange_rate``, …)
    as :class:`~decimal.Decimal` in major units (negative for refunds and reversals; ``None``
    and a warning when malformed); dates (``payment_date``, ``auth_exp``,
    ``case_creation_date``, …) as :class:`~datetime.datetime` (``None`` when they do not
    parse); ``test_ipn`` and ``resend`` as ``bool``; ``quantity`` and ``num_cart_items`` as
    ``int``. Repeated variables: ``mass_payments`` (:class:`MassPayment`),
    ``fraud_management_pending_filters`` (filter names), ``items`` (:class:`CartItem`),
    ``transactions`` (:class:`AdaptiveTransaction`).

    Recurring payments profiles: ``recurring_payment_id``, ``profile_status``, ``payment_cycle``,
    ``period_type``, ``product_name``, ``product_type``, ``rp_invoice_id``, ``currency_code``;
    money ``amount``, ``amount_per_cycle``, ``initial_payment_amount``, ``outstanding_balance``;
    dates ``next_payment_date``, ``time_created``. Subscriptions: ``subscr_id``, ``period1``…
    ``period3``, ``amount1``…``amount3``, ``mc_amount1``…``mc_amount3``, ``recurring`` and
    ``reattempt`` (``bool``, ``None`` when absent), ``recur_times`` (``int``), dates
    ``subscr_date``, ``subscr_effective``, ``retry_at``. Billing agreements: ``mp_id``,
    ``mp_status``, ``mp_desc``, ``mp_custom``, ``mp_currency``, ``mp_cycle_start`` (``int``).
    Adaptive Payments (:attr:`adaptive`): ``pay_key``, ``transaction_type``, ``status``,
    ``sender_email``, ``fees_payer``, ``action_type``, ``payment_request_date``,
    ``transactions``. A variable whose name differs only in case (``receipt_ID``) is read too.

    Untouched: ``raw`` (the body bytes, for the postback), ``fields`` (every variable decoded
    to text, in message order: the raw text of every typed value), ``charset`` (the codec
    used) and ``warnings`` (what was odd: unknown charset, undecodable bytes, bad amounts).
    """

    raw: bytes = field(repr=False)
    fields: Mapping[str, str] = field(repr=False)
    charset: str
    warnings: tuple[str, ...] = ()
    txn_id: str | None = None
    txn_type: TxnType | None = None
    payment_status: PaymentStatus | None = None
    pending_reason: PendingReason | None = None
    reason_code: ReasonCode | None = None
    case_type: CaseType | None = None
    case_id: str | None = None
    parent_txn_id: str | None = None
    auth_id: str | None = None
    auth_status: str | None = None
    transaction_entity: str | None = None
    receiver_email: str | None = None
    receiver_id: str | None = None
    business: str | None = None
    payer_email: str | None = None
    payer_id: str | None = None
    payer_status: str | None = None
    payer_business_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    contact_phone: str | None = None
    address_name: str | None = None
    address_street: str | None = None
    address_city: str | None = None
    address_state: str | None = None
    address_zip: str | None = None
    address_country: str | None = None
    address_country_code: str | None = None
    address_status: str | None = None
    residence_country: str | None = None
    mc_gross: Decimal | None = None
    mc_fee: Decimal | None = None
    mc_currency: str | None = None
    mc_handling: Decimal | None = None
    mc_shipping: Decimal | None = None
    payment_gross: Decimal | None = None
    payment_fee: Decimal | None = None
    handling_amount: Decimal | None = None
    shipping: Decimal | None = None
    tax: Decimal | None = None
    settle_amount: Decimal | None = None
    settle_currency: str | None = None
    exchange_rate: Decimal | None = None
    auth_amount: Decimal | None = None
    remaining_settle: Decimal | None = None
    payment_date: datetime | None = None
    auth_exp: datetime | None = None
    case_creation_date: datetime | None = None
    echeck_time_processed: datetime | None = None
    subscr_date: datetime | None = None
    auction_closing_date: datetime | None = None
    payment_type: str | None = None
    protection_eligibility: str | None = None
    custom: str | None = None
    invoice: str | None = None
    item_name: str | None = None
    item_number: str | None = None
    quantity: int | None = None
    num_cart_items: int | None = None
    memo: str | None = None
    receipt_id: str | None = None
    transaction_subject: str | None = None
    notify_version: str | None = None
    verify_sign: str | None = field(default=None, repr=False)
    ipn_track_id: str | None = None
    mp_id: str | None = None
    subscr_id: str | None = None
    recurring_payment_id: str | None = None
    profile_status: str | None = None
    payment_cycle: str | None = None
    period_type: str | None = None
    product_name: str | None = None
    product_type: str | None = None
    rp_invoice_id: str | None = None
    currency_code: str | None = None
    amount: Decimal | None = None
    amount_per_cycle: Decimal | None = None
    initial_payment_amount: Decimal | None = None
    outstanding_balance: Decimal | None = None
    next_payment_date: datetime | None = None
    time_created: datetime | None = None
    period1: str | None = None
    period2: str | None = None
    period3: str | None = None
    amount1: Decimal | None = None
    amount2: Decimal | None = None
    amount3: Decimal | None = None
    mc_amount1: Decimal | None = None
    mc_amount2: Decimal | None = None
    mc_amount3: Decimal | None = None
    recurring: bool | None = None
    reattempt: bool | None = None
    recur_times: int | None = None
    subscr_effective: datetime | None = None
    retry_at: datetime | None = None
    mp_status: str | None = None
    mp_desc: str | None = None
    mp_custom: str | None = None
    mp_currency: str | None = None
    mp_cycle_start: int | None = None
    discount: Decimal | None = None
    insurance_amount: Decimal | None = None
    shipping_discount: Decimal | None = None
    pay_key: str | None = None
    transaction_type: str | None = None
    status: str | None = None
    sender_email: str | None = None
    fees_payer: str | None = None
    action_type: str | None = None
    payment_request_date: datetime | None = None
    test_ipn: bool = False
    resend: bool = False
    mass_payments: list[MassPayment] = field(default_factory=list)
    fraud_management_pending_filters: list[str] = field(default_factory=list)
    items: list[CartItem] = field(default_factory=list)
    transactions: list[AdaptiveTransaction] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"IpnMessage(txn_type={_str_or_none(self.txn_type)!r}, txn_id={self.txn_id!r}, "
            f"payment_status={_str_or_none(self.payment_status)!r}, mc_gross={_str_or_none(self.mc_gross)!r}, "
            f"mc_currency={self.mc_currency!r}, test_ipn={self.test_ipn!r})"
        )

    def get(self, name: str, default: str | None = None) -> str | None:
        """The decoded text of any variable (``message.get("option_name1")``)."""
        return self.fields.get(name, default)

    @property
    def environment(self) -> Literal["test", "production"]:
        """``test`` when ``test_ipn=1`` (a sandbox message), else ``production``."""
        return "test" if self.test_ipn else "production"

    @property
    def completed(self) -> bool:
        """``payment_status`` is ``Completed``: the only status to fulfil on (§9.4)."""
        return self.payment_status == PaymentStatus.COMPLETED

    @property
    def dedup_key(self) -> tuple[str, str]:
        """(``txn_id``, ``payment_status``) normalised (§9.4). A message without ``txn_id``
        (billing agreements, account events) is keyed on ``pay_key`` (Adaptive Payments, with its
        ``status``), ``ipn_track_id``, else on a digest of its body."""
        ident = (
            self.txn_id or self.pay_key or self.ipn_track_id or "sha256:" + hashlib.sha256(self.raw).hexdigest()[:32]
        )
        return (ident, _normalise(self.payment_status or self.status or self.txn_type or self.transaction_type or ""))

    @property
    def adaptive(self) -> bool:
        """An Adaptive Payments message (``pay_key``, ``transaction[n].*``, or a
        ``transaction_type`` ``Adaptive Payment …``): read :attr:`transactions`, not ``mc_gross``."""
        return (
            self.pay_key is not None
            or bool(self.transactions)
            or (self.transaction_type or "").lower().startswith("adaptive")
        )

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (amounts and dates as strings; ``raw`` left out: ``fields`` holds
        its decoded text)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            if name == "raw":
                continue
            value = getattr(self, name)
            if name in ("mass_payments", "items", "transactions"):
                value = [v.as_dict() for v in value]
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Decimal | enum.Enum):
                value = str(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[name] = value
        out["environment"] = self.environment
        return out

