from __future__ import annotations

import pytest

from axepta.codes import classify, explain


def test_explain_overcapture() -> None:
    info = explain("21500067")
    assert (info.status, info.module, info.detail) == ("2", "150", "0067")
    assert info.module_text == "PayPal"
    assert info.detail_text == "Overcapture"
    assert info.outcome == "failed"
    assert "115%" in (info.advice or "")


def test_mac_codes_have_advice() -> None:
    assert "HMAC key and the merchant ID" in (explain("20120044").advice or "")
    assert "MAC" in explain("20100044").summary


@pytest.mark.parametrize(
    ("code", "outcome"),
    [("00000000", "success"), ("00000001", "review"), ("21500067", "failed"), ("41500000", "fatal"), ("60000000", "pending"), ("2294014B", "failed"), ("123", "invalid"), ("abcdefgh", "failed")],
)
def test_classify(code: str, outcome: str) -> None:
    assert classify(code) == outcome


def test_malformed_code() -> None:
    with pytest.raises(ValueError, match="not an 8-character response code"):
        explain("2150006")
