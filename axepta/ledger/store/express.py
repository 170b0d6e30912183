"""The express lane of a notification on PostgreSQL: two round trips instead of ten.

The general unit (``BEGIN``, the payment locked, the message, the payment, its transition, its
event, its ids, ``COMMIT``) costs ten round trips and about 2.8 ms of client CPU through
SQLAlchemy; the common case of a notification (a new result that moves a payment) needs two:

1. :func:`read` (autocommit): the payment by its MAC-bound ``TransID``, whether the message's
   key is already stored, and two ids drawn from the sequences of messages and transitions;
2. :func:`write` (autocommit, so one statement is one transaction): writable CTEs that update
   the payment *only if* it still holds what was read (every column the decision read), and,
   chained on that update's ``RETURNING``, insert the message, the transition, the events and
   the PayPal ids. Either all of it is written or none of it.

When the payment changed in between (the guard matches no row), or another delivery stored the
same key first (the message's unique index raises), or the PayID learnt is another payment's,
nothing is written and :func:`write` returns ``False``: the caller then runs the general unit,
which decides again under the row lock. Money is decided by the same pure state machine either
way; this module only carries values.

Statements go straight to psycopg (the connection the store keeps for the thread, switched to
autocommit for the duration); psycopg prepares them on the server after a few executions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from axepta.ledger.store.schema import PAYMENTS

__all__ = ["Found", "read", "write"]

_PAYMENT_COLUMNS = tuple(c.name for c in PAYMENTS.columns)
_TIMES = ("created_at", "updated_at")

#: every column a notification's decision reads (the guard of ``_WRITE`` names each) (the state machine's books, the PayID check,
#: the fact's inputs), and ``updated_at``: the write happens only if none of them changed
GUARD = (
    "state", "amount", "amount_authorized", "amount_captured", "amount_refunded", "charged_back",
    "capture", "tx_type", "paypal_method", "pay_id", "updated_at",
)  # fmt: skip

_READ = """
SELECT p.*,
       EXISTS (SELECT 1 FROM axepta_messages m
               WHERE m.merchant_id = %(merchant_id)s AND m.source = 'axepta' AND m.dedup_key = %(key)s) AS seen_,
       nextval(pg_get_serial_sequence('axepta_messages', 'id')) AS message_id_,
       nextval(pg_get_serial_sequence('axepta_transitions', 'id')) AS transition_id_
FROM axepta_payments p
WHERE p.merchant_id = %(merchant_id)s AND p.trans_id = %(trans_id)s
"""

_WRITE = """
WITH p AS (
    UPDATE axepta_payments
    SET state = %(state)s, amount_authorized = %(amount_authorized)s, amount_captured = %(amount_captured)s,
        amount_refunded = %(amount_refunded)s, charged_back = %(charged_back)s, attention = %(attention)s,
        pay_id = %(pay_id)s, updated_at = %(when)s
    WHERE id = %(payment_id)s AND state = %(was_state)s AND amount = %(was_amount)s
      AND amount_authorized = %(was_amount_authorized)s AND amount_captured = %(was_amount_captured)s
      AND amount_refunded = %(was_amount_refunded)s AND charged_back = %(was_charged_back)s
      AND updated_at = %(was_updated_at)s AND capture IS NOT DISTINCT FROM %(was_capture)s
      AND tx_type IS NOT DISTINCT FROM %(was_tx_type)s AND paypal_method IS NOT DISTINCT FROM %(was_paypal_method)s
      AND pay_id IS NOT DISTINCT FROM %(was_pay_id)s
    RETURNING id
), m AS (
    INSERT INTO axepta_messages (id, merchant_id, source, dedup_key, body, verification, reason, fields,
                                 payment_id, state, attempts, received_at, updated_at)
    SELECT %(message_id)s, %(merchant_id)s, 'axepta', %(key)s, %(body)s, 'authenticated', %(note)s, %(fields)s,
           p.id, %(outcome)s, 1, %(when)s, %(when)s
    FROM p
    RETURNING id
), t AS (
    INSERT INTO axepta_transitions (id, payment_id, from_state, to_state, delta_authorized, delta_captured,
                                    delta_refunded, cause, message_id, note, created_at)
    SELECT %(transition_id)s, %(payment_id)s, %(was_state)s, %(state)s, %(delta_authorized)s, %(delta_captured)s,
           %(delta_refunded)s, 'message', m.id, %(note)s, %(when)s
    FROM m
    RETURNING id
), e AS (
    INSERT INTO axepta_events (kind, cause, payment_id, payload, state, attempts, created_at, next_attempt_at)
    SELECT k.kind, %(cause)s, %(payment_id)s, %(payload)s, 'pending', 0, %(when)s, %(when)s
    FROM t, unnest(%(kinds)s::text[]) AS k(kind)
    ON CONFLICT (kind, cause) DO NOTHING
), i AS (
    INSERT INTO axepta_payment_ids (payment_id, kind, value, source, created_at)
    SELECT %(payment_id)s, u.kind, u.value, 'notification', %(when)s
    FROM t, unnest(%(id_kinds)s::text[], %(id_values)s::text[]) AS u(kind, value)
    ON CONFLICT (payment_id, kind, value) DO NOTHING
)
SELECT count(*) FROM t
"""


@dataclass(frozen=True, slots=True)
class Found:
    """What :func:`read` found: the payment (attribute access, as a SQLAlchemy row), whether
    the message's key is stored already, and the ids the write will use."""

    payment: Any
    seen: bool
    message_id: int
    transition_id: int


class _Row:
    """A payment row read by the driver: columns as attributes."""

    __slots__ = _PAYMENT_COLUMNS

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name in _PAYMENT_COLUMNS:
            object.__setattr__(self, name, values[name])


def read(raw: Any, merchant_id: str, trans_id: str, key: str) -> Found | None:
    """The payment with this ``TransID`` of ``merchant_id`` and two fresh ids; ``None`` when the
    books hold no such payment."""
    from psycopg.rows import dict_row

    with raw.cursor(row_factory=dict_row) as cursor:
        found = cursor.execute(_READ, {"merchant_id": merchant_id, "trans_id": trans_id, "key": key}).fetchone()
    if found is None:
        return None
    for name in _TIMES:  # as the schema's UtcDateTime reads them
        found[name] = found[name].astimezone(UTC)
    return Found(_Row(found), bool(found["seen_"]), int(found["message_id_"]), int(found["transition_id_"]))


def write(
    raw: Any,
    found: Found,
    *,
    key: str,
    body: bytes,
    fields: Mapping[str, Any],
    outcome: str,
    state: str,
    deltas: tuple[int, int, int],
    charged_back: bool | None,
    note: str | None,
    pay_id: str | None,
    kinds: Sequence[str],
    payload: Mapping[str, Any],
    ids: Sequence[tuple[str, str]],
    when: datetime,
) -> bool:
    """Write a notification's message and everything it causes in one statement; ``False``
    (nothing written) when the payment changed since :func:`read`, the key was taken meanwhile
    or the PayID belongs to another payment."""
    from psycopg import errors
    from psycopg.types.json import Json

    payment = found.payment
    authorized, captured, refunded = deltas
    params: dict[str, Any] = {f"was_{name}": getattr(payment, name) for name in GUARD}
    params.update(
        payment_id=payment.id, merchant_id=payment.merchant_id, key=key, body=body, fields=Json(dict(fields)),
        outcome=outcome, note=note, state=state, when=when,
        amount_authorized=payment.amount_authorized + authorized, amount_captured=payment.amount_captured + captured,
        amount_refunded=payment.amount_refunded + refunded, delta_authorized=authorized, delta_captured=captured,
        delta_refunded=refunded, charged_back=payment.charged_back if charged_back is None else charged_back,
        attention=note or payment.attention, pay_id=pay_id or payment.pay_id,
        message_id=found.message_id, transition_id=found.transition_id, cause=f"message:{found.message_id}",
        payload=Json(dict(payload)), kinds=list(kinds),
        id_kinds=[kind for kind, _ in ids], id_values=[value for _, value in ids],
    )  # fmt: skip
    try:
        with raw.cursor() as cursor:
            written = cursor.execute(_WRITE, params).fetchone()
    except errors.UniqueViolation:
        return False  # the key (a delivery at the same moment) or the PayID is taken: nothing written
    return bool(written and written[0])
