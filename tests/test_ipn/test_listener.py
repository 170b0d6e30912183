"""The Flask IPN listener of docs/notifications.md (sync mode), executed against the fake
PayPal: store first, check the environment before verifying, 5xx only when PayPal could not be
asked or the shop's storage failed."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from axepta.ipn import IpnDeduplicator, IpnMessage
from tests.test_ipn.conftest import FakePayPal, fixture
from tests.test_notify._support import doc_module

SALE = fixture("express_checkout_completed.txt")  # test_ipn=1, receiver S8XGHLYDW9T3S
HEADERS = {"Content-Type": "application/x-www-form-urlencoded; charset=windows-1252"}


class Store:
    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.marks: dict[int, str] = {}
        self.processed: list[tuple[str, IpnMessage]] = []
        self.ledger = IpnDeduplicator()
        self.down = False

    def save_raw(self, raw: bytes) -> int:
        if self.down:
            raise ConnectionError("database down")
        self.raw.append(raw)
        return len(self.raw) - 1

    def mark(self, ipn_id: int, verdict: str) -> None:
        self.marks[ipn_id] = verdict

    def process(self, ipn_id: int, message: IpnMessage) -> None:
        decision = self.ledger.record(message)
        self.marks[ipn_id] = decision
        if decision == "new":
            self.processed.append((decision, message))


def listener(fake: FakePayPal, path: str, environment: str = "test") -> tuple[FlaskClient, Store]:
    store = Store()
    app = doc_module("ipn_flask.py").make_ipn_app(
        store, receiver_ids=["S8XGHLYDW9T3S"], environment=environment, verify_url=fake.url(path)
    )
    return app.test_client(), store


def post(client: FlaskClient, body: bytes, **kwargs: Any) -> int:
    return client.post("/paypal/ipn", data=body, headers=HEADERS, **kwargs).status_code


def test_verified_is_processed_once(fake_paypal: FakePayPal) -> None:
    client, store = listener(fake_paypal, "/verified")
    assert post(client, SALE) == 200
    assert post(client, SALE) == 200  # PayPal resent it
    assert [m.txn_id for _, m in store.processed] == ["61E67681CH3238416"]
    assert store.marks == {0: "new", 1: "duplicate"} and store.raw == [SALE, SALE]
    assert fake_paypal.received[0].body == b"cmd=_notify-validate&" + SALE


def test_invalid_is_stored_flagged_and_answered_200(fake_paypal: FakePayPal) -> None:
    client, store = listener(fake_paypal, "/invalid")
    assert post(client, SALE) == 200
    assert store.marks == {0: "invalid"} and store.processed == []


@pytest.mark.parametrize("path", ["/error", "/other", "/redirect"])
def test_unverified_is_kept_and_answered_503(fake_paypal: FakePayPal, path: str) -> None:
    client, store = listener(fake_paypal, path)
    assert post(client, SALE) == 503
    assert store.marks[0].startswith("unverified") and store.processed == [] and store.raw == [SALE]


def test_wrong_environment_is_never_verified(fake_paypal: FakePayPal) -> None:
    client, store = listener(fake_paypal, "/verified", environment="production")
    assert post(client, SALE) == 200
    assert store.marks == {0: "wrong environment"} and fake_paypal.received == []


def test_wrong_receiver_is_flagged(fake_paypal: FakePayPal) -> None:
    client, store = listener(fake_paypal, "/verified")
    other = SALE.replace(b"receiver_id=S8XGHLYDW9T3S", b"receiver_id=SOMEONEELSE")
    assert post(client, other) == 200
    assert "receiver" in store.marks[0] and store.processed == []


def test_storage_down_is_500_and_not_an_ipn_is_400(fake_paypal: FakePayPal) -> None:
    client, store = listener(fake_paypal, "/verified")
    store.down = True
    assert post(client, SALE) == 500
    store.down = False
    assert post(client, b"") == 400 and store.marks == {0: "not an IPN (format)"}
    assert post(client, b"x" * 300_000) == 413 and fake_paypal.received == []
