"""``axepta batch build`` and ``axepta batch parse`` through the Typer app."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import axepta.cli.batch as batch_cli
from axepta.batch import load_batch
from axepta.cli import app
from tests.test_batch._support import GOLDEN, P1, P2, P3

ENV = {
    "AXEPTA_MERCHANT_ID": "BNP_DEMO_AXEPTA",
    "AXEPTA_PROFILE": "",
    "AXEPTA_CONFIG": "/nonexistent/axepta.toml",
    "COLUMNS": "200",  # rich tables unwrapped, so that assertions see whole cells
}

CSV = (
    "Action,Amount,Currency,TransID,RefNr,PayID,TID,CompleteType,payer,note,OrderDesc,Capture,TxType,BillingAgreementID\n"
    f"Capture,1999,EUR,ORDER-1001,INV-1001,{P1},,YES,,,,,,\n"
    f"Credit,500,EUR,ORDER-0999,CN-0999,{P2},7PX12345AB678901C,,,,,,,\n"
    f"Reverse,2500,EUR,ORDER-1002,,{P3},,,,,,,,\n"
    "CreditEx,1000,EUR,PAYOUT-7,,,,,buyer@example.com,Merci,,,,\n"
    "REFTRANS,990,EUR,SUB-2024-01,SUB-88,,,,,,Abonnement janvier,Auto,,B-5YH12345KL678901\n"
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def run(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=ENV | (env or {}))


def write_csv(tmp_path: Path, text: str = CSV, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# build ------------------------------------------------------------------------------------------


def test_build_into_a_directory_prints_the_suggested_name(runner: CliRunner, tmp_path: Path) -> None:
    src = write_csv(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    res = run(runner, "batch", "build", str(src), "--version", "1.4", "-o", str(out), "--date", "2024-01-31")
    assert res.exit_code == 0, res.output
    assert "wrote 5 record(s), amount total 6989" in res.stdout
    assert "suggested file name: T20240131001BNP_DEMO_AXEPTA.dat" in res.stdout
    data = (out / "T20240131001BNP_DEMO_AXEPTA.dat").read_bytes()
    assert data.startswith(b"HEAD,BNP_DEMO_AXEPTA,20240131,1.4\r\n")
    assert f"PAYPAL,Capture,1999,EUR,ORDER-1001,INV-1001,{P1},YES,\r\n".encode() in data
    assert b"PAYPAL,CreditEx,PAYOUT-7,,1000,EUR,buyer@example.com,Merci\r\n" in data
    assert data.endswith(b"FOOT,5,6989\r\n")
    # The next file of the day takes the next free counter (T, W and P names count as taken).
    (out / "P20240131002BNP_DEMO_AXEPTA.dat").write_bytes(b"")
    res = run(runner, "--json", "batch", "build", str(src), "-o", str(out), "--date", "20240131")
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["suggested_name"] == "T20240131003BNP_DEMO_AXEPTA.dat"
    assert info["file"] == str(out / "T20240131003BNP_DEMO_AXEPTA.dat")
    assert (info["count"], info["amount_total"], info["version"], info["merchant_id"]) == (5, 6989, "1.4", "BNP_DEMO_AXEPTA")
    assert not list(out.glob(".*.part"))


def test_build_to_a_file_refuses_to_overwrite(runner: CliRunner, tmp_path: Path) -> None:
    src = write_csv(tmp_path)
    target = tmp_path / "batch.dat"
    res = run(runner, "batch", "build", str(src), "--version", "1.1", "-o", str(target), "--line-ending", "lf", "--date", "2024-01-31")
    assert res.exit_code == 2, res.output  # TID and CompleteType do not exist in 1.1
    assert "in.csv, line 2: Capture: CompleteType cannot be written in a version 1.1" in res.stderr
    assert not target.exists() and not list(tmp_path.glob(".*.part"))
    res = run(runner, "batch", "build", str(src), "-o", str(target), "--line-ending", "lf")
    assert res.exit_code == 0, res.output
    assert "suggested file name" not in res.stdout
    assert b"\r" not in target.read_bytes()
    res = run(runner, "batch", "build", str(src), "-o", str(target))
    assert res.exit_code == 2 and "exists" in res.stderr
    res = run(runner, "batch", "build", str(src), "-o", str(target), "--force")
    assert res.exit_code == 0 and b"\r\n" in target.read_bytes()


def test_build_from_json_lines_master_mid(runner: CliRunner, tmp_path: Path) -> None:
    rows = [
        {"Action": "Capture", "Amount": 1999, "Currency": "EUR", "TransID": "T-1", "PayID": P1, "SubMID": "SHOP_A"},
        {"Action": "Authorize", "Amount": 500, "Currency": "USD", "TransID": "T-2", "PayID": P2, "SubMID": "SHOP_B", "TID": "0VF52814937998046"},
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")
    target = tmp_path / "m.dat"
    res = run(runner, "batch", "build", str(src), "--version", "2.4", "-o", str(target), "--merchant-id", "BNP_MASTER")
    assert res.exit_code == 0, res.output
    batch = load_batch(target)
    assert batch.header.merchant_id == "BNP_MASTER" and [r.sub_mid for r in batch.records] == ["SHOP_A", "SHOP_B"]
    # --format wins over the extension
    other = tmp_path / "rows.txt"
    other.write_text(src.read_text("utf-8"), "utf-8")
    res = run(runner, "batch", "build", str(other), "--format", "jsonl", "--version", "2.4", "-o", str(tmp_path / "n.dat"))
    assert res.exit_code == 0, res.output


def test_build_input_errors_name_the_input_line(runner: CliRunner, tmp_path: Path) -> None:
    src = write_csv(tmp_path, CSV.replace("Credit,500,", "Credit,5.00,"))
    res = run(runner, "--json", "batch", "build", str(src), "-o", str(tmp_path / "x.dat"))
    assert res.exit_code == 2
    err = json.loads(res.stdout)["error"]
    assert err["type"] == "BatchError" and err["field"] == "Amount"
    assert err["message"].startswith(f"{src}, line 3: Amount")
    src = write_csv(tmp_path, CSV.replace("ORDER-1002", "ORDER,1002").replace(",,,,,,,,\n", ",,,,,,,,\n"))
    res = run(runner, "batch", "build", str(src), "-o", str(tmp_path / "x.dat"))
    assert res.exit_code == 2  # a quoted comma is not even a valid row here (column count)
    src = write_csv(tmp_path, CSV.replace("Merci", '"Merci, merci"'))
    res = run(runner, "batch", "build", str(src), "-o", str(tmp_path / "x.dat"))
    assert res.exit_code == 2 and "line 5: CreditEx: note: must not contain ','" in res.stderr
    assert not (tmp_path / "x.dat").exists()


def test_merchant_id_sources(runner: CliRunner, tmp_path: Path) -> None:
    src = write_csv(tmp_path)
    res = runner.invoke(app, ["batch", "build", str(src), "-o", str(tmp_path / "a.dat")], env={"AXEPTA_MERCHANT_ID": "", "AXEPTA_PROFILE": ""})
    assert res.exit_code == 3 and "no merchant ID" in res.stderr
    config = tmp_path / "config.toml"
    config.write_text('[profiles.shop]\nmerchant_id = "BNP_PROFILE"\n[profiles.empty]\nhmac_key = "x"\n', "utf-8")
    env = {"AXEPTA_CONFIG": str(config), "AXEPTA_MERCHANT_ID": "BNP_ENV"}
    res = run(runner, "--profile", "shop", "batch", "build", str(src), "-o", str(tmp_path / "b.dat"), env=env)
    assert res.exit_code == 0, res.output
    assert load_batch(tmp_path / "b.dat").header.merchant_id == "BNP_PROFILE"
    res = run(runner, "--profile", "empty", "batch", "build", str(src), "-o", str(tmp_path / "c.dat"), env=env)
    assert res.exit_code == 3 and "lacks merchant_id" in res.stderr
    res = run(runner, "batch", "build", str(src), "-o", str(tmp_path / "d.dat"), env=env)
    assert res.exit_code == 0 and load_batch(tmp_path / "d.dat").header.merchant_id == "BNP_ENV"


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--line-ending", "cr"], 2, "crlf or lf"),
        (["--format", "xml"], 2, "csv or jsonl"),
        (["--transfer", "ftp"], 2, "sftp or manual"),
        (["--date", "31/01/2024"], 2, "not a date"),
        (["--version", "1.7"], 2, "unknown batch version"),
        (["--charset", "klingon"], 3, "not a known encoding"),
        (["--counter", "0"], 2, ""),
    ],
)
def test_build_bad_options(runner: CliRunner, tmp_path: Path, args: list[str], code: int, text: str) -> None:
    src = write_csv(tmp_path)
    res = run(runner, "batch", "build", str(src), "-o", str(tmp_path / "o.dat"), *args)
    assert res.exit_code == code, res.output
    assert text in res.output


# parse ------------------------------------------------------------------------------------------


def test_parse_request_file(runner: CliRunner) -> None:
    res = run(runner, "batch", "parse", str(GOLDEN / "request_1.4.dat"))
    assert res.exit_code == 0, res.output
    for text in ("BNP_DEMO_AXEPTA", "2024-01-31", "1.4", "request", "6 records, sum 7989 (checked)", "Capture 1"):
        assert text in res.stdout
    assert "by status" not in res.stdout


def test_parse_response_file_explains_failures(runner: CliRunner) -> None:
    res = run(runner, "batch", "parse", str(GOLDEN / "response_1.4.dat"))
    assert res.exit_code == 0, res.output
    assert "FAILED 2, OK 4" in res.stdout
    assert "Failed records (2)" in res.stdout
    assert "21500952" in res.stdout and "CodeExt 10009" in res.stdout
    assert "Already reversed" in res.stdout and "advice" not in res.stdout


def test_parse_json_is_one_object_with_the_contract_keys(runner: CliRunner) -> None:
    res = run(runner, "--json", "batch", "parse", str(GOLDEN / "response_2.4.dat"))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert {"merchant_id", "version", "count", "amount_total", "by_status", "records"} <= set(data)
    assert (data["merchant_id"], data["version"], data["count"], data["amount_total"]) == ("BNP_MASTER_AXEPTA", "2.4", 6, 7989)
    assert data["by_status"] == {"OK": 4, "FAILED": 2} and data["failed"] == 2 and data["kind"] == "response"
    records = data["records"]
    assert len(records) == 6 and records[0]["line"] == 2 and records[0]["sub_mid"] == "BNP_SHOP_A"
    credit = records[2]
    assert credit["action"] == "Credit" and credit["code"] == "21500952" and credit["outcome"] == "failed"
    assert credit["explanation"] and credit["code_ext"] == "10009"
    assert records[0]["explanation"] is None and records[0]["outcome"] == "success"
    assert list(records[1])[:4] == ["line", "action", "amount", "currency"]


def test_parse_json_request_file_and_latin1(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "r.dat"
    path.write_bytes("HEAD,BNP,20240131,1.4\r\nPAYPAL,CreditEx,P-1,,1000,EUR,a@b.example,Merci fidélité\r\nFOOT,1,1000\r\n".encode("iso-8859-1"))
    res = run(runner, "--json", "batch", "parse", str(path))
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["by_status"] == {} and data["kind"] == "request"
    assert data["records"][0]["note"] == "Merci fidélité" and "outcome" not in data["records"][0]


def test_parse_footer_mismatch_is_an_error_and_json_stays_one_object(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes((GOLDEN / "request_1.4.dat").read_bytes().replace(b"FOOT,6,7989", b"FOOT,6,7990"))
    res = run(runner, "batch", "parse", str(bad))
    assert res.exit_code == 2 and "line 8: FOOT: SumAmount is 7990" in res.stderr
    res = run(runner, "--json", "batch", "parse", str(bad))
    assert res.exit_code == 2
    obj = json.loads(res.stdout)  # exactly one object: no records were printed before the error
    assert obj["ok"] is False and obj["error"]["field"] == "SumAmount"


def test_parse_options(runner: CliRunner) -> None:
    res = run(runner, "batch", "parse", str(GOLDEN / "request_1.4.dat"), "--kind", "response")
    assert res.exit_code == 2 and "(response, version 1.4)" in res.stderr
    res = run(runner, "batch", "parse", str(GOLDEN / "request_1.4.dat"), "--kind", "sideways")
    assert res.exit_code == 2
    path = GOLDEN / "response_1.4_no_reverse_refnr.dat"
    assert run(runner, "batch", "parse", str(path)).exit_code == 2
    res = run(runner, "batch", "parse", str(path), "--no-reverse-refnr")
    assert res.exit_code == 0 and "FAILED 1, OK 2" in res.stdout


def test_parse_lists_at_most_twenty_failures(runner: CliRunner, tmp_path: Path) -> None:
    line = f"PAYPAL,Capture,1000,EUR,C-{{}},,{P1},FAILED,21500067,"
    body = "\r\n".join(line.format(i) for i in range(25))
    path = tmp_path / "p.dat"
    path.write_bytes(f"HEAD,BNP,20240131,1.1\r\n{body}\r\nFOOT,25,25000\r\n".encode())
    res = run(runner, "batch", "parse", str(path))
    assert res.exit_code == 0, res.output
    assert "Failed records (25)" in res.stdout and "and 5 more failed record(s)" in res.stdout
    assert "C-19" in res.stdout and "C-20" not in res.stdout


# progress ---------------------------------------------------------------------------------------


def test_counting_reader_reports_every_byte() -> None:
    seen: list[int] = []
    data = (GOLDEN / "response_1.4.dat").read_bytes()
    raw = batch_cli._CountingReader(io.BytesIO(data), seen.append)
    with io.BufferedReader(raw, buffer_size=64) as f:
        assert b"".join(iter(lambda: f.read(50), b"")) == data
    assert sum(seen) == len(data) and len(seen) > 1


def test_progress_bar_path(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_cli, "_progress_enabled", lambda size: True)
    res = run(runner, "--json", "batch", "parse", str(GOLDEN / "response_1.4.dat"))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["count"] == 6
    src = write_csv(tmp_path)
    res = run(runner, "batch", "build", str(src), "-o", str(tmp_path / "p.dat"))
    assert res.exit_code == 0, res.output
    assert len(load_batch(tmp_path / "p.dat").records) == 5


def test_progress_only_for_large_files_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not batch_cli._progress_enabled(10 << 20)
    monkeypatch.setattr("sys.stderr", Tty())
    assert batch_cli._progress_enabled(batch_cli.PROGRESS_MIN_BYTES)
    assert not batch_cli._progress_enabled(batch_cli.PROGRESS_MIN_BYTES - 1)


# issue 13 items 3 and 5: `-o DIR/`, "ok": true --------------------------------------------------


def test_build_into_a_new_directory_with_a_trailing_slash(runner: CliRunner, tmp_path: Path) -> None:
    src = write_csv(tmp_path)
    res = run(runner, "--json", "batch", "build", str(src), "-o", str(tmp_path / "out") + "/", "--date", "2024-01-31")
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout)
    assert info["ok"] is True
    assert (tmp_path / "out").is_dir()
    assert info["file"] == str(tmp_path / "out" / "T20240131001BNP_DEMO_AXEPTA.dat")
    assert (tmp_path / "out" / "T20240131001BNP_DEMO_AXEPTA.dat").read_bytes().startswith(b"HEAD,")


def test_build_to_a_missing_directory_without_slash_is_a_file(runner: CliRunner, tmp_path: Path) -> None:
    src = write_csv(tmp_path)
    res = run(runner, "batch", "build", str(src), "-o", str(tmp_path / "plain.dat"), "--date", "2024-01-31")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "plain.dat").is_file()


def test_build_to_a_file_under_a_missing_directory_says_so(runner: CliRunner, tmp_path: Path) -> None:
    src = write_csv(tmp_path)
    res = run(runner, "batch", "build", str(src), "-o", str(tmp_path / "nope" / "x.dat"), "--date", "2024-01-31")
    assert res.exit_code == 2, res.output
    assert "-o" in res.stderr and "does not exist" in res.stderr and "end it with /" in res.stderr


def test_parse_json_says_ok(runner: CliRunner) -> None:
    res = run(runner, "--json", "batch", "parse", str(GOLDEN / "response_2.4.dat"))
    assert json.loads(res.stdout)["ok"] is True


def test_parse_is_readable_at_80_columns(runner: CliRunner) -> None:
    res = run(runner, "batch", "parse", str(GOLDEN / "response_2.4.dat"), env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "…" not in res.stdout  # no cell cut
    assert "Credit failed [CodeExt 10009]" in res.stdout and "2c3d4e5f60718293a4b5c6d7e8f90a1b" in res.stdout
