"""The IPN stand-in (``axepta.simulator.ipn_standin``): it builds PayPal-shaped messages, posts
them to a listener and answers the listener's verification postback — VERIFIED only for the
exact bytes it sent."""

from __future__ import annotations

import threading
from decimal import Decimal

import httpx
import pytest

from axepta.errors import ConfigurationError, InvalidRequestError
from axepta.ipn import parse_ipn, verify_ipn
from axepta.simulator.ipn_standin import VERIFY_PATH, IpnStandIn, build_ipn


def _body(**overrides: object) -> bytes:
    values: dict[str, object] = {
        "payer_email": "alice@example.com", "mc_gross": "25.00", "mc_currency": "EUR",
        "receiver_email": "shop@example.com",
    }
    values.update(overrides)
    return build_ipn(**values)  # type: ignore[arg-type]


def test_build_ipn_is_what_parse_ipn_reads() -> None:
    body = _body(txn_id="TXN1", txn_type="send_money", payment_status="Completed", mc_fee="1.20")
    message = parse_ipn(body)
    assert message.txn_id == "TXN1"
    assert message.txn_type == "send_money"
    assert message.payment_status == "Completed"
    assert message.mc_gross == Decimal("25.00") and message.mc_fee == Decimal("1.20")
    assert message.mc_currency == "EUR"
    assert message.payer_email == "alice@example.com"
    assert message.receiver_email == "shop@example.com" and message.business == "shop@example.com"
    assert message.test_ipn is True and message.charset == "utf-8"
    assert message.ipn_track_id and message.payment_date is not None
    assert message.warnings == ()


def test_refund_carries_parent_and_negative_fee() -> None:
    message = parse_ipn(_body(payment_status="Refunded", mc_gross="-25.00", parent_txn_id="TXN1"))
    assert message.parent_txn_id == "TXN1" and message.txn_id != "TXN1"
    assert message.mc_gross == Decimal("-25.00") and message.mc_fee is not None and message.mc_fee < 0


def test_generated_txn_ids_differ_and_extra_fields_are_added() -> None:
    a, b = parse_ipn(_body()), parse_ipn(_body(extra={"custom": "order 7"}))
    assert a.txn_id and b.txn_id and a.txn_id != b.txn_id and len(a.txn_id) == 17
    assert b.custom == "order 7"


@pytest.mark.parametrize(
    ("field", "value"),
    [("mc_gross", "12.345"), ("mc_gross", "ten"), ("mc_currency", "eur"), ("payer_email", "nobody"),
     ("receiver_email", "a@b@c"), ("txn_id", "bad id"), ("txn_type", "web accept")],
)
def test_bad_values_name_the_field(field: str, value: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        _body(**{field: value})
    assert info.value.field == field and field in str(info.value)


def test_postback_of_the_exact_bytes_is_verified_anything_else_invalid() -> None:
    body = _body()
    with IpnStandIn() as standin:
        standin.remember(body)
        assert standin.verify_url.startswith("http://127.0.0.1:") and standin.verify_url.endswith(VERIFY_PATH)
        assert verify_ipn(body, verify_url=standin.verify_url).outcome == "verified"
        forged = body.replace(b"mc_gross=25.00", b"mc_gross=2500.00")
        assert verify_ipn(forged, verify_url=standin.verify_url).outcome == "invalid"
        assert len(standin.postbacks(body)) == 1 and standin.postbacks(forged) == ()


@pytest.mark.parametrize(("answer", "outcome"), [("invalid", "invalid"), ("error", "unverified")])
def test_told_answers(answer: str, outcome: str) -> None:
    body = _body()
    with IpnStandIn(answer=answer) as standin:  # type: ignore[arg-type]
        standin.remember(body)
        assert verify_ipn(body, verify_url=standin.verify_url).outcome == outcome


def _listener(standin: IpnStandIn, *, mode: str, seen: list[str]) -> httpx.Client:
    """A listener behind a mock transport: ``sync`` verifies before answering, ``queue``
    answers first and verifies in a thread, ``silent`` never verifies."""

    def handle(request: httpx.Request) -> httpx.Response:
        raw = request.content
        if mode == "sync":
            seen.append(verify_ipn(raw, verify_url=standin.verify_url).outcome)
        elif mode == "queue":
            threading.Timer(0.05, lambda: seen.append(verify_ipn(raw, verify_url=standin.verify_url).outcome)).start()
        return httpx.Response(200)

    return httpx.Client(transport=httpx.MockTransport(handle))


@pytest.mark.parametrize("mode", ["sync", "queue"])
def test_send_waits_for_the_postback(mode: str) -> None:
    seen: list[str] = []
    body = _body(txn_id="TXNSEND")
    with IpnStandIn() as standin, _listener(standin, mode=mode, seen=seen) as client:
        delivery = standin.send("http://127.0.0.1:9/paypal/ipn", body, wait=5, http_client=client)
    assert delivery.ok and delivery.verified and delivery.status_code == 200
    assert delivery.txn_id == "TXNSEND" and [p.answer for p in delivery.postbacks] == ["VERIFIED"]
    assert delivery.as_dict()["postbacks"] == ["VERIFIED"]


def test_a_listener_that_never_verifies_is_not_ok_and_the_wait_is_bounded() -> None:
    with IpnStandIn() as standin, _listener(standin, mode="silent", seen=[]) as client:
        delivery = standin.send("http://127.0.0.1:9/paypal/ipn", _body(), wait=0.2, http_client=client)
    assert delivery.status_code == 200 and not delivery.verified and not delivery.ok
    assert delivery.elapsed < 5


def test_unreachable_listener_is_reported_not_raised() -> None:
    with IpnStandIn() as standin:
        delivery = standin.send("http://127.0.0.1:1/paypal/ipn", _body(), wait=0.1, timeout=2)
    assert delivery.status_code is None and delivery.error and "could not be reached" in delivery.error
    assert not delivery.ok


@pytest.mark.parametrize("url", ["http://example.com/ipn", "ftp://127.0.0.1/", "not a url"])
def test_plain_http_only_to_loopback(url: str) -> None:
    with IpnStandIn() as standin, pytest.raises(InvalidRequestError):
        standin.send(url, _body())


def test_binds_loopback_only_and_checks_the_answer() -> None:
    with pytest.raises(ConfigurationError):
        IpnStandIn(host="0.0.0.0")
    with pytest.raises(ConfigurationError):
        IpnStandIn(answer="maybe")  # type: ignore[arg-type]


def test_verify_endpoint_refuses_other_paths_and_oversized_bodies() -> None:
    with IpnStandIn() as standin, httpx.Client() as client:
        base = standin.verify_url.removesuffix(VERIFY_PATH)
        assert client.post(base + "/elsewhere", content=b"cmd=_notify-validate&a=b").status_code == 404
        big = b"cmd=_notify-validate&" + b"a" * (300 * 1024)
        assert client.post(standin.verify_url, content=big).status_code == 413


def test_a_refusal_says_it_closes_the_connection() -> None:
    """The client must not send its next request on a connection the stand-in closes after a
    refusal (it did, and lost the answer when the close won the race)."""
    with IpnStandIn() as standin, httpx.Client() as client:
        base = standin.verify_url.removesuffix(VERIFY_PATH)
        refused = client.post(base + "/elsewhere", content=b"cmd=_notify-validate&a=b")
        assert refused.status_code == 404 and refused.headers.get("connection") == "close"
