"""The Blowfish and HMAC keys never leave the objects that hold them: not in ``repr``/``str``,
not in a pickle (pickling fails, or the bytes hold no key), not in any log record at DEBUG over
whole flows, not in any exception (message, args, chain, traceback). The ``Data``, ``MAC`` and
plaintext that crossed the wire are not logged either.

The flows run against the simulator in-process and over loopback HTTP, and go through every
operation, the buyer's approval, notifications, declines, lost answers, 5xx, timeouts, refused
connections and replies that cannot be trusted (wrong keys, forged MACs).
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback
from dataclasses import dataclass, field
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr

from axepta import AsyncAxeptaClient, AxeptaClient, decode_notification
from axepta.cli.config import Settings
from axepta.credentials import Credentials
from axepta.crypto import parse_params
from axepta.errors import (
    AxeptaError,
    BlowfishKeyError,
    ConfigurationError,
    GatewayError,
    NotificationError,
    ProtocolError,
    SignatureError,
    TransportError,
)
from axepta.ipn import parse_ipn
from axepta.models import CaptureRequest
from axepta.simulator import Simulator, SimulatorServer
from tests.test_faults.conftest import free_port
from tests.test_security.conftest import BLOWFISH, HMAC, MID, SECRETS, assert_no_secret

URLS = {"url_success": "https://shop.example/ok", "url_failure": "https://shop.example/ko", "url_notify": "https://shop.example/notify"}


@dataclass
class Evidence:
    """What a flow produced: objects, errors, and every Data/MAC/plaintext that crossed the wire."""

    objects: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    wire: set[str] = field(default_factory=set)

    def record_form(self, body: bytes, credentials: Credentials) -> None:
        form = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        data = form.get("Data")
        if not data:
            return
        self.wire.add(data)
        try:
            plaintext = credentials.codec.decrypt(data, form.get("Len"))
        except AxeptaError:
            return
        self.wire.add(plaintext)
        mac = parse_params(plaintext).get("MAC")
        if mac:
            self.wire.add(mac)

    def expect(self, error_type: type[BaseException] | tuple[type[BaseException], ...], fn: Any, *args: Any, **kwargs: Any) -> None:
        with pytest.raises(error_type) as caught:
            fn(*args, **kwargs)
        self.errors.append(caught.value)

    async def expect_async(self, error_type: type[BaseException], coro: Any) -> None:
        with pytest.raises(error_type) as caught:
            await coro
        self.errors.append(caught.value)


def _recording(sim: Simulator, evidence: Evidence, credentials: Credentials) -> None:
    """Record every request's and reply's Data (and the MAC inside) at the simulator."""
    handle = sim.handle

    def recorded(method: str, path: str, query: bytes | str = b"", body: bytes = b"", *, decline: str | None = None) -> Any:
        evidence.record_form(body, credentials)
        response = handle(method, path, query, body, decline=decline)
        evidence.record_form(response.body, credentials)
        return response

    sim.handle = recorded  # type: ignore[method-assign]


def _shop(merchant: Credentials, evidence: Evidence) -> httpx.MockTransport:
    def notify(request: httpx.Request) -> httpx.Response:
        body = request.read()
        evidence.record_form(body, merchant)
        evidence.objects.append(decode_notification(body, merchant))
        return httpx.Response(200)

    return httpx.MockTransport(notify)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _sync_flow(client: AxeptaClient, sim: Simulator, evidence: Evidence) -> None:
    """Every operation, approvals, a decline, a lost answer and a 5xx, through ``client``."""
    order = client.create_paypal_order(trans_id="S-1", amount=5000, currency="EUR", order_desc="x", capture="Manual", tx_type="Auth", **URLS)
    evidence.objects += [order, sim.approve(order.pay_id), sim.payment(order.pay_id)]
    capture = client.capture(pay_id=order.pay_id, trans_id="S-1", amount=3000, currency="EUR")
    credit = client.credit(pay_id=order.pay_id, trans_id="S-1", amount=1000, currency="EUR", tid=capture.tid)
    evidence.objects += [capture, credit]
    sim.faults.decline("21500991", path="capture")
    evidence.expect(GatewayError, client.capture, pay_id=order.pay_id, trans_id="S-1", amount=100, currency="EUR")
    sim.faults.drop_connection(path="capture")
    evidence.expect(TransportError, client.capture, pay_id=order.pay_id, trans_id="S-1", amount=100, currency="EUR")
    sim.faults.server_error(503, path="credit")
    evidence.expect(TransportError, client.credit, pay_id=order.pay_id, trans_id="S-1", amount=100, currency="EUR", tid=capture.tid)
    evidence.expect(GatewayError, client.capture, pay_id="f" * 32, trans_id="S-1", amount=100, currency="EUR")

    held = client.create_paypal_order(trans_id="S-2", amount=4000, currency="EUR", order_desc="x", capture="Manual", tx_type="Order", **URLS)
    sim.approve(held.pay_id)
    evidence.objects.append(client.authorize(pay_id=held.pay_id, trans_id="S-2", amount=4000, currency="EUR"))
    evidence.objects.append(client.reverse(pay_id=held.pay_id, trans_id="S-2", amount=4000, currency="EUR"))
    quick = client.create_paypal_order(trans_id="S-3", amount=2000, currency="EUR", order_desc="x", paypal_method="shortcut", **URLS)
    sim.approve(quick.pay_id)
    evidence.objects.append(client.complete_paypal_order(pay_id=quick.pay_id, trans_id="S-3", amount=2100, currency="EUR"))
    baid = client.create_paypal_order(trans_id="S-4", amount=100, currency="EUR", order_desc="x", tx_type="BAID", ref_nr="R1", **URLS)
    sim.approve(baid.pay_id)
    agreement = sim.payment(baid.pay_id).billing_agreement_id
    assert agreement
    evidence.objects.append(client.reference_transaction(billing_agreement_id=agreement, trans_id="S-5", amount=990, currency="EUR"))
    evidence.objects.append(client.credit_without_reference(trans_id="S-6", amount=1500, currency="EUR", payer_id="XVRKM94GQDXB2"))
    prepared = client.prepare(CaptureRequest(pay_id=order.pay_id, trans_id="S-1", amount=100, currency="EUR"))
    button = client.paypal_button_params(trans_id="S-7", amount=100, currency="EUR", order_desc="x", **URLS)
    redirect = client.paypal_redirect(trans_id="S-8", amount=100, currency="EUR", order_desc="x", **URLS)
    evidence.wire |= {prepared.form["Data"], prepared.fields["MAC"], button.data, redirect.form["Data"]}
    evidence.objects += [prepared, prepared.redacted(), button, redirect, client, client.core]
    evidence.objects.append(sim.approve(client.create_paypal_order(trans_id="S-9", amount=100, currency="EUR", order_desc="x", **URLS).pay_id))


async def _async_flow(client: AsyncAxeptaClient, sim: Simulator, evidence: Evidence) -> None:
    order = await client.create_paypal_order(trans_id="A-1", amount=5000, currency="EUR", order_desc="x", **URLS)
    sim.approve(order.pay_id)
    evidence.objects.append(await client.credit(pay_id=order.pay_id, trans_id="A-1", amount=500, currency="EUR"))
    sim.faults.drop_connection(path="credit", error="protocol")
    await evidence.expect_async(TransportError, client.credit(pay_id=order.pay_id, trans_id="A-1", amount=500, currency="EUR"))
    await evidence.expect_async(GatewayError, client.reverse(pay_id=order.pay_id, trans_id="A-1", amount=500, currency="EUR"))
    evidence.objects.append(client)


def _untrusted_replies(merchant: Credentials, evidence: Evidence) -> None:
    """Replies from platforms that hold other keys: wrong HMAC key (request refused, 20120044),
    a reply MAC that does not verify (SignatureError), a wrong Blowfish key (a reply that
    decrypts to noise: BlowfishKeyError), a reply that is no gateway message (ProtocolError)."""
    other_hmac = Credentials(MID, BLOWFISH, "another-hmac-key-of-the-platform")
    other_bf = Credentials(MID, "other-blowfish-key", HMAC)
    cases = [
        (Simulator(other_hmac), {}, GatewayError),
        (Simulator(other_hmac, mac_required=(), s2s_reply_mac=True), {"omit_mac": ("capture",)}, SignatureError),
        (Simulator(other_bf), {}, BlowfishKeyError),
    ]
    for sim, options, error in cases:
        with sim, httpx.Client(transport=sim.transport()) as http, AxeptaClient(merchant, http_client=http, **options) as client:
            evidence.expect(error, client.capture, pay_id="a" * 32, trans_id="U-1", amount=1000, currency="EUR")
    html = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    with httpx.Client(transport=html) as http, AxeptaClient(merchant, http_client=http) as client:
        evidence.expect(ProtocolError, client.capture, pay_id="a" * 32, trans_id="U-1", amount=1000, currency="EUR")


def _notification_rejections(merchant: Credentials, evidence: Evidence, genuine: str) -> None:
    data = dict(parse_qsl(genuine))["Data"]
    tampered = genuine.replace(data, data[:-16] + ("1" * 16 if data[-16:] != "1" * 16 else "2" * 16))
    for payload in (tampered, genuine.replace("Data=", "Dta="), "Len=8&Data=00", "x" * 300_000):
        evidence.expect(NotificationError, decode_notification, payload, merchant)
    evidence.expect(NotificationError, decode_notification, genuine, Credentials(MID, "other-blowfish-key", HMAC))
    evidence.expect(NotificationError, decode_notification, genuine, Credentials(MID, BLOWFISH, "another-hmac-key"))


def _bad_configuration(evidence: Evidence) -> None:
    """Construction errors that receive the keys themselves must not echo them."""
    evidence.expect(ConfigurationError, Credentials, MID, BLOWFISH * 4, HMAC)  # > 56 bytes
    evidence.expect(ConfigurationError, Credentials, MID, BLOWFISH[:3], HMAC)  # < 4 bytes
    evidence.expect(ConfigurationError, Credentials, MID, BLOWFISH, "")
    evidence.expect(ConfigurationError, Credentials, MID, BLOWFISH.encode(), HMAC)  # not text
    env = {"AXEPTA_MERCHANT_ID": MID, "AXEPTA_BLOWFISH_KEY": BLOWFISH * 4, "AXEPTA_HMAC_KEY": HMAC}
    evidence.expect(ConfigurationError, Credentials.from_env, env)


@pytest.fixture(scope="module")
def flows() -> tuple[Evidence, list[logging.LogRecord]]:
    """Every flow once for the module, every log record at DEBUG (all loggers) kept."""
    root = logging.getLogger()
    handler, level = _Records(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        evidence = asyncio.run(_flows(Credentials(MID, BLOWFISH, HMAC)))
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    return evidence, handler.records


async def _flows(merchant: Credentials) -> Evidence:
    evidence = Evidence()
    shop = _shop(merchant, evidence)
    with Simulator(merchant, time_factor=1e-7, seed=1, notify_transport=shop, pending_timeout_minutes=1e9) as sim:
        _recording(sim, evidence, merchant)
        # in-process: the sync and the async client
        with httpx.Client(transport=sim.transport()) as http, AxeptaClient(merchant, http_client=http, retry_backoff=0) as client:
            _sync_flow(client, sim, evidence)
        async with httpx.AsyncClient(transport=sim.transport()) as ahttp, AsyncAxeptaClient(merchant, http_client=ahttp) as aclient:
            await _async_flow(aclient, sim, evidence)
        # over loopback HTTP with the clients' own pools; a timeout and a refused connection
        with SimulatorServer(sim) as server:
            evidence.objects += [server, sim, sim.transport(), sim.faults, sim.notifier]
            with AxeptaClient(merchant, base_url=server.url, browser_base_url=server.url, retry_backoff=0) as client:
                _sync_flow(client, sim, evidence)
                order = client.create_paypal_order(trans_id="L-1", amount=5000, currency="EUR", order_desc="x", **URLS)
                # the buyer approves through cbPayPal.aspx (a stdlib "browser": the redirect it gets
                # carries the result's Data, and the test's own HTTP logs are not the library's)
                approve = client.paypal_button_params(trans_id="L-1", amount=5000, currency="EUR", order_desc="x", **URLS)
                browser = HTTPConnection(server.host, server.port, timeout=5)
                browser.request("GET", approve.approve_url(str(order.pay_id), str(order.order_id)).removeprefix(server.url[:-1]))
                assert browser.getresponse().status == 302
                browser.close()
                sim.faults.latency(0.1, path="credit", count=1)
                with AxeptaClient(merchant, base_url=server.url, timeout=httpx.Timeout(5, read=0.02)) as slow:
                    evidence.expect(TransportError, slow.credit, pay_id=order.pay_id, trans_id="L-1", amount=100, currency="EUR")
            async with AsyncAxeptaClient(merchant, base_url=server.url, browser_base_url=server.url) as aclient:
                await _async_flow(aclient, sim, evidence)
        url = f"http://127.0.0.1:{free_port()}/"
        with AxeptaClient(merchant, base_url=url, retry_backoff=0, max_retries=1) as refused:
            evidence.expect(TransportError, refused.capture, pay_id="a" * 32, trans_id="C-1", amount=1000, currency="EUR")
        assert sim.wait_for_notifications(5)
        evidence.objects += list(sim.deliveries)
        genuine = next(d.body.decode("ascii") for d in sim.deliveries)
    _untrusted_replies(merchant, evidence)
    _notification_rejections(merchant, evidence, genuine)
    _bad_configuration(evidence)
    evidence.objects += [merchant, merchant.codec, parse_ipn(b"txn_id=1&payment_status=Completed&mc_gross=1.00")]
    return evidence


def _settings(merchant: Credentials) -> Settings:
    return Settings(
        source="environment", profile=None, config_path=Path("/nonexistent/config.toml"), merchant_id=MID,
        blowfish_key=SecretStr(BLOWFISH), hmac_key=SecretStr(HMAC), charset="iso-8859-1",
        declared_environment=None, base_url="https://paymentpage.axepta.bnpparibas/", base_url_source="default",
    )  # fmt: skip


def _texts(obj: object) -> list[str]:
    return [repr(obj), str(obj), format(obj, "")]


def test_flows_really_ran(flows: tuple[Evidence, list[logging.LogRecord]]) -> None:
    """The evidence is rich enough for the checks below to mean something."""
    evidence, records = flows
    assert len(evidence.wire) > 150 and len(evidence.errors) >= 25 and len(evidence.objects) > 60
    assert any(r.name == "axepta.client" for r in records) and any(r.name == "axepta.simulator" for r in records)
    assert any(r.name.startswith(("httpx", "httpcore")) for r in records)
    assert {type(e).__name__ for e in evidence.errors} >= {
        "GatewayError", "GatewayAuthenticationError", "TransportError", "SignatureError", "ProtocolError",
        "NotificationError", "ConfigurationError",
    }  # fmt: skip


def test_no_key_data_mac_or_plaintext_in_any_log_record(flows: tuple[Evidence, list[logging.LogRecord]]) -> None:
    evidence, records = flows
    for record in records:
        text = f"{record.name} {record.getMessage()} {record.args!r} {record.__dict__!r}"
        if record.exc_info:
            text += "".join(traceback.format_exception(*record.exc_info))
        assert_no_secret(text, f"log record {record.name}: {record.getMessage()[:80]}")
        for value in evidence.wire:
            assert value not in text, f"Data, a MAC or plaintext logged by {record.name}: {record.getMessage()[:120]}"


def test_no_key_in_repr_str_or_pickle_of_any_object(flows: tuple[Evidence, list[logging.LogRecord]], merchant: Credentials) -> None:
    evidence, _ = flows
    objects = [*evidence.objects, _settings(merchant)]
    for obj in objects:
        for text in _texts(obj):
            assert_no_secret(text, f"repr/str of {type(obj).__name__}")
        try:
            data = pickle.dumps(obj)
        except (TypeError, pickle.PicklingError, AttributeError):
            continue  # refusing to pickle is fine
        assert_no_secret(data, f"the pickle of {type(obj).__name__}")


def test_objects_that_hold_keys_refuse_to_be_pickled(merchant: Credentials) -> None:
    with AxeptaClient(merchant) as client, Simulator(merchant) as sim:
        for holder in (merchant, merchant.codec, client, client.core, sim, _settings(merchant)):
            with pytest.raises((TypeError, pickle.PicklingError)):
                pickle.dumps(holder)


def test_no_key_data_or_mac_in_any_exception(flows: tuple[Evidence, list[logging.LogRecord]]) -> None:
    evidence, _ = flows
    for error in evidence.errors:
        chain = "".join(traceback.format_exception(error))  # message, args, causes and contexts
        texts = [*_texts(error), repr(error.args), chain]
        if isinstance(error, AxeptaError):
            revived = pickle.loads(pickle.dumps(error))  # errors cross process boundaries intact
            assert type(revived) is type(error) and str(revived) == str(error)
            texts += [repr(revived.__dict__), repr(vars(error))]
        for text in texts:
            assert_no_secret(text, f"{type(error).__name__}: {str(error)[:80]}")
            for value in evidence.wire:
                assert value not in text, f"Data, a MAC or plaintext in {type(error).__name__}: {str(error)[:120]}"


def test_the_secret_spellings_are_what_a_leak_would_look_like(merchant: Credentials) -> None:
    """The checks above would see a key: in a repr, a pickle and a log line."""
    leaky = f"blowfish={merchant.blowfish_key.get_secret_value()}"
    with pytest.raises(AssertionError):
        assert_no_secret(leaky)
    with pytest.raises(AssertionError):
        assert_no_secret(pickle.dumps(SecretStr(HMAC)))
    with pytest.raises(AssertionError):
        assert_no_secret(merchant.hmac_key_bytes().hex())
    assert len(SECRETS) == 8
