"""The books (LEDGER.md): payments, operations, transitions, messages, events and accounts,
kept in SQLite (default) or PostgreSQL. Install with ``pip install 'axepta[ledger]'``.

``Ledger(url)`` is the facade; :mod:`axepta.ledger.machine` is the pure state machine. Names are
imported lazily, so ``axepta.ledger.machine`` and ``axepta.ledger.records`` load no SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from axepta.ledger.ledger import Ledger
    from axepta.ledger.reconcile import ReconcileItem, ReconcileReport
    from axepta.ledger.records import Operation, Payment, Transition

__all__ = ["Ledger", "Operation", "Payment", "ReconcileItem", "ReconcileReport", "Transition"]

_WHERE = {
    "Ledger": "axepta.ledger.ledger",
    "ReconcileItem": "axepta.ledger.reconcile",
    "ReconcileReport": "axepta.ledger.reconcile",
    "Operation": "axepta.ledger.records",
    "Payment": "axepta.ledger.records",
    "Transition": "axepta.ledger.records",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'axepta.ledger' has no attribute {name!r}")
    return getattr(import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
