"""Every PayPal flow through the real client, in-process and over loopback HTTP (the ``client``
fixture runs each test both ways)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from axepta.client import AsyncAxeptaClient, AxeptaClient
from axepta.credentials import Credentials
from axepta.errors import GatewayError
from axepta.models import Address
from axepta.notify import decode_notification
from axepta.protocol import GatewayAuthenticationError
from axepta.simulator import Simulator
from tests.test_simulator.conftest import URLS, Shop, decode_result


def order(client: AxeptaClient, trans_id: str = "T-1", amount: int = 10000, **kw: object):  # type: ignore[no-untyped-def]
    return client.create_paypal_order(
        trans_id=trans_id, amount=amount, currency="EUR", order_desc="Flow test", **URLS, **kw  # type: ignore[arg-type]
    )


def approve_via_browser(client: AxeptaClient, sim: Simulator, pay_id: str, order_id: str) -> str:
    """Open the cbPayPal URL the client builds, as the browser does; returns the Location."""
    url = client.paypal_button_params(
        trans_id="x", amount=100, currency="EUR", order_desc="x", **URLS
    ).approve_url(pay_id, order_id)
    with httpx.Client(transport=sim.transport()) as browser:
        response = browser.get(url)
    assert response.status_code == 302
    return response.headers["Location"]


def code_of(exc: pytest.ExceptionInfo[GatewayError]) -> str:
    return exc.value.code


def test_auto_capture(client: AxeptaClient, sim: Simulator, shop: Shop, credentials: Credentials) -> None:
    created = order(client)
    assert sim.payment(created.pay_id).state == "created"
    location = approve_via_browser(client, sim, created.pay_id, created.order_id)
    result = decode_result(credentials, urlsplit(location).query)
    assert (result["Status"], result["Code"]) == ("OK", "00000000")
    view = sim.payment(created.pay_id)
    assert view.state == "closed" and view.captured == 10000 and view.captures[0].tid == result["TID"]
    refund = client.credit(pay_id=created.pay_id, trans_id="T-1", amount=2500, currency="EUR")
    assert refund.gross_refund_amount == 2500 and refund.tid
    with pytest.raises(GatewayError) as exc:
        client.capture(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR")
    assert code_of(exc) == "21500072"
    assert sim.wait_for_notifications(2)
    [note] = shop.messages()
    assert note["PayID"] == created.pay_id and note["Status"] == "OK"
    # the notification module accepts both the URLNotify body and the browser's query
    posted = decode_notification(shop.posts[0].content, credentials)
    browser = decode_notification(urlsplit(location).query, credentials)
    assert posted.succeeded and posted.state == "completed" and posted.tid == view.captures[0].tid
    assert posted.dedup_key == browser.dedup_key and posted.transaction_id == created.order_id


def test_manual_auth_partial_captures_credit_by_tid(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, capture="Manual", tx_type="Auth")
    redirect = sim.approve(created.pay_id)
    assert redirect.status == "OK" and sim.payment(created.pay_id).state == "authorized"
    first = client.capture(pay_id=created.pay_id, trans_id="T-1", amount=6000, currency="EUR")
    second = client.capture(pay_id=created.pay_id, trans_id="T-1", amount=3000, currency="EUR", ref_nr="INV-2")
    assert first.tid != second.tid and second.ref_nr == "INV-2"
    assert sim.payment(created.pay_id).state == "captured"
    with pytest.raises(GatewayError) as exc:  # 9000 + 3000 > 115 % of 10000
        client.capture(pay_id=created.pay_id, trans_id="T-1", amount=3000, currency="EUR")
    assert code_of(exc) == "21500067"
    with pytest.raises(GatewayError) as exc:  # several captures: TID needed
        client.credit(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR")
    assert code_of(exc) == "20100988"
    client.credit(pay_id=created.pay_id, trans_id="T-1", amount=2000, currency="EUR", tid=second.tid)
    with pytest.raises(GatewayError) as exc:  # only 1000 left on the second capture
        client.credit(pay_id=created.pay_id, trans_id="T-1", amount=1500, currency="EUR", tid=second.tid)
    assert code_of(exc) == "21500957"
    client.credit(pay_id=created.pay_id, trans_id="T-1", amount=1000, currency="EUR", tid=second.tid)
    with pytest.raises(GatewayError) as exc:
        client.credit(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR", tid=second.tid)
    assert code_of(exc) == "21500958"
    with pytest.raises(GatewayError) as exc:
        client.credit(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR", tid="NOSUCHTID")
    assert code_of(exc) == "21500988"
    last = client.capture(pay_id=created.pay_id, trans_id="T-1", amount=2500, currency="EUR", complete=True)
    assert last.status == "OK"
    view = sim.payment(created.pay_id)
    assert view.state == "closed" and view.captured == 11500 and view.refunded == 3000
    with pytest.raises(GatewayError) as exc:
        client.reverse(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR")
    assert code_of(exc) == "21500065"


def test_complete_type_closes_the_order(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    client.capture(pay_id=created.pay_id, trans_id="T-1", amount=1000, currency="EUR", complete=True)
    assert sim.payment(created.pay_id).state == "closed"
    with pytest.raises(GatewayError) as exc:
        client.capture(pay_id=created.pay_id, trans_id="T-1", amount=1000, currency="EUR")
    assert code_of(exc) == "21500072"


def test_capture_with_the_authorisation_tid(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, capture="Manual", tx_type="Auth")
    auth_tid = sim.approve(created.pay_id)
    tid = sim.payment(created.pay_id).auth_tid
    assert auth_tid.status == "OK" and tid
    client.capture(pay_id=created.pay_id, trans_id="T-1", amount=1000, currency="EUR", tid=tid)
    with pytest.raises(GatewayError) as exc:
        client.capture(pay_id=created.pay_id, trans_id="T-1", amount=1000, currency="EUR", tid="OTHER")
    assert code_of(exc) == "21500988"


def test_order_then_authorize(client: AxeptaClient, sim: Simulator, shop: Shop) -> None:
    created = order(client, capture="Manual", tx_type="Order")
    with pytest.raises(GatewayError) as exc:  # not approved yet
        client.authorize(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert code_of(exc) == "21500063"
    assert sim.approve(created.pay_id).status == "AUTHORIZE_REQUEST"
    with pytest.raises(GatewayError) as exc:
        client.capture(pay_id=created.pay_id, trans_id="T-1", amount=1000, currency="EUR")
    assert code_of(exc) == "21500075"
    with pytest.raises(GatewayError) as exc:
        client.authorize(pay_id=created.pay_id, trans_id="T-1", amount=20000, currency="EUR")
    assert code_of(exc) == "20120005"
    auth = client.authorize(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert auth.status == "OK" and auth.tid == sim.payment(created.pay_id).auth_tid
    with pytest.raises(GatewayError) as exc:
        client.authorize(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert code_of(exc) == "21500068"
    client.capture(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert sim.payment(created.pay_id).state == "closed"
    assert sim.wait_for_notifications(2)
    assert [m["Status"] for m in shop.messages()] == ["AUTHORIZE_REQUEST"]


def test_authorize_only_after_tx_type_order(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    with pytest.raises(GatewayError) as exc:
        client.authorize(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR")
    assert code_of(exc) == "21500063"


def test_shortcut_then_complete(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, paypal_method="shortcut")
    with pytest.raises(GatewayError) as exc:
        client.complete_paypal_order(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert code_of(exc) == "21500075"
    assert sim.approve(created.pay_id).status == "AUTHORIZE_REQUEST"
    address = Address(first_name="Ana", last_name="Lopez", street="1 Main St", city="Lyon", zip="69001", country_code="FR")
    done = client.complete_paypal_order(
        pay_id=created.pay_id, trans_id="T-1", amount=10700, currency="EUR", ref_nr="ORD-9", address=address
    )
    assert done.status == "OK" and done.ref_nr == "ORD-9"
    view = sim.payment(created.pay_id)
    assert view.state == "closed" and view.captured == 10700
    with pytest.raises(GatewayError) as exc:
        client.complete_paypal_order(pay_id=created.pay_id, trans_id="T-1", amount=10700, currency="EUR")
    assert code_of(exc) == "21500063"


def test_shortcut_manual_completes_to_an_authorisation(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, paypal_method="shortcut", capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    client.complete_paypal_order(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert sim.payment(created.pay_id).state == "authorized"


def test_complete_refused_without_shortcut(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client)
    sim.approve(created.pay_id)
    with pytest.raises(GatewayError) as exc:
        client.complete_paypal_order(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert code_of(exc) == "21500987"


def test_reversal(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, capture="Manual", tx_type="Auth")
    with pytest.raises(GatewayError) as exc:  # not approved: nothing to reverse
        client.reverse(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    assert code_of(exc) == "21501815"
    sim.approve(created.pay_id)
    with pytest.raises(GatewayError) as exc:
        client.reverse(pay_id=created.pay_id, trans_id="T-1", amount=10001, currency="EUR")
    assert code_of(exc) == "20120005"
    assert client.reverse(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR").status == "OK"
    assert sim.payment(created.pay_id).state == "reversed"
    for call in (client.reverse, client.capture):
        with pytest.raises(GatewayError) as exc:
            call(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
        assert code_of(exc) == "21501519"
    with pytest.raises(GatewayError) as exc:
        client.credit(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR")
    assert code_of(exc) == "21500069"
    with pytest.raises(GatewayError) as exc:
        client.authorize(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR")
    assert code_of(exc) == "21500063"


def test_reverse_an_open_order(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, capture="Manual", tx_type="Order")
    sim.approve(created.pay_id)
    client.reverse(pay_id=created.pay_id, trans_id="T-1", amount=10000, currency="EUR")
    with pytest.raises(GatewayError) as exc:
        client.authorize(pay_id=created.pay_id, trans_id="T-1", amount=100, currency="EUR")
    assert code_of(exc) == "21501519"


def test_billing_agreement_and_reference_transactions(
    client: AxeptaClient, sim: Simulator, shop: Shop, credentials: Credentials
) -> None:
    created = order(client, tx_type="BAID", ref_nr="BA-REF-1")
    assert created.paypal_url and created.order_id is None
    with httpx.Client(transport=sim.transport()) as browser:
        back = browser.get(created.paypal_url)
    assert back.status_code == 302 and back.headers["Location"].startswith(URLS["url_success"])
    assert sim.wait_for_notifications(2)
    [note] = shop.messages()
    agreement = note["BillingAgreementID"]
    assert agreement.startswith("B-") and len(agreement) == 19 and sim.billing_agreement_active(agreement)
    charge = client.reference_transaction(
        billing_agreement_id=agreement, trans_id="SUB-1", amount=1999, currency="EUR", order_desc="Monthly"
    )
    assert charge.status == "OK" and charge.pay_id != created.pay_id and charge.tid
    assert sim.payment(charge.pay_id).captured == 1999
    client.credit(pay_id=charge.pay_id, trans_id="SUB-1", amount=999, currency="EUR")
    assert sim.revoke_billing_agreement(agreement)
    with pytest.raises(GatewayError) as exc:
        client.reference_transaction(billing_agreement_id=agreement, trans_id="SUB-2", amount=1999, currency="EUR")
    assert code_of(exc) == "21500986"
    with pytest.raises(GatewayError) as exc:
        client.reference_transaction(billing_agreement_id="B-UNKNOWN", trans_id="SUB-3", amount=1999, currency="EUR")
    assert code_of(exc) == "21500986"


def test_credit_without_reference(client: AxeptaClient, sim: Simulator) -> None:
    paid = client.credit_without_reference(trans_id="PAYOUT-1", amount=5000, currency="EUR", payer_id="PAYER12345678")
    assert paid.status == "OK" and sim.payment(paid.pay_id).state == "paid_out"
    mass = client.credit_without_reference(trans_id="PAYOUT-2", amount=700, currency="EUR", payer="a@example.com", note="hi")
    assert mass.gross_refund_amount == 700


def test_not_found_and_currency_mismatch(client: AxeptaClient, sim: Simulator) -> None:
    with pytest.raises(GatewayError) as exc:
        client.capture(pay_id="f" * 32, trans_id="T", amount=100, currency="EUR")
    assert code_of(exc) == "21500061"
    created = order(client, capture="Manual", tx_type="Auth")
    sim.approve(created.pay_id)
    with pytest.raises(GatewayError) as exc:
        client.capture(pay_id=created.pay_id, trans_id="T", amount=100, currency="USD")
    assert code_of(exc) == "20120006"


def test_wrong_hmac_key_is_a_configuration_error(sim: Simulator, credentials: Credentials) -> None:
    wrong = Credentials(credentials.merchant_id, credentials.blowfish_key, "another-hmac-key")
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(
        wrong, http_client=http
    ) as client, pytest.raises(GatewayAuthenticationError) as exc:
        order(client)
    assert exc.value.code == "20120044"
    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(
        credentials, http_client=http, omit_mac=("capture",)
    ) as client, pytest.raises(GatewayAuthenticationError) as exc:
        client.capture(pay_id="f" * 32, trans_id="T", amount=100, currency="EUR")
    assert exc.value.code == "20100044"


def test_cancelled_approval(client: AxeptaClient, sim: Simulator, shop: Shop) -> None:
    created = order(client)
    redirect = sim.cancel(created.pay_id)
    assert not redirect.success and redirect.location.startswith(URLS["url_failure"])
    assert redirect.code == "21500053"
    assert sim.wait_for_notifications(2)
    assert [(m["Status"], m["Code"]) for m in shop.messages()] == [("FAILED", "21500053")]


def test_redirect_mode(client: AxeptaClient, sim: Simulator) -> None:
    created = order(client, mode="redirect")
    assert created.redirect_url and "checkoutnow?token=" in created.redirect_url


async def test_async_client_in_process(sim: Simulator, shop: Shop, credentials: Credentials) -> None:
    async with httpx.AsyncClient(transport=sim.transport()) as http, AsyncAxeptaClient(
        credentials, http_client=http
    ) as client:
        created = await client.create_paypal_order(
            trans_id="A-1", amount=5000, currency="EUR", order_desc="async", capture="Manual", tx_type="Auth", **URLS
        )
        sim.approve(created.pay_id)
        captured = await client.capture(pay_id=created.pay_id, trans_id="A-1", amount=5000, currency="EUR")
        assert captured.status == "OK"
        with pytest.raises(GatewayError):
            await client.reverse(pay_id=created.pay_id, trans_id="A-1", amount=5000, currency="EUR")
    assert sim.payment(created.pay_id).state == "closed"


def test_notifications_through_decode_notification(client: AxeptaClient, sim: Simulator, shop: Shop, credentials: Credentials) -> None:
    created = order(client, capture="Manual", tx_type="Order", user_data="basket-7")
    sim.approve(created.pay_id)
    sim.expire(created.pay_id)
    cancelled = order(client, trans_id="T-2")
    sim.cancel(cancelled.pay_id)
    assert sim.wait_for_notifications(2)
    # posted concurrently: compare regardless of order
    notes = {n.state: n for n in (decode_notification(p.content, credentials) for p in shop.posts)}
    assert {(n.trans_id, s) for s, n in notes.items()} == {("T-1", "approved"), ("T-1", "expired"), ("T-2", "failed")}
    assert notes["approved"].user_data == "basket-7" and notes["approved"].awaiting_completion
    assert not notes["failed"].succeeded and notes["failed"].code == "21500053"


def test_parallel_captures_never_exceed_the_authorisation(sim: Simulator, credentials: Credentials) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with httpx.Client(transport=sim.transport()) as http, AxeptaClient(credentials, http_client=http) as client:
        created = order(client, capture="Manual", tx_type="Auth")
        sim.approve(created.pay_id)

        def capture(n: int) -> str:
            try:
                return client.capture(pay_id=created.pay_id, trans_id="T-1", amount=2000, currency="EUR").code or ""
            except GatewayError as exc:
                return exc.code

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(capture, range(12)))
    assert results.count("00000000") == 5 and results.count("21500072") == 7
    view = sim.payment(created.pay_id)
    assert view.captured == 10000 and view.state == "closed" and len({c.tid for c in view.captures}) == 5


async def test_async_client_over_loopback(credentials: Credentials, shop: Shop) -> None:
    from axepta.simulator import running_simulator

    with running_simulator(credentials, time_factor=1e-7, notify_transport=shop.transport()) as server:
        assert server.simulator.paypal_base_url == server.url
        async with AsyncAxeptaClient(credentials, base_url=server.url, browser_base_url=server.url, timeout=5) as client:
            created = await client.create_paypal_order(
                trans_id="L-1", amount=4200, currency="EUR", order_desc="loopback", tx_type="BAID", ref_nr="R-1", **URLS
            )
            assert created.paypal_url and created.paypal_url.startswith(server.url + "agreements/approve?ba_token=")
            async with httpx.AsyncClient() as browser:
                back = await browser.get(created.paypal_url)
            assert back.status_code == 302
            assert server.simulator.wait_for_notifications(5)
            agreement = server.simulator.payment(created.pay_id).billing_agreement_id
            assert agreement
            charge = await client.reference_transaction(
                billing_agreement_id=agreement, trans_id="L-2", amount=1000, currency="EUR"
            )
            assert charge.status == "OK"
    assert server.simulator.deliveries[0].state == "delivered"
