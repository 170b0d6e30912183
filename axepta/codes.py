"""Response codes (D12): 8 characters = status (1) + module (3) + detail (4), explained from the
dictionary of the gateway's public PHP library, with advice for the common ones."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

__all__ = ["SUCCESS", "CodeExplanation", "classify", "explain"]

SUCCESS = "00000000"
_CODE = re.compile(r"^[0-9A-Z]{8}$")

Outcome = Literal["success", "failed", "fatal", "pending", "review", "invalid"]

_ADVICE = {
    "20100044": "the request carried no MAC: this merchant enforces HMAC; check that the client sends MAC",
    "20120044": "the platform could not authenticate the request: check the HMAC key and the merchant ID",
    "21500061": "unknown PayID: check that the PayID belongs to this merchant ID and environment",
    "21500067": "overcapture: captures may total at most 115% of the authorised amount",
    "21500069": "nothing captured: there is nothing to refund on this payment (or this TID)",
    "21500072": "already captured: the order is closed",
    "21500075": "nothing authorised: authorise the order first",
    "21501519": "already reversed",
    "21501515": "duplicate request",
}


@dataclass(frozen=True, slots=True)
class CodeExplanation:
    """A response code split into its parts, each with its label, plus advice when known."""

    code: str
    status: str
    module: str
    detail: str
    status_text: str
    module_text: str
    detail_text: str
    outcome: Outcome
    advice: str | None

    @property
    def summary(self) -> str:
        """One line: ``status text / module text / detail text``."""
        return f"{self.status_text} / {self.module_text} / {self.detail_text}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "status": self.status,
            "module": self.module,
            "detail": self.detail,
            "status_text": self.status_text,
            "module_text": self.module_text,
            "detail_text": self.detail_text,
            "outcome": self.outcome,
            "summary": self.summary,
            "advice": self.advice,
        }


@lru_cache(maxsize=1)
def _dictionary() -> dict[str, dict[str, str]]:
    text = resources.files("axepta").joinpath("data/response_codes.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return {k: data[k] for k in ("status", "modules", "details")}


def classify(code: str) -> Outcome:
    """``success`` only for ``00000000``; other ``0…`` codes ``review``; ``2`` failed;
    ``4`` fatal (reconcile); ``6``/``7`` pending; anything malformed ``invalid``."""
    code = code.strip().upper()
    if not _CODE.match(code):
        return "invalid"
    if code == SUCCESS:
        return "success"
    by_status: dict[str, Outcome] = {"0": "review", "2": "failed", "4": "fatal", "6": "pending", "7": "pending"}
    return by_status.get(code[0], "failed")


def explain(code: str) -> CodeExplanation:
    """Explain an 8-character code; raises ``ValueError`` when it is not ``[0-9A-Z]{8}``."""
    norm = code.strip().upper()
    if not _CODE.match(norm):
        raise ValueError(f"{code!r} is not an 8-character response code")
    d = _dictionary()
    status, module, detail = norm[0], norm[1:4], norm[4:]
    advice = _ADVICE.get(norm)
    if advice is None and module in {"010", "011", "012", "013", "014", "015", "016"}:
        advice = "a request parameter was refused: check the format of the field named above"
    if advice is None and status == "4":
        advice = "fatal error, state uncertain: reconcile before retrying a money-moving call"
    return CodeExplanation(
        code=norm,
        status=status,
        module=module,
        detail=detail,
        status_text=d["status"].get(status, "unknown status"),
        module_text=d["modules"].get(module, "unknown module"),
        detail_text=d["details"].get(detail, "unknown detail"),
        outcome=classify(norm),
        advice=advice,
    )
