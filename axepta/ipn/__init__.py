"""PayPal IPN (Instant Payment Notification): PayPal's own channel, independent of the platform's
``URLNotify`` (PROTOCOL.md §9; seeds 002, 001, 003, 000).

The public API (stable; import it from ``axepta.ipn``, not from the modules):

* :func:`parse_ipn` (``parse``) decodes a message with its own ``charset`` and types it
  (:class:`IpnMessage`, ``message``; :class:`MassPayment`, :class:`CartItem` and
  :class:`AdaptiveTransaction` for its repeated records); it never rejects a message for a value it does not understand (unknown enumerated
  values, odd dates and malformed amounts are kept as text), since a rejected IPN is lost once
  PayPal stops resending. It raises only :class:`TypeError` for a ``str`` body and
  :class:`~axepta.errors.NotificationError` for an empty or oversized one.
  :func:`parse_ipn_date` and the open enumerations (:class:`TxnType`, :class:`PaymentStatus`, …)
  live in ``values``.
* :func:`verify_ipn` (and :func:`averify_ipn`) (``verify``) post ``cmd=_notify-validate&``
  followed by the unaltered original bytes back to PayPal and report an :class:`IpnVerification`:
  ``verified``, ``invalid`` or ``unverified`` — the last one whenever PayPal could not be asked
  (timeout, network error, non-200, unexpected answer): never process it, never drop it.
* :func:`check_ipn` (``checks``) runs the checks of §9.4 after ``VERIFIED`` (receiver,
  environment, amount, currency) and returns an :class:`IpnCheck`.
* :func:`ipn_decision` and :func:`status_rank` (``dedup``) de-duplicate on (``txn_id``,
  ``payment_status``) — per record (``masspay_txn_id_x``, ``status_x``) for Mass Pay — without
  letting a late message move a payment backwards; :class:`IpnDeduplicator` applies them in
  memory (tests, one-process listeners; it is not the books).
"""

from __future__ import annotations

from axepta.ipn.checks import IpnCheck, IpnProblem, check_ipn
from axepta.ipn.dedup import IpnDecision, IpnDeduplicator, ipn_decision, status_rank
from axepta.ipn.message import AdaptiveTransaction, CartItem, IpnMessage, MassPayment
from axepta.ipn.parse import MAX_IPN_BYTES, parse_ipn
from axepta.ipn.values import (
    CaseType,
    MassPayStatus,
    PaymentStatus,
    PendingReason,
    ReasonCode,
    TxnType,
    parse_ipn_date,
)
from axepta.ipn.verify import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    IPN_LIVE_URL,
    IPN_SANDBOX_URL,
    USER_AGENT,
    IpnVerification,
    averify_ipn,
    postback_body,
    verification_url,
    verify_ipn,
)

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "IPN_LIVE_URL",
    "IPN_SANDBOX_URL",
    "MAX_IPN_BYTES",
    "USER_AGENT",
    "AdaptiveTransaction",
    "CartItem",
    "CaseType",
    "IpnCheck",
    "IpnDecision",
    "IpnDeduplicator",
    "IpnMessage",
    "IpnProblem",
    "IpnVerification",
    "MassPayStatus",
    "MassPayment",
    "PaymentStatus",
    "PendingReason",
    "ReasonCode",
    "TxnType",
    "averify_ipn",
    "check_ipn",
    "ipn_decision",
    "parse_ipn",
    "parse_ipn_date",
    "postback_body",
    "status_rank",
    "verification_url",
    "verify_ipn",
]
