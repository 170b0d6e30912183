"""Helpers of the receiving tests: payments written straight into the books (as the journal
would), genuine notifications for them, IPN through the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.ledger.store import queries
from tests.conftest import DEMO_MID
from tests.test_notify._support import genuine_body

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SHOP = "shop@example.com"


def add_payment(
    ledger: Ledger, trans_id: str, *, pay_id: str | None = None, amount: int = 1234, capture: str = "Auto",
    tx_type: str | None = None, state: str = "created", kind: str = "order", merchant_id: str = DEMO_MID,
    ids: dict[str, str] | None = None, **extra: Any,
) -> int:
    """A payment as the journal records it before ``paypalorders`` leaves (``ids``: PayPal ids
    the books hold, kind → value, source ``reply``)."""
    values: dict[str, Any] = {
        "merchant_id": merchant_id, "kind": kind, "trans_id": trans_id, "pay_id": pay_id, "amount": amount,
        "currency": "EUR", "capture": capture, "tx_type": tx_type, "state": state, "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(extra)
    with ledger.store.write() as conn:
        payment_id = queries.insert_payment(conn, values)
        for kind_, value in (ids or {}).items():
            queries.add_payment_id(conn, payment_id, kind_, value, "reply", NOW)
    return payment_id


def result(trans_id: str, pay_id: str, *, status: str = "OK", code: str = "00000000",
           creds: Credentials | None = None, **overrides: str | None) -> bytes:
    """A genuine result body for ``trans_id``/``pay_id``."""
    return genuine_body(creds, TransID=trans_id, PayID=pay_id, Status=status, Code=code, **overrides)
