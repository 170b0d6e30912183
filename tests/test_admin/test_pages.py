"""The admin pages through Starlette's TestClient: access model, what each page renders."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.test_admin.conftest import ADMIN_TOKEN, Shop, make_app

pytestmark = pytest.mark.filterwarnings("error")

ORIGIN = "http://127.0.0.1:8000"  # loopback: the session cookie is not Secure-only


def _login(client: TestClient) -> str:
    """Log in; returns the session's CSRF token (read from a rendered form)."""
    response = client.post("/admin/login", data={"token": ADMIN_TOKEN}, headers={"origin": ORIGIN}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/admin/payments?group=finished")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_without_token_no_admin_routes(shop: Shop) -> None:
    from axepta.server import create_app

    app = create_app(shop.ledger, shop.credentials)
    with TestClient(app, base_url=ORIGIN) as client:
        assert client.get("/admin/payments").status_code == 404
        assert client.get("/admin/login").status_code == 404


def test_every_page_is_401_without_a_session(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url=ORIGIN) as client:
        for path in ("/admin/", "/admin/payments", "/admin/payment?trans_id=ORDER-2", "/admin/inbox", "/admin/accounts"):
            response = client.get(path, follow_redirects=False)
            assert response.status_code == 401, path
            assert response.template.name == "axepta/admin/login.html"  # type: ignore[attr-defined]
        assert client.post("/admin/messages/1/replay", headers={"origin": ORIGIN}).status_code == 401


def test_login_wrong_token_and_forged_cookie(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url=ORIGIN) as client:
        bad = client.post("/admin/login", data={"token": "not-the-token"}, headers={"origin": ORIGIN})
        assert bad.status_code == 401
        assert "not the admin token" in bad.text
        client.cookies.set("axepta_admin", "forged.value.here", path="/admin")
        assert client.get("/admin/payments").status_code == 401


def test_login_from_another_origin_is_refused(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url=ORIGIN) as client:
        response = client.post("/admin/login", data={"token": ADMIN_TOKEN}, headers={"origin": "https://evil.example"})
        assert response.status_code == 403
        assert "axepta_admin" not in response.headers.get("set-cookie", "")


def test_session_cookie_flags(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url="https://admin.shop.example") as client:
        response = client.post(
            "/admin/login", data={"token": ADMIN_TOKEN}, headers={"origin": "https://admin.shop.example"},
            follow_redirects=False,
        )  # fmt: skip
        cookie = response.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert "Secure" in cookie
        assert ADMIN_TOKEN not in cookie
    with TestClient(make_app(shop), base_url="http://127.0.0.1:8000") as client:
        response = client.post(
            "/admin/login", data={"token": ADMIN_TOKEN}, headers={"origin": "http://127.0.0.1:8000"},
            follow_redirects=False,
        )  # fmt: skip
        assert "Secure" not in response.headers["set-cookie"]


def test_lists_by_group(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url=ORIGIN) as client:
        _login(client)
        seen = {}
        for group in ("not_finished", "finished", "failed"):
            response = client.get(f"/admin/payments?group={group}")
            assert response.status_code == 200
            assert response.template.name == "axepta/admin/payments.html"  # type: ignore[attr-defined]
            seen[group] = [p.trans_id for p in response.context["found"].payments]  # type: ignore[attr-defined]
        assert seen == {"not_finished": ["ORDER-1"], "finished": ["ORDER-2"], "failed": ["ORDER-3"]}


def test_filter_by_pay_id_and_paging(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url=ORIGIN) as client:
        _login(client)
        pay_id = shop.pay_ids["ORDER-2"]
        response = client.get(f"/admin/payments?group=all&q={pay_id}")
        assert [p.trans_id for p in response.context["found"].payments] == ["ORDER-2"]  # type: ignore[attr-defined]
        empty = client.get("/admin/payments?group=all&q=NOPE")
        assert "No all payments payments" not in empty.text
        assert empty.context["found"].total == 0  # type: ignore[attr-defined]
        page2 = client.get("/admin/payments?group=all&page=2")
        assert page2.context["found"].payments == ()  # type: ignore[attr-defined]


def test_payment_page_shows_amounts_operations_and_timeline(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url=ORIGIN) as client:
        _login(client)
        response = client.get("/admin/payment?trans_id=ORDER-2")
        assert response.status_code == 200
        detail = response.context["d"]  # type: ignore[attr-defined]
        assert detail.payment.amount_captured == 3000
        assert [op.kind for op in detail.operations] == ["paypal_order", "authorize", "capture"]
        assert "30.00 EUR" in response.text
        assert "Timeline" in response.text and "captured" in response.text
        assert "Money actions" not in response.text  # off by default
        assert client.get("/admin/payment?trans_id=NOPE").status_code == 404


def test_money_routes_absent_unless_allowed(shop: Shop) -> None:
    with TestClient(make_app(shop), base_url=ORIGIN) as client:
        csrf = _login(client)
        response = client.post(
            "/admin/payment/confirm", data={"csrf_token": csrf, "kind": "refund", "trans_id": "ORDER-2", "amount": "1"},
            headers={"origin": ORIGIN},
        )  # fmt: skip
        assert response.status_code in (404, 405)


def test_state_change_without_csrf_or_origin_is_refused(shop: Shop) -> None:
    with TestClient(make_app(shop, allow_money_actions=True), base_url=ORIGIN) as client:
        csrf = _login(client)
        form = {"kind": "refund", "trans_id": "ORDER-2", "amount": "10.00"}
        assert client.post("/admin/payment/confirm", data=form, headers={"origin": ORIGIN}).status_code == 403
        assert client.post("/admin/payment/confirm", data={**form, "csrf_token": "x" * 32}, headers={"origin": ORIGIN}).status_code == 403
        assert client.post("/admin/payment/confirm", data={**form, "csrf_token": csrf}, headers={"origin": "https://evil.example"}).status_code == 403
        assert client.post("/admin/payment/confirm", data={**form, "csrf_token": csrf}).status_code == 403  # neither Origin nor Referer
        ok = client.post("/admin/payment/confirm", data={**form, "csrf_token": csrf}, headers={"origin": ORIGIN})
        assert ok.status_code == 200
        assert ok.template.name == "axepta/admin/confirm.html"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("amount", "rule"),
    [("1e3", "Amount"), ("-5", "Amount"), ("12.345", "decimal"), ("0", "Amount"), ("", "Amount")],
)
def test_money_action_validation(shop: Shop, amount: str, rule: str) -> None:
    with TestClient(make_app(shop, allow_money_actions=True), base_url=ORIGIN) as client:
        csrf = _login(client)
        response = client.post(
            "/admin/payment/confirm",
            data={"csrf_token": csrf, "kind": "capture", "trans_id": "ORDER-2", "amount": amount},
            headers={"origin": ORIGIN},
        )
        assert response.status_code == 400
        assert rule in response.context["error"]  # type: ignore[attr-defined]


def test_refund_twice_with_one_confirmation_acts_once(shop: Shop) -> None:
    with TestClient(make_app(shop, allow_money_actions=True), base_url=ORIGIN) as client:
        csrf = _login(client)
        confirm = client.post(
            "/admin/payment/confirm",
            data={"csrf_token": csrf, "kind": "refund", "trans_id": "ORDER-2", "amount": "10.00"},
            headers={"origin": ORIGIN},
        )
        plan = confirm.context["plan"]  # type: ignore[attr-defined]
        assert plan.amount == 1000
        assert plan.req_id in confirm.text
        form = {
            "csrf_token": csrf, "kind": "refund", "trans_id": "ORDER-2", "mid": plan.merchant_id,
            "amount_minor": "1000", "tid": plan.tid, "req_id": plan.req_id,
        }  # fmt: skip
        first = client.post("/admin/payment/execute", data=form, headers={"origin": ORIGIN})
        second = client.post("/admin/payment/execute", data=form, headers={"origin": ORIGIN})
        assert "Refund of 10.00 EUR: OK 00000000" in first.text
        assert "Already done" in second.text
        assert shop.sim.payment(shop.pay_ids["ORDER-2"]).refunded == 1000
        assert shop.ledger.payment("ORDER-2").amount_refunded == 1000  # type: ignore[union-attr]


def test_no_secret_on_any_page(shop: Shop, secrets: tuple[str, str]) -> None:
    with TestClient(make_app(shop, allow_money_actions=True), base_url=ORIGIN) as client:
        _login(client)
        for path in ("/admin/payments?group=all", "/admin/payment?trans_id=ORDER-2", "/admin/inbox", "/admin/accounts"):
            text = client.get(path).text
            for secret in (*secrets, ADMIN_TOKEN):
                assert secret not in text, path


def test_inbox_replay_and_accounts_assign(shop: Shop) -> None:
    from axepta.simulator.ipn_standin import IpnStandIn, build_ipn

    receivers = ["shop@example.com"]
    with IpnStandIn(answer="error") as standin:
        body = build_ipn(
            txn_type="web_accept", payment_status="Completed", payer_email="new.buyer@example.com",
            mc_gross="25.00", mc_currency="EUR", receiver_email="shop@example.com",
        )  # fmt: skip
        standin.remember(body)
        first = shop.ledger.receive_ipn(body, receivers=receivers, verify_url=standin.verify_url)
        assert first.outcome == "unverified"  # PayPal did not answer: kept, never applied
        standin.answer = "verified"
        app = make_app(shop, paypal_receivers=receivers, ipn_verify_url=standin.verify_url)
        with TestClient(app, base_url=ORIGIN) as client:
            csrf = _login(client)
            inbox = client.get("/admin/inbox")
            assert [m.id for m in inbox.context["found"].messages] == [first.message_id]  # type: ignore[attr-defined]
            assert "Replay" in inbox.text
            replayed = client.post(
                f"/admin/messages/{first.message_id}/replay", data={"csrf_token": csrf}, headers={"origin": ORIGIN}
            )
            assert "replayed: unmatched" in replayed.text  # verified now; an unknown payer waits
            accounts = client.get("/admin/accounts")
            waiting = accounts.context["o"].unmatched  # type: ignore[attr-defined]
            assert [(m.id, m.value("payer_email")) for m in waiting] == [(first.message_id, "new.buyer@example.com")]
            refused = client.post(
                f"/admin/messages/{first.message_id}/assign", data={"account": "cust-42"}, headers={"origin": ORIGIN}
            )
            assert refused.status_code == 403
            assigned = client.post(
                f"/admin/messages/{first.message_id}/assign",
                data={"csrf_token": csrf, "account": "cust-42"},
                headers={"origin": ORIGIN},
            )
            assert "assigned to cust-42" in assigned.text
            assert shop.ledger.accounts.balance("cust-42", "EUR") == 2500
            balances = assigned.context["o"].balances  # type: ignore[attr-defined]
            assert [(b.account, b.currency, b.balance) for b in balances] == [("cust-42", "EUR", 2500)]
            again = client.post(
                f"/admin/messages/{first.message_id}/assign",
                data={"csrf_token": csrf, "account": "cust-42"},
                headers={"origin": ORIGIN},
            )
            assert again.context["error"]  # type: ignore[attr-defined]
            assert shop.ledger.accounts.balance("cust-42", "EUR") == 2500
