"""Batch file names (PROTOCOL.md §8.6).

* SFTP (automated): ``<Phase><YYYYMMDD><Counter><MerchantID>.dat``
* manual upload in the back office: ``<Phase><YYYYMMDD><MerchantID><Counter>.dat``

``Phase`` is ``T`` (transferred by the merchant), ``W`` (waiting / in progress) or ``P``
(processed: the response file). ``Counter`` has three digits, ``001`` for the day's first file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from axepta.batch.records import BatchError

__all__ = ["BatchFileName", "batch_file_name", "parse_batch_file_name"]

Phase = Literal["T", "W", "P"]
Transfer = Literal["sftp", "manual"]

_MID = re.compile(r"[A-Za-z0-9_.\-]{1,30}")
_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}")


def _check(merchant_id: str, counter: int, phase: str, transfer: str, extension: str) -> None:
    if phase not in ("T", "W", "P"):
        raise BatchError(f"phase must be T, W or P, not {phase!r}", field="Phase", rule="T|W|P")
    if transfer not in ("sftp", "manual"):
        raise BatchError(f"transfer must be 'sftp' or 'manual', not {transfer!r}", field="Transfer", rule="sftp|manual")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 1 <= counter <= 999:
        raise BatchError(f"counter must be 1..999 (three digits), not {counter!r}", field="Counter", rule="001-999")
    # A merchant ID becomes part of a file name: only characters safe in any file system.
    if not isinstance(merchant_id, str) or _MID.fullmatch(merchant_id) is None:
        raise BatchError(
            f"MerchantID {merchant_id!r} cannot be used in a file name (letters, digits, '_', '.', '-'; at most 30)",
            field="MerchantID",
            rule="file-name safe",
        )
    if _EXT.fullmatch(extension) is None:
        raise BatchError(f"extension must look like '.dat', not {extension!r}", field="Extension", rule=".dat")


def batch_file_name(
    merchant_id: str,
    *,
    date: dt.date | None = None,
    counter: int = 1,
    phase: Phase = "T",
    transfer: Transfer = "sftp",
    extension: str = ".dat",
) -> str:
    """The file name of a batch file: ``batch_file_name("BNP_DEMO", date=date(2024, 1, 31))``
    is ``T20240131001BNP_DEMO.dat`` (SFTP); ``transfer="manual"`` gives
    ``T20240131BNP_DEMO001.dat``. ``date`` defaults to today."""
    _check(merchant_id, counter, phase, transfer, extension)
    day = (date or dt.date.today()).strftime("%Y%m%d")
    if transfer == "sftp":
        return f"{phase}{day}{counter:03d}{merchant_id}{extension}"
    return f"{phase}{day}{merchant_id}{counter:03d}{extension}"


@dataclass(frozen=True, slots=True)
class BatchFileName:
    """The parts of a batch file name."""

    phase: Phase
    date: dt.date
    counter: int
    merchant_id: str
    transfer: Transfer
    extension: str

    def __str__(self) -> str:
        return batch_file_name(
            self.merchant_id,
            date=self.date,
            counter=self.counter,
            phase=self.phase,
            transfer=self.transfer,
            extension=self.extension,
        )

    def with_phase(self, phase: Phase) -> BatchFileName:
        """The same file in another phase (``T`` → ``P`` names the processed file)."""
        _check(self.merchant_id, self.counter, phase, self.transfer, self.extension)
        return BatchFileName(phase, self.date, self.counter, self.merchant_id, self.transfer, self.extension)


_NAME = re.compile(r"^([TWP])(\d{8})(.+?)(\.[A-Za-z0-9]{1,8})$")


def parse_batch_file_name(name: str, *, transfer: Transfer = "sftp") -> BatchFileName:
    """Split a batch file name made by :func:`batch_file_name`. The transfer kind must be given:
    a merchant ID may itself end in digits, so ``sftp`` and ``manual`` names cannot be told apart
    reliably from the name alone."""
    m = _NAME.match(name)
    if m is None:
        raise BatchError(f"{name!r} is not a batch file name (<Phase><YYYYMMDD>…)", field="FileName", rule="§8.6")
    phase, day, middle, extension = m.groups()
    try:
        date = dt.datetime.strptime(day, "%Y%m%d").date()
    except ValueError:
        raise BatchError(f"{name!r}: {day} is not a date", field="FileName", rule="YYYYMMDD") from None
    if transfer == "sftp":
        counter_text, merchant_id = middle[:3], middle[3:]
    else:
        merchant_id, counter_text = middle[:-3], middle[-3:]
    if not counter_text.isdigit() or not merchant_id:
        raise BatchError(f"{name!r}: no three-digit counter for a {transfer} name", field="FileName", rule="§8.6")
    parsed = BatchFileName(phase, date, int(counter_text), merchant_id, transfer, extension)  # type: ignore[arg-type]
    _check(merchant_id, parsed.counter, phase, transfer, extension)
    return parsed
