"""Result models: what the gateway answered, typed (PROTOCOL.md §4.5, §4.7–§4.14).

Built from a parsed message with :meth:`Result.from_params`: keys are matched
case-insensitively (``PayID``/``payid``, ``E-Mail``/``e-mail``, ``mid``/``MerchantID``), values
are stripped of surrounding whitespace and empty values become ``None`` (address fields are always
sent, empty when unknown). Unknown keys are kept in ``raw`` with their original spelling
(``MAC`` excepted: it has been verified and is of no further use). Results are frozen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self, TypeVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from axepta.codes import SUCCESS
from axepta.crypto import Params
from axepta.fields import decode_base64_json_object
from axepta.models._checks import _set_dict, _set_extra, _set_fields_set, _set_private

__all__ = [
    "CreditResult",
    "OrderStatus",
    "PayPalOrderResult",
    "PaymentResult",
    "Result",
    "ResultFields",
]


def _lenient_int(value: object) -> object:
    """n..10 amounts: digits become ``int``; anything else ``None`` (the text stays in ``raw``)."""
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.isascii() and text.isdigit() else None
    return value


MinorUnits = Annotated[int | None, BeforeValidator(_lenient_int)]


def wire(*keys: str) -> Any:
    """A result field read from the first of ``keys`` present (case-insensitive)."""
    return Field(default=None, validation_alias=AliasChoices(*keys))


def _keys_of(info: Any) -> tuple[str, ...]:
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(c for c in alias.choices if isinstance(c, str))
    if isinstance(alias, str):
        return (alias,)
    return ()


#: what a wire key (lower case) fills: (field name, rank of the key among the field's keys,
#: whether the field holds minor units)
_Slot = tuple[str, int, bool]
#: per result class: the wire keys that fill one field read by that key alone (key -> (field
#: name, minor units)), the other keys (key -> slots), the names of the class's fields
_Plan = tuple[dict[str, tuple[str, bool]], dict[str, tuple[_Slot, ...]], frozenset[str]]
_PLANS: dict[type[BaseModel], _Plan] = {}


def _plan(cls: type[BaseModel]) -> _Plan:
    """Per result class, computed once: for each wire key (lower case) the fields it fills, with
    the key's rank in the field's order of preference and whether the field holds minor units
    (text converted by ``_lenient_int``); and the names of the class's fields."""
    plan = _PLANS.get(cls)
    if plan is None:
        slots: dict[str, list[_Slot]] = {}
        several: set[str] = set()
        fields = cls.model_fields
        for name, info in fields.items():
            keys = list(dict.fromkeys(k.lower() for k in _keys_of(info)))
            lenient = any(isinstance(m, BeforeValidator) and m.func is _lenient_int for m in info.metadata)
            for rank, key in enumerate(keys):
                slots.setdefault(key, []).append((name, rank, lenient))
            if len(keys) > 1:
                several.add(name)
        single = {
            key: (s[0][0], s[0][2]) for key, s in slots.items() if len(s) == 1 and s[0][0] not in several
        }
        others = {key: tuple(s) for key, s in slots.items() if key not in single}
        plan = (single, others, frozenset(fields))
        _PLANS[cls] = plan
    return plan


_DEFAULTS: dict[type[BaseModel], dict[str, Any]] = {}


_M = TypeVar("_M", bound=BaseModel)


def _construct(cls: type[_M], values: dict[str, Any]) -> _M:
    """``cls.model_construct(**values)`` for result classes, without its per-field default
    resolution: every default is ``None`` or an immutable value, computed once per class, and
    ``raw`` (the one default factory) is always given. Still frozen, equal and dumped as a
    validated instance is."""
    defaults = _DEFAULTS.get(cls)
    if defaults is None:
        defaults = {
            name: (None if info.default_factory is not None else info.get_default())
            for name, info in cls.model_fields.items()
        }
        _DEFAULTS[cls] = defaults
    if "raw" not in values:
        return cls.model_construct(**values)
    data = {**defaults, **values}
    obj = object.__new__(cls)
    _set_dict(obj, data)
    _set_fields_set(obj, set(values))
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


class OrderStatus(BaseModel):
    """One ``OrderStatus<n>`` of a marketplace result: base64 JSON
    ``{"status": …, "id": …, "invoiceid": …}`` decoded. ``id`` is the seller's capture id
    (``na`` on failure; :attr:`capture_id` is then ``None``). ``encoded`` keeps the wire text;
    when it cannot be decoded, ``status``/``id``/``invoice_id`` are ``None``."""

    model_config = ConfigDict(frozen=True)

    index: int
    status: str | None = None
    id: str | None = None
    invoice_id: str | None = None
    encoded: str = Field(default="", repr=False)

    @classmethod
    def decode(cls, index: int, encoded: str) -> OrderStatus:
        obj = decode_base64_json_object(encoded)
        if obj is None:
            return cls(index=index, encoded=encoded)
        return cls(
            index=index, status=obj.get("status"), id=obj.get("id"), invoice_id=obj.get("invoiceid"), encoded=encoded
        )

    @property
    def completed(self) -> bool:
        return (self.status or "").upper() == "COMPLETED"

    @property
    def capture_id(self) -> str | None:
        """The capture id to refund this seller's part, or ``None`` (``na`` / missing)."""
        return None if self.id is None or self.id.lower() == "na" else self.id


class Result(BaseModel):
    """Fields every gateway reply carries (§4.8): ``pay_id``, ``xid``, ``trans_id``,
    ``status``, ``code``, ``description`` (for people only), ``code_ext`` (PayPal's code),
    ``ref_nr``, ``tid`` (PayPal capture or authorisation id), ``mid``; plus ``req_id`` (the
    ReqId the request was sent with), ``operation`` and ``raw`` (every key, original spelling).
    """

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True, extra="ignore")

    operation: str | None = None
    mid: str | None = wire("mid", "MerchantID")
    pay_id: str | None = wire("PayID")
    xid: str | None = wire("XID")
    trans_id: str | None = wire("TransID")
    status: str | None = wire("Status")
    code: str | None = wire("Code")
    description: str | None = wire("Description")
    code_ext: str | None = wire("CodeExt")
    ref_nr: str | None = wire("RefNr")
    tid: str | None = wire("TID")
    req_id: str | None = None
    raw: dict[str, str] = Field(default_factory=dict, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_none(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str) and key != "raw":
                value = value.strip()
                if value == "":
                    continue
            out[key] = value
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, str], **extra: Any) -> Self:
        """Build from a parsed message (any mapping; keys matched case-insensitively).

        The wire values are text, stripped, blanks dropped and amounts converted here, by the
        class's precomputed plan; the result is then built without a second validation pass.
        Extra keywords that are not text (or ``None``) go through full validation."""
        p = params if isinstance(params, Params) else Params(dict(params))
        values = cls._wire_values(p)
        fields = _plan(cls)[2]
        for key, value in extra.items():
            if key == "raw" or key not in fields or not (value is None or isinstance(value, str)):
                values.update(extra)
                return cls.model_validate(values)
            given = None if value is None else value.strip()
            if given:
                values[key] = given
            else:
                values.pop(key, None)
        return _construct(cls, values)

    @classmethod
    def _from_reply(cls, params: Params, operation: str, req_id: str | None) -> Self:
        """``from_params(params, operation=operation, req_id=req_id)`` for the protocol core,
        whose ``operation`` is one of its own names and ``req_id`` the ReqId it sent: text
        (stripped here as there), read by no wire key."""
        values = cls._wire_values(params)
        values["operation"] = operation
        if req_id is not None:
            given = req_id.strip()
            if given:
                values["req_id"] = given
        return _construct(cls, values)

    @classmethod
    def _wire_values(cls, p: Params) -> dict[str, Any]:
        """The fields read from the message (stripped, blanks dropped, amounts converted) and
        ``raw``, by the class's plan."""
        single, others, _fields = _plan(cls)
        items = p.folded()
        raw = dict(items.values())  # every key in its spelling, in order, MAC excepted
        mac = items.get("mac")
        if mac is not None:
            del raw[mac[0]]
        values: dict[str, Any] = {}
        # one pass over the message: a field with several keys takes the first of its keys
        # present (the lowest rank), even when that value is blank
        chosen: dict[str, tuple[int, str, bool]] | None = None
        for low, (_orig, value) in items.items():
            slot = single.get(low)
            if slot is not None:
                text = value.strip()
                if text:
                    values[slot[0]] = _lenient_int(text) if slot[1] else text
                continue
            for name, rank, lenient in others.get(low, ()):
                chosen = {} if chosen is None else chosen
                best = chosen.get(name)
                if best is None or rank < best[0]:
                    chosen[name] = (rank, value, lenient)
        if chosen is not None:
            for name, (_rank, value, lenient) in chosen.items():
                text = value.strip()
                if text:
                    values[name] = _lenient_int(text) if lenient else text
        if cls._extra_values.__func__ is not _NO_EXTRA_VALUES:  # type: ignore[attr-defined]
            values.update(cls._extra_values(p))
        values["raw"] = raw
        return values

    @classmethod
    def _extra_values(cls, params: Params) -> dict[str, Any]:
        return {}

    @property
    def succeeded(self) -> bool:
        """``True`` only when ``code`` is ``00000000`` (a plain ``paypalorders`` reply carries
        no ``Code`` at all: then ``True`` when a ``PayID`` came back)."""
        if self.code is None:
            return self.pay_id is not None
        return self.code.upper() == SUCCESS

    @property
    def awaiting_completion(self) -> bool:
        """``Status=AUTHORIZE_REQUEST``: approved by the customer, not final (§1.5, §1.11)."""
        return (self.status or "").upper() == "AUTHORIZE_REQUEST"


_NO_EXTRA_VALUES = Result._extra_values.__func__  # type: ignore[attr-defined]


class PaymentResult(Result):
    """Reply of ``paypalComplete``, ``Authorize``, ``capture``, ``reverse`` and
    ``paypalreftrans``. The reference-transaction reply adds ``order_id`` (PayPal order id),
    ``tid`` (capture id, needed for refunds) and payer fields; ``transaction_id`` is read when
    present."""

    order_id: str | None = wire("OrderID")
    transaction_id: str | None = wire("TransactionID")
    name: str | None = wire("Name")
    first_name: str | None = wire("FirstName")
    last_name: str | None = wire("LastName")
    email: str | None = wire("E-Mail", "EMail", "Email")
    billing_name: str | None = wire("BillingName")
    billing_addr_country_code: str | None = wire("BillingAddrCountryCode")
    payer_id: str | None = wire("PayerID")
    user_data: str | None = wire("UserData")


class CreditResult(Result):
    """Reply of ``credit`` and ``creditex``: refund amounts in minor units (``int``, or
    ``None`` when absent or not digits)."""

    fee_refund_amount: MinorUnits = wire("FeeRefundAmount")
    gross_refund_amount: MinorUnits = wire("GrossRefundAmount")
    net_refund_amount: MinorUnits = wire("NetRefundAmount")


class PayPalOrderResult(Result):
    """Reply of ``paypalorders`` (§4.5): ``pay_id`` (store it), ``order_id`` (the PayPal order
    id for the JS SDK), ``paypal_url`` (approval URL: BAID and redirect mode) and, when the
    platform answered ``mode=redirect`` with a 302, ``redirect_url`` (never followed; ``pay_id``
    is then unknown until the result arrives)."""

    order_id: str | None = wire("orderid", "OrderID")
    paypal_url: str | None = wire("paypalurl", "PayPalURL")
    redirect_url: str | None = None
    user_data: str | None = wire("UserData")

    @property
    def approval_url(self) -> str | None:
        """Where to send the customer: ``paypal_url`` or the 302 ``redirect_url``."""
        return self.paypal_url or self.redirect_url


class ResultFields(Result):
    """Every result parameter of §4.7 (``URLSuccess``, ``URLFailure``, ``URLNotify``), typed.

    Payer: ``name``, ``first_name``, ``last_name``, ``email``, ``payer_id``, ``payer_status``.
    Delivery address: ``addr_street``, ``addr_street2``, ``addr_city``, ``addr_state``,
    ``addr_zip``, ``addr_country_code``, ``phone`` (kept as text). Billing address held by
    PayPal: ``billing_name``, ``billing_addr_*``. PayPal ids: ``tid``, ``transaction_id``
    (order id), ``billing_agreement_id``, ``order_status`` (decoded ``OrderStatus<n>``).
    Amounts ``gross_amount``, ``fee_amount``, ``settle_amount``, ``tax_amount``,
    ``exchange_rate``, ``mc_fee``, ``mc_gross`` stay strings (format unknown, Q14)."""

    user_data: str | None = wire("UserData")
    info_text: str | None = wire("InfoText")
    name: str | None = wire("Name")
    first_name: str | None = wire("FirstName")
    last_name: str | None = wire("LastName")
    email: str | None = wire("E-Mail", "EMail", "Email")
    addr_street: str | None = wire("AddrStreet")
    addr_street2: str | None = wire("AddrStreet2")
    addr_city: str | None = wire("AddrCity")
    addr_state: str | None = wire("AddrState")
    addr_zip: str | None = wire("AddrZip", "AddrZIP")
    addr_country_code: str | None = wire("AddrCountryCode")
    phone: str | None = wire("Phone")
    billing_agreement_id: str | None = wire("BillingAgreementID")
    billing_name: str | None = wire("BillingName")
    billing_addr_street: str | None = wire("BillingAddrStreet")
    billing_addr_street2: str | None = wire("BillingAddrStreet2")
    billing_addr_city: str | None = wire("BillingAddrCity")
    billing_addr_state: str | None = wire("BillingAddrState")
    billing_addr_zip: str | None = wire("BillingAddrZIP", "BillingAddrZip")
    billing_addr_country_code: str | None = wire("BillingAddrCountryCode")
    payer_status: str | None = wire("payerStatus")
    payer_id: str | None = wire("PayerID")
    gross_amount: str | None = wire("GrossAmount")
    fee_amount: str | None = wire("FeeAmount")
    settle_amount: str | None = wire("SettleAmount")
    tax_amount: str | None = wire("TaxAmount")
    exchange_rate: str | None = wire("ExchangeRate")
    mc_fee: str | None = wire("mc_fee")
    mc_gross: str | None = wire("mc_gross")
    transaction_id: str | None = wire("TransactionID")
    order_status: tuple[OrderStatus, ...] = ()

    @classmethod
    def _extra_values(cls, params: Params) -> dict[str, Any]:
        statuses: list[OrderStatus] = []
        n = 1
        while True:
            value = params.get(f"OrderStatus{n}")
            if value is None:
                break
            statuses.append(OrderStatus.decode(n, value))
            n += 1
        return {"order_status": tuple(statuses)}
