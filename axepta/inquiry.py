"""The status inquiry's sans-I/O steps (PROTOCOL.md §4.15), driven by both clients.

:meth:`ProtocolCore.prepare_inquiry <axepta.protocol.ProtocolCore.prepare_inquiry>` builds the
request and :meth:`~axepta.protocol.ProtocolCore.inquiry_exchange` is the whole call as a
generator, exactly like :meth:`~axepta.protocol.ProtocolCore.exchange` for the operations that
move money, with three differences:

* **Read-only** (D-INQ-6): no ``ReqId``, no ``Amount``/``Currency``, and a transport failure
  (connection, timeout, HTTP 5xx) is retried automatically — at most 3 attempts, after 1 s and
  4 s by default (``inquiry_backoff``) — since asking twice changes nothing.
* **MAC** (D-INQ-1): sent in Computop's form ``PayID*TransID*MerchantID**``
  (``*TransID*MerchantID**`` for ``inquire24``) unless the operation is in ``omit_mac``; the
  reply needs none (it is verified when present).
* **Failures are answers** (§4.15.4, D-INQ-4, D-INQ-7): ``Status``/``Code`` concern the inquiry.
  A failed inquiry on a test merchant is *unavailable*; ``PAYMENT NOT FOUND`` (or detail
  ``0061``) is *not found*; both return an :class:`~axepta.models.inquiry.Inquiry` with
  ``found=False``. ``20100044``/``20120044`` raise
  :class:`~axepta.protocol.GatewayAuthenticationError` (configuration); any other failure, and
  a refusal that came back in clear (no key vouches for it), raises
  :class:`~axepta.errors.GatewayError`.

A reply is trusted as for every operation (§4.15.4 step 2): decrypted with the merchant's key,
the merchant ID checked, a MAC verified when present, ``TransID`` (and, for ``inquire``,
``PayID``) echoing the request; a mismatch raises :class:`~axepta.errors.ProtocolError`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

from axepta.codes import SUCCESS, explain
from axepta.crypto import Params, encode_params, sign
from axepta.errors import AxeptaError, GatewayError, ProtocolError, TransportError
from axepta.models.inquiry import (
    Inquire24Request,
    InquireRequest,
    Inquiry,
    InquiryRequest,
    inquiry_state,
)

if TYPE_CHECKING:
    from axepta.protocol import Operation, ProtocolCore, RawReply, Send, SendFailure, Sleep

__all__ = [
    "INQUIRY_OPERATIONS",
    "PreparedInquiry",
    "inquiry_exchange",
    "prepare_inquiry",
    "read_inquiry",
]

logger = logging.getLogger("axepta.client")

#: The two inquiry operations (keys of ``paths`` and ``omit_mac``).
INQUIRY_OPERATIONS: Final = ("inquire", "inquire24")

_LABELS: Final[Mapping[str, str]] = {"inquire": "inquire", "inquire24": "inquire24"}
_AUTH_CODES: Final = frozenset({"20100044", "20120044"})
_NOT_FOUND_DETAIL: Final = "0061"
_NOT_FOUND_TEXT: Final = "PAYMENT NOT FOUND"
_AN32: Final = re.compile(r"[A-Za-z0-9]{32}")
_REDACTED: Final = "<redacted>"


@dataclass(frozen=True, slots=True)
class PreparedInquiry:
    """An inquiry ready to send: ``url`` and the clear ``form`` (``MerchantID``, ``Len``,
    ``Data``); ``fields`` is the plaintext that ``Data`` encrypts, in wire order. Never carries a
    ``ReqId`` (``req_id`` is always ``None``) and never moves money. ``repr`` shows no field,
    ``Data`` or MAC; :meth:`redacted` is safe to print."""

    operation: Literal["inquire", "inquire24"]
    url: str
    fields: Mapping[str, str] = field(repr=False)
    form: Mapping[str, str] = field(repr=False)
    request: InquiryRequest = field(repr=False, compare=False)
    req_id: None = None
    money_moving: Literal[False] = False

    @property
    def pay_id(self) -> str | None:
        return self.fields.get("PayID")

    @property
    def trans_id(self) -> str:
        return self.fields["TransID"]

    def redacted(self) -> dict[str, Any]:
        """A JSON-ready dict with ``MAC`` and ``Data`` replaced by ``"<redacted>"``."""
        return {
            "operation": self.operation,
            "method": "POST",
            "url": self.url,
            "req_id": None,
            "money_moving": False,
            "fields": {k: (_REDACTED if k == "MAC" else v) for k, v in self.fields.items()},
            "form": {k: (_REDACTED if k == "Data" else v) for k, v in self.form.items()},
        }


def prepare_inquiry(core: ProtocolCore, request: InquiryRequest) -> PreparedInquiry:
    """The request of §4.15.2: ``MerchantID``, ``PayID`` (``inquire`` only), ``TransID`` and the
    MAC inside ``Data``; ``MerchantID`` also in clear."""
    if not isinstance(request, InquireRequest | Inquire24Request):
        raise TypeError("prepare_inquiry needs an InquireRequest or an Inquire24Request")
    operation: Literal["inquire", "inquire24"] = "inquire" if isinstance(request, InquireRequest) else "inquire24"
    mid = core.credentials.merchant_id
    pay_id = request.pay_id if isinstance(request, InquireRequest) else None
    fields: dict[str, str] = {"MerchantID": mid}
    if pay_id is not None:
        fields["PayID"] = pay_id
    fields["TransID"] = request.trans_id
    if operation not in core.omit_mac:
        # D-INQ-1: Computop's MAC form for inquiries, with empty Amount and Currency
        fields["MAC"] = sign(core.credentials.hmac_key_bytes(), pay_id or "", request.trans_id, mid, "", "")
    encrypted = core.credentials.codec.encrypt(encode_params(fields))
    return PreparedInquiry(
        operation=operation,
        url=core.url_for(operation),
        fields=fields,
        form={"MerchantID": mid, "Len": str(encrypted.length), "Data": encrypted.data},
        request=request,
    )


def _operation(name: str) -> Operation:
    from axepta.protocol import Operation

    # name, label, result, MAC with PayID, ReqId, money moving, Response=encrypt, plain reply, PayID echo
    return Operation(name, _LABELS[name], Inquiry, name == "inquire", False, False, False, False, name == "inquire")


def _is_test_merchant(core: ProtocolCore) -> bool:
    """D-INQ-7: a test profile, or a merchant ID ending in ``_t``."""
    creds = core.credentials
    return creds.environment == "test" or creds.merchant_id.lower().endswith("_t")


def _printable(value: str, limit: int) -> str:
    text = value if value.isprintable() else "".join(c if c.isprintable() else "?" for c in value)
    return text if len(text) <= limit else text[:limit] + "…"


def _explanation(code: str) -> str:
    try:
        info = explain(code)
    except ValueError:
        return "malformed response code"
    return info.summary + (f"; {info.advice}" if info.advice else "")


def _amounts(label: str, params: Params) -> tuple[list[int], list[str]]:
    values: list[int] = []
    missing: list[str] = []
    for key in Inquiry.AMOUNT_KEYS:
        raw = params.get(key)
        text = (raw or "").strip()
        if not text:
            values.append(0)
            missing.append(key)
            continue
        if not (text.isascii() and text.isdigit() and len(text) <= 10):
            # money is never guessed: an amount that is not n..10 makes the reply unusable
            raise ProtocolError(f"{label}: the reply's {key} {_printable(text, 16)!r} is not an amount in minor units")
        values.append(int(text))
    return values, missing


def read_inquiry(
    core: ProtocolCore, prepared: PreparedInquiry, reply: RawReply, *, currency: str | None = None
) -> Inquiry:
    """Read the reply to ``prepared`` (§4.15.4). ``currency``, when given, must equal the
    reply's ``Currency`` if it carries one.

    Raises :class:`~axepta.errors.TransportError` (HTTP 5xx: retried by the exchange),
    :class:`~axepta.errors.ProtocolError`, :class:`~axepta.errors.CryptoError`,
    :class:`~axepta.errors.SignatureError`, or :class:`~axepta.errors.GatewayError` for a
    failed inquiry that is neither "not found" nor "unavailable"."""
    from axepta.protocol import MAX_REPLY_BYTES, GatewayAuthenticationError

    op = _operation(prepared.operation)
    label = op.label
    if reply.status_code >= 500:
        raise TransportError(
            f"{label}: HTTP {reply.status_code} from the gateway; the inquiry's result is unknown "
            "(an inquiry changes nothing: asking again is safe)",
            sent=True,
            operation=op.name,
        )
    if reply.status_code != 200:
        raise ProtocolError(f"{label}: unexpected HTTP status {reply.status_code}")
    if len(reply.body) > MAX_REPLY_BYTES:
        raise ProtocolError(f"{label}: the reply is larger than {MAX_REPLY_BYTES} bytes")
    params, encrypted = core._reply_params(op, prepared, reply.body)
    core._check_merchant(op, params)
    core._check_mac(op, params)
    trans_id = (params.get("TransID") or "").strip()
    if trans_id and trans_id != prepared.trans_id:
        raise ProtocolError(
            f"{label}: the reply's TransID {_printable(trans_id, 64)!r} does not echo the request's "
            f"{prepared.trans_id!r} (inquire with the payment's original TransID)"
        )
    pay_id = (params.get("PayID") or "").strip()
    if prepared.pay_id is not None and pay_id and pay_id != prepared.pay_id:
        raise ProtocolError(
            f"{label}: the reply's PayID {_printable(pay_id, 64)!r} does not echo the request's {prepared.pay_id!r}"
        )
    code = (params.get("Code") or "").strip().upper()
    if not code:
        raise ProtocolError(f"{label}: the reply carries no Code")
    status = (params.get("Status") or "").strip()
    base: dict[str, Any] = {"operation": op.name}
    if code == SUCCESS and status.upper() == "OK":
        if not pay_id or not _AN32.fullmatch(pay_id):
            raise ProtocolError(f"{label}: the reply's PayID is missing or not 32 letters and digits")
        (authorized, captured, refunded), missing = _amounts(label, params)
        reply_currency = (params.get("Currency") or "").strip()
        if currency is not None and reply_currency and reply_currency.upper() != currency.upper():
            raise ProtocolError(
                f"{label}: the reply's Currency {_printable(reply_currency, 8)!r} is not the payment's {currency!r}"
            )
        if missing:
            logger.warning(
                "axepta inquiry operation=%s trans_id=%s amounts absent from the reply (counted as 0): %s",
                op.name, prepared.trans_id, ",".join(missing),
            )  # fmt: skip
        return Inquiry.from_params(
            params,
            **base,
            found=True,
            available=True,
            state=inquiry_state(authorized, captured, refunded),
            amount_authorized=authorized,
            amount_captured=captured,
            amount_refunded=refunded,
            missing_amounts=tuple(missing),
        )
    # the inquiry itself failed: that alone says nothing about the payment (§4.15.4 step 4)
    shown_code = _printable(code, 32)
    explanation = _explanation(shown_code)
    description = _printable((params.get("Description") or "").strip(), 512) or None
    if shown_code.endswith("0044"):
        logger.warning(
            "axepta inquiry operation=%s code=%s: the platform judged the inquiry's MAC (evidence for Q-INQ-3)",
            op.name, shown_code,
        )  # fmt: skip
    if shown_code not in _AUTH_CODES:
        if _is_test_merchant(core):
            return Inquiry.from_params(
                params, **base, found=False, available=False,
                explanation=f"{explanation}; inquiries may not be available on the test merchant "
                f"{core.credentials.merchant_id} (D-INQ-7): nothing can be concluded about the payment",
            )  # fmt: skip
        rule: Literal["code", "description"] | None = None
        if shown_code[-4:] == _NOT_FOUND_DETAIL:
            rule = "code"
        elif (description or "").upper() == _NOT_FOUND_TEXT:
            rule = "description"
        if rule is not None and encrypted:
            return Inquiry.from_params(
                params, **base, found=False, available=True, not_found_rule=rule,
                explanation=f"{explanation}; the platform does not know this payment (this alone cancels nothing)",
            )  # fmt: skip
    cls = GatewayAuthenticationError if shown_code in _AUTH_CODES else GatewayError
    shown_status = _printable(status, 32) or None
    clear = "" if encrypted else "; the refusal came in clear (no key vouches for it)"
    raise cls(
        f"{label}: the inquiry failed with Code {shown_code} ({explanation})"
        f"{f', Status {shown_status}' if shown_status else ''}"
        f"{f', Description {description!r}' if description else ''}{clear}; this says nothing about "
        f"the payment; PayID={prepared.pay_id or '-'}, TransID={prepared.trans_id}",
        code=shown_code,
        status=shown_status,
        description=description,
        pay_id=prepared.pay_id,
        trans_id=prepared.trans_id,
        explanation=explanation,
    )


def inquiry_exchange(
    core: ProtocolCore, prepared: PreparedInquiry, *, currency: str | None = None
) -> Generator[Send | Sleep, RawReply | SendFailure | None, Inquiry]:
    """Send ``prepared``, retrying transport failures and HTTP 5xx after each delay of
    ``core.inquiry_backoff`` (D-INQ-6), read the reply, log one line, return the
    :class:`~axepta.models.inquiry.Inquiry`. Driven like
    :meth:`~axepta.protocol.ProtocolCore.exchange`."""
    from axepta.protocol import RawReply, Send, SendFailure, Sleep

    started = core._clock()
    backoff = core.inquiry_backoff
    attempt = 0
    while True:
        attempt += 1
        answer = yield Send(prepared, attempt)
        error: AxeptaError | None = None
        if isinstance(answer, SendFailure):
            again = answer.sent or answer.retryable
            if again and attempt <= len(backoff):
                _log_retry(prepared, attempt, answer.reason)
                if backoff[attempt - 1] > 0:
                    yield Sleep(backoff[attempt - 1])
                continue
            where = "after the request was sent" if answer.sent else "before the request reached the gateway"
            tries = f" ({attempt} attempts)" if attempt > 1 else ""
            error = TransportError(
                f"{prepared.operation}: {answer.reason} {where}{tries}; the inquiry's result is unknown "
                "(an inquiry changes nothing: asking again is safe)",
                sent=answer.sent,
                operation=prepared.operation,
            )
            _log(core, prepared, None, started, attempt, error)
            raise error from answer.cause
        if not isinstance(answer, RawReply):
            raise TypeError("inquiry_exchange: a Send step must be answered with RawReply or SendFailure")
        try:
            result = read_inquiry(core, prepared, answer, currency=currency)
        except TransportError as exc:  # HTTP 5xx
            if attempt <= len(backoff):
                _log_retry(prepared, attempt, f"HTTP {answer.status_code}")
                if backoff[attempt - 1] > 0:
                    yield Sleep(backoff[attempt - 1])
                continue
            _log(core, prepared, None, started, attempt, exc)
            raise
        except AxeptaError as exc:
            _log(core, prepared, None, started, attempt, exc)
            raise
        _log(core, prepared, result, started, attempt, None)
        return result


def _log_retry(prepared: PreparedInquiry, attempt: int, reason: str) -> None:
    logger.info(
        "axepta retry operation=%s trans_id=%s req_id=- attempt=%d reason=%s",
        prepared.operation, prepared.trans_id, attempt, reason,
    )  # fmt: skip


def _log(
    core: ProtocolCore,
    prepared: PreparedInquiry,
    result: Inquiry | None,
    started: float,
    attempts: int,
    error: AxeptaError | None,
) -> None:
    latency_ms = round((core._clock() - started) * 1000, 1)
    if result is not None:
        outcome = "found" if result.found else ("not_found" if result.available else "unavailable")
        pay_id, code, status = result.pay_id or prepared.pay_id, result.code, result.status
    elif isinstance(error, GatewayError):
        outcome, pay_id, code, status = "failed", prepared.pay_id, error.code, error.status
    else:
        outcome, pay_id, code, status = type(error).__name__, prepared.pay_id, None, None
    record = {
        "operation": prepared.operation,
        "pay_id": pay_id,
        "trans_id": prepared.trans_id,
        "req_id": None,
        "code": code,
        "status": status,
        "outcome": outcome,
        "state": result.state if result is not None else None,
        "attempts": attempts,
        "latency_ms": latency_ms,
    }
    logger.log(
        logging.INFO if error is None else logging.WARNING,
        "axepta call operation=%s pay_id=%s trans_id=%s req_id=- code=%s status=%s outcome=%s "
        "state=%s attempts=%d latency_ms=%.1f",
        prepared.operation,
        pay_id or "-",
        prepared.trans_id,
        code or "-",
        status or "-",
        outcome,
        record["state"] or "-",
        attempts,
        latency_ms,
        extra={"axepta": record},
    )
