"""``__all__`` is the sorted set of public names, and every one of them resolves."""

from __future__ import annotations

import axepta
import axepta.crypto


def test_all_is_sorted_and_complete() -> None:
    assert list(axepta.__all__) == sorted(axepta.__all__)
    for name in axepta.__all__:
        assert getattr(axepta, name) is not None


def test_crypto_all() -> None:
    assert list(axepta.crypto.__all__) == sorted(axepta.crypto.__all__)
    for name in axepta.crypto.__all__:
        assert hasattr(axepta.crypto, name)


def test_unknown_attribute() -> None:
    import pytest

    with pytest.raises(AttributeError):
        _ = axepta.NoSuchThing  # type: ignore[attr-defined]
