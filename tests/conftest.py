"""Shared fixtures: demo credentials (public test keys from the vendor sample) and vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from axepta.credentials import Credentials

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"

DEMO_MID = "BNP_DEMO_AXEPTA"
DEMO_BLOWFISH = "Tc5*2D_xs7B[6E?w"
DEMO_HMAC = "4n!BmF3_?9oJ2Q*z(iD7q6[RSb5)a]A8"


def load_vectors(name: str) -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text("utf-8"))
    vectors: list[dict[str, Any]] = data["vectors"]
    return vectors


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(DEMO_MID, DEMO_BLOWFISH, DEMO_HMAC)


@pytest.fixture
def secrets() -> tuple[str, str]:
    """The two secret keys, for tests that assert they never appear in output."""
    return DEMO_BLOWFISH, DEMO_HMAC
