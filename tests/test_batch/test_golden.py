"""Golden files: every action in every version, request and response, byte for byte."""

from __future__ import annotations

import io

import pytest

from axepta.batch import BatchError, BatchOptions, BatchReader, load_batch, write_batch
from tests.test_batch._support import (
    DATE,
    GOLDEN,
    VERSIONS,
    merchant,
    no_reverse_refnr_records,
    request_records,
    response_records,
)


@pytest.mark.parametrize("version", VERSIONS)
def test_writer_matches_golden_request(version: str) -> None:
    buf = io.BytesIO()
    footer = write_batch(buf, request_records(version), merchant_id=merchant(version), version=version, date=DATE)
    assert buf.getvalue() == (GOLDEN / f"request_{version}.dat").read_bytes()
    assert (footer.count, footer.amount_total) == (6, 7989)


@pytest.mark.parametrize("version", VERSIONS)
def test_writer_matches_golden_response(version: str) -> None:
    buf = io.BytesIO()
    write_batch(buf, response_records(version), merchant_id=merchant(version), version=version, date=DATE, kind="response")
    assert buf.getvalue() == (GOLDEN / f"response_{version}.dat").read_bytes()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["request", "response"])
def test_reader_reads_golden(version: str, kind: str) -> None:
    batch = load_batch(GOLDEN / f"{kind}_{version}.dat")
    expected = request_records(version) if kind == "request" else response_records(version)
    assert batch.kind == kind
    assert str(batch.header.version) == version
    assert batch.header.merchant_id == merchant(version)
    assert batch.header.date == DATE
    assert batch.records == expected
    assert [r.line for r in batch.records] == [r.line for r in expected]
    assert (batch.footer.count, batch.footer.amount_total) == (6, 7989)
    assert not batch.footer.count_includes_head_foot
    assert "records=6" in repr(batch)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["request", "response"])
def test_reader_accepts_lf_line_ends(version: str, kind: str) -> None:
    data = (GOLDEN / f"{kind}_{version}.dat").read_bytes().replace(b"\r\n", b"\n")
    assert b"\r" not in data
    batch = load_batch(io.BytesIO(data), kind=kind)  # type: ignore[arg-type]
    expected = request_records(version) if kind == "request" else response_records(version)
    assert batch.records == expected


@pytest.mark.parametrize("kind", ["request", "response"])
def test_reverse_without_refnr_golden(kind: str) -> None:
    options = BatchOptions(reverse_refnr=False)
    path = GOLDEN / f"{kind}_1.4_no_reverse_refnr.dat"
    buf = io.BytesIO()
    write_batch(buf, no_reverse_refnr_records(kind), merchant_id="BNP_DEMO_AXEPTA", date=DATE, options=options, kind=kind)  # type: ignore[arg-type]
    assert buf.getvalue() == path.read_bytes()
    assert load_batch(path, options=options).records == no_reverse_refnr_records(kind)


def test_reverse_switch_mismatch_names_the_switch() -> None:
    """A file written without Reverse RefNr, read with the default switch: the column count
    (or, when a TID makes the count fit, the PayID check of §8.5) catches it, naming the switch."""
    with pytest.raises(BatchError) as info:
        load_batch(GOLDEN / "response_1.4_no_reverse_refnr.dat")
    assert info.value.line == 3 and info.value.rule == "column count"
    assert "reverse_refnr is on" in str(info.value)
    data = (GOLDEN / "response_1.4_no_reverse_refnr.dat").read_bytes().split(b"\r\n")
    only_tid = b"\r\n".join([data[0], data[3], b"FOOT,1,700", b""])
    with pytest.raises(BatchError) as info:
        load_batch(io.BytesIO(only_tid))
    err = info.value
    assert err.line == 2 and err.field == "PayID" and err.rule == "an32"
    assert "is not a PayID" in str(err) and "reverse_refnr is on" in str(err)
    with pytest.raises(BatchError, match="reverse_refnr is off") as info:
        load_batch(GOLDEN / "response_1.4.dat", options=BatchOptions(reverse_refnr=False))
    assert info.value.line == 6 and info.value.field == "PayID"


def test_golden_response_results() -> None:
    with BatchReader(GOLDEN / "response_1.4.dat") as reader:
        records = list(reader)
    capture, credit, reverse = records[1], records[2], records[4]
    assert capture.succeeded and capture.outcome == "success" and capture.is_response
    assert not credit.succeeded and credit.outcome == "failed" and credit.code_ext == "10009"
    assert reverse.code == "21501519" and not reverse.succeeded
    x0 = load_batch(GOLDEN / "response_1.0.dat").records
    assert x0[0].succeeded and x0[0].outcome == "success" and x0[0].code is None
    assert x0[2].outcome == "failed" and x0[2].code_ext == "10009"
