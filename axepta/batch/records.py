"""Typed batch records, versions, options, header and footer (PROTOCOL.md §8).

Records are plain slotted dataclasses, one per action. Amounts are ``int`` minor units; absent
or empty columns are ``None``. A record read from a response file also carries the result
columns (``status``, ``code``, ``code_ext``) and any unrecognised echoed columns (``extra``).
``line`` is the line number the record was read from (not compared in ``==``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

from axepta.codes import SUCCESS, classify
from axepta.errors import ConfigurationError, InvalidRequestError

__all__ = [
    "ACTIONS",
    "Authorize",
    "BatchError",
    "BatchFooter",
    "BatchHeader",
    "BatchOptions",
    "BatchRecord",
    "BatchVersion",
    "Capture",
    "Credit",
    "CreditEx",
    "RefTrans",
    "Reverse",
]

Kind = Literal["request", "response"]


class BatchError(InvalidRequestError):
    """A batch file or record breaks a rule of PROTOCOL.md §8.

    ``line`` is the 1-based line number in the file concerned (``None`` when no line applies),
    ``field`` the wire name of the column (``"Amount"``, ``"PayID"``, ``"FOOT"`` …) and ``rule``
    the broken rule. ``source`` names the file when known (the CLI sets it). ``detail`` is the
    message without its ``source, line N:`` prefix.
    """

    def __init__(
        self,
        detail: str,
        *,
        line: int | None = None,
        field: str | None = None,
        rule: str | None = None,
        source: str | None = None,
    ) -> None:
        where = ", ".join(p for p in (source, None if line is None else f"line {line}") if p)
        super().__init__(f"{where}: {detail}" if where else detail, field=field, rule=rule)
        self.line = line
        self.detail = detail
        self.source = source


# Versions ----------------------------------------------------------------------------------

_VERSION = re.compile(r"^([12])\.([0-4])$")


@dataclass(frozen=True, slots=True)
class BatchVersion:
    """A batch version ``M.x``: ``1.x`` single merchant, ``2.x`` master MID with a sub-MID
    column; ``x != 0`` adds ``RefNr`` and returns ``Code``; ``x == 4`` adds ``TID`` (and
    ``CompleteType`` on Capture). Known: 1.0–1.4 and 2.0–2.4."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str | BatchVersion) -> BatchVersion:
        """``"1.4"`` → ``BatchVersion(1, 4)``; anything else raises :class:`BatchError`."""
        if isinstance(text, BatchVersion):
            return text
        m = _VERSION.match(text) if isinstance(text, str) else None
        if m is None:
            raise BatchError(
                f"Version: unknown batch version {text!r} (known: 1.0-1.4, 2.0-2.4)",
                field="Version",
                rule="1.0-1.4 or 2.0-2.4",
            )
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def master(self) -> bool:
        """2.x: HEAD carries the master MID and every record a sub-MID."""
        return self.major == 2

    @property
    def has_ref_nr(self) -> bool:
        """x != 0: records carry ``RefNr`` (Reverse subject to ``reverse_refnr``)."""
        return self.minor != 0

    @property
    def returns_code(self) -> bool:
        """x != 0: response records carry ``Code``."""
        return self.minor != 0

    @property
    def has_tid(self) -> bool:
        """x == 4: Authorize, Capture, Credit and Reverse may carry ``TID``."""
        return self.minor == 4


# Options -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """Settings shared by :class:`~axepta.batch.BatchWriter` and :class:`~axepta.batch.BatchReader`
    (PROTOCOL.md §8, Q25: the open points are configurable).

    * ``charset``: file encoding, ISO-8859-1 by default.
    * ``newline``: ``"\\r\\n"`` (default) or ``"\\n"`` for written files; the reader accepts both.
    * ``date_format``: ``strftime`` format of the HEAD date, ``%Y%m%d`` by default.
    * ``reverse_refnr``: Reverse records carry ``RefNr`` from 1.x (default on, §8.2).
    * ``reftrans_order_desc_max``: maximum ``OrderDesc`` length in REFTRANS records (30).
    * ``small_amounts_enabled``: let the writer accept amounts below 100 minor units (they need
      helpdesk approval, §5). The reader accepts 1..9 999 999 999 whatever this says.
    """

    charset: str = "iso-8859-1"
    newline: str = "\r\n"
    date_format: str = "%Y%m%d"
    reverse_refnr: bool = True
    reftrans_order_desc_max: int = 30
    small_amounts_enabled: bool = False

    def __post_init__(self) -> None:
        try:
            codecs.lookup(self.charset)
        except LookupError:
            raise ConfigurationError(f"batch charset {self.charset!r} is not a known encoding") from None
        if "HEAD,0-9\r\n".encode(self.charset) != b"HEAD,0-9\r\n":
            raise ConfigurationError(f"batch charset {self.charset!r} is not ASCII-compatible")
        if self.newline not in ("\r\n", "\n"):
            raise ConfigurationError("batch newline must be '\\r\\n' or '\\n'")
        if not 1 <= self.reftrans_order_desc_max <= 127:
            raise ConfigurationError("reftrans_order_desc_max must be 1..127")
        if "%" not in self.date_format or "," in self.date_format:
            raise ConfigurationError(f"batch date_format {self.date_format!r} must be a strftime format without ','")


# Header and footer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """``HEAD,<MerchantID>,<Date>,<Version>`` (the master MID in 2.x)."""

    merchant_id: str
    date: dt.date
    version: BatchVersion


@dataclass(frozen=True, slots=True)
class BatchFooter:
    """``FOOT,<CountRecords>,<SumAmount>`` as written or read.

    ``count`` is the number of ``PAYPAL`` records and ``amount_total`` the plain sum of their
    ``Amount`` columns. ``count_includes_head_foot`` is ``True`` when a file read counted HEAD
    and FOOT too (accepted, with a logged warning)."""

    count: int
    amount_total: int
    count_includes_head_foot: bool = False


# Records -----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class _Record:
    """Columns every record may carry: the sub-MID (2.x), the result columns of a response
    file, unrecognised echoed columns and the line it was read from."""

    ACTION: ClassVar[str] = ""

    sub_mid: str | None = None
    status: str | None = None
    code: str | None = None
    code_ext: str | None = None
    extra: tuple[str, ...] = ()
    line: int | None = field(default=None, compare=False)

    @property
    def action(self) -> str:
        """The wire name of the action (``Capture``, ``REFTRANS`` …)."""
        return self.ACTION

    @property
    def is_response(self) -> bool:
        """Whether the record carries a result (``status``)."""
        return self.status is not None

    @property
    def succeeded(self) -> bool:
        """``Status == OK`` and, when a ``Code`` is present, ``Code == 00000000`` (D12)."""
        return self.status == "OK" and (self.code is None or self.code == SUCCESS)

    @property
    def outcome(self) -> str:
        """``request`` for a record without result; else ``success``, ``failed``, ``fatal``,
        ``pending`` or ``review`` from the code (D12), or from ``Status`` in x.0 files."""
        if self.status is None:
            return "request"
        if self.code is not None:
            return classify(self.code)
        return "success" if self.status == "OK" else "failed"

    def as_dict(self) -> dict[str, Any]:
        """``{"line", "action", <the action's fields>, "sub_mid", "status", "code",
        "code_ext", "extra"}`` (``extra`` as a list), ready for JSON."""
        out: dict[str, Any] = {"line": self.line, "action": self.ACTION}
        own = [f.name for f in fields(self) if not f.kw_only]
        for name in (*own, "sub_mid", "status", "code", "code_ext"):
            out[name] = getattr(self, name)
        out["extra"] = list(self.extra)
        return out


@dataclass(slots=True)
class Authorize(_Record):
    """``PAYPAL,Authorize,Amount,Currency,TransID,PayID(,TID in 1.4)``."""

    ACTION: ClassVar[str] = "Authorize"

    amount: int
    currency: str
    trans_id: str
    pay_id: str
    tid: str | None = None


@dataclass(slots=True)
class Capture(_Record):
    """``PAYPAL,Capture,Amount,Currency,TransID,(RefNr,)PayID``; in 1.4 ``,CompleteType,TID``."""

    ACTION: ClassVar[str] = "Capture"

    amount: int
    currency: str
    trans_id: str
    pay_id: str
    ref_nr: str | None = None
    tid: str | None = None
    complete_type: str | None = None


@dataclass(slots=True)
class Credit(_Record):
    """``PAYPAL,Credit,Amount,Currency,TransID,(RefNr,)PayID(,TID in 1.4)``."""

    ACTION: ClassVar[str] = "Credit"

    amount: int
    currency: str
    trans_id: str
    pay_id: str
    ref_nr: str | None = None
    tid: str | None = None


@dataclass(slots=True)
class CreditEx(_Record):
    """``PAYPAL,CreditEx,TransID,(RefNr,)Amount,Currency,payer,note`` (note the order).
    ``payer`` (the MassPay recipient's e-mail) is required: a batch record has no other way to
    name the recipient."""

    ACTION: ClassVar[str] = "CreditEx"

    amount: int
    currency: str
    trans_id: str
    payer: str
    ref_nr: str | None = None
    note: str | None = None


@dataclass(slots=True)
class Reverse(_Record):
    """``PAYPAL,Reverse,Amount,Currency,TransID,(RefNr,)PayID(,TID in 1.4)``; ``RefNr`` only
    with ``BatchOptions.reverse_refnr`` (default on, §8.2)."""

    ACTION: ClassVar[str] = "Reverse"

    amount: int
    currency: str
    trans_id: str
    pay_id: str
    ref_nr: str | None = None
    tid: str | None = None


@dataclass(slots=True)
class RefTrans(_Record):
    """``PAYPAL,REFTRANS,Amount,Currency,TransID,(RefNr),OrderDesc,Capture,TxType,
    BillingAgreementId,CodeExt,PayID,Status(,Code)``, the same layout for request and response
    (the result positions are empty in a request). ``pay_id`` is the new PayID of the charge."""

    ACTION: ClassVar[str] = "REFTRANS"

    amount: int
    currency: str
    trans_id: str
    billing_agreement_id: str
    ref_nr: str | None = None
    order_desc: str | None = None
    capture: str | None = None
    tx_type: str | None = None
    pay_id: str | None = None


BatchRecord = Authorize | Capture | Credit | CreditEx | Reverse | RefTrans

#: Wire action name -> record class.
ACTIONS: dict[str, type[BatchRecord]] = {
    cls.ACTION: cls for cls in (Authorize, Capture, Credit, CreditEx, Reverse, RefTrans)
}
