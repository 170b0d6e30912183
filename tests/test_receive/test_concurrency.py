"""The concurrency proof (issue 16.7), on PostgreSQL:

* ``axepta serve --workers 4`` receives each genuine notification 5 times from 16 threads, late
  FAILED results, forged and spliced ones, unknown TransIDs, and IPN top-ups 3 times each: every
  payment and balance ends right, exactly one event per fact;
* a worker killed (SIGKILL) while holding a claimed IPN message or a claimed event: another
  worker finishes it once the lease expires.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from axepta.ledger import Ledger
from axepta.ledger.outbox import RetryPolicy
from axepta.simulator.ipn_standin import IpnStandIn, build_ipn
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_notify._support import encrypt, with_mac
from tests.test_receive._support import SHOP, add_payment, result

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ENV = {"AXEPTA_MERCHANT_ID": DEMO_MID, "AXEPTA_BLOWFISH_KEY": DEMO_BLOWFISH, "AXEPTA_HMAC_KEY": DEMO_HMAC,
       "AXEPTA_PROFILE": "", "AXEPTA_CONFIG": "/nonexistent/axepta.toml"}
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"}


@pytest.fixture
def pg_url(postgres_server_or_none: Any, books_templates: dict[str, str], request: pytest.FixtureRequest) -> str:
    if postgres_server_or_none is None:
        from tests.conftest import _postgres_unavailable

        _postgres_unavailable("the server did not start")
    url: str = postgres_server_or_none.create_database(template=books_templates["postgresql"])
    return url


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, **ENV, "AXEPTA_DATABASE_URL": url, "COLUMNS": "200", **extra}


@pytest.fixture
def standin() -> Iterator[IpnStandIn]:
    with IpnStandIn() as s:
        yield s


@pytest.fixture
def served(pg_url: str, standin: IpnStandIn) -> Iterator[str]:
    """``axepta serve --workers 4`` on a free port; yields its base URL; SIGTERM at the end."""
    port = _free_port()
    command = [sys.executable, "-m", "axepta", "serve", "--port", str(port), "--workers", "4",
               "--paypal-receiver", SHOP, "--ipn-verify-url", standin.verify_url, "--interval", "0.2"]
    process = subprocess.Popen(command, env=_env(pg_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"axepta serve did not start: {process.communicate(timeout=5)}")
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            out, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        for secret in (DEMO_BLOWFISH, DEMO_HMAC):
            assert secret not in out and secret not in err


def _forged(trans_id: str, pay_id: str) -> bytes:
    fields = with_mac({"mid": DEMO_MID, "PayID": pay_id, "TransID": trans_id, "Status": "OK", "Code": "00000000"},
                      hmac_key="a-forger-s-guess")
    data, length = encrypt("&".join(f"{k}={v}" for k, v in fields.items()))
    return f"MerchantID={DEMO_MID}&Len={length}&Data={data}".encode()


def test_serve_four_workers_receives_everything_exactly_once(pg_url: str, standin: IpnStandIn, served: str) -> None:
    with Ledger(pg_url) as ledger:
        pays = {f"C{i}": f"{i:032x}" for i in range(1, 13)}
        for trans_id in pays:
            add_payment(ledger, trans_id, amount=1000 + int(trans_id[1:]), capture="Auto")
        for account, email in (("acme", "alice@example.com"), ("bobco", "bob@example.com"), ("cara", "cara@example.com")):
            ledger.accounts.link_email(account, email)

        first: list[tuple[str, bytes, str]] = []  # (route, body, what): everything but what comes late
        late: list[tuple[str, bytes, str]] = []
        for trans_id, pay_id in pays.items():
            n = int(trans_id[1:])
            if n <= 8:
                first += [("/axepta/notify", result(trans_id, pay_id), "genuine")] * 5
                first += [("/axepta/notify", result(trans_id, pay_id, XID=f"{k:032d}", RefNr=f"SPLICE{k}"), "spliced")
                          for k in range(2)]
                if n <= 4:  # a FAILED result arriving after the OK was applied
                    late += [("/axepta/notify", result(trans_id, pay_id, status="FAILED", code="21500067"), "late")] * 5
            else:
                first += [("/axepta/notify", result(trans_id, pay_id, status="FAILED", code="21500067"), "failed")] * 5
            first += [("/axepta/notify", _forged(trans_id, pay_id), "forged")]
        first += [("/axepta/notify", result(f"UNKNOWN{k}", f"{900 + k:032x}"), "unknown") for k in range(5)]
        topups = {"alice@example.com": ["10.00", "2.50"], "bob@example.com": ["7.00"], "cara@example.com": ["1.00", "1.00"]}
        for email, amounts in topups.items():
            for k, amount in enumerate(amounts):
                body = build_ipn(payer_email=email, mc_gross=amount, receiver_email=SHOP, txn_type="send_money",
                                 txn_id=f"TOP-{email[0]}-{k}")
                standin.remember(body)
                first += [("/paypal/ipn", body, "topup")] * 3
        # PayPal refunds only what it has paid: the refund of a top-up comes after it
        refund = build_ipn(payer_email="alice@example.com", mc_gross="-2.50", receiver_email=SHOP, txn_type="send_money",
                           payment_status="Refunded", txn_id="REF-a", parent_txn_id="TOP-a-1")
        standin.remember(refund)
        late += [("/paypal/ipn", refund, "refund")] * 3
        late += [item for item in first if item[2] == "genuine"][:10]  # and some more copies of genuine ones
        random.Random(16).shuffle(first)
        random.Random(17).shuffle(late)

        def post(item: tuple[str, bytes, str]) -> tuple[str, int]:
            route, body, what = item
            headers = FORM if route == "/axepta/notify" else {"Content-Type": "application/x-www-form-urlencoded"}
            response = httpx.post(served + route, content=body, headers=headers, timeout=60)
            return what, response.status_code

        statuses: dict[str, Counter[int]] = {}
        for wave in (first, late):
            with ThreadPoolExecutor(max_workers=16) as pool:
                for what, status in pool.map(post, wave):
                    statuses.setdefault(what, Counter())[status] += 1
            _settle(ledger)
        assert statuses["genuine"] == Counter({200: 50})
        assert statuses["spliced"] == Counter({200: 16})
        assert statuses["late"] == Counter({200: 20})
        assert statuses["failed"] == Counter({200: 20})
        assert statuses["forged"] == Counter({400: 12})
        assert statuses["unknown"] == Counter({404: 5})
        assert statuses["topup"] == Counter({200: 15})
        assert statuses["refund"] == Counter({200: 3})

        for trans_id in pays:
            n = int(trans_id[1:])
            payment = ledger.payment(trans_id)
            assert payment is not None
            if n <= 8:
                assert (payment.state, payment.amount_captured) == ("captured", 1000 + n), trans_id
            else:
                assert (payment.state, payment.amount_captured) == ("failed", 0), trans_id
        events = ledger.events(limit=1000)
        per_fact = Counter((e.kind, e.trans_id or e.payload.get("txn_id")) for e in events)
        assert all(count == 1 for count in per_fact.values()), per_fact
        kinds = Counter(e.kind for e in events)
        assert kinds == Counter({"payment.captured": 8, "payment.failed": 4, "account.credited": 5, "account.debited": 1})
        assert ledger.accounts.balance("acme", "EUR") == 1000
        assert ledger.accounts.balance("bobco", "EUR") == 700
        assert ledger.accounts.balance("cara", "EUR") == 200
        states = Counter(m.state for m in ledger.messages(source="axepta", limit=1000))
        assert states["applied"] == 12 and states["rejected"] == 12 and states["unmatched"] == 5
        ipn_states = Counter(m.state for m in ledger.messages(source="ipn", limit=1000))
        assert ipn_states == Counter({"applied": 6, "duplicate": 12})
        assert Counter(m.state for m in ledger.messages(source="axepta", limit=1000) if m.dedup_key and "FAILED" in m.dedup_key)[
            "stale"] == 4


def _settle(ledger: Ledger, timeout: float = 60) -> None:
    """Wait (bounded) until the workers' background verified every stored IPN."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = [m for m in ledger.messages(source="ipn", limit=1000) if m.state in ("received", "unverified")]
        if not waiting:
            return
        time.sleep(0.2)
    raise AssertionError(f"IPN still waiting after {timeout} s: {[m.id for m in waiting]}")


_DYING_WORKER = textwrap.dedent(
    """
    import os, signal, sys
    from axepta.ledger import Ledger
    from axepta.ledger.outbox import RetryPolicy
    import axepta.ledger.receiving as receiving

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)  # killed while holding its claim

    policy = RetryPolicy(first=1, longest=1, max_attempts=3, lease=float(sys.argv[3]))
    with Ledger(sys.argv[1]) as ledger:
        if sys.argv[2] == "message":
            receiving.verify_ipn = die
            ledger.verify_ipn_messages(receivers=["shop@example.com"], policy=policy)
        else:
            ledger.on("*")(die)
            ledger.deliver_events(policy=policy)
    """
)


@pytest.mark.parametrize("held", ["message", "event"])
def test_a_killed_worker_s_claim_is_finished_by_another(pg_url: str, standin: IpnStandIn, held: str) -> None:
    with Ledger(pg_url) as ledger:
        ledger.accounts.link_email("acme", "alice@example.com")
        body = build_ipn(payer_email="alice@example.com", mc_gross="25.00", receiver_email=SHOP, txn_type="send_money")
        standin.remember(body)
        if held == "event":
            assert ledger.receive_ipn(body, receivers=[SHOP], verify_url=standin.verify_url).outcome == "applied"
        else:
            assert ledger.receive_ipn(body, receivers=[SHOP], verify=False).outcome == "stored"
        lease = 2.0
        dying = subprocess.run([sys.executable, "-c", _DYING_WORKER, pg_url, held, str(lease)], env=_env(pg_url),
                               capture_output=True, text=True, timeout=60, check=False)
        assert dying.returncode == -signal.SIGKILL, dying.stderr
        policy = RetryPolicy(first=1, longest=1, max_attempts=3, lease=lease)
        if held == "message":
            assert ledger.verify_ipn_messages(receivers=[SHOP], verify_url=standin.verify_url, policy=policy) == []
            time.sleep(lease + 0.5)
            (receipt,) = ledger.verify_ipn_messages(receivers=[SHOP], verify_url=standin.verify_url, policy=policy)
            assert receipt.outcome == "applied" and ledger.accounts.balance("acme", "EUR") == 2500
        else:
            seen: list[int] = []
            ledger.on("account.credited")(lambda e: seen.append(e.id))
            assert ledger.deliver_events(policy=policy) == 0  # still held by the dead worker
            time.sleep(lease + 0.5)
            assert ledger.deliver_events(policy=policy) == 1 and len(seen) == 1
            assert ledger.events(pending=True) == []
