"""``Key=Value&…`` plaintexts: building them (D1) and reading them (D2)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping

from axepta.errors import InvalidRequestError, ProtocolError

__all__ = ["CRITICAL_KEYS", "Params", "encode_params", "parse_params"]

logger = logging.getLogger("axepta.crypto")

#: Keys that must not occur twice in one message (D2): a duplicate is an error.
CRITICAL_KEYS = frozenset(
    k.lower() for k in ("mid", "MerchantID", "PayID", "TransID", "Status", "Code", "MAC", "Len", "Data")
)


def encode_params(params: Mapping[str, object]) -> str:
    """Join ``params`` as ``Key=Value&…`` in the given order, values *not* URL-encoded.

    ``None`` values are omitted. ``&`` in a key or value, ``=`` in a key, or an empty key raise
    :class:`~axepta.errors.InvalidRequestError` naming the field; ``=`` in a value is allowed
    (the platform splits each pair on its first ``=``).
    """
    parts: list[str] = []
    for key, value in params.items():
        if value is None:
            continue
        if not isinstance(key, str) or not key:
            raise InvalidRequestError(f"field name {key!r} is empty or not text", field=str(key))
        if "&" in key or "=" in key:
            raise InvalidRequestError(
                f"field name {key!r} must not contain '&' or '='", field=key, rule="no & or = in a name"
            )
        text = value if isinstance(value, str) else str(value)
        if "&" in text:
            raise InvalidRequestError(
                f"{key}: value must not contain '&' (it would split the message)", field=key, rule="no &"
            )
        parts.append(f"{key}={text}")
    return "&".join(parts)


class Params(Mapping[str, str]):
    """A read-only mapping of a parsed message with case-insensitive keys.

    Iteration yields the keys in their original spelling and order; unknown keys are kept.
    ``params["payid"]`` and ``params["PayID"]`` are the same entry.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        if items:
            for key, value in items.items():
                self._items.setdefault(key.lower(), (key, value))

    @classmethod
    def _from_pairs(cls, pairs: dict[str, tuple[str, str]]) -> Params:
        obj = cls.__new__(cls)
        obj._items = pairs
        return obj

    def __getitem__(self, key: str) -> str:
        return self._items[key.lower()][1]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return (orig for orig, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        """``params.get("PayID")`` without raising and catching ``KeyError`` (Mapping's way)."""
        item = self._items.get(key.lower())
        return default if item is None else item[1]

    def get_any(self, *keys: str) -> str | None:
        """The value of the first of ``keys`` present (e.g. ``get_any("mid", "MerchantID")``)."""
        for key in keys:
            item = self._items.get(key.lower())
            if item is not None:
                return item[1]
        return None

    def original_key(self, key: str) -> str:
        """The spelling the message used for ``key``."""
        return self._items[key.lower()][0]

    def merged(self, other: Mapping[str, str]) -> Params:
        """A new ``Params`` where the entries of ``other`` win over ours (encrypted over clear)."""
        pairs = dict(self._items)
        for key in other:
            pairs[key.lower()] = (key, other[key])
        return Params._from_pairs(pairs)

    def folded(self) -> Mapping[str, tuple[str, str]]:
        """The entries by lower-case key, each ``(original spelling, value)``; read only."""
        return self._items

    def to_dict(self) -> dict[str, str]:
        """A plain ``dict`` with the original spellings."""
        return dict(self._items.values())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.to_dict() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Params({list(self)!r})"


def parse_params(text: str) -> Params:
    """Parse ``Key=Value&…`` (D2): split on ``&``, then on the first ``=``; empty segments are
    skipped; values are not percent-decoded; the first of two equal keys wins (one WARNING per
    message on ``axepta.crypto``, naming the repeated fields, bounded and printable), except
    for the keys in :data:`CRITICAL_KEYS`, whose duplicate raises
    :class:`~axepta.errors.ProtocolError`.
    """
    parts = [segment.partition("=") for segment in text.split("&") if segment]
    pairs = {key.lower(): (key, value) for key, _, value in parts}
    if len(pairs) == len(parts):
        return Params._from_pairs(pairs)  # no key twice (the usual case)
    pairs = {}
    repeated: dict[str, str] = {}
    for segment in text.split("&"):
        if not segment:
            continue
        key, _, value = segment.partition("=")
        low = key.lower()
        if low in pairs:
            if low in CRITICAL_KEYS:
                raise ProtocolError(f"the key {_shown(key)!r} occurs twice in one message")
            repeated.setdefault(low, key)
            continue
        pairs[low] = (key, value)
    if repeated:
        names = ", ".join(repr(_shown(k)) for k in list(repeated.values())[:_MAX_NAMES_LOGGED])
        more = f" and {len(repeated) - _MAX_NAMES_LOGGED} more" if len(repeated) > _MAX_NAMES_LOGGED else ""
        logger.warning("repeated field %s%s in one message: first occurrence kept (D2)", names, more)
    return Params._from_pairs(pairs)


_MAX_NAMES_LOGGED = 5


def _shown(name: str, limit: int = 40) -> str:
    """A field name from a peer, fit for a log line or an error: unprintable characters replaced
    by ``?``, at most ``limit`` characters."""
    text = name[: limit + 1]
    text = text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[:limit] + "…"
