"""Client configuration: base URLs and presets, paths, timeouts, redirects, injected clients,
reply size cap, and the layer fence of the pure core."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
import respx

from axepta.client import (
    AXEPTA_BROWSER_BASE_URL,
    COMPUTOP_BASE_URL,
    USER_AGENT,
    AsyncAxeptaClient,
    AxeptaClient,
)
from axepta.credentials import Credentials
from axepta.errors import ConfigurationError, ProtocolError
from axepta.protocol import MAX_REPLY_BYTES, ProtocolCore
from tests.test_client._support import BASE, OPERATIONS, Gateway, invoke


@pytest.mark.parametrize(
    "url",
    [
        "http://paymentpage.axepta.bnpparibas/",
        "ftp://paymentpage.axepta.bnpparibas/",
        "https://paymentpage.axepta.bnpparibas/?x=1",
        "https://paymentpage.axepta.bnpparibas/#top",
        "https:///nohost",
        "",
        "https://host:notaport/",
        "http://10.0.0.1/",
    ],
)
def test_bad_base_urls(credentials: Credentials, url: str) -> None:
    with pytest.raises(ConfigurationError):
        AxeptaClient(credentials, base_url=url)
    with pytest.raises(ConfigurationError):
        ProtocolCore(credentials, browser_base_url=url)


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/"),
        ("http://localhost:8765/gw/", "http://localhost:8765/gw/"),
        ("http://[::1]:8765/", "http://[::1]:8765/"),
        ("https://gateway.example/axepta", "https://gateway.example/axepta/"),
    ],
)
def test_loopback_http_and_https_base_urls(credentials: Credentials, url: str, normalised: str) -> None:
    with AxeptaClient(credentials, base_url=url) as client:
        assert client.base_url == normalised
        assert client.url_for("capture") == normalised + "capture.aspx"


def test_computop_preset(credentials: Credentials) -> None:
    with AxeptaClient.computop(credentials) as client:
        assert client.base_url == COMPUTOP_BASE_URL
        assert client.core.callback_url == COMPUTOP_BASE_URL + "cbPayPal.aspx"
    with AxeptaClient(credentials) as client:
        assert client.core.callback_url == AXEPTA_BROWSER_BASE_URL + "cbPayPal.aspx"
        assert client.url_for("paypal_orders") == BASE + "ExternalServices/paypalorders.aspx"


@pytest.mark.parametrize(
    "paths",
    [
        {"capture": "capture.aspx?x=1"},
        {"capture": "capture.aspx#frag"},
        {"capture": "../admin/capture.aspx"},
        {"capture": "https://evil.example/capture.aspx"},
        {"capture": ""},
        {"capture": "/"},
        {"capture": "cap ture.aspx"},
        {"status": "status.aspx"},  # unknown operation (inquire and inquire24 exist, §4.15)
        {"inquire24": "inquire24.aspx?x=1"},
    ],
)
def test_bad_paths(credentials: Credentials, paths: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        AxeptaClient(credentials, paths=paths)


async def test_overridden_path_is_used(credentials: Credentials, gateway: Gateway) -> None:
    _method, kwargs, _ = OPERATIONS["credit_ex"]
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        route = mock.post("Custom/CreditEx.aspx").mock(side_effect=lambda r: gateway.reply_for("credit_ex", r))
        async with AsyncAxeptaClient(credentials, paths={"credit_ex": "/Custom/CreditEx.aspx"}) as client:
            await client.credit_without_reference(**kwargs)
    assert route.call_count == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout": 0},
        {"timeout": "30"},
        {"timeout": True},
        {"max_retries": -1},
        {"max_retries": True},
        {"max_retries": 1.5},
        {"retry_backoff": -1},
        {"omit_mac": ["status"]},  # inquire and inquire24 are known (D-INQ-1 switch)
        {"inquiry_backoff": [-1]},
        {"inquiry_backoff": [True]},
    ],
)
def test_bad_options(credentials: Credentials, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        AxeptaClient(credentials, **kwargs)


def test_wrong_http_client_types(credentials: Credentials) -> None:
    with pytest.raises(ConfigurationError, match=r"httpx\.Client"):
        AxeptaClient(credentials, http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"httpx\.AsyncClient"), httpx.Client() as sync_http:
        AsyncAxeptaClient(credentials, http_client=sync_http)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        AxeptaClient("BNP_DEMO_AXEPTA")  # type: ignore[arg-type]


async def test_explicit_timeouts_user_agent_and_no_redirects(credentials: Credentials, client: Any, gateway: Gateway) -> None:
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://www.sandbox.paypal.com/checkoutnow?token=EC-1"})

    method, kwargs, path = OPERATIONS["paypal_orders"]
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        mock.post(path).mock(side_effect=reply)
        result = await invoke(client, method, **kwargs, mode="redirect")
    assert result.redirect_url == "https://www.sandbox.paypal.com/checkoutnow?token=EC-1"
    assert len(seen) == 1  # the Location was not followed (respx would refuse the PayPal host)
    # the configured phases; an injected sync client gets them cut to what is left of the call's
    # 45 s deadline (nothing else can bound its socket operations)
    sent = seen[0].extensions["timeout"]
    assert sent == pytest.approx({"connect": 5.0, "read": 30.0, "write": 45.0, "pool": 45.0}, abs=1.0)
    assert sent["connect"] == 5.0 and sent["read"] == 30.0
    assert seen[0].headers["user-agent"] == USER_AGENT
    assert "axepta-python/" in USER_AGENT and "httpx/" in USER_AGENT


def test_injected_client_that_follows_redirects_still_does_not(credentials: Credentials) -> None:
    _method, kwargs, path = OPERATIONS["paypal_orders"]
    location = "https://www.sandbox.paypal.com/checkoutnow?token=EC-1"
    with (
        respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock,
        httpx.Client(follow_redirects=True, timeout=1) as http,
    ):
        mock.post(path).mock(return_value=httpx.Response(302, headers={"Location": location}))
        with AxeptaClient(credentials, http_client=http, timeout=httpx.Timeout(10, connect=2)) as client:
            result = client.create_paypal_order(**kwargs, mode="redirect")
        assert result.redirect_url == location
        assert mock.calls.last.request.extensions["timeout"]["connect"] == 2
        assert not http.is_closed  # not ours to close


async def test_float_timeout(credentials: Credentials, gateway: Gateway) -> None:
    _method, kwargs, path = OPERATIONS["reverse"]
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        mock.post(path).mock(side_effect=lambda r: gateway.reply_for("reverse", r))
        async with AsyncAxeptaClient(credentials, timeout=7) as client:
            await client.reverse(**kwargs)
        assert mock.calls.last.request.extensions["timeout"] == {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}


def test_owned_pools_are_closed(credentials: Credentials) -> None:
    client = AxeptaClient(credentials)
    client.close()
    assert client._http.is_closed


async def test_owned_async_pool_is_closed(credentials: Credentials) -> None:
    client = AsyncAxeptaClient(credentials)
    await client.close()
    assert client._http.is_closed


async def test_reply_size_cap(client: Any) -> None:
    method, kwargs, path = OPERATIONS["capture"]
    chunks = [b"A" * 65536] * 8  # 512 KiB, streamed

    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        mock.post(path).mock(return_value=httpx.Response(200, content=iter(chunks) if not isinstance(client, AsyncAxeptaClient) else _agen(chunks)))
        with pytest.raises(ProtocolError, match=f"larger than {MAX_REPLY_BYTES}"):
            await invoke(client, method, **kwargs)


async def _agen(chunks: list[bytes]) -> Any:
    for chunk in chunks:
        yield chunk


def test_protocol_core_and_models_load_no_httpx() -> None:
    code = (
        "import json, sys; import axepta.protocol, axepta.models; "
        "print(json.dumps(sorted(m for m in ('httpx','anyio','typer','rich') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == []


@pytest.mark.parametrize(
    ("exc", "sent", "retryable"),
    [
        (httpx.ConnectError("refused"), False, True),
        (httpx.ConnectTimeout("slow connect"), False, True),
        (httpx.PoolTimeout("pool"), False, True),
        (httpx.UnsupportedProtocol("gopher"), False, False),
        (httpx.ReadTimeout("slow read"), True, False),
        (httpx.WriteTimeout("slow write"), True, False),
        (httpx.TimeoutException("other"), True, False),
        (httpx.ReadError("reset"), True, False),
        (httpx.RemoteProtocolError("eof"), True, False),
    ],
)
def test_failure_classification(exc: httpx.HTTPError, sent: bool, retryable: bool) -> None:
    from axepta.client import _failure

    failure = _failure(exc)
    assert (failure.sent, failure.retryable, failure.cause) == (sent, retryable, exc)


async def test_backoff_sleeps_between_retries(client: Any, gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    import anyio

    import axepta.client as client_module

    slept: list[float] = []

    async def fake_async_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(client_module.time, "sleep", slept.append)
    monkeypatch.setattr(anyio, "sleep", fake_async_sleep)
    client.core.retry_backoff = 0.5
    calls = iter([httpx.ConnectError("1"), httpx.ConnectError("2"), None])

    def flaky(request: httpx.Request) -> httpx.Response:
        exc = next(calls)
        if exc is not None:
            raise exc
        return gateway.reply_for("capture", request)

    method, kwargs, path = OPERATIONS["capture"]
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        mock.post(path).mock(side_effect=flaky)
        assert (await invoke(client, method, **kwargs)).code == "00000000"
    assert slept == [0.5, 1.0]
    assert client.merchant_id == "BNP_DEMO_AXEPTA"


def test_core_redirect_sets_the_mode(credentials: Credentials) -> None:
    from axepta.models import PayPalOrderRequest
    from tests.test_client._support import URLS

    core = ProtocolCore(credentials)
    redirect = core.redirect(PayPalOrderRequest(trans_id="T", amount=1000, currency="EUR", order_desc="d", **URLS))
    assert redirect.method == "GET" and redirect.req_id is not None


def test_own_sync_pool_sends_what_an_httpx_client_would_and_keeps_no_cookie(credentials: Credentials, gateway: Gateway) -> None:
    """The sync client posts to its own pool directly (no httpx.Client per-request machinery):
    the same method, URL, headers, form body and timeouts as ``httpx.Client(headers=...)``
    sends; a cookie the gateway sets is never sent back; a 302 is returned, not followed; a
    closed client sends nothing."""
    seen: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        response = gateway.reply_for("capture", request)
        response.headers["Set-Cookie"] = "ASP.NET_SessionId=abc; path=/"
        return response

    _method, kwargs, path = OPERATIONS["capture"]
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        mock.post(path).mock(side_effect=reply)
        with AxeptaClient(credentials) as own:
            own.capture(**kwargs, req_id="R1")
            own.capture(**kwargs, req_id="R1")  # a retry: same ReqId, same parameters
        with httpx.Client(headers=own._http.headers, timeout=own._timeout) as http, AxeptaClient(credentials, http_client=http) as injected:
            injected.capture(**kwargs, req_id="R1")
    first, second, reference = seen
    for request in (first, second):
        assert request.method == reference.method and request.url == reference.url
        assert request.headers.raw == reference.headers.raw
        assert request.content == reference.content
        assert request.extensions["timeout"] == {"connect": 5.0, "read": 30.0, "write": 45.0, "pool": 45.0}
    assert "cookie" not in second.headers
    assert first.headers["accept-encoding"] == "identity"
    with pytest.raises(RuntimeError, match="closed"):
        own.capture(**kwargs)
    _method, order, path = OPERATIONS["paypal_orders"]
    location = "https://www.sandbox.paypal.com/checkoutnow?token=EC-1"
    with respx.mock(base_url=BASE, assert_all_mocked=True, assert_all_called=True) as mock:
        route = mock.post(path).mock(return_value=httpx.Response(302, headers={"Location": location}))
        with AxeptaClient(credentials) as own:
            assert own.create_paypal_order(**order, mode="redirect").redirect_url == location
    assert route.call_count == 1  # respx would refuse the PayPal host had it been followed
