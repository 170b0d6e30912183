"""Request models, one per operation of PROTOCOL.md §4, plus their building blocks.

Python speaks snake_case; each field carries its wire name in its check (``Text("TransID",
"ans..64")``), and the protocol core (:mod:`axepta.protocol`) turns a model into the ordered
plaintext. Everything here is checked on construction: a broken rule raises
:class:`~axepta.errors.InvalidRequestError` naming the wire field and the rule, so nothing that
breaks the seed's formats can be sent. Amounts are ``int`` minor units
(:func:`axepta.to_minor_units` converts a ``Decimal``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import model_validator

from axepta.errors import InvalidRequestError
from axepta.models._checks import (
    Amount,
    Choice,
    Currency,
    Flag,
    Nested,
    Pairs,
    Pattern,
    Phone,
    RequestModel,
    Text,
    Url,
)

__all__ = [
    "Address",
    "AuthorizeRequest",
    "BasketLine",
    "CaptureRequest",
    "CompleteRequest",
    "CreditExRequest",
    "CreditRequest",
    "OrderItem",
    "PayPalOrderRequest",
    "PaymentUnit",
    "ReferenceTransactionRequest",
    "Request",
    "ReverseRequest",
    "US_CA_STATE_CODES",
]

#: PayPal's 2-letter state and province codes for the US and Canada (PayPal API reference,
#: "State and province codes"): ``AddrState`` is checked against them for those countries.
US_CA_STATE_CODES: Mapping[str, frozenset[str]] = {
    "US": frozenset(
        ["AL", "AK", "AS", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FM", "FL", "GA", "GU", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MH", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "MP", "OH", "OK", "OR", "PW", "PA", "PR", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VI", "VA", "WA", "WV", "WI", "WY", "AA", "AE", "AP"]
    ),
    "CA": frozenset(["AB", "BC", "MB", "NB", "NL", "NT", "NS", "NU", "ON", "PE", "QC", "SK", "YT"]),
}

_MAX_BASKET_LINES = 98  # OrderDesc2 … OrderDesc99
_MAX_JSON_PARAM = 2048
_PAYPAL_ID = r"[A-Za-z0-9]{1,32}"

PayId = Annotated[str, Text("PayID", "an32")]
TransId = Annotated[str, Text("TransID", "ans..64")]
Money = Annotated[int, Amount("Amount")]
CurrencyCode = Annotated[str, Currency("Currency")]
OptReqId = Annotated[
    str | None, Pattern("ReqId", _PAYPAL_ID, "[A-Za-z0-9]{1,32} (alphanumeric ans..32)")
]
OptTid = Annotated[str | None, Text("TID", "ans..17")]


def _b64_json(field: str, obj: object) -> str:
    """Compact UTF-8 JSON, then standard base64 with padding, at most 2 048 characters (§4.3)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if len(encoded) > _MAX_JSON_PARAM:
        raise InvalidRequestError(
            f"{field}: the base64 JSON is {len(encoded)} characters; at most {_MAX_JSON_PARAM}",
            field=field,
            rule="ans..2048",
        )
    return encoded


class Address(RequestModel):
    """A delivery address (``FirstName`` … ``Phone``). Every part is optional here; each
    operation states which parts it needs. ``phone`` is normalised to digits (``+`` → ``00``);
    ``country_code`` is ISO 3166-1 alpha-2 (upper-cased). For ``US`` and ``CA``, ``state`` must
    be PayPal's 2-letter code (``CA``, not ``California``)."""

    first_name: Annotated[str | None, Text("FirstName", "ans..50")] = None
    last_name: Annotated[str | None, Text("LastName", "ans..50")] = None
    street: Annotated[str | None, Text("AddrStreet", "ans..100")] = None
    street2: Annotated[str | None, Text("AddrStreet2", "ans..100")] = None
    city: Annotated[str | None, Text("AddrCity", "ans..40")] = None
    state: Annotated[str | None, Text("AddrState", "ans..40")] = None
    zip: Annotated[str | None, Text("AddrZip", "ans..20")] = None
    country_code: Annotated[
        str | None, Pattern("AddrCountryCode", r"[A-Za-z]{2}", "an2 ISO 3166-1 alpha-2", upper=True)
    ] = None
    phone: Annotated[str | None, Phone("Phone")] = None

    @model_validator(mode="after")
    def _country_rules(self) -> Address:
        codes = US_CA_STATE_CODES.get(self.country_code or "")
        if codes is not None and self.state is not None and self.state not in codes:
            raise InvalidRequestError(
                f"AddrState: for {self.country_code} PayPal expects a 2-letter state code "
                f"(e.g. {sorted(codes)[0]}); found {self.state!r}",
                field="AddrState",
                rule="PayPal state/province code",
            )
        return self

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)

    def require(self, names: tuple[str, ...], rule: str) -> None:
        """Raise naming the first of ``names`` (field names) that is missing."""
        for name in names:
            if getattr(self, name) is None:
                key = _ADDRESS_KEYS[name]
                raise InvalidRequestError(f"{key}: is mandatory {rule}", field=key, rule=rule)


_ADDRESS_KEYS = {
    "first_name": "FirstName",
    "last_name": "LastName",
    "street": "AddrStreet",
    "street2": "AddrStreet2",
    "city": "AddrCity",
    "state": "AddrState",
    "zip": "AddrZip",
    "country_code": "AddrCountryCode",
    "phone": "Phone",
}
_US_CA_REQUIRED = ("first_name", "last_name", "street", "city", "state", "zip")


class BasketLine(RequestModel):
    """One basket line, sent as ``OrderDesc<n>=Name,Amount,Number,Quantity,Description,Tax``.

    ``amount`` and ``tax`` are **per unit**, in minor units; ``quantity`` is a positive
    integer. No element may contain ``,`` or ``&``."""

    name: Annotated[str, Text("OrderDesc(n).Name", "ans..2048")]
    amount: Annotated[int, Amount("OrderDesc(n).Amount", minimum=0)]
    number: Annotated[str, Text("OrderDesc(n).Number", "ans..2048")]
    quantity: Annotated[int, Amount("OrderDesc(n).Quantity", minimum=1)]
    description: Annotated[str, Text("OrderDesc(n).Description", "ans..2048", allow_empty=True)] = ""
    tax: Annotated[int | None, Amount("OrderDesc(n).Tax", minimum=0)] = None

    @model_validator(mode="after")
    def _no_commas(self) -> BasketLine:
        for name in ("name", "number", "description"):
            if "," in getattr(self, name):
                key = f"OrderDesc(n).{name.capitalize()}"
                raise InvalidRequestError(
                    f"{key}: must not contain ',' (it separates the basket elements)",
                    field=key,
                    rule="no comma",
                )
        return self

    def wire(self) -> str:
        tax = "" if self.tax is None else str(self.tax)
        return f"{self.name},{self.amount},{self.number},{self.quantity},{self.description},{tax}"


class OrderItem(RequestModel):
    """One item of a marketplace :class:`PaymentUnit` (``orderitems[]``)."""

    name: Annotated[str, Text("PaymentUnit.orderitems.name", "ans..127")]
    quantity: Annotated[int, Amount("PaymentUnit.orderitems.quantity", minimum=1)]
    unit_amount: Annotated[int, Amount("PaymentUnit.orderitems.unitamount", minimum=0)]
    tax: Annotated[int, Amount("PaymentUnit.orderitems.tax", minimum=0)] = 0
    description: Annotated[str | None, Text("PaymentUnit.orderitems.description", "ans..127")] = None
    category: Annotated[
        str | None,
        Choice("PaymentUnit.orderitems.category", ("DIGITAL_GOODS", "PHYSICAL_GOODS", "DONATION")),
    ] = None

    def as_json(self) -> dict[str, str]:
        obj = {
            "name": self.name,
            "quantity": str(self.quantity),
            "unitamount": str(self.unit_amount),
            "tax": str(self.tax),
            "description": self.description,
            "category": self.category,
        }
        return {k: v for k, v in obj.items() if v is not None}


class PaymentUnit(RequestModel):
    """One seller of a marketplace payment, sent as ``PaymentUnit<n>`` = base64 JSON (§4.3).

    ``item_total`` and ``tax_total`` default to the sums over ``items`` (unit amount × quantity,
    tax × quantity) and ``amount`` to ``item_total + tax_total + shipping_amount``; values given
    explicitly must agree with them. ``merchant_id`` is the seller's PayPal PayerID."""

    merchant_email: Annotated[str | None, Text("PaymentUnit.merchantemailaddress", "ans..127")] = None
    merchant_id: Annotated[str | None, Text("PaymentUnit.merchantid", "ans..13")] = None
    amount: Annotated[int | None, Amount("PaymentUnit.amount")] = None
    item_total: Annotated[int | None, Amount("PaymentUnit.itemtotal", minimum=0)] = None
    tax_total: Annotated[int | None, Amount("PaymentUnit.taxtotal", minimum=0)] = None
    shipping_amount: Annotated[int, Amount("PaymentUnit.shippingamount", minimum=0)] = 0
    invoice_id: Annotated[str | None, Text("PaymentUnit.invoiceid", "ans..127")] = None
    order_description: Annotated[str | None, Text("PaymentUnit.orderdescription", "ans..127")] = None
    items: Annotated[tuple[OrderItem, ...], Nested("PaymentUnit.orderitems", many=True)] = ()

    @model_validator(mode="after")
    def _totals(self) -> PaymentUnit:
        if self.merchant_email is None and self.merchant_id is None:
            raise InvalidRequestError(
                "PaymentUnit: needs merchant_email or merchant_id (the seller)",
                field="PaymentUnit.merchantid",
                rule="seller named",
            )
        if self.items:
            items = sum(i.unit_amount * i.quantity for i in self.items)
            taxes = sum(i.tax * i.quantity for i in self.items)
            self._agree("item_total", "itemtotal", items, "Σ unitamount × quantity")
            self._agree("tax_total", "taxtotal", taxes, "Σ tax × quantity")
        if self.item_total is None or self.tax_total is None:
            if self.amount is None:
                raise InvalidRequestError(
                    "PaymentUnit.amount: give amount, or items / item_total and tax_total",
                    field="PaymentUnit.amount",
                    rule="mandatory",
                )
            return self
        total = self.item_total + self.tax_total + self.shipping_amount
        self._agree("amount", "amount", total, "itemtotal + taxtotal + shippingamount")
        return self

    def _agree(self, name: str, key: str, computed: int, rule: str) -> None:
        given = getattr(self, name)
        if given is None:
            object.__setattr__(self, name, computed)
        elif given != computed:
            raise InvalidRequestError(
                f"PaymentUnit.{key}: {given} differs from {rule} = {computed}",
                field=f"PaymentUnit.{key}",
                rule=f"{key} = {rule}",
            )

    def as_json(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "merchantemailaddress": self.merchant_email,
            "merchantid": self.merchant_id,
            "amount": str(self.amount),
            "itemtotal": None if self.item_total is None else str(self.item_total),
            "taxtotal": None if self.tax_total is None else str(self.tax_total),
            "shippingamount": str(self.shipping_amount),
            "invoiceid": self.invoice_id,
            "orderdescription": self.order_description,
            "orderitems": [i.as_json() for i in self.items] or None,
        }
        return {k: v for k, v in obj.items() if v is not None}


class _Base(RequestModel):
    """Fields shared by every operation."""

    #: the operation name (key of the client's ``paths``), set by each subclass
    operation: ClassVar[str]

    trans_id: TransId
    amount: Money
    currency: CurrencyCode


def _check_address_parts(address: Address | None, *, require_first_name_rule: bool) -> None:
    if address is None:
        return
    if require_first_name_rule and address.first_name is None and not address.is_empty():
        raise InvalidRequestError(
            "FirstName: address fields are ignored by the platform without FirstName; "
            "give first_name or no address at all",
            field="FirstName",
            rule="address fields need FirstName",
        )


class PayPalOrderRequest(_Base):
    """Create a PayPal order — ``ExternalServices/paypalorders.aspx`` (§4.1–§4.4).

    ``capture`` is ``Auto`` (sale) or ``Manual``; ``tx_type`` is ``Order`` or ``Auth``
    (mandatory with ``Manual``, absent with ``Auto``) or ``BAID`` (billing agreement: ``ref_nr``
    mandatory, ``Capture`` not sent). ``basket`` lines become ``OrderDesc2…99`` and require
    ``amount == Σ amount×quantity + Σ tax×quantity + shipping_amount``. ``payment_units`` and
    ``risk_evaluation`` are sent as base64 JSON."""

    operation: ClassVar[str] = "paypal_orders"

    ref_nr: Annotated[str | None, Text("RefNr", "ns..30")] = None
    capture: Annotated[Literal["Auto", "Manual"], Choice("Capture", ("Auto", "Manual"))] = "Auto"
    tx_type: Annotated[
        Literal["Order", "Auth", "BAID"] | None, Choice("TxType", ("Order", "Auth", "BAID"))
    ] = None
    paypal_method: Annotated[Literal["shortcut"] | None, Choice("PayPalMethod", ("shortcut",))] = None
    order_desc: Annotated[str, Text("OrderDesc", "ans..127")]
    basket: Annotated[tuple[BasketLine, ...], Nested("OrderDesc(n)", many=True)] = ()
    shipping_amount: Annotated[int | None, Amount("ShAmount", minimum=0)] = None
    url_success: Annotated[str, Url("URLSuccess")]
    url_failure: Annotated[str, Url("URLFailure")]
    url_notify: Annotated[str, Url("URLNotify")]
    user_data: Annotated[str | None, Text("UserData", "ans..1024")] = None
    req_id: OptReqId = None
    account: Annotated[str | None, Text("Account", "ans..128")] = None
    language: Annotated[
        str | None, Choice("Language", ("AU", "DE", "FR", "IT", "GB", "ES", "US"))
    ] = None
    address: Annotated[Address | None, Nested("Address")] = None
    no_shipping: Annotated[bool | None, Flag("NoShipping")] = None
    risk_evaluation: Annotated[Mapping[str, str] | None, Pairs("RiskEvaluation")] = None
    payment_units: Annotated[tuple[PaymentUnit, ...], Nested("PaymentUnit(n)", many=True)] = ()
    mode: Annotated[Literal["redirect"] | None, Choice("mode", ("redirect",))] = None

    @model_validator(mode="after")
    def _rules(self) -> PayPalOrderRequest:
        if self.tx_type == "BAID":
            if self.capture == "Manual":
                raise InvalidRequestError(
                    "Capture: is not sent with TxType=BAID (leave capture at its default)",
                    field="Capture",
                    rule="no Capture with TxType=BAID",
                )
            if self.ref_nr is None:
                raise InvalidRequestError(
                    "RefNr: is mandatory with TxType=BAID (unique per agreement creation)",
                    field="RefNr",
                    rule="mandatory with TxType=BAID",
                )
        elif self.capture == "Manual" and self.tx_type is None:
            raise InvalidRequestError(
                "TxType: is mandatory with Capture=Manual (Order or Auth)",
                field="TxType",
                rule="mandatory with Capture=Manual",
            )
        elif self.capture == "Auto" and self.tx_type is not None:
            raise InvalidRequestError(
                f"TxType: {self.tx_type} needs Capture=Manual (TxType must be absent with Capture=Auto)",
                field="TxType",
                rule="absent with Capture=Auto",
            )
        # (each check below has nothing to look at without its part of the order)
        if self.address is not None:
            self._check_address()
        if self.basket or self.shipping_amount:
            self._check_basket()
        if self.payment_units:
            self._check_units()
        if self.risk_evaluation is not None:
            self._check_risk()
        return self

    def _check_address(self) -> None:
        a = self.address
        if a is not None and a.country_code in US_CA_STATE_CODES:
            a.require(_US_CA_REQUIRED, f"when AddrCountryCode is {a.country_code}")

    def _check_basket(self) -> None:
        if len(self.basket) > _MAX_BASKET_LINES:
            raise InvalidRequestError(
                f"OrderDesc(n): {len(self.basket)} basket lines; at most {_MAX_BASKET_LINES} "
                "(OrderDesc2 … OrderDesc99): aggregate lines",
                field="OrderDesc99",
                rule="at most 98 basket lines",
            )
        for n, line in enumerate(self.basket, start=2):
            if len(line.wire()) > 2048:
                raise InvalidRequestError(
                    f"OrderDesc{n}: the line is longer than 2048 characters",
                    field=f"OrderDesc{n}",
                    rule="ans..2048",
                )
        if self.shipping_amount and not self.basket:
            raise InvalidRequestError(
                "ShAmount: is sent only together with basket lines (ItemTotal and TaxTotal)",
                field="ShAmount",
                rule="ShAmount needs basket lines",
            )
        if self.basket:
            expected = self.item_total + self.tax_total + (self.shipping_amount or 0)
            if expected != self.amount:
                raise InvalidRequestError(
                    f"Amount: {self.amount} differs from ItemTotal {self.item_total} + TaxTotal "
                    f"{self.tax_total} + ShAmount {self.shipping_amount or 0} = {expected}",
                    field="Amount",
                    rule="Amount = ItemTotal + TaxTotal + ShAmount",
                )

    def _check_units(self) -> None:
        if not self.payment_units:
            return
        total = sum(u.amount or 0 for u in self.payment_units)
        if total != self.amount:
            raise InvalidRequestError(
                f"Amount: {self.amount} differs from the sum of the PaymentUnit amounts ({total})",
                field="Amount",
                rule="Amount = Σ PaymentUnit(n).amount",
            )
        categories = {i.category for u in self.payment_units for i in u.items if i.category}
        if "DONATION" in categories and len(categories) > 1:
            raise InvalidRequestError(
                "PaymentUnit.orderitems.category: DONATION cannot be combined with "
                "DIGITAL_GOODS or PHYSICAL_GOODS in one payment",
                field="PaymentUnit.orderitems.category",
                rule="DONATION not mixed",
            )
        for n, unit in enumerate(self.payment_units, start=1):
            _b64_json(f"PaymentUnit{n}", unit.as_json())
        invoices = [(u.merchant_id, u.invoice_id) for u in self.payment_units if u.invoice_id]
        if len(invoices) != len(set(invoices)):
            raise InvalidRequestError(
                "PaymentUnit.invoiceid: must be unique per merchantid",
                field="PaymentUnit.invoiceid",
                rule="unique invoiceid per merchantid",
            )

    def _check_risk(self) -> None:
        if self.risk_evaluation is None:
            return
        self.risk_evaluation_wire()

    @property
    def item_total(self) -> int:
        """``ItemTotal`` = Σ amount × quantity over the basket lines."""
        return sum(line.amount * line.quantity for line in self.basket)

    @property
    def tax_total(self) -> int:
        """``TaxTotal`` = Σ tax × quantity over the basket lines."""
        return sum((line.tax or 0) * line.quantity for line in self.basket)

    def payment_units_wire(self) -> list[str]:
        return [_b64_json(f"PaymentUnit{n}", u.as_json()) for n, u in enumerate(self.payment_units, 1)]

    def risk_evaluation_wire(self) -> str | None:
        if self.risk_evaluation is None:
            return None
        pairs = [{"key": k, "value": v} for k, v in self.risk_evaluation.items()]
        return _b64_json("RiskEvaluation", {"additional_data": pairs})

    @property
    def sdk_intent(self) -> Literal["capture", "authorize"] | None:
        """The PayPal JS SDK ``intent`` that matches ``capture``/``tx_type`` (§1.6)."""
        if self.tx_type == "BAID":
            return None
        return "authorize" if self.capture == "Manual" else "capture"


class CompleteRequest(_Base):
    """Complete a shortcut payment — ``paypalComplete.aspx`` (§4.8).

    An ``address`` replaces the delivery address: it needs ``first_name``, ``last_name``,
    ``street``, ``city``, ``zip`` and ``country_code``; address parts without ``first_name`` are
    refused (the platform would ignore them)."""

    operation: ClassVar[str] = "paypal_complete"

    pay_id: PayId
    ref_nr: Annotated[str | None, Text("RefNr", "ns..30")] = None
    address: Annotated[Address | None, Nested("Address")] = None

    @model_validator(mode="after")
    def _rules(self) -> CompleteRequest:
        _check_address_parts(self.address, require_first_name_rule=True)
        if self.address is not None and self.address.first_name is not None:
            self.address.require(
                ("last_name", "street", "city", "zip", "country_code"), "when FirstName is sent"
            )
            if self.address.country_code in US_CA_STATE_CODES:
                self.address.require(("state",), f"when AddrCountryCode is {self.address.country_code}")
        return self


class AuthorizeRequest(_Base):
    """Authorise an approved ``TxType=Order`` payment — ``Authorize.aspx`` (§4.9). The address
    is optional here."""

    operation: ClassVar[str] = "authorize"

    pay_id: PayId
    address: Annotated[Address | None, Nested("Address")] = None


class CaptureRequest(_Base):
    """Capture (full or partial) — ``capture.aspx`` (§4.10). ``tid`` names the authorisation
    when several exist; ``complete=True`` sends ``CompleteType=YES`` and closes the PayPal order
    with this capture."""

    operation: ClassVar[str] = "capture"

    pay_id: PayId
    ref_nr: Annotated[str | None, Text("RefNr", "ans..30")] = None
    req_id: OptReqId = None
    tid: OptTid = None
    complete: Annotated[bool, Flag("CompleteType")] = False


class CreditRequest(_Base):
    """Credit with reference (refund) — ``credit.aspx`` (§4.11). After several partial captures
    ``tid`` must name the capture being refunded."""

    operation: ClassVar[str] = "credit"

    pay_id: PayId
    ref_nr: Annotated[str | None, Text("RefNr", "ans..30")] = None
    req_id: OptReqId = None
    tid: OptTid = None
    note: Annotated[str | None, Text("Note", "ans..768")] = None


class CreditExRequest(_Base):
    """Credit without reference — ``creditex.aspx`` (§4.12): exactly one recipient, either
    ``payer_id`` (a PayPal account id) or ``payer`` (MassPay e-mail, with optional ``note`` and
    ``subject``)."""

    operation: ClassVar[str] = "credit_ex"

    ref_nr: Annotated[str | None, Text("RefNr", "ns..30")] = None
    payer_id: Annotated[str | None, Text("PayerID", "ans..13")] = None
    req_id: OptReqId = None
    account: Annotated[str | None, Text("Account", "ans..128")] = None
    note: Annotated[str | None, Text("Note", "ans..768")] = None
    subject: Annotated[str | None, Text("Subject", "ans..255")] = None
    payer: Annotated[str | None, Text("Payer", "ans..100")] = None

    @model_validator(mode="after")
    def _one_recipient(self) -> CreditExRequest:
        if (self.payer_id is None) == (self.payer is None):
            raise InvalidRequestError(
                "PayerID: give exactly one recipient: PayerID, or Payer (MassPay)",
                field="PayerID" if self.payer_id is not None else "Payer",
                rule="exactly one of PayerID, Payer",
            )
        if self.payer_id is not None and (self.note is not None or self.subject is not None):
            key = "Note" if self.note is not None else "Subject"
            raise InvalidRequestError(
                f"{key}: is a MassPay field; it needs Payer, not PayerID",
                field=key,
                rule="MassPay only",
            )
        return self


class ReverseRequest(_Base):
    """Reversal of what is still open — ``reverse.aspx`` (§4.13)."""

    operation: ClassVar[str] = "reverse"

    pay_id: PayId
    req_id: OptReqId = None


class ReferenceTransactionRequest(_Base):
    """Charge a billing agreement — ``paypalreftrans.aspx`` (§4.14). ``order_desc`` is at most
    30 characters here; ``billing_agreement_id`` is ``[A-Za-z0-9-]{1,19}`` (PayPal's ``B-…``)."""

    operation: ClassVar[str] = "paypal_reftrans"

    ref_nr: Annotated[str | None, Text("RefNr", "ns..30")] = None
    order_desc: Annotated[str | None, Text("OrderDesc", "ans..30")] = None
    billing_agreement_id: Annotated[
        str, Pattern("BillingAgreementID", r"[A-Za-z0-9-]{1,19}", "[A-Za-z0-9-]{1,19}")
    ]


Request = (
    PayPalOrderRequest
    | CompleteRequest
    | AuthorizeRequest
    | CaptureRequest
    | CreditRequest
    | CreditExRequest
    | ReverseRequest
    | ReferenceTransactionRequest
)
