"""Issue 11 item 11: a line longer than the longest legal record is refused before it is read
whole (a 2 GiB line once peaked at 4.1 GB of memory), in batch files and in CSV/JSONL inputs."""

from __future__ import annotations

import io
import re

import pytest

from axepta.batch import BatchError, BatchReader, iter_csv_records, iter_jsonl_records
from axepta.batch.layouts import layout_for
from axepta.batch.reader import MAX_LINE_CHARS
from axepta.batch.records import ACTIONS, BatchVersion

HEAD = b"HEAD,BNP_DEMO_AXEPTA,20240131,1.0\n"


class Endless(io.RawIOBase):
    """``head`` then an endless line of ``A``: counts what was read from it."""

    def __init__(self, head: bytes = b"") -> None:
        self.head = head
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = len(buffer)
        chunk = (self.head + b"A" * n)[:n] if self.served < len(self.head) else b"A" * n
        self.head = self.head[n:] if self.served < len(self.head) else b""
        buffer[:n] = chunk
        self.served += n
        if self.served > 64 << 20:  # the test fails rather than eat the memory
            raise AssertionError("read more than 64 MiB of one line")
        return n


def test_the_cap_is_above_every_legal_record() -> None:
    longest = 0
    for version in [BatchVersion(major, minor) for major in (1, 2) for minor in range(5)]:
        for kind in ("request", "response"):
            for action in ACTIONS:
                layout = layout_for(action, version, kind)
                for tail in layout.tails.values():
                    columns = [*layout.lead, *layout.core, *tail]
                    widths = [int((re.findall(r"\d+", c.fmt) or ["64"])[-1]) for c in columns]
                    longest = max(longest, sum(widths) + len(columns) + len("PAYPAL,CreditEx,"))
    assert longest > 1000  # CreditEx with its 758-character note
    assert longest <= MAX_LINE_CHARS
    assert MAX_LINE_CHARS <= 1 << 16


def test_reader_refuses_an_endless_record_line() -> None:
    source = Endless(HEAD)
    with pytest.raises(BatchError, match="longer than") as info, BatchReader(io.BufferedReader(source)) as reader:
        list(reader)
    assert info.value.line == 2
    assert source.served < 1 << 20


def test_reader_refuses_an_endless_header_line() -> None:
    source = Endless()
    with pytest.raises(BatchError, match="longer than") as info:
        BatchReader(io.BufferedReader(source))
    assert info.value.line == 1
    assert source.served < 1 << 20


def test_reader_refuses_a_long_line_from_a_path(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "big.txt"
    path.write_bytes(HEAD + b"PAYPAL,CAPTURE," + b"9" * (MAX_LINE_CHARS + 10) + b"\nFOOT,1,1\n")
    with pytest.raises(BatchError, match="longer than") as info, BatchReader(path) as reader:
        list(reader)
    assert info.value.line == 2


@pytest.mark.parametrize("reader", [iter_csv_records, iter_jsonl_records])
def test_inputs_refuse_an_endless_line(reader: object) -> None:
    head = b"Action,Amount,Currency,TransID,PayID\n" if reader is iter_csv_records else b""
    source = Endless(head)
    text = io.TextIOWrapper(io.BufferedReader(source), encoding="utf-8")
    with pytest.raises(BatchError, match="longer than"):
        list(reader(text))  # type: ignore[operator]
    assert source.served < 1 << 20
