"""What an administrator sees: the pages in a real headless Chromium (Debian's, via Playwright)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_admin.conftest import ADMIN_TOKEN, LiveServer, Shop, make_app

pytestmark = pytest.mark.slow

DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "admin"


@pytest.fixture
def live(shop: Shop) -> Iterator[LiveServer]:
    with LiveServer(make_app(shop, allow_money_actions=True)) as server:
        yield server


@pytest.fixture
def page(browser: Any, live: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


def _login(page: Any) -> None:
    page.goto("/admin/payments")
    assert page.get_by_role("heading", name="Log in").is_visible()
    page.get_by_label("Admin token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/payments?group=not_finished")


def _rows(page: Any) -> list[str]:
    return [row.inner_text().split("\t")[1].strip() for row in page.locator("tbody tr").all()]


def test_login_then_the_three_lists(page: Any) -> None:
    response = page.goto("/admin/payments?group=finished")
    assert response.status == 401
    _login(page)
    assert page.get_by_role("heading", level=1).inner_text() == "Not-Finished payments"
    assert _rows(page) == ["ORDER-1"]
    page.get_by_role("link", name="Finished", exact=True).click()
    assert _rows(page) == ["ORDER-2"]
    page.get_by_role("link", name="Failed").click()
    assert _rows(page) == ["ORDER-3"]
    assert page.context.cookies()[0]["httpOnly"] is True


def test_filter_and_payment_details(page: Any, shop: Shop) -> None:
    _login(page)
    page.goto("/admin/payments?group=all")
    page.get_by_label("TransID, PayID, RefNr or payer e-mail").fill(shop.pay_ids["ORDER-2"])
    page.get_by_role("button", name="Find").click()
    assert _rows(page) == ["ORDER-2"]
    page.get_by_role("link", name="ORDER-2").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Payment ORDER-2"
    facts = page.locator("dl.facts").inner_text()
    assert "50.00 EUR" in facts and "30.00 EUR" in facts
    operations = page.locator("table", has=page.get_by_role("columnheader", name="ReqId")).inner_text()
    assert "authorize" in operations and "capture" in operations and "succeeded" in operations
    assert page.get_by_role("heading", name="Timeline").is_visible()


def test_refund_lands_once_when_the_confirmation_is_submitted_twice(page: Any, shop: Shop) -> None:
    _login(page)
    page.goto("/admin/payment?trans_id=ORDER-2")
    page.get_by_label("Refund amount (EUR)").fill("12.50")
    page.get_by_role("button", name="Refund…").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm: Refund 12.50 EUR"
    req_id = page.locator("#req-id").inner_text().strip()
    # The same confirmation submitted twice at the same moment, then once more with the button.
    statuses = page.evaluate(
        "async () => { const f = document.querySelector('form[action$=\"/admin/payment/execute\"]');"
        " const send = () => fetch(f.action, {method: 'POST', body: new URLSearchParams(new FormData(f))});"
        " const answers = await Promise.all([send(), send()]);"
        " return answers.map(a => a.status); }"
    )
    assert statuses == [200, 200]
    page.get_by_role("button", name="Refund 12.50 EUR").click()
    page.wait_for_url("**/admin/payment?*")
    assert "Already done" in page.get_by_role("status").inner_text()
    assert req_id in page.get_by_role("status").inner_text()
    assert shop.sim.payment(shop.pay_ids["ORDER-2"]).refunded == 1250
    page.reload()
    facts = page.locator("dl.facts").inner_text()
    assert "Refunded12.50 EUR" in facts.replace("\n", "").replace("\t", "")
    refunds = [op for op in shop.ledger.operations("ORDER-2") if op.kind == "credit"]
    assert [(op.req_id, op.outcome) for op in refunds] == [(req_id, "succeeded")]


def test_request_without_csrf_token_is_refused(page: Any, live: LiveServer) -> None:
    _login(page)
    status = page.evaluate(
        "async () => (await fetch('/admin/payment/confirm', {method: 'POST', body: new URLSearchParams("
        "{kind: 'refund', trans_id: 'ORDER-2', amount: '1.00'})})).status"
    )
    assert status == 403


def test_screenshots_for_the_docs(page: Any, tmp_path: Path) -> None:
    """Screenshots of the lists and a payment; AXEPTA_SCREENSHOTS=docs writes docs/admin/*.png."""
    _login(page)
    SHOTS = DOCS_SHOTS if os.environ.get("AXEPTA_SCREENSHOTS") == "docs" else tmp_path
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto("/admin/payments?group=finished")
    page.screenshot(path=str(SHOTS / "finished.png"), full_page=True)
    page.goto("/admin/payment?trans_id=ORDER-2")
    page.screenshot(path=str(SHOTS / "payment.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/admin/payments?group=not_finished")
    page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)
    assert (SHOTS / "payment.png").stat().st_size > 10_000


def test_replay_from_the_inbox_then_assign_the_top_up(browser: Any, shop: Shop) -> None:
    from axepta.simulator.ipn_standin import IpnStandIn, build_ipn

    receivers = ["shop@example.com"]
    with IpnStandIn(answer="error") as standin:
        body = build_ipn(
            txn_type="web_accept", payment_status="Completed", payer_email="walk.in@example.com",
            mc_gross="40.00", mc_currency="EUR", receiver_email="shop@example.com",
        )  # fmt: skip
        standin.remember(body)
        stored = shop.ledger.receive_ipn(body, receivers=receivers, verify_url=standin.verify_url)
        assert stored.outcome == "unverified"
        standin.answer = "verified"
        app = make_app(shop, paypal_receivers=receivers, ipn_verify_url=standin.verify_url)
        with LiveServer(app) as server:
            context = browser.new_context(base_url=server.url)
            page = context.new_page()
            page.set_default_timeout(15_000)
            try:
                _login(page)
                page.get_by_role("link", name="Inbox").click()
                assert "unverified" in page.locator("tbody").inner_text()
                page.get_by_role("button", name=f"Replay message {stored.message_id}").click()
                assert "replayed: unmatched" in page.get_by_role("status").inner_text()
                page.get_by_role("link", name="Accounts").click()
                assert "walk.in@example.com" in page.locator("table").first.inner_text() or (
                    "walk.in@example.com" in page.content()
                )
                page.get_by_label(f"Account for message {stored.message_id}").fill("cust-7")
                page.get_by_role("button", name="Assign").click()
                assert "assigned to cust-7" in page.get_by_role("status").inner_text()
                balances = page.locator("table").first.inner_text()
                assert "cust-7" in balances and "40.00 EUR" in balances
            finally:
                context.close()
    assert shop.ledger.accounts.balance("cust-7", "EUR") == 4000
