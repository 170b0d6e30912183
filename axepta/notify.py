"""Results the platform sends to the shop: ``URLNotify``, ``URLSuccess`` and ``URLFailure``
(PROTOCOL.md §4.7, §7; decisions D2, D7, D9-D13).

:func:`decode_notification` verifies first and parses second, and raises one error type,
:class:`~axepta.errors.NotificationError`, for every way a notification can be untrustworthy.
The checks run in this order:

1. size cap on the raw payload (the notify URL is public and decryption comes before
   authentication);
2. ``Data``/``Len`` decrypted with the merchant's Blowfish key (results in clear are refused
   unless ``allow_clear=True``, D10);
3. every ``mid``/``MerchantID`` in the message, clear or encrypted, equal to the configured
   merchant ID (checked before any MAC is computed, D9);
4. ``MAC`` present and equal to HMAC-SHA256 of ``PayID*TransID*MerchantID*Status*Code``, with
   ``MerchantID`` taken from the configuration (D9, D11);
5. no key repeated, clear or decrypted (D2, D14: an inserted run of Blowfish-ECB blocks from
   another genuine message repeats keys);
6. a typed :class:`Notification`.

Only ``Code`` (and ``Status``) decide the outcome, never the URL the data arrived at: a genuine
failure replayed to ``URLSuccess`` is still a failure (D13). The MAC binds ``PayID``, ``TransID``,
``MerchantID``, ``Status`` and ``Code`` only (D14): every other field (``XID``, ``RefNr``,
``UserData``, ``TID``, amounts, payer data) can be spliced in from another genuine message of the
same merchant. Find the payment by ``TransID``/``PayID``, take amounts from your own record, and
de-duplicate on :attr:`Notification.dedup_key` (bound fields only).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, Generic, Literal, TypeVar, overload
from urllib.parse import unquote_plus

from axepta.codes import SUCCESS, Outcome, classify
from axepta.credentials import Credentials
from axepta.errors import CryptoError, NotificationError
from axepta.fields import decode_base64_json_object

__all__ = [
    "MAX_NOTIFICATION_BYTES",
    "Notification",
    "NotificationState",
    "OrderStatus",
    "decode_notification",
]

logger = logging.getLogger("axepta.notify")
logger.addHandler(logging.NullHandler())  # a library logs; the application decides where

T = TypeVar("T")

#: Cap on the raw payload (bytes of a body, characters of a query string, or the summed length
#: of a mapping's keys and values). Inside it, ``Data`` is capped at 65 536 hex digits (D7).
MAX_NOTIFICATION_BYTES = 256 * 1024

#: Where a notification stands in the payment life cycle (PROTOCOL.md §1.11, D12):
#: ``completed`` the step succeeded (``OK``/``AUTHORIZED``); ``approved`` the customer approved
#: and the payment awaits completion, authorisation or capture (``AUTHORIZE_REQUEST``);
#: ``pending`` the final status follows later (status digit 6 or 7); ``expired`` an
#: ``AUTHORIZE_REQUEST`` left open was closed (``Timeout``); ``failed`` any failure code;
#: ``review`` a ``0…`` code other than ``00000000`` or a malformed code (look at it by hand).
NotificationState = Literal["completed", "approved", "pending", "expired", "failed", "review"]

_MONEY = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,8})?")
_ID_SAFE = re.compile(r"[^A-Za-z0-9._:/+=-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MERCHANT_KEYS = ("mid", "merchantid")
_OUTER_ONLY = frozenset({"data", "len"})
_NOT_RAW = frozenset({"mac", "data", "len"})
_KNOWN_STATUSES = frozenset({"OK", "AUTHORIZED", "AUTHORIZE_REQUEST", "TIMEOUT"})

@dataclass(frozen=True, slots=True)
class OrderStatus:
    """One ``OrderStatus<n>`` of a marketplace result: base64 JSON
    ``{"status": …, "id": …, "invoiceid": …}`` decoded (PROTOCOL.md §4.7).

    ``id`` is the seller's capture id (``na`` on failure, then :attr:`capture_id` is ``None``);
    a later credit for that seller uses it. ``encoded`` keeps the wire text; when it cannot be
    decoded, ``status``, ``id`` and ``invoice_id`` are ``None``.
    """

    index: int
    status: str | None = None
    id: str | None = None
    invoice_id: str | None = None
    encoded: str = field(default="", repr=False)

    @classmethod
    def decode(cls, index: int, encoded: str) -> OrderStatus:
        obj = decode_base64_json_object(encoded)
        if obj is None:
            return cls(index=index, encoded=encoded)
        return cls(index, obj.get("status"), obj.get("id"), obj.get("invoiceid"), encoded)

    @property
    def completed(self) -> bool:
        """``status`` is ``COMPLETED`` (any case)."""
        return (self.status or "").upper() == "COMPLETED"

    @property
    def capture_id(self) -> str | None:
        """The capture id to refund this seller's part, or ``None`` (``na`` or missing)."""
        return None if self.id is None or self.id.lower() == "na" else self.id

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "status": self.status, "id": self.id, "invoice_id": self.invoice_id}


#: Key of the parsed message (lower-case key -> (original key, value)) in a notification's values.
_MESSAGE = "_message"


class _Field(Generic[T]):
    """A read-only attribute of :class:`Notification`.

    Its value is computed from the parsed message on first read and cached: decoding a
    notification is then one dict, not forty conversions — it runs on every notify call, and a
    listener reads a handful of attributes. A value given to the constructor is used as is.
    """

    __slots__ = ("convert", "default", "name", "wire")

    def __init__(self, default: T, *wire: str, convert: Callable[[str], T] | None = None) -> None:
        self.default = default
        self.wire = wire
        self.convert = convert
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _Field[T]: ...
    @overload
    def __get__(self, obj: Notification, objtype: type | None = None) -> T: ...
    def __get__(self, obj: Notification | None, objtype: type | None = None) -> T | _Field[T]:
        if obj is None:
            return self
        values = obj._values
        try:
            value: T = values[self.name]
        except KeyError:
            message = values.get(_MESSAGE)
            value = self.default if message is None else self.compute(message)
            values[self.name] = value  # a cache: the same value on every read
        return value

    def compute(self, message: Mapping[str, tuple[str, str]]) -> T:
        """The value from the message: the first wire key present with a non-blank value,
        stripped and converted; else the default."""
        for key in self.wire:
            item = message.get(key)
            if item is not None:
                text = item[1].strip()
                if text:
                    return self.convert(text) if self.convert is not None else text  # type: ignore[return-value]
        return self.default


class _OrderStatusField(_Field[tuple[OrderStatus, ...]]):
    """``OrderStatus1``, ``OrderStatus2``, … until a number is missing, each decoded (base64
    JSON per marketplace unit: more work than the rest of a notification, hence lazily)."""

    def compute(self, message: Mapping[str, tuple[str, str]]) -> tuple[OrderStatus, ...]:
        statuses = []
        n = 1
        while (item := message.get(f"orderstatus{n}")) is not None:
            statuses.append(OrderStatus.decode(n, item[1]))
            n += 1
        return tuple(statuses)


class _RawField(_Field[Mapping[str, str]]):
    """Every field of the message with its original spelling, ``MAC`` left out. Decrypted is
    not bound: only the five fields of :attr:`Notification.BOUND_FIELDS` are."""

    def compute(self, message: Mapping[str, tuple[str, str]]) -> Mapping[str, str]:
        return MappingProxyType({key: text for low, (key, text) in message.items() if low not in _NOT_RAW})


def _money_of(name: str) -> Callable[[str], Decimal | None]:
    return lambda text: _money(text, name)


class Notification:
    """A result of the platform whose MAC verified (PROTOCOL.md §4.7), typed and read-only.

    **What the MAC protects** (D14): only the five fields of :attr:`BOUND_FIELDS` —
    ``merchant_id``, ``pay_id``, ``trans_id``, ``status``, ``code`` — are authenticated
    (:attr:`bound_fields`, :meth:`is_authenticated`). Every other attribute (:attr:`UNBOUND_FIELDS`:
    ``xid``, ``ref_nr``, ``user_data``, ``tid``, amounts, payer data, ``raw`` …) is
    integrity-unprotected: Blowfish-ECB blocks of another genuine result of the same merchant can
    be swapped in. Display and store them as evidence; never use them to find the payment, to
    de-duplicate, or to decide money or fulfilment.

    Identity: ``merchant_id`` (the configured MID, which every MID in the message matched),
    ``pay_id``, ``xid``, ``trans_id``, ``status``, ``code``, ``description`` (for people only,
    never for logic), ``code_ext`` (PayPal's own code), ``ref_nr``, ``user_data`` (your echo),
    ``info_text``.
    Payer: ``name``, ``first_name``, ``last_name``, ``email``, ``payer_id``, ``payer_status``,
    ``phone`` (text: live values carry ``+`` and spaces).
    Delivery address: ``addr_street``, ``addr_street2``, ``addr_city``, ``addr_state``,
    ``addr_zip``, ``addr_country_code``. Billing address held by PayPal: ``billing_name``,
    ``billing_addr_street``, ``billing_addr_street2``, ``billing_addr_city``,
    ``billing_addr_state``, ``billing_addr_zip``, ``billing_addr_country_code``.
    PayPal ids to store (§7.4, §9.9): ``tid`` (capture or authorisation id), ``transaction_id``
    (PayPal order id), ``billing_agreement_id``, ``order_status`` (decoded ``OrderStatus<n>``).
    Amounts: ``gross_amount``, ``fee_amount``, ``settle_amount``, ``tax_amount``,
    ``exchange_rate`` stay strings (their format is not specified, Q14); ``mc_gross`` and
    ``mc_fee`` are IPN-style major-unit :class:`~decimal.Decimal` (``None`` when absent or not a
    number; the text stays in ``raw``).

    Values are stripped; empty values are ``None``; ``code`` is upper-cased. ``raw`` holds every
    decrypted field with its original spelling, unknown keys included, except ``MAC`` (decrypted
    is not authenticated: see above). ``clear`` holds the clear fields that came beside ``Data`` (such as
    ``MerchantID`` or ``Custom``): nobody authenticated them, so no attribute is read from them.
    ``encrypted`` is ``False`` only for a clear result accepted with ``allow_clear=True`` (then
    the fields are read from the clear message, and ``MAC`` binds only five of them).

    Built by :func:`decode_notification`; the keyword constructor exists for tests and
    fixtures. Two notifications are equal when all their fields are.
    """

    __slots__ = ("_values",)
    _values: dict[str, Any]

    merchant_id: _Field[str] = _Field("")
    pay_id: _Field[str | None] = _Field(None, "payid")
    xid: _Field[str | None] = _Field(None, "xid")
    trans_id: _Field[str | None] = _Field(None, "transid")
    status: _Field[str | None] = _Field(None, "status")
    code: _Field[str | None] = _Field(None, "code", convert=str.upper)
    description: _Field[str | None] = _Field(None, "description")
    code_ext: _Field[str | None] = _Field(None, "codeext")
    ref_nr: _Field[str | None] = _Field(None, "refnr")
    user_data: _Field[str | None] = _Field(None, "userdata")
    info_text: _Field[str | None] = _Field(None, "infotext")
    name: _Field[str | None] = _Field(None, "name")
    first_name: _Field[str | None] = _Field(None, "firstname")
    last_name: _Field[str | None] = _Field(None, "lastname")
    email: _Field[str | None] = _Field(None, "e-mail", "email")
    payer_id: _Field[str | None] = _Field(None, "payerid")
    payer_status: _Field[str | None] = _Field(None, "payerstatus")
    phone: _Field[str | None] = _Field(None, "phone")
    addr_street: _Field[str | None] = _Field(None, "addrstreet")
    addr_street2: _Field[str | None] = _Field(None, "addrstreet2")
    addr_city: _Field[str | None] = _Field(None, "addrcity")
    addr_state: _Field[str | None] = _Field(None, "addrstate")
    addr_zip: _Field[str | None] = _Field(None, "addrzip")
    addr_country_code: _Field[str | None] = _Field(None, "addrcountrycode")
    billing_name: _Field[str | None] = _Field(None, "billingname")
    billing_addr_street: _Field[str | None] = _Field(None, "billingaddrstreet")
    billing_addr_street2: _Field[str | None] = _Field(None, "billingaddrstreet2")
    billing_addr_city: _Field[str | None] = _Field(None, "billingaddrcity")
    billing_addr_state: _Field[str | None] = _Field(None, "billingaddrstate")
    billing_addr_zip: _Field[str | None] = _Field(None, "billingaddrzip")
    billing_addr_country_code: _Field[str | None] = _Field(None, "billingaddrcountrycode")
    billing_agreement_id: _Field[str | None] = _Field(None, "billingagreementid")
    tid: _Field[str | None] = _Field(None, "tid")
    transaction_id: _Field[str | None] = _Field(None, "transactionid")
    gross_amount: _Field[str | None] = _Field(None, "grossamount")
    fee_amount: _Field[str | None] = _Field(None, "feeamount")
    settle_amount: _Field[str | None] = _Field(None, "settleamount")
    tax_amount: _Field[str | None] = _Field(None, "taxamount")
    exchange_rate: _Field[str | None] = _Field(None, "exchangerate")
    mc_gross: _Field[Decimal | None] = _Field(None, "mc_gross", convert=_money_of("mc_gross"))
    mc_fee: _Field[Decimal | None] = _Field(None, "mc_fee", convert=_money_of("mc_fee"))
    order_status: _Field[tuple[OrderStatus, ...]] = _OrderStatusField(())
    raw: _Field[Mapping[str, str]] = _RawField(MappingProxyType({}))
    clear: _Field[Mapping[str, str]] = _Field(MappingProxyType({}))
    encrypted: _Field[bool] = _Field(True)

    #: The names of the fields, in order.
    FIELDS: ClassVar[tuple[str, ...]]
    #: The fields the MAC binds (D9, D14): the only authenticated ones.
    BOUND_FIELDS: ClassVar[tuple[str, ...]] = ("merchant_id", "pay_id", "trans_id", "status", "code")
    #: Every other field: not authenticated (D14).
    UNBOUND_FIELDS: ClassVar[tuple[str, ...]]

    def __init__(self, **fields: Any) -> None:
        unknown = set(fields) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"Notification has no field {sorted(unknown)[0]!r}")
        values = dict(fields)
        for name in ("raw", "clear"):
            if name in values:
                values[name] = MappingProxyType(dict(values[name]))
        object.__setattr__(self, "_values", values)

    @classmethod
    def _trusted(cls, values: dict[str, Any]) -> Notification:
        obj = object.__new__(cls)
        object.__setattr__(obj, "_values", values)
        return obj

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Notification is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Notification is read-only (cannot delete {name!r})")

    def __reduce__(self) -> tuple[Any, ...]:
        values = {name: getattr(self, name) for name in self.FIELDS}
        for name in ("raw", "clear"):
            if name in values:
                values[name] = dict(values[name])
        return (_rebuild_notification, (values,))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Notification):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Notification(pay_id={self.pay_id!r}, trans_id={self.trans_id!r}, "
            f"status={self.status!r}, code={self.code!r}, state={self.state!r})"
        )

    @property
    def succeeded(self) -> bool:
        """``True`` only when ``Code`` is ``00000000`` (and the result is not a ``Timeout``,
        which closes an approval left open: the payment expired)."""
        return self.code == SUCCESS and not self.expired

    @property
    def outcome(self) -> Outcome:
        """The code's class (:func:`axepta.codes.classify`): ``success``, ``failed``,
        ``fatal`` (reconcile before retrying), ``pending``, ``review`` or ``invalid``."""
        return classify(self.code or "")

    @property
    def awaiting_completion(self) -> bool:
        """``Status=AUTHORIZE_REQUEST`` with ``00000000``: approved by the customer, not final;
        the next step (complete, authorise or capture) follows from the order request (§1.11)."""
        return self.code == SUCCESS and (self.status or "").upper() == "AUTHORIZE_REQUEST"

    @property
    def expired(self) -> bool:
        """``Status=Timeout``: an ``AUTHORIZE_REQUEST`` left open (~3 h) was closed."""
        return (self.status or "").lower() == "timeout"

    @property
    def state(self) -> NotificationState:
        """Where this result puts the payment (see :data:`NotificationState`)."""
        if self.expired:
            return "expired"
        outcome = self.outcome
        if outcome == "success":
            return "approved" if self.awaiting_completion else "completed"
        if outcome in ("failed", "fatal"):
            return "failed"
        if outcome == "pending":
            return "pending"
        return "review"

    @property
    def final(self) -> bool:
        """The payment will not change by itself any more: ``completed``, ``expired`` or
        ``failed``."""
        return self.state in ("completed", "expired", "failed")

    @property
    def pending(self) -> bool:
        """Something is still to come: ``approved`` (awaiting completion) or ``pending``."""
        return self.state in ("approved", "pending")

    @property
    def dedup_key(self) -> tuple[str, str, str, str]:
        """(``PayID``, ``TransID``, ``Status``, ``Code``): the key to de-duplicate on (§7.3),
        made of bound fields only (``XID`` is not bound: swapped blocks could change it, D14)."""
        return (self.pay_id or "", self.trans_id or "", (self.status or "").upper(), self.code or "")

    @property
    def bound_fields(self) -> Mapping[str, str | None]:
        """The values the MAC authenticates, by attribute name (:attr:`BOUND_FIELDS`)."""
        return MappingProxyType({name: getattr(self, name) for name in self.BOUND_FIELDS})

    def is_authenticated(self, name: str) -> bool:
        """Whether attribute ``name`` is bound by the MAC (one of :attr:`BOUND_FIELDS`). Raises
        :class:`AttributeError` for a name that is not a field."""
        if name not in self.FIELDS:
            raise AttributeError(f"Notification has no field {name!r}")
        return name in self.BOUND_FIELDS

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the derived flags (``succeeded``, ``state``, ``outcome``,
        ``final``, ``pending``), then every field (amounts as strings). It holds no key, no
        ``Data`` and no ``MAC``."""
        out: dict[str, Any] = {
            "succeeded": self.succeeded,
            "state": self.state,
            "outcome": self.outcome,
            "final": self.final,
            "pending": self.pending,
        }
        for name in self.FIELDS:
            value = getattr(self, name)
            if isinstance(value, Decimal):
                value = str(value)
            elif name == "order_status":
                value = [s.as_dict() for s in value]
            elif name in ("raw", "clear"):
                value = dict(value)
            out[name] = value
        return out


Notification.FIELDS = tuple(k for k, v in vars(Notification).items() if isinstance(v, _Field))
Notification.UNBOUND_FIELDS = tuple(n for n in Notification.FIELDS if n not in Notification.BOUND_FIELDS)


def _rebuild_notification(values: dict[str, Any]) -> Notification:
    return Notification(**values)


def _safe(value: str | None) -> str:
    """An identifier from an unauthenticated message, fit for an error message or a log."""
    if not value:
        return "-"
    text = value.strip()[:64]
    return _ID_SAFE.sub("?", text) or "-"


def _reject(message: str, reason: str) -> NotificationError:
    logger.warning("notification rejected (%s): %s", reason, message)
    return NotificationError(message, reason=reason)


def _form_pairs(text: str) -> list[tuple[str, str]]:
    """Split a form body or query string (``+`` and ``%XX`` decoded as ISO-8859-1)."""
    pairs = []
    for segment in text.split("&"):
        if not segment:
            continue
        key, _, value = segment.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key, encoding="iso-8859-1")
        if "%" in value or "+" in value:
            value = unquote_plus(value, encoding="iso-8859-1")
        pairs.append((key, value))
    return pairs


def _outer_fields(payload: object, max_bytes: int) -> dict[str, tuple[str, str]]:
    """The clear fields of the payload: lower-case key -> (original key, value)."""
    if isinstance(payload, bytes | bytearray | memoryview):
        size = payload.nbytes if isinstance(payload, memoryview) else len(payload)
        if size > max_bytes:
            raise _reject(f"the notification is larger than {max_bytes} bytes", "size")
        pairs = _form_pairs(bytes(payload).decode("iso-8859-1"))
    elif isinstance(payload, str):
        if len(payload) > max_bytes:
            raise _reject(f"the notification is larger than {max_bytes} characters", "size")
        text = payload.strip()
        pairs = _form_pairs(text[1:] if text.startswith("?") else text)
    elif isinstance(payload, Mapping):
        pairs = []
        size = 0
        for key, value in payload.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise _reject("a notification mapping must map text to text", "format")
            size += len(key) + len(value)
            if size > max_bytes:
                raise _reject(f"the notification is larger than {max_bytes} characters", "size")
            pairs.append((key, value))
    else:
        raise _reject(
            f"a notification is bytes, a query string or a mapping, not {type(payload).__name__}",
            "format",
        )
    fields: dict[str, tuple[str, str]] = {}
    for key, value in pairs:
        low = key.lower()
        if low in fields:  # D2: in a notification or browser result any repeated name is an error
            raise _reject(f"the key {_safe(key)!r} occurs twice in the notification", "format")
        fields[low] = (key, value)
    return fields


def _mac_matches(hmac_key: bytes, mac: str, *fields: str) -> bool:
    """D9/D11, as :func:`axepta.crypto.verify` does it (whitespace dropped, case ignored,
    64 hex digits, constant-time comparison), inlined because it is on the hot path of every
    notify call; ``tests/test_notify`` checks both agree."""
    received = "".join(mac.split()).upper()
    if len(received) != 64 or not received.isascii():
        return False
    try:
        message = "*".join(fields).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates in a str payload accepted in clear
        return False
    return hmac.compare_digest(hmac.digest(hmac_key, message, hashlib.sha256).hex().upper(), received)


def _ids(pay_id: str, trans_id: str) -> str:
    return f"PayID={_safe(pay_id)}, TransID={_safe(trans_id)}"


def _plaintext_fields(plaintext: str) -> tuple[dict[str, tuple[str, str]], str | None]:
    """The decrypted ``Key=Value&…`` as lower-case key -> (original key, value), per D2: split
    on ``&`` and the first ``=``, values not percent-decoded; and the first key that occurs twice
    (whatever its case), if any. The caller refuses such a message as tampered (D14): an inserted
    run of Blowfish-ECB blocks from another genuine message produces exactly that."""
    fields: dict[str, tuple[str, str]] = {}
    repeated: str | None = None
    for segment in plaintext.split("&"):
        if not segment:
            continue
        key, _, value = segment.partition("=")
        low = key.lower()
        if low in fields:
            repeated = key if repeated is None else repeated
            continue
        fields[low] = (key, value)
    return fields, repeated


def _money(value: str, name: str) -> Decimal | None:
    value = value.strip()
    if not value:
        return None
    if not _MONEY.fullmatch(value):
        logger.info("notification field %s is not a decimal amount; kept as text in raw", name)
        return None
    return Decimal(value)


def decode_notification(
    payload: bytes | str | Mapping[str, str],
    credentials: Credentials,
    *,
    allow_clear: bool = False,
    max_bytes: int = MAX_NOTIFICATION_BYTES,
) -> Notification:
    """Decrypt, authenticate and type a ``URLNotify`` / ``URLSuccess`` / ``URLFailure`` call.

    ``payload`` is the raw form body (``bytes``, ISO-8859-1 form encoding), the query string of
    a GET (``str``, with or without the leading ``?``) or the already parsed fields (a mapping
    of text to text). Keys are matched case-insensitively. When ``Data`` is present the
    encrypted fields win over clear ones: every attribute is read from the decrypted part, and
    the clear extras are only kept in :attr:`Notification.clear` (a clear ``mid``/``MerchantID``
    is still checked). The key schedule is computed once per :class:`Credentials`
    (``credentials.codec`` is cached).

    Raises :class:`~axepta.errors.NotificationError` — and nothing else, whatever the payload —
    with ``reason`` one of ``size`` (over ``max_bytes``), ``missing_data`` (no ``Data``: results
    in clear are refused unless ``allow_clear``), ``decrypt`` (malformed ``Data``/``Len``, AES
    data, wrong key), ``merchant`` (a ``mid``/``MerchantID`` other than the configured one),
    ``mac`` (``MAC`` missing or wrong) or ``format`` (a key that must be unique occurs twice,
    a payload of the wrong type).

    A returned :class:`Notification` is authentic; whether the payment succeeded is
    :attr:`Notification.succeeded` (``Code == "00000000"``), never the URL that was called.
    """
    outer = _outer_fields(payload, max_bytes)
    mid = credentials.merchant_id
    data = outer.get("data")
    if data is None:
        if not allow_clear:
            raise _reject("the notification carries no Data (results in clear are refused)", "missing_data")
        fields = outer
        clear_fields = {}
    else:
        length = outer.get("len")
        try:
            plaintext = credentials.codec.decrypt(data[1], None if length is None else length[1])
        except CryptoError as exc:
            raise _reject(f"the notification's Data cannot be decrypted: {exc}", "decrypt") from None
        except ValueError:  # a Len of thousands of digits exceeds int()'s limit
            raise _reject("the notification's Len is not a usable number", "decrypt") from None
        inner, repeated = _plaintext_fields(plaintext)
        # Blowfish-ECB garbles a changed block into random bytes; the MAC binds five fields
        # only. A genuine result has printable ASCII names and no control characters (ans, §0.3),
        # so such bytes mean a wrong key or a tampered block: refuse them.
        names = "".join(inner)
        controls = not plaintext.isprintable() and _CONTROL.search(plaintext) is not None
        if controls or "" in inner or not (names.isascii() and names.isprintable()) or " " in names:
            raise _reject(
                "the decrypted notification holds control characters or malformed names "
                "(wrong Blowfish key or tampered Data)",
                "decrypt",
            )
        if repeated is not None:
            raise _reject(
                f"the key {_safe(repeated)!r} occurs twice in the decrypted notification (spliced or tampered Data)",
                "format",
            )
        for low in _MERCHANT_KEYS:  # a clear MID must match too, although the encrypted one wins
            clear = outer.get(low)
            if clear is not None and clear[1].strip() != mid:
                raise _reject(f"the notification names another merchant ID ({_safe(clear[1])!r})", "merchant")
        # With Data, only the encrypted fields count: clear extras are not authenticated (the
        # MAC binds five fields only), so they are kept apart in `clear` and never typed.
        fields = inner
        clear_fields = {key: text for low, (key, text) in outer.items() if low not in _OUTER_ONLY}
    for low in _MERCHANT_KEYS:
        item = fields.get(low)
        if item is not None and item[1].strip() != mid:
            raise _reject(f"the notification names another merchant ID ({_safe(item[1])!r})", "merchant")

    def text(low: str) -> str:
        item = fields.get(low)
        return "" if item is None else item[1].strip()

    pay_id, trans_id, status, code = text("payid"), text("transid"), text("status"), text("code")
    mac = fields.get("mac")
    if mac is None or not mac[1].strip():
        raise _reject(f"the notification carries no MAC ({_ids(pay_id, trans_id)})", "mac")
    if not _mac_matches(credentials.hmac_key_bytes(), mac[1], pay_id, trans_id, mid, status, code):
        raise _reject(f"the notification's MAC does not verify ({_ids(pay_id, trans_id)})", "mac")

    values: dict[str, Any] = {_MESSAGE: fields, "merchant_id": mid, "encrypted": data is not None}
    if clear_fields:
        values["clear"] = MappingProxyType(clear_fields)
    notification = Notification._trusted(values)
    if code == SUCCESS and status.upper() not in _KNOWN_STATUSES:
        # D12: an unknown Status with 00000000 is the success of the step, and logged
        logger.info(
            "notification with Code 00000000 and Status %r (%s)", _safe(status), _ids(pay_id, trans_id)
        )
    return notification
