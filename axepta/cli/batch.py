"""``axepta batch``: build batch request files from CSV / JSON lines, read request and response
files with a summary (PROTOCOL.md §8). Large files show a progress bar on stderr when it is a
terminal."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from axepta.batch import (
    BatchError,
    BatchOptions,
    BatchReader,
    BatchRecord,
    BatchWriter,
    batch_file_name,
    iter_csv_records,
    iter_jsonl_records,
)
from axepta.cli._common import emit_json, output_path, state, stderr, stdout, table
from axepta.cli.config import load_profile
from axepta.codes import SUCCESS, explain
from axepta.errors import ConfigurationError

app = typer.Typer(help="Batch files: build request files, read request and response files.", no_args_is_help=True)

#: Files at least this large get a progress bar (when stderr is a terminal).
PROGRESS_MIN_BYTES = 1 << 20
#: Failed records listed in the human summary of ``parse``.
MAX_FAILURES_SHOWN = 20


def _progress_enabled(size: int) -> bool:
    return size >= PROGRESS_MIN_BYTES and sys.stderr.isatty()


class _CountingReader(io.RawIOBase):
    """A raw binary reader that reports every chunk read (drives the progress bar)."""

    def __init__(self, raw: IO[bytes], advance: Callable[[int], None]) -> None:
        super().__init__()
        self._raw = raw
        self._advance = advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self._advance(n)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


@contextlib.contextmanager
def _open_binary(path: Path, label: str) -> Iterator[IO[bytes]]:
    """``path`` opened for binary reading; with a progress bar on stderr for large files."""
    size = path.stat().st_size
    if not _progress_enabled(size):
        with open(path, "rb") as f:
            yield f
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=stderr(),
        transient=True,
    )
    with progress:
        task = progress.add_task(label, total=size)
        raw = _CountingReader(open(path, "rb"), lambda n: progress.advance(task, n))  # noqa: SIM115
        with io.BufferedReader(raw, buffer_size=1 << 16) as f:
            yield f


def _options(
    charset: str, line_ending: str, date_format: str, reverse_refnr: bool, small_amounts: bool = False
) -> BatchOptions:
    if line_ending not in ("crlf", "lf"):
        raise typer.BadParameter("must be crlf or lf", param_hint="--line-ending")
    return BatchOptions(
        charset=charset,
        newline="\r\n" if line_ending == "crlf" else "\n",
        date_format=date_format,
        reverse_refnr=reverse_refnr,
        small_amounts_enabled=small_amounts,
    )


def _merchant_id(ctx: typer.Context, explicit: str | None) -> str:
    """``--merchant-id``, else the ``--profile``'s merchant_id, else ``AXEPTA_MERCHANT_ID``."""
    if explicit:
        return explicit
    profile = state(ctx).profile
    if profile:
        mid = load_profile(profile).get("merchant_id")
        if not mid:
            raise ConfigurationError(f"profile {profile!r} lacks merchant_id")
        return str(mid)
    mid = os.environ.get("AXEPTA_MERCHANT_ID")
    if not mid:
        raise ConfigurationError("no merchant ID: pass --merchant-id, --profile or set AXEPTA_MERCHANT_ID")
    return mid


def _parse_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD or YYYYMMDD)", param_hint="--date")


def _free_counter(directory: Path, mid: str, date: dt.date, transfer: str, extension: str) -> int:
    """The first counter of the day with no T/W/P file of that name in ``directory``."""
    for counter in range(1, 1000):
        names = [
            batch_file_name(mid, date=date, counter=counter, phase=phase, transfer=transfer, extension=extension)  # type: ignore[arg-type]
            for phase in ("T", "W", "P")
        ]
        if not any((directory / n).exists() for n in names):
            return counter
    raise BatchError(f"all 999 counters of {date:%Y-%m-%d} are used in {directory}", field="Counter", rule="001-999")


# build ------------------------------------------------------------------------------------------


@app.command("build")
def build_cmd(
    ctx: typer.Context,
    input_path: Path = typer.Argument(..., metavar="INPUT", help="CSV (header in wire names) or JSON lines; Amount in minor units.", exists=True, dir_okay=False, readable=True),
    version: str = typer.Option("1.4", "--version", help="Batch version: 1.0-1.4, or 2.0-2.4 for a master MID (SubMID column)."),
    output: str = typer.Option(..., "-o", "--output", metavar="PATH", help="Output file, or a directory (an existing one, or a path ending in /, created) to write the suggested §8.6 file name into."),
    input_format: str | None = typer.Option(None, "--format", help="csv or jsonl (default: from the extension, .jsonl = JSON lines)."),
    merchant_id: str | None = typer.Option(None, "--merchant-id", help="HEAD merchant ID (default: --profile, then AXEPTA_MERCHANT_ID)."),
    date: str | None = typer.Option(None, "--date", help="HEAD and file-name date, YYYY-MM-DD (default today)."),
    counter: int | None = typer.Option(None, "--counter", min=1, max=999, help="File-name counter (default: the first free one in the output directory)."),
    transfer: str = typer.Option("sftp", "--transfer", help="File-name pattern: sftp (T<date><counter><MID>) or manual (T<date><MID><counter>)."),
    charset: str = typer.Option("iso-8859-1", "--charset", help="Output charset."),
    line_ending: str = typer.Option("crlf", "--line-ending", help="crlf or lf."),
    date_format: str = typer.Option("%Y%m%d", "--date-format", help="strftime format of the HEAD date."),
    reverse_refnr: bool = typer.Option(True, "--reverse-refnr/--no-reverse-refnr", help="Reverse records carry RefNr from 1.x."),
    small_amounts: bool = typer.Option(False, "--small-amounts", help="Allow amounts below 100 minor units (needs helpdesk approval)."),
    input_encoding: str = typer.Option("utf-8-sig", "--input-encoding", help="Encoding of INPUT."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Build a batch request file from CSV or JSON lines."""
    fmt = input_format or ("jsonl" if input_path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    if fmt not in ("csv", "jsonl"):
        raise typer.BadParameter("must be csv or jsonl", param_hint="--format")
    if transfer not in ("sftp", "manual"):
        raise typer.BadParameter("must be sftp or manual", param_hint="--transfer")
    options = _options(charset, line_ending, date_format, reverse_refnr, small_amounts)
    mid = _merchant_id(ctx, merchant_id)
    day = _parse_date(date)
    out_path, into_directory = output_path(output)
    if into_directory:
        number = counter or _free_counter(out_path, mid, day, transfer, ".dat")
        suggested = batch_file_name(mid, date=day, counter=number, transfer=transfer)  # type: ignore[arg-type]
        target = out_path / suggested
    else:
        suggested = batch_file_name(mid, date=day, counter=counter or 1, transfer=transfer)  # type: ignore[arg-type]
        target = out_path
    if target.exists() and not force:
        raise BatchError(f"{target} exists (use --force to overwrite, or another --counter)", field="output", rule="no overwrite")
    partial = target.with_name(f".{target.name}.part")
    source = str(input_path)
    with _open_binary(input_path, f"building {input_path.name}") as raw:
        text = io.TextIOWrapper(raw, encoding=input_encoding, newline="")
        records = iter_csv_records(text, source=source) if fmt == "csv" else iter_jsonl_records(text, source=source)
        with BatchWriter(partial, merchant_id=mid, version=version, date=day, options=options) as writer:
            for record in records:
                try:
                    writer.write(record)
                except BatchError as exc:
                    raise BatchError(exc.detail, line=record.line, field=exc.field, rule=exc.rule, source=source) from None
    os.replace(partial, target)
    footer = writer.footer
    assert footer is not None
    result = {
        "ok": True,
        "file": str(target),
        "suggested_name": suggested,
        "merchant_id": mid,
        "version": str(writer.version),
        "date": day.isoformat(),
        "count": footer.count,
        "amount_total": footer.amount_total,
    }
    if state(ctx).json:
        emit_json(result)
        return
    out = stdout()
    out.print(
        f"wrote {footer.count} record(s), amount total {footer.amount_total}, to {target}",
        highlight=False,
        markup=False,
    )
    if into_directory:
        out.print(f"suggested file name: {suggested}", highlight=False, markup=False)


# parse ------------------------------------------------------------------------------------------


def _record_json(record: BatchRecord) -> dict[str, Any]:
    data = record.as_dict()
    if record.is_response:
        data["outcome"] = record.outcome
        data["explanation"] = explain(record.code).summary if record.code and record.code != SUCCESS else None
    return data


@app.command("parse")
def parse_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., metavar="FILE", help="A batch request file or a processed (response) file.", exists=True, dir_okay=False, readable=True),
    kind: str = typer.Option("auto", "--kind", help="auto, request or response."),
    charset: str = typer.Option("iso-8859-1", "--charset", help="File charset."),
    date_format: str = typer.Option("%Y%m%d", "--date-format", help="strftime format of the HEAD date."),
    reverse_refnr: bool = typer.Option(True, "--reverse-refnr/--no-reverse-refnr", help="Reverse records carry RefNr from 1.x."),
) -> None:
    """Read a batch file, check every record and the footer, and summarise it."""
    if kind not in ("auto", "request", "response"):
        raise typer.BadParameter("must be auto, request or response", param_hint="--kind")
    options = _options(charset, "crlf", date_format, reverse_refnr)
    as_json = state(ctx).json
    by_status: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    failures: list[BatchRecord] = []
    n_failed = 0
    # --json: the records go to a spooled file first, so an error found at FOOT leaves stdout
    # with the error object only (exactly one JSON object).
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+", encoding="utf-8")  # noqa: SIM115
    with spool, _open_binary(path, f"reading {path.name}") as raw:
        with BatchReader(raw, options=options, kind=kind) as reader:  # type: ignore[arg-type]
            first = True
            for record in reader:
                by_action[record.action] += 1
                if record.status is not None:
                    by_status[record.status] += 1
                    if not record.succeeded:
                        n_failed += 1
                        if len(failures) < MAX_FAILURES_SHOWN:
                            failures.append(record)
                if as_json:
                    spool.write(("" if first else ", ") + json.dumps(_record_json(record), ensure_ascii=False))
                    first = False
            header, footer = reader.header, reader.footer
            assert footer is not None
            summary: dict[str, Any] = {
                "ok": True,
                "file": str(path),
                "merchant_id": header.merchant_id,
                "version": str(header.version),
                "date": header.date.isoformat(),
                "kind": reader.kind,
                "count": reader.count,
                "amount_total": reader.amount_total,
                "footer": {
                    "count": footer.count,
                    "amount_total": footer.amount_total,
                    "count_includes_head_foot": footer.count_includes_head_foot,
                },
                "by_action": dict(by_action),
                "by_status": dict(by_status),
                "failed": n_failed,
            }
        if as_json:
            head = json.dumps(summary, ensure_ascii=False)
            sys.stdout.write(head[:-1] + ', "records": [')
            spool.seek(0)
            shutil.copyfileobj(spool, sys.stdout)
            sys.stdout.write("]}\n")
            sys.stdout.flush()
            return
    _print_summary(summary, failures, n_failed)


def _print_summary(summary: dict[str, Any], failures: list[BatchRecord], n_failed: int) -> None:
    out = stdout()
    footer = summary["footer"]
    rows: list[tuple[str, Any]] = [
        ("merchant", summary["merchant_id"]),
        ("date", summary["date"]),
        ("version", summary["version"]),
        ("kind", summary["kind"]),
        ("records", summary["count"]),
        ("amount total", summary["amount_total"]),
        (
            "footer",
            f"{footer['count']} records, sum {footer['amount_total']} (checked"
            + (", count includes HEAD/FOOT)" if footer["count_includes_head_foot"] else ")"),
        ),
        ("by action", ", ".join(f"{k} {v}" for k, v in sorted(summary["by_action"].items())) or "-"),
    ]
    if summary["kind"] == "response":
        rows.append(("by status", ", ".join(f"{k} {v}" for k, v in sorted(summary["by_status"].items())) or "-"))
    out.print(table(f"Batch file {summary['file']}", rows))
    if not failures:
        return
    wide = out.width >= 140  # one row per record; narrower terminals get one block per record
    t = Table(title=f"Failed records ({n_failed})", title_justify="left")
    t.add_column("line", justify="right")
    t.add_column("action")
    t.add_column("TransID")
    t.add_column("PayID", no_wrap=True)
    t.add_column("result", no_wrap=True)
    t.add_column("explanation")
    blocks: list[tuple[str, list[tuple[str, Any]]]] = []
    for rec in failures:
        info = explain(rec.code) if rec.code else None
        text = ""
        if info is not None:
            text = f"{info.module_text}: {info.detail_text}"
            if info.advice and info.advice.lower() != info.detail_text.lower():
                text += f" ({info.advice})"
        if rec.code_ext:
            text += f" [CodeExt {rec.code_ext}]"
        cells = (
            str(rec.line),
            rec.action,
            rec.trans_id,
            getattr(rec, "pay_id", None) or "",
            " ".join(p for p in (rec.status, rec.code) if p),
            text.strip() or "-",
        )
        t.add_row(*cells)
        blocks.append((f"line {cells[0]}: {cells[1]}", list(zip(("TransID", "PayID", "result", "explanation"), cells[2:], strict=True))))
    if wide:
        out.print(t)
    else:
        out.print(f"Failed records ({n_failed})", highlight=False, markup=False)
        for title, rows in blocks:
            out.print(table(title, rows))
    if n_failed > len(failures):
        out.print(f"… and {n_failed - len(failures)} more failed record(s); use --json for all", highlight=False)
