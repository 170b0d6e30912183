"""``make demo`` tells the shop's side (issue 16.9): the journey journaled into a ledger, the
notifications answered from the books, a ConnexCS-style top-up through the IPN stand-in, the
events delivered once, and the books printed at the end."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from axepta.cli import app
from axepta.demo import EXPECTED_STEPS, run_demo


def test_demo_books() -> None:
    report = run_demo()
    assert report.ok, (report.error, [s for s in report.steps if not s.ok])
    titles = [s.title for s in report.steps]
    assert titles[12:] == [
        "The same capture, with the books", "Books: DEMO-1001 Not-Finished, then Finished",
        "PayPal top-up (IPN stand-in, verified by postback)", "PayPal resends the same IPN",
        "Part of the top-up refunded in PayPal", "Events delivered to the shop's handlers",
    ]
    assert report.steps[13].meaning.startswith("created → approval_pending_completion → authorized → captured")
    books = report.books
    payments = {p["trans_id"]: p for p in books["payments"]}
    assert (payments["DEMO-1001"]["group"], payments["DEMO-1001"]["amount_captured"],
            payments["DEMO-1001"]["amount_refunded"]) == ("finished", 9000, 1500)
    assert payments["DEMO-1002"]["state"] == "reversed"
    assert payments["DEMO-BA-1"]["amount_captured"] == 0  # an agreement moves no money
    (account,) = books["accounts"]
    assert (account["account"], account["balance"]) == ("cust-42", 1500)
    assert [e["kind"] for e in account["entries"]] == ["topup", "refund"]
    assert books["messages"] == {"axepta:applied": 3, "ipn:applied": 2, "ipn:duplicate": 1}
    assert books["events"]["account.credited"] == 1 and books["events"]["payment.captured"] == 3


def test_demo_prints_the_books() -> None:
    res = CliRunner().invoke(app, ["demo"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "The books (ledger)" in out and "account cust-42: 15.00 EUR (topup 25.00, refund -10.00)" in out
    assert "messages: axepta:applied 3, ipn:applied 2, ipn:duplicate 1" in out
    assert f"All {EXPECTED_STEPS} steps behaved as expected" in out
    data = json.loads(CliRunner().invoke(app, ["--json", "demo"]).stdout)
    assert data["ok"] is True and data["books"]["accounts"][0]["balance"] == 1500


def test_readme_shows_the_demo_s_real_output() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    report = run_demo()
    for step in report.steps:
        assert f"✓ {step.number:>2}. {step.title}" in readme, step.title
    assert f"All {EXPECTED_STEPS} steps behaved as expected" in readme
    assert "account cust-42: 15.00 EUR (topup 25.00, refund -10.00)" in readme
    assert "messages: axepta:applied 3, ipn:applied 2, ipn:duplicate 1" in readme
