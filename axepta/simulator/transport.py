"""The simulator as an in-process ``httpx`` transport (sync and async), no sockets.

    sim = Simulator(credentials)
    client = AxeptaClient(credentials, http_client=httpx.Client(transport=sim.transport()))

Every host is answered (the client's default base URLs included); only the path matters.
Faults (:class:`~axepta.simulator.Faults`) apply here: latency (``time.sleep`` or
``asyncio.sleep``), 5xx answers, and dropped connections that raise ``httpx.ReadError`` /
``httpx.RemoteProtocolError`` — after the platform acted, when so configured.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx

from axepta.simulator.faults import FaultPlan

if TYPE_CHECKING:
    from axepta.simulator.engine import SimResponse, Simulator

__all__ = ["SimulatorTransport", "apply_plan"]

_ERROR_PAGE = b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"


def apply_plan(
    simulator: Simulator, plan: FaultPlan, method: str, path: str, query: bytes | str, body: bytes
) -> SimResponse | None:
    """Handle one request under ``plan`` (its latency already waited). ``None`` means: close
    the connection without answering."""
    from axepta.simulator.engine import SimResponse

    error = SimResponse(plan.http_error or 503, {"Content-Type": "text/html"}, _ERROR_PAGE)
    if plan.http_error is not None and not plan.error_after_acting:
        simulator.record_fault("http_error")
        return error
    if plan.drop is not None and not plan.drop_after_acting:
        simulator.record_fault("drop")
        return None
    response = simulator.handle(method, path, query, body, decline=plan.decline)
    if plan.drop is not None:
        simulator.record_fault("drop")
        return None
    if plan.http_error is not None:
        simulator.record_fault("http_error")
        return error
    return response


class SimulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers ``httpx`` requests from a :class:`~axepta.simulator.Simulator`: use it with
    ``httpx.Client(transport=…)`` or ``httpx.AsyncClient(transport=…)``."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        plan = self.simulator.faults.plan(request.url.path)
        if plan.latency:
            self.simulator.record_fault("latency")
            time.sleep(plan.latency)
        return self._finish(request, plan, body)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        plan = self.simulator.faults.plan(request.url.path)
        if plan.latency:
            self.simulator.record_fault("latency")
            await asyncio.sleep(plan.latency)
        return self._finish(request, plan, body)

    def _finish(self, request: httpx.Request, plan: FaultPlan, body: bytes) -> httpx.Response:
        answer = apply_plan(self.simulator, plan, request.method, request.url.path, request.url.query, body)
        if answer is None:
            if plan.drop == "protocol":
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
            raise httpx.ReadError("connection reset by peer (simulated)", request=request)
        return httpx.Response(
            answer.status_code, headers=dict(answer.headers), content=answer.body, request=request
        )

    def close(self) -> None:
        """Nothing to release: the simulator outlives its transports."""

    async def aclose(self) -> None:
        """Nothing to release: the simulator outlives its transports."""
