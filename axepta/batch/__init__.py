"""Batch files of the Axepta Batch Manager for PayPal (PROTOCOL.md §8).

A batch file is comma-separated text: ``HEAD,<MerchantID>,<Date>,<Version>``, one
``PAYPAL,<Action>,…`` record per operation, ``FOOT,<CountRecords>,<SumAmount>``. This package
writes request files and reads request and response (processed) files, streaming both ways:

* typed records :class:`Authorize`, :class:`Capture`, :class:`Credit`, :class:`CreditEx`,
  :class:`Reverse`, :class:`RefTrans` (``ABO`` has no layout in the guide and is refused);
* :class:`BatchWriter` / :func:`write_batch` and :class:`BatchReader` / :func:`load_batch`,
  version-aware (1.0, 1.x with ``RefNr``, 1.4 with ``TID``, 2.x with a sub-MID column) and
  sharing :class:`BatchOptions` (charset, line ends, date format, the Reverse ``RefNr`` switch);
* :func:`batch_file_name` for the §8.6 names (``T20240131001BNP_DEMO.dat``);
* :func:`record_from_fields`, :func:`iter_csv_records`, :func:`iter_jsonl_records` for tabular
  input in wire names.

Every rule broken raises :class:`BatchError` (an :class:`~axepta.errors.InvalidRequestError`)
naming the line and the field.
"""

from __future__ import annotations

from axepta.batch.inputs import (
    INPUT_COLUMNS,
    iter_csv_records,
    iter_jsonl_records,
    record_from_fields,
)
from axepta.batch.names import BatchFileName, batch_file_name, parse_batch_file_name
from axepta.batch.reader import BatchFile, BatchReader, load_batch
from axepta.batch.records import (
    ACTIONS,
    Authorize,
    BatchError,
    BatchFooter,
    BatchHeader,
    BatchOptions,
    BatchRecord,
    BatchVersion,
    Capture,
    Credit,
    CreditEx,
    RefTrans,
    Reverse,
)
from axepta.batch.writer import BatchWriter, write_batch

__all__ = [
    "ACTIONS",
    "INPUT_COLUMNS",
    "Authorize",
    "BatchError",
    "BatchFile",
    "BatchFileName",
    "BatchFooter",
    "BatchHeader",
    "BatchOptions",
    "BatchReader",
    "BatchRecord",
    "BatchVersion",
    "BatchWriter",
    "Capture",
    "Credit",
    "CreditEx",
    "RefTrans",
    "Reverse",
    "batch_file_name",
    "iter_csv_records",
    "iter_jsonl_records",
    "load_batch",
    "parse_batch_file_name",
    "record_from_fields",
    "write_batch",
]
