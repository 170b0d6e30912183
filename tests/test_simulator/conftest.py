"""Fixtures of the simulator tests: a recording shop (URLNotify), a simulator wired to it,
and the real clients on the in-process transport or over loopback HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from axepta.client import AxeptaClient
from axepta.credentials import Credentials
from axepta.crypto import Params, encode_params, parse_params, sign, verify
from axepta.simulator import Simulator, SimulatorServer

SHOP = "https://shop.example/"
URLS = {"url_success": SHOP + "ok", "url_failure": SHOP + "ko", "url_notify": SHOP + "notify"}
#: the whole retry schedule (1 296 minutes) in about 8 ms
FAST = 1e-7


class Shop:
    """The shop's URLNotify: records every post and answers the scripted status codes
    (200 once the script is exhausted)."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.lock = threading.Lock()
        self.posts: list[httpx.Request] = []
        self.script: list[int] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.posts.append(request)
            status = self.script.pop(0) if self.script else 200
        return httpx.Response(status)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def messages(self) -> list[Params]:
        """Each post decrypted and verified with the crypto core (the shop's side)."""
        with self.lock:
            posts = list(self.posts)
        return [decode_result(self.credentials, p.content.decode("ascii")) for p in posts]


def decode_result(credentials: Credentials, form: str) -> Params:
    """Decrypt ``Len=…&Data=…`` and check the result MAC (D9) — the crypto core as client."""
    outer = dict(parse_qsl(form))
    params = parse_params(credentials.codec.decrypt(outer["Data"], outer["Len"]))
    assert verify(
        credentials.hmac_key_bytes(), params["MAC"], params["PayID"], params["TransID"],
        credentials.merchant_id, params["Status"], params["Code"],
    ), "result MAC does not verify"
    return params


def envelope(credentials: Credentials, fields: dict[str, Any], *, mac: bool | str = True, pay_id: bool = True) -> dict[str, str]:
    """Encrypt a request as the client would (crypto core only)."""
    fields = {"MerchantID": credentials.merchant_id, **fields}
    if mac is True:
        fields["MAC"] = sign(
            credentials.hmac_key_bytes(),
            fields.get("PayID", "") if pay_id else "",
            fields.get("TransID", ""),
            credentials.merchant_id,
            fields.get("Amount", ""),
            fields.get("Currency", ""),
        )
    elif isinstance(mac, str):
        fields["MAC"] = mac
    enc = credentials.codec.encrypt(encode_params(fields))
    return {"MerchantID": credentials.merchant_id, "Len": str(enc.length), "Data": enc.data}


def order_fields(trans_id: str = "T-1", amount: int = 10000, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "TransID": trans_id, "Amount": str(amount), "Currency": "EUR", "Capture": "Auto",
        "OrderDesc": "Test order", "URLSuccess": URLS["url_success"], "URLFailure": URLS["url_failure"],
        "Response": "encrypt", "URLNotify": URLS["url_notify"],
    }
    fields.update(extra)
    return {k: v for k, v in fields.items() if v is not None}


@pytest.fixture
def shop(credentials: Credentials) -> Shop:
    return Shop(credentials)


@pytest.fixture
def sim(credentials: Credentials, shop: Shop) -> Iterator[Simulator]:
    # notifications retried within milliseconds; open AUTHORIZE_REQUESTs never time out here
    with Simulator(
        credentials, time_factor=FAST, notify_transport=shop.transport(), seed=7, pending_timeout_minutes=1e9
    ) as simulator:
        yield simulator


@pytest.fixture
def http(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sim.transport(), base_url="https://paymentpage.axepta.bnpparibas/") as client:
        yield client


@pytest.fixture(params=["in-process", "loopback"])
def client(request: pytest.FixtureRequest, sim: Simulator, credentials: Credentials) -> Iterator[AxeptaClient]:
    """The real client, on the in-process transport or over a loopback server."""
    if request.param == "in-process":
        with httpx.Client(transport=sim.transport()) as http_client, AxeptaClient(
            credentials, http_client=http_client, retry_backoff=0
        ) as c:
            yield c
    else:
        with SimulatorServer(sim) as server, AxeptaClient(
            credentials, base_url=server.url, browser_base_url=server.url, retry_backoff=0,
            timeout=5,
        ) as c:
            yield c
