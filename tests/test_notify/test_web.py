"""The Starlette and Flask handlers of docs/notifications.md, executed: 200 once recorded, 400
on rejected input, 404 for an unknown payment, 500 only when the shop's storage fails."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axepta import Credentials, Notification
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_notify._support import TRANS_ID, doc_module, genuine_body

with warnings.catch_warnings():
    # Starlette 1.x asks for the httpx2 fork; httpx (a project dependency) still works.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from starlette.testclient import TestClient

CREDS = Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)
URL = "/axepta/notify"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"}


class Store:
    """The shop's storage: idempotent on dedup_key, knows one TransID, can be made to fail."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.records: dict[tuple[str, ...], Notification] = {}
        self.calls = 0
        self.down = False

    def record(self, notification: Notification) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("database down")
        if notification.trans_id != TRANS_ID:
            raise self.module.UnknownPayment(notification.trans_id)
        self.records.setdefault(notification.dedup_key, notification)


class Shop:
    """One framework's app, a store and a client speaking bytes."""

    def __init__(self, framework: str) -> None:
        self.module = doc_module(f"notify_{framework}.py")
        self.store = Store(self.module)
        app = self.module.make_app(CREDS, self.store)
        self.post: Callable[[bytes], int]
        self.get: Callable[[str], int]
        if framework == "starlette":
            client = TestClient(app, raise_server_exceptions=True)
            self.post = lambda body: client.post(URL, content=body, headers=FORM).status_code
            self.get = lambda query: client.get(f"{URL}?{query}").status_code
        else:
            flask_client: FlaskClient = app.test_client()
            self.post = lambda body: flask_client.post(URL, data=body, headers=FORM).status_code
            self.get = lambda query: flask_client.get(f"{URL}?{query}").status_code


@pytest.fixture(params=["starlette", "flask"])
def shop(request: pytest.FixtureRequest) -> Shop:
    return Shop(request.param)


def test_genuine_is_recorded_then_200(shop: Shop) -> None:
    assert shop.post(genuine_body()) == 200
    (note,) = shop.store.records.values()
    assert note.succeeded and note.trans_id == TRANS_ID


def test_duplicate_is_200_and_recorded_once(shop: Shop) -> None:
    assert shop.post(genuine_body()) == 200
    assert shop.post(genuine_body()) == 200
    assert shop.store.calls == 2 and len(shop.store.records) == 1


def test_failure_is_recorded_as_a_failure_and_answered_200(shop: Shop) -> None:
    assert shop.post(genuine_body(Status="FAILED", Code="22150053")) == 200
    (note,) = shop.store.records.values()
    assert not note.succeeded and note.state == "failed"


def test_get_with_a_query_string(shop: Shop) -> None:
    assert shop.get(genuine_body().decode()) == 200
    assert shop.get("") == 400


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"Len=8&Data=ZZZZZZZZZZZZZZZZ",
        b"MerchantID=OTHER&" + genuine_body().split(b"&", 1)[1],
        genuine_body().replace(b"Data=E", b"Data=F"),
        genuine_body()[:-16],
        b"\xff\xfe\x00" * 100,
        b"Data=" + b"A" * 300_000,
    ],
    ids=["empty", "garbage", "non-hex", "foreign", "tampered", "truncated", "binary", "oversized"],
)
def test_rejected_input_is_400_and_never_recorded(shop: Shop, body: bytes) -> None:
    assert shop.post(body) == 400
    assert shop.store.calls == 0


def test_unknown_payment_is_404(shop: Shop) -> None:
    assert shop.post(genuine_body(TransID="somebody-else")) == 404


def test_storage_failure_is_500(shop: Shop) -> None:
    shop.store.down = True
    assert shop.post(genuine_body()) == 500


@pytest.mark.parametrize("framework", ["starlette", "flask"])
def test_hostile_bodies_are_never_500(framework: str) -> None:
    shop = Shop(framework)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.one_of(st.binary(max_size=300), st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))))
    def hostile(body: bytes) -> None:
        assert shop.post(body) == 400

    hostile()
    assert shop.store.calls == 0


def test_flask_and_starlette_record_the_same() -> None:
    shops = [Shop("starlette"), Shop("flask")]
    for s in shops:
        assert s.post(genuine_body(Status="AUTHORIZE_REQUEST")) == 200
    first, second = (next(iter(s.store.records.values())) for s in shops)
    assert first == second and first.awaiting_completion
