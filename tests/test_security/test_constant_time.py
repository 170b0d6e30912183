"""MACs are compared in constant time: every verification goes through ``hmac.compare_digest``
(its answer decides), and no ``==``/``!=`` on a MAC exists anywhere in ``axepta/``."""

from __future__ import annotations

import ast
import hmac
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from axepta import AxeptaClient, decode_notification
from axepta.credentials import Credentials
from axepta.crypto import sign, verify
from axepta.errors import NotificationError, SignatureError
from axepta.simulator import Simulator
from tests.test_security.conftest import HMAC, MID

PACKAGE = Path(__file__).resolve().parents[2] / "axepta"
URLS = {"url_success": "https://shop.example/ok", "url_failure": "https://shop.example/ko", "url_notify": "https://shop.example/notify"}


class Spy:
    """``hmac.compare_digest`` that records its calls, and can be told what to answer."""

    def __init__(self, real: Callable[[Any, Any], bool]) -> None:
        self.real = real
        self.calls: list[tuple[Any, Any]] = []
        self.answer: bool | None = None

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls.append((a, b))
        return self.real(a, b) if self.answer is None else self.answer


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    spy = Spy(hmac.compare_digest)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    return spy


def test_verify_compares_with_compare_digest(spy: Spy) -> None:
    fields = ("P" * 32, "T-1", MID, "OK", "00000000")
    good = sign(HMAC, *fields)
    assert verify(HMAC, good, *fields) and len(spy.calls) == 1
    assert good in spy.calls[0]
    assert not verify(HMAC, "0" * 64, *fields) and len(spy.calls) == 2
    assert not verify(HMAC, "not hex at all", *fields) and len(spy.calls) == 3  # same cost when malformed
    spy.answer = False  # compare_digest decides: a genuine MAC is refused when it says no ...
    assert not verify(HMAC, good, *fields)
    spy.answer = True  # ... and a wrong one accepted when it says yes: there is no other check
    assert verify(HMAC, "F" * 64, *fields)


@pytest.fixture
def genuine(merchant: Credentials) -> bytes:
    received: list[bytes] = []
    shop = httpx.MockTransport(lambda request: received.append(request.read()) or httpx.Response(200))
    with Simulator(merchant, time_factor=1e-7, seed=1, notify_transport=shop) as sim, \
            httpx.Client(transport=sim.transport()) as http, AxeptaClient(merchant, http_client=http) as client:  # fmt: skip
        sim.approve(client.create_paypal_order(trans_id="CT-1", amount=1000, currency="EUR", order_desc="x", **URLS).pay_id)
        assert sim.wait_for_notifications(5)
    return received[0]


def test_notifications_are_verified_with_compare_digest(spy: Spy, merchant: Credentials, genuine: bytes) -> None:
    spy.calls.clear()
    assert decode_notification(genuine, merchant).succeeded
    assert len(spy.calls) == 1
    spy.answer = False
    with pytest.raises(NotificationError) as caught:
        decode_notification(genuine, merchant)
    assert caught.value.reason == "mac"


def test_reply_macs_and_the_simulator_use_compare_digest(spy: Spy, merchant: Credentials) -> None:
    with Simulator(merchant, s2s_reply_mac=True, seed=2, time_factor=1e-7,
                   notify_transport=httpx.MockTransport(lambda r: httpx.Response(200))) as sim, \
            httpx.Client(transport=sim.transport()) as http, AxeptaClient(merchant, http_client=http) as client:  # fmt: skip
        order = client.create_paypal_order(trans_id="CT-2", amount=1000, currency="EUR", order_desc="x", capture="Manual", tx_type="Auth", **URLS)
        sim.approve(order.pay_id)
        spy.calls.clear()
        client.capture(pay_id=order.pay_id, trans_id="CT-2", amount=500, currency="EUR")
        assert len(spy.calls) == 2  # the platform checked the request's MAC, the client the reply's
        spy.answer = False  # both sides now see every MAC as wrong: the client refuses the reply
        with pytest.raises(SignatureError):
            client.capture(pay_id=order.pay_id, trans_id="CT-2", amount=100, currency="EUR")


# -- the source scan ------------------------------------------------------------------------

#: identifiers that hold a MAC: mac, MAC, received_mac, mac_value, macs, signature, digest
_MAC_NAME = re.compile(r"(?:^|_)macs?(?:$|_)|signature|digest", re.IGNORECASE)
_DIGEST_CALLS = frozenset({"sign", "digest", "hexdigest"})


def _mac_operand(node: ast.expr) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and _MAC_NAME.search(sub.id):
            return True
        if isinstance(sub, ast.Attribute) and _MAC_NAME.search(sub.attr):
            return True
        if isinstance(sub, ast.Call):
            func = sub.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in _DIGEST_CALLS:
                return True
    return False


def mac_equalities(source: str, filename: str = "<source>") -> list[str]:
    """Every ``==``/``!=`` (or ``is`` against something other than ``None``) with a MAC on
    either side."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
            if isinstance(op, ast.Is | ast.IsNot) and any(isinstance(o, ast.Constant) and o.value is None for o in (left, right)):
                continue
            if isinstance(op, ast.Eq | ast.NotEq | ast.Is | ast.IsNot) and (_mac_operand(left) or _mac_operand(right)):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_equality_on_a_mac_in_the_package() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 40
    found = [hit for path in files for hit in mac_equalities(path.read_text("utf-8"), str(path.relative_to(PACKAGE.parent)))]
    assert found == [], "MACs compared with ==; use hmac.compare_digest:\n" + "\n".join(found)


def test_every_mac_check_in_the_package_calls_compare_digest() -> None:
    users = sorted(
        str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py") if "compare_digest(" in p.read_text("utf-8")
    )
    # MACs in the crypto core and notify; the admin token and CSRF tokens in the admin pages' access.
    assert users == ["axepta/crypto/mac.py", "axepta/notify.py", "axepta/server/admin/auth.py"]


@pytest.mark.parametrize(
    ("snippet", "flagged"),
    [
        ("if mac == expected: pass", True),
        ("ok = received_mac != sign(key, a, b)", True),
        ("ok = sign(key, a) == params['MAC']", True),
        ("ok = hashlib.sha256(b).hexdigest() == value", True),
        ("ok = MAC is other", True),
        ("if mac is None: pass", False),
        ("if key.lower() == 'mac': pass", False),
        ("if len(key) != USUAL_HMAC_LENGTH: pass", False),
        ("ok = hmac.compare_digest(mac, expected)", False),
    ],
)
def test_the_scan_sees_what_it_must(snippet: str, flagged: bool) -> None:
    assert bool(mac_equalities(snippet)) is flagged
