"""A local Axepta gateway for PayPal: tests, demos and load tests without an account.

The simulator implements the platform's side of PROTOCOL.md independently of the client (it
uses the crypto core, the code dictionary and the field rules only), so the client can be judged
against it:

* :class:`Simulator` — the platform: every PayPal endpoint as a state machine per payment,
  the buyer's approval (:meth:`Simulator.approve`, ``cbPayPal.aspx``), URLNotify with the real
  retry schedule (compressed by ``time_factor``), ReqId replay, bounded memory.
* :class:`SimulatorTransport` — in-process ``httpx`` transport (sync and async, no sockets):
  ``httpx.Client(transport=simulator.transport())``.
* :class:`SimulatorServer` / :func:`running_simulator` — the same over loopback HTTP
  (``axepta simulator serve``).
* :class:`Faults` (``simulator.faults``) — latency, dropped connections, 5xx, forced declines,
  duplicate and out-of-order notifications.
"""

from axepta.simulator.engine import (
    DEFAULT_PAYPAL_BASE_URL,
    ApprovalRedirect,
    CaptureView,
    PaymentState,
    PaymentView,
    SimResponse,
    Simulator,
)
from axepta.simulator.faults import FaultPlan, FaultRule, Faults
from axepta.simulator.notifier import NOTIFY_RETRY_GAPS_MINUTES, Delivery, DeliveryAttempt, Notifier
from axepta.simulator.server import SimulatorServer, running_simulator
from axepta.simulator.transport import SimulatorTransport

__all__ = [
    "DEFAULT_PAYPAL_BASE_URL",
    "NOTIFY_RETRY_GAPS_MINUTES",
    "ApprovalRedirect",
    "CaptureView",
    "Delivery",
    "DeliveryAttempt",
    "FaultPlan",
    "FaultRule",
    "Faults",
    "Notifier",
    "PaymentState",
    "PaymentView",
    "SimResponse",
    "Simulator",
    "SimulatorServer",
    "SimulatorTransport",
    "running_simulator",
]
