"""Fixtures for the administrator's pages: books after a simulator flow, the app, a uvicorn
server on 127.0.0.1 in a thread, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from axepta import AxeptaClient, Credentials
from axepta.ledger import Ledger
from axepta.simulator import Simulator

ADMIN_TOKEN = "admin-token-for-tests-0123456789"
CHROMIUM = os.environ.get("AXEPTA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
URLS = {
    "url_success": "https://shop.example/ok",
    "url_failure": "https://shop.example/ko",
    "url_notify": "https://shop.example/notify",
}


@dataclass
class Shop:
    """A shop's books after a small flow on the embedded simulator."""

    ledger: Ledger
    sim: Simulator
    credentials: Credentials
    pay_ids: dict[str, str]

    def client(self) -> AxeptaClient:
        return AxeptaClient(
            self.credentials, ledger=self.ledger, http_client=httpx.Client(transport=self.sim.transport())
        )


def _order(client: AxeptaClient, sim: Simulator, trans_id: str, amount: int, **extra: Any) -> str:
    order = client.create_paypal_order(
        trans_id=trans_id, amount=amount, currency="EUR", order_desc="Course", capture="Manual",
        tx_type="Order", **URLS, **extra,
    )  # fmt: skip
    return order.pay_id


@pytest.fixture
def shop(tmp_path: Path, credentials: Credentials) -> Iterator[Shop]:
    """Not-Finished ORDER-1, Finished ORDER-2 (authorised, captured 30.00) and Failed ORDER-3
    (authorised, then reversed), recorded by a journaled client."""
    with Ledger(f"sqlite:///{tmp_path / 'books.db'}") as ledger, Simulator(credentials) as sim:
        ledger.migrate()
        shop = Shop(ledger, sim, credentials, {})
        with shop.client() as client:
            shop.pay_ids["ORDER-1"] = _order(client, sim, "ORDER-1", 1500)
            for trans_id in ("ORDER-2", "ORDER-3"):
                pay_id = _order(client, sim, trans_id, 5000)
                sim.approve(pay_id)
                client.authorize(pay_id=pay_id, trans_id=trans_id, amount=5000, currency="EUR")
                shop.pay_ids[trans_id] = pay_id
            client.capture(pay_id=shop.pay_ids["ORDER-2"], trans_id="ORDER-2", amount=3000, currency="EUR")
            client.reverse(pay_id=shop.pay_ids["ORDER-3"], trans_id="ORDER-3", amount=5000, currency="EUR")
        yield shop


def make_app(shop: Shop, *, allow_money_actions: bool = False, **options: Any) -> Any:
    from axepta.server import create_app

    return create_app(
        shop.ledger,
        shop.credentials,
        admin_token=ADMIN_TOKEN,
        allow_money_actions=allow_money_actions,
        http_client_factory=lambda: httpx.Client(transport=shop.sim.transport()),
        background=False,
        **options,
    )


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a thread, stopped when the test ends."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, for one test module: Playwright's sync API runs an event
    loop in this thread while it lives, which would break every asyncio test after it. Skipped (one line says why) where it is not installed,
    except when AXEPTA_REQUIRE_BROWSER=1 (CI), where its absence fails the tests."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = f"browser tests skipped: {CHROMIUM} is not installed (make test installs it as root with apt-get)"
        if os.environ.get("AXEPTA_REQUIRE_BROWSER") == "1":
            pytest.fail(reason.replace("skipped", "required (AXEPTA_REQUIRE_BROWSER=1)"))
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()
