"""The shared CLI plumbing: exit-code mapping, error payloads, the HTTP client seam, settings
defaults and shell completion."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from axepta.cli import _common, app
from axepta.cli.config import DEFAULT_BASE_URL
from axepta.errors import (
    AxeptaError,
    ConfigurationError,
    CryptoError,
    GatewayError,
    InvalidRequestError,
    NotificationError,
    ProtocolError,
    SignatureError,
    TransportError,
)
from axepta.protocol import AXEPTA_BASE_URL, GatewayAuthenticationError


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (TransportError("t", req_id="R"), 4),
        (ConfigurationError("c"), 3),
        (GatewayAuthenticationError("a", code="20120044"), 3),
        (InvalidRequestError("i"), 2),
        (_common.UsageFailure("u"), 2),
        (GatewayError("g", code="21500061"), 1),
        (NotificationError("n"), 1),
        (SignatureError("s"), 1),
        (ProtocolError("p"), 1),
        (CryptoError("x"), 1),
        (_common.NotConfirmed("no"), 1),
        (AxeptaError("other"), 1),
    ],
)
def test_exit_code_for(exc: AxeptaError, code: int) -> None:
    assert _common.exit_code_for(exc) == code


def test_error_payload_explains_any_code_and_keeps_retry_command() -> None:
    exc = GatewayAuthenticationError("auth", code="20120044", req_id="abc")
    payload = _common.error_payload(exc)
    assert payload["advice"].startswith("the platform could not authenticate")
    assert payload["req_id"] == "abc" and payload["type"] == "GatewayAuthenticationError"
    err = TransportError("down", req_id="R1", sent=True, operation="capture")
    err.retry_command = "axepta capture X --req-id R1"  # type: ignore[attr-defined]
    payload = _common.error_payload(err)
    assert payload["retry_command"] == "axepta capture X --req-id R1"
    assert payload["sent"] is True and payload["operation"] == "capture"
    assert "explanation" not in _common.error_payload(GatewayError("bad", code="??"))


def test_report_error_prints_markup_literally(capsys: pytest.CaptureFixture[str]) -> None:
    code = _common.report_error(ProtocolError("reply [bold]x[/bold] refused"), as_json=False)
    assert code == 1
    assert "reply [bold]x[/bold] refused" in capsys.readouterr().err


def test_http_client_defaults() -> None:
    with _common.make_http_client() as http:
        assert http.follow_redirects is False
        assert (http.timeout.connect, http.timeout.read, http.timeout.pool) == (5, 30, 45)


def test_default_base_url_is_the_clients() -> None:
    assert DEFAULT_BASE_URL == AXEPTA_BASE_URL


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("axepta cap", "1", ["capture"]),
        ("axepta cre", "1", ["credit", "credit-ex"]),
        ("axepta order --capture ", "3", ["Auto", "Manual"]),
        ("axepta capture --re", "2", ["--ref-nr", "--req-id"]),
        ("axepta config ", "2", ["show", "check"]),
    ],
)
def test_shell_completion(runner: CliRunner, words: str, cword: str, expected: list[str]) -> None:
    res = runner.invoke(
        app, [], prog_name="axepta", env={"_AXEPTA_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    )
    assert res.exit_code == 0
    assert res.stdout.split() == expected


def test_show_completion_script(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--show-completion"], prog_name="axepta")
    assert res.exit_code == 0
    assert "_AXEPTA_COMPLETE=complete_" in res.stdout
