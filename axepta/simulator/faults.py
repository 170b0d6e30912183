"""Fault injection for tests and load tests: latency, dropped connections (before or after the
platform acted), 5xx answers, forced declines, duplicate and out-of-order notifications.

Every request rule applies to one endpoint (``path``: the last path segment, case-insensitive,
with or without ``.aspx`` — ``"capture"``, ``"capture.aspx"``, ``"paypalorders"``) or to every
endpoint (``path=None``), for the next ``count`` matching requests (``None``: until removed).
Rules are consumed in the order they were added; several may apply to one request (a latency
and a drop, say).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from axepta.simulator.notifier import Notifier

__all__ = ["FaultPlan", "FaultRule", "Faults", "endpoint_name"]

FaultKind = Literal["latency", "drop", "http_error", "decline"]


def endpoint_name(path: str) -> str:
    """``/ExternalServices/paypalorders.aspx`` → ``paypalorders``."""
    last = path.rstrip("/").rsplit("/", 1)[-1].lower()
    return last[:-5] if last.endswith(".aspx") else last


@dataclass(slots=True)
class FaultRule:
    """One rule; ``remaining`` counts down to 0 (then the rule is gone), ``None`` = forever."""

    kind: FaultKind
    path: str | None
    remaining: int | None
    seconds: float = 0.0
    status_code: int = 503
    after_acting: bool = False
    error: Literal["read", "protocol"] = "read"
    code: str = ""

    def matches(self, endpoint: str) -> bool:
        return self.path is None or endpoint_name(self.path) == endpoint


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to do to one request, decided before it is handled.

    ``latency`` seconds first; then ``http_error`` (a status code) answered before acting
    unless ``error_after_acting``; ``drop`` closes the connection without an answer — after the
    platform acted when ``drop_after_acting`` (the client cannot know the outcome), before it
    otherwise; ``decline`` answers that code instead of acting."""

    latency: float = 0.0
    http_error: int | None = None
    error_after_acting: bool = False
    drop: Literal["read", "protocol"] | None = None
    drop_after_acting: bool = True
    decline: str | None = None


_NO_FAULT = FaultPlan()


class Faults:
    """The simulator's fault rules (thread-safe). Reach it as ``simulator.faults``."""

    def __init__(self, notifier: Notifier | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._notifier = notifier

    def _add(self, rule: FaultRule) -> FaultRule:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError("count must be at least 1 (or None for every request)")
        with self._lock:
            self._rules.append(rule)
        return rule

    def latency(self, seconds: float, *, path: str | None = None, count: int | None = None) -> FaultRule:
        """Delay matching requests by ``seconds`` before they are handled."""
        if seconds < 0:
            raise ValueError("latency must be >= 0 seconds")
        return self._add(FaultRule("latency", path, count, seconds=seconds))

    def drop_connection(
        self,
        *,
        path: str | None = None,
        count: int | None = 1,
        after_acting: bool = True,
        error: Literal["read", "protocol"] = "read",
    ) -> FaultRule:
        """Close the connection without an answer. With ``after_acting`` (the default) the
        platform has acted (state changed, ReqId recorded) and the client cannot know it. The
        in-process transport raises ``httpx.ReadError`` (``error="read"``) or
        ``httpx.RemoteProtocolError`` (``"protocol"``); the HTTP server closes the socket."""
        return self._add(FaultRule("drop", path, count, after_acting=after_acting, error=error))

    def server_error(
        self,
        status_code: int = 503,
        *,
        path: str | None = None,
        count: int | None = 1,
        after_acting: bool = False,
    ) -> FaultRule:
        """Answer ``status_code`` (5xx) with an HTML body; before acting unless ``after_acting``."""
        if not 500 <= status_code <= 599:
            raise ValueError("server_error needs a 5xx status code")
        return self._add(FaultRule("http_error", path, count, status_code=status_code, after_acting=after_acting))

    def decline(self, code: str, *, path: str | None = None, count: int | None = 1) -> FaultRule:
        """Refuse matching S2S requests with ``code`` (``Status=FAILED``) without acting; the
        request is still authenticated and validated first."""
        if len(code) != 8 or not code.isalnum() or code == "00000000":
            raise ValueError("decline needs an 8-character error code")
        return self._add(FaultRule("decline", path, count, code=code.upper()))

    def duplicate_notifications(self, count: int = 1) -> None:
        """Post each of the next ``count`` notifications twice."""
        self._require_notifier().duplicate_next(count)

    def reorder_notifications(self, count: int = 2) -> None:
        """Hold the next ``count`` notifications and post them newest first."""
        self._require_notifier().reorder_next(count)

    def _require_notifier(self) -> Notifier:
        if self._notifier is None:
            raise RuntimeError("these faults belong to a simulator's notifier")
        return self._notifier

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        """Remove every request rule."""
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def plan(self, path: str) -> FaultPlan:
        """Consume the rules that match ``path`` and say what to do to this request."""
        endpoint = endpoint_name(path)
        with self._lock:
            if not self._rules:
                return _NO_FAULT
            latency = 0.0
            http_error: int | None = None
            error_after = False
            drop: Literal["read", "protocol"] | None = None
            drop_after = True
            decline: str | None = None
            for rule in list(self._rules):
                if not rule.matches(endpoint):
                    continue
                if rule.kind == "latency":
                    latency += rule.seconds
                elif rule.kind == "http_error" and http_error is None and drop is None:
                    http_error, error_after = rule.status_code, rule.after_acting
                elif rule.kind == "drop" and drop is None and http_error is None:
                    drop, drop_after = rule.error, rule.after_acting
                elif rule.kind == "decline" and decline is None:
                    decline = rule.code
                else:
                    continue
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
        return FaultPlan(latency, http_error, error_after, drop, drop_after, decline)
