"""Under concurrent load and a shuffled mix of faults, nothing is lost and no money moves twice.

Many captures run at once (async tasks, or threads for the sync client); the platform drops
connections and answers 5xx before and after acting, slowly at times. The shop does what the
protocol asks (§6.2): it fixes the ReqId before the first attempt and, on ``TransportError``,
tries again with that ReqId. At the end the platform's books hold every capture exactly once,
and its counters add up: one extra attempt per fault, one replay per fault that came after the
platform acted.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

from axepta.client import AxeptaClient
from axepta.errors import TransportError
from tests.test_faults.conftest import Client, ClientFactory, Rig, authorized

PAYMENTS = 24
CAPTURES_EACH = 3
AMOUNT = 1000


async def capture_until_known(client: Client, attempts: list[int], **kwargs: Any) -> Any:
    """The shop's side of §6.2: one ReqId, fixed before the first attempt, reused until the
    outcome is known."""
    req_id = uuid.uuid4().hex
    for attempt in range(1, 60):  # bounded: there are 36 faults in all
        try:
            if isinstance(client, AxeptaClient):  # the sync client, in a worker thread
                result = await asyncio.to_thread(client.capture, req_id=req_id, **kwargs)
            else:
                result = await client.capture(req_id=req_id, **kwargs)
        except TransportError as exc:
            if exc.req_id != req_id:
                raise AssertionError(f"the error names ReqId {exc.req_id}, not {req_id}") from exc
            continue
        attempts.append(attempt)
        return result
    raise AssertionError("no outcome after 59 attempts")


async def test_concurrent_captures_under_faults_land_exactly_once(rig: Rig, make_client: ClientFactory) -> None:
    sim = rig.sim
    client = make_client()
    trans_ids = [rig.trans_id("LOAD") for _ in range(PAYMENTS)]
    pay_ids = [await authorized(client, sim, t, amount=CAPTURES_EACH * AMOUNT) for t in trans_ids]

    rng = random.Random(8)
    kinds = ["drop-after", "drop-before", "5xx-after", "5xx-before"] * 9
    rng.shuffle(kinds)
    for kind in kinds:
        if kind.startswith("drop"):
            sim.faults.drop_connection(path="capture", after_acting=kind.endswith("after"))
        else:
            sim.faults.server_error(rng.choice([500, 502, 503, 504]), path="capture", after_acting=kind.endswith("after"))
    sim.faults.latency(0.002, path="capture", count=20)
    after = sum(1 for k in kinds if k.endswith("after"))

    attempts: list[int] = []
    semaphore = asyncio.Semaphore(16 if rig.flavour == "sync" else PAYMENTS * CAPTURES_EACH)

    async def one(pay_id: str, trans_id: str) -> Any:
        async with semaphore:
            return await capture_until_known(
                client, attempts, pay_id=pay_id, trans_id=trans_id, amount=AMOUNT, currency="EUR"
            )

    results = await asyncio.wait_for(
        asyncio.gather(*(one(p, t) for p, t in zip(pay_ids, trans_ids, strict=True) for _ in range(CAPTURES_EACH))),
        timeout=30,
    )

    assert len(results) == PAYMENTS * CAPTURES_EACH and all(r.status == "OK" for r in results)
    assert sim.faults.rules == []  # every fault was met
    for pay_id in pay_ids:
        payment = sim.payment(pay_id)
        assert len(payment.captures) == CAPTURES_EACH, "a capture was lost or made twice"
        assert payment.captured == CAPTURES_EACH * AMOUNT and payment.state == "closed"
    # each result names a distinct capture of the platform, and every capture was answered
    tids = {r.tid for r in results}
    assert tids == {c.tid for p in pay_ids for c in sim.payment(p).captures}
    ops = PAYMENTS * CAPTURES_EACH
    assert sum(attempts) == ops + len(kinds), "one extra attempt per fault, no more"
    assert rig.delta("faults:drop") + rig.delta("faults:http_error") == len(kinds)
    # requests the platform handled: every successful attempt plus those that failed after it acted
    assert rig.count("capture") == ops + after
    assert rig.delta("replays") == after, "one replay per answer lost after acting"

