"""verify_ipn / averify_ipn against a fake PayPal on 127.0.0.1: the exact postback, the three
outcomes, and every way of not being verified."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from axepta import ConfigurationError
from axepta.ipn import (
    IPN_LIVE_URL,
    IPN_SANDBOX_URL,
    USER_AGENT,
    averify_ipn,
    postback_body,
    verification_url,
    verify_ipn,
)
from tests.test_ipn.conftest import FakePayPal, fixture

RAW = fixture("windows1252_names.txt")


def test_verified_posts_the_exact_bytes(fake_paypal: FakePayPal) -> None:
    result = verify_ipn(RAW, verify_url=fake_paypal.url("/verified"))
    assert result.outcome == "verified" and result.verified and result.status_code == 200
    assert result.url == fake_paypal.url("/verified") and result.elapsed < 5
    (request,) = fake_paypal.received
    assert request.body == b"cmd=_notify-validate&" + RAW
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["user-agent"] == USER_AGENT and "axepta" in USER_AGENT
    assert result.as_dict()["outcome"] == "verified"


def test_invalid(fake_paypal: FakePayPal) -> None:
    result = verify_ipn(RAW, verify_url=fake_paypal.url("/invalid"))
    assert (result.outcome, result.detail, result.verified) == ("invalid", "INVALID", False)


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/error", 500, "PayPal answered HTTP 500"),
        ("/other", 200, "unexpected answer"),
        ("/redirect", 302, "PayPal answered HTTP 302"),
        ("/huge", 200, "unexpected answer"),
        ("/nowhere", 404, "PayPal answered HTTP 404"),
    ],
)
def test_anything_else_is_unverified_never_invalid(fake_paypal: FakePayPal, path: str, status: int, detail: str) -> None:
    result = verify_ipn(RAW, verify_url=fake_paypal.url(path))
    assert result.outcome == "unverified" and result.status_code == status and detail in result.detail
    assert [r.path for r in fake_paypal.received] == [path]  # the redirect was not followed


def test_timeout_is_unverified(fake_paypal: FakePayPal) -> None:
    start = time.monotonic()
    result = verify_ipn(RAW, verify_url=fake_paypal.url("/slow"), timeout=0.3)
    assert (result.outcome, result.detail, result.status_code) == ("unverified", "timeout", None)
    assert time.monotonic() - start < 3


def test_unreachable_is_unverified() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    result = verify_ipn(RAW, verify_url=f"http://127.0.0.1:{port}/", connect_timeout=1)
    assert result.outcome == "unverified" and result.detail.startswith("network error")


async def test_async_verified_invalid_and_timeout(fake_paypal: FakePayPal) -> None:
    assert (await averify_ipn(RAW, verify_url=fake_paypal.url("/verified"))).outcome == "verified"
    assert (await averify_ipn(RAW, verify_url=fake_paypal.url("/invalid"))).outcome == "invalid"
    assert (await averify_ipn(RAW, verify_url=fake_paypal.url("/error"))).outcome == "unverified"
    start = time.monotonic()
    slow = await averify_ipn(RAW, verify_url=fake_paypal.url("/slow"), timeout=0.3)
    assert (slow.outcome, slow.detail) == ("unverified", "timeout") and time.monotonic() - start < 3
    assert fake_paypal.received[0].body == postback_body(RAW)


async def test_async_with_an_injected_client(fake_paypal: FakePayPal) -> None:
    async with httpx.AsyncClient() as client:
        result = await averify_ipn(RAW, verify_url=fake_paypal.url("/verified"), http_client=client)
        assert result.verified and not client.is_closed


def test_endpoint_follows_test_ipn_or_the_caller() -> None:
    sandbox_msg, live_msg = fixture("express_checkout_completed.txt"), fixture("history_adjustment_resent.txt")
    assert verification_url(sandbox_msg) == IPN_SANDBOX_URL
    assert verification_url(live_msg) == IPN_LIVE_URL
    assert verification_url(sandbox_msg, sandbox=False) == IPN_LIVE_URL
    assert verification_url(live_msg, sandbox=True) == IPN_SANDBOX_URL
    assert verification_url(live_msg, verify_url="https://ipn.example/check") == "https://ipn.example/check"
    for bad in ("http://paypal.com/cgi-bin/webscr", "ftp://127.0.0.1/", "https://", "http://[::1"):
        with pytest.raises(ConfigurationError):
            verification_url(live_msg, verify_url=bad)


def test_the_real_endpoints_are_asked_through_an_injected_client() -> None:
    seen: list[httpx.Request] = []

    def paypal(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="VERIFIED")

    with httpx.Client(transport=httpx.MockTransport(paypal)) as client:
        assert verify_ipn(fixture("express_checkout_completed.txt"), http_client=client).verified
        assert verify_ipn(fixture("history_adjustment_resent.txt"), http_client=client).verified
        assert not client.is_closed
    assert [str(r.url) for r in seen] == [IPN_SANDBOX_URL, IPN_LIVE_URL]
    assert seen[1].content == b"cmd=_notify-validate&" + fixture("history_adjustment_resent.txt")
    assert seen[0].method == "POST" and seen[0].headers["user-agent"] == USER_AGENT


def test_the_postback_needs_bytes() -> None:
    with pytest.raises(TypeError):
        postback_body("txn_id=1")  # type: ignore[arg-type]
    assert postback_body(bytearray(b"a=1")) == b"cmd=_notify-validate&a=1"
