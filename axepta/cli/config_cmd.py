"""``axepta config``: show the settings in use (secrets masked) and check them, optionally with
a harmless call to the gateway.

The online probe
----------------
``config check --online`` must prove that the gateway is reachable and, as far as possible, that
it accepts these credentials, without any chance of moving money. It posts to ``capture.aspx`` a
request encrypted with the configured Blowfish key and signed with the configured HMAC key that
carries only ``MerchantID`` and a ``TransID`` — no ``PayID``, no ``Amount``, no ``Currency``.
Without a ``PayID`` there is no payment a capture could act on, so the gateway can only refuse;
the code it refuses with tells how far the request got:

* a parameter code (``PayID`` missing, …): the gateway decrypted the request and accepted its
  MAC, so merchant ID, Blowfish key and HMAC key are right;
* ``…0044`` (MAC): the HMAC key or the merchant ID is wrong (20120044) or the request could not
  be read (20100044);
* module ``001`` or ``Data``/``Len`` details: the Blowfish key is wrong;
* ``MerchantID`` details or module ``050``: the merchant ID is unknown or not configured.

A capture of an invented PayID would not be harmless (it names a payment), an empty or invalid
``Data`` would prove reachability only, and ``paypalorders`` would create an order.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import typer

from axepta import __version__
from axepta.cli import _common
from axepta.cli._common import EXIT_CONFIG, EXIT_NETWORK, EXIT_OK, emit_json, state, stdout
from axepta.cli.config import (
    KNOWN_TEST_MERCHANT_IDS,
    Settings,
    check_base_url,
    check_environment,
    load_settings,
    profile_names,
)
from axepta.codes import explain
from axepta.credentials import Credentials
from axepta.crypto import encode_params, parse_params, sign
from axepta.crypto.codec import _key_bytes, _normalise_charset
from axepta.errors import ConfigurationError, CryptoError
from axepta.fields import check_format, is_loopback_host

app = typer.Typer(help="Show and check the configuration (credentials, environment, base URL).", no_args_is_help=True)

Verdict = Literal["ok", "warn", "fail"]

MASK = "********"
#: Hosts of the gateway (PROTOCOL.md §3.4); anything else gets a warning, not a failure.
KNOWN_HOSTS = frozenset(
    {"paymentpage.axepta.bnpparibas", "epayment.axepta.bnpparibas", "www.computop-paygate.com"}
)
#: The path the probe posts to, and the TransID it sends (no PayID, no amount: see above).
PROBE_PATH = "capture.aspx"
PROBE_TRANS_ID = "axepta-config-check"
#: Lengths of the keys the gateway issues; other lengths are worth a second look.
USUAL_BLOWFISH_LENGTH = 16
USUAL_HMAC_LENGTH = 32


def masked(secret: str | None) -> dict[str, Any] | None:
    """A secret as shown to people: a fixed mask and its length, nothing of its value."""
    if secret is None:
        return None
    return {"value": MASK, "length": len(secret)}


def _masked_text(secret: str | None) -> str:
    return "(not set)" if secret is None else f"{MASK} ({len(secret)} characters)"


# ---------------------------------------------------------------------------------------------
# config show


def _secret_value(settings: Settings, name: Literal["blowfish_key", "hmac_key"]) -> str | None:
    value = getattr(settings, name)
    return None if value is None else str(value.get_secret_value())


@app.command("show")
def show_cmd(ctx: typer.Context) -> None:
    """Show the settings in use and where they come from (keys masked).

    Keys are shown as ******** and their length, nothing of their value. Settings come from --profile (config file) or the AXEPTA_* environment variables; --base-url wins over both.
    """
    settings = load_settings(ctx)
    path = settings.config_path
    bf = _secret_value(settings, "blowfish_key")
    hk = _secret_value(settings, "hmac_key")
    env = settings.environment if settings.merchant_id else settings.declared_environment
    data: dict[str, Any] = {
        "source": settings.source,
        "profile": settings.profile,
        "config_path": str(path),
        "config_exists": path.is_file(),
        "profiles": profile_names(),
        "merchant_id": settings.merchant_id,
        "blowfish_key": masked(bf),
        "hmac_key": masked(hk),
        "charset": settings.charset,
        "environment": env,
        "environment_source": settings.environment_source,
        "base_url": settings.base_url,
        "base_url_source": settings.base_url_source,
        "browser_base_url": settings.browser_base_url,
        "test_merchant_ids": sorted(settings.test_merchant_ids),
        "small_amounts_enabled": settings.small_amounts_enabled,
        "allow_environment_mismatch": settings.allow_environment_mismatch,
    }
    if state(ctx).json:
        emit_json(data)
        return
    rows: list[tuple[str, Any]] = [
        ("source", settings.origin),
        ("merchant_id", settings.merchant_id or "(not set)"),
        ("blowfish_key", _masked_text(bf)),
        ("hmac_key", _masked_text(hk)),
        ("charset", settings.charset),
        ("environment", f"{env or '(unknown)'} ({settings.environment_source})"),
        ("base_url", f"{settings.base_url} ({settings.base_url_source})"),
        ("browser_base_url", settings.browser_base_url),
    ]
    if settings.test_merchant_ids:
        rows.append(("test_merchant_ids", ", ".join(sorted(settings.test_merchant_ids))))
    if settings.small_amounts_enabled:
        rows.append(("small_amounts_enabled", "yes"))
    if settings.allow_environment_mismatch:
        rows.append(("allow_environment_mismatch", "yes"))
    rows.append(("config file", f"{path} ({'exists' if data['config_exists'] else 'absent'})"))
    rows.append(("profiles", ", ".join(data["profiles"]) or "(none)"))
    stdout().print(_common.table("Configuration", rows))


# ---------------------------------------------------------------------------------------------
# config check


@dataclass(frozen=True)
class CheckResult:
    name: str
    verdict: Verdict
    detail: str


@dataclass(frozen=True)
class ProbeResult:
    """What the online probe learnt. ``exit_code`` is 0, 3 (credentials refused) or 4
    (gateway not reachable)."""

    url: str
    reachable: bool
    verdict: Verdict
    meaning: str
    exit_code: int
    http_status: int | None = None
    code: str | None = None
    explanation: str | None = None
    reply_decrypted: bool = False
    elapsed_ms: int | None = None


def _check_merchant_id(settings: Settings) -> CheckResult:
    mid = settings.merchant_id
    if not mid:
        return CheckResult("merchant_id", "fail", settings.absent("merchant_id"))
    try:
        check_format("MerchantID", mid, "ans..30")
    except Exception as exc:
        return CheckResult("merchant_id", "fail", str(exc))
    if mid != mid.strip():
        return CheckResult("merchant_id", "fail", "has leading or trailing spaces")
    if not all(c.isascii() and (c.isalnum() or c in "_-.") for c in mid):
        return CheckResult("merchant_id", "warn", f"{mid}: unusual characters for a merchant ID")
    return CheckResult("merchant_id", "ok", f"{mid} ({len(mid)} characters)")


def _check_blowfish(settings: Settings, missing_name: str) -> CheckResult:
    key = _secret_value(settings, "blowfish_key")
    if key is None:
        return CheckResult("blowfish_key", "fail", settings.absent("blowfish_key"))
    try:
        size = len(_key_bytes(key))
    except ConfigurationError as exc:
        return CheckResult("blowfish_key", "fail", str(exc))
    if key != key.strip():
        return CheckResult("blowfish_key", "warn", f"{size} bytes, with leading or trailing spaces: copied whole?")
    if size != USUAL_BLOWFISH_LENGTH:
        return CheckResult(
            "blowfish_key",
            "warn",
            f"{size} bytes; the gateway issues {USUAL_BLOWFISH_LENGTH}-character keys: check it was copied whole",
        )
    return CheckResult("blowfish_key", "ok", f"{size} bytes")


def _check_hmac(settings: Settings, missing_name: str) -> CheckResult:
    key = _secret_value(settings, "hmac_key")
    if key is None:
        return CheckResult("hmac_key", "fail", settings.absent("hmac_key"))
    if key == _secret_value(settings, "blowfish_key"):
        return CheckResult("hmac_key", "warn", "equals the Blowfish key: were the two keys swapped or copied twice?")
    if key != key.strip():
        return CheckResult("hmac_key", "warn", f"{len(key)} characters, with leading or trailing spaces: copied whole?")
    if len(key) != USUAL_HMAC_LENGTH:
        return CheckResult(
            "hmac_key",
            "warn",
            f"{len(key)} characters; the gateway issues {USUAL_HMAC_LENGTH}-character keys: check it was copied whole",
        )
    return CheckResult("hmac_key", "ok", f"{len(key)} characters")


def _check_charset(settings: Settings) -> CheckResult:
    try:
        return CheckResult("charset", "ok", _normalise_charset(settings.charset))
    except ConfigurationError as exc:
        return CheckResult("charset", "fail", str(exc))


def _check_environment(settings: Settings) -> CheckResult:
    env = settings.environment
    try:
        check_environment(settings)
    except ConfigurationError as exc:
        return CheckResult("environment", "fail", str(exc))
    detail = f"{env} ({settings.environment_source})"
    if settings.merchant_id in KNOWN_TEST_MERCHANT_IDS:
        detail += "; the vendor's public demo merchant"
    if settings.source == "profile" and settings.declared_environment is None:
        return CheckResult("environment", "warn", detail + "; state environment = \"test\" or \"production\" in the profile")
    return CheckResult("environment", "ok", detail)


def _check_base_url(settings: Settings) -> CheckResult:
    try:
        check_base_url(settings.base_url, settings.environment)
        check_base_url(settings.browser_base_url, settings.environment)
    except ConfigurationError as exc:
        return CheckResult("base_url", "fail", str(exc))
    host = urlsplit(settings.base_url).hostname or ""
    if is_loopback_host(host):
        return CheckResult("base_url", "ok", f"{settings.base_url} (loopback: a local simulator)")
    if host not in KNOWN_HOSTS:
        return CheckResult("base_url", "warn", f"{settings.base_url}: not a known gateway host ({', '.join(sorted(KNOWN_HOSTS))})")
    return CheckResult("base_url", "ok", settings.base_url)


def _check_profile(settings: Settings) -> CheckResult | None:
    if settings.source != "profile":
        return None
    if settings.unknown_keys:
        return CheckResult("profile", "warn", f"unknown keys ignored: {', '.join(settings.unknown_keys)}")
    return CheckResult("profile", "ok", settings.origin)


def run_checks(settings: Settings) -> list[CheckResult]:
    """The offline checks: credentials' shape, charset, environment guard, base URL."""
    names = {"environment": ("AXEPTA_BLOWFISH_KEY", "AXEPTA_HMAC_KEY"), "profile": ("blowfish_key", "hmac_key")}
    bf_name, hk_name = names[settings.source]
    checks = [c for c in (_check_profile(settings),) if c is not None]
    checks += [
        _check_merchant_id(settings),
        _check_blowfish(settings, bf_name),
        _check_hmac(settings, hk_name),
        _check_charset(settings),
    ]
    if settings.merchant_id:
        checks.append(_check_environment(settings))
    checks.append(_check_base_url(settings))
    return checks


def _interpret(code: str) -> tuple[Verdict, str, int]:
    """What the gateway's answer to the probe means (see the module docstring)."""
    info = explain(code)
    if code == "00000000":
        return "warn", "the gateway reported success for a request without a PayID: unexpected, contact the helpdesk", EXIT_OK
    if info.detail == "0044":
        if info.module == "012":
            return "fail", "reachable, but the gateway could not authenticate the request: check the HMAC key and the merchant ID", EXIT_CONFIG
        return "fail", "reachable, but the gateway found no valid MAC: check the Blowfish key (the request may not have been readable) and the HMAC key", EXIT_CONFIG
    if info.module == "001" or info.detail in ("0007", "0008"):
        return "fail", "reachable, but the gateway could not decrypt the request: check the Blowfish key", EXIT_CONFIG
    if info.detail in ("0003", "0043") or info.module == "050":
        return "fail", f"reachable, but the merchant ID was refused ({info.summary}): check the merchant ID and the environment", EXIT_CONFIG
    if info.module in {"010", "011", "012", "013", "014", "015", "016"}:
        return (
            "ok",
            f"reachable and authenticated: the gateway decrypted the request, accepted its MAC and refused it as intended ({info.detail_text}); nothing was captured",
            EXIT_OK,
        )
    return "warn", f"reachable; the gateway answered {info.summary}", EXIT_OK


def probe(settings: Settings, credentials: Credentials) -> ProbeResult:
    """Post the harmless probe (module docstring) and interpret the answer."""
    import httpx

    url = urljoin(settings.base_url if settings.base_url.endswith("/") else settings.base_url + "/", PROBE_PATH)
    mid = credentials.merchant_id
    mac = sign(credentials.hmac_key_bytes(), "", PROBE_TRANS_ID, mid, "", "")
    enc = credentials.codec.encrypt(encode_params({"MerchantID": mid, "TransID": PROBE_TRANS_ID, "MAC": mac}))
    form = {"MerchantID": mid, "Len": str(enc.length), "Data": enc.data}
    started = time.monotonic()
    try:
        with _common.make_http_client() as http:
            resp = http.post(url, data=form, headers={"User-Agent": f"axepta-cli/{__version__} (config check)"})
    except httpx.HTTPError as exc:
        return ProbeResult(url, False, "fail", f"not reachable: {type(exc).__name__}: {exc}", EXIT_NETWORK)
    elapsed = int((time.monotonic() - started) * 1000)
    if resp.status_code != 200:
        return ProbeResult(
            url, True, "fail", f"the gateway answered HTTP {resp.status_code}, not 200", EXIT_NETWORK,
            http_status=resp.status_code, elapsed_ms=elapsed,
        )
    outer = parse_params(resp.text.strip()[:262144])
    fields = outer
    decrypted = False
    data = outer.get("Data")
    if data:
        try:
            inner = parse_params(credentials.codec.decrypt(data, outer.get("Len")))
        except CryptoError:
            inner = None
        # With a wrong key Blowfish still "decrypts", into noise without a single known field.
        if inner is None or inner.get_any("Code", "Status", "mid", "MerchantID", "PayID") is None:
            return ProbeResult(
                url, True, "fail",
                "reachable, but its reply cannot be decrypted with the configured Blowfish key: check the key",
                EXIT_CONFIG, http_status=200, elapsed_ms=elapsed,
            )
        fields = outer.merged(inner)
        decrypted = True
    code = (fields.get("Code") or "").strip().upper()
    try:
        verdict, meaning, exit_code = _interpret(code)
    except ValueError:
        return ProbeResult(
            url, True, "warn", "reachable, but the reply carries no response code", EXIT_OK,
            http_status=200, reply_decrypted=decrypted, elapsed_ms=elapsed,
        )
    if decrypted and verdict == "ok":
        meaning += "; its reply decrypts with the configured Blowfish key"
    return ProbeResult(
        url, True, verdict, meaning, exit_code, http_status=200, code=code,
        explanation=explain(code).summary, reply_decrypted=decrypted, elapsed_ms=elapsed,
    )


_MARK = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}


@app.command("check")
def check_cmd(
    ctx: typer.Context,
    online: bool = typer.Option(
        False,
        "--online",
        help="Also post a harmless probe to capture.aspx (no PayID, no amount: it cannot act) "
        "and interpret the gateway's answer.",
    ),
) -> None:
    """Check the credentials, the environment guard and the base URL.

    Offline: merchant ID format, key lengths, charset, test/production guard (a MID ending in _t is a test MID), https base URL. With --online, a probe that cannot move money shows whether the gateway is reachable and accepts the credentials. Exit 0 when all is well (warnings allowed), 3 when something is wrong, 4 when the gateway cannot be reached.
    """
    from rich.table import Table
    from rich.text import Text

    settings = load_settings(ctx)
    checks = run_checks(settings)
    failed = any(c.verdict == "fail" for c in checks)
    result: ProbeResult | None = None
    skipped: str | None = None
    if online:
        if failed:
            skipped = "skipped: fix the failed checks first"
        else:
            result = probe(settings, settings.credentials())
    exit_code = EXIT_CONFIG if failed else (result.exit_code if result else EXIT_OK)
    ok = exit_code == EXIT_OK
    if state(ctx).json:
        emit_json(
            {
                "ok": ok,
                "exit_code": exit_code,
                "source": settings.origin,
                "merchant_id": settings.merchant_id,
                "environment": settings.environment if settings.merchant_id else None,
                "base_url": settings.base_url,
                "checks": [asdict(c) for c in checks],
                "online": asdict(result) if result else ({"skipped": skipped} if skipped else None),
            }
        )
    else:
        t = Table(title=f"Configuration check ({settings.origin})", title_justify="left")
        t.add_column("check", style="bold")
        t.add_column("result")
        t.add_column("detail")
        for c in checks:
            t.add_row(c.name, _MARK[c.verdict], Text(c.detail))
        if result:
            t.add_row("online", _MARK[result.verdict], Text(result.meaning))
        elif skipped:
            t.add_row("online", "[yellow]skipped[/]", Text(skipped))
        out = stdout()
        out.print(t)
        if result:
            rows: list[tuple[str, Any]] = [("url", result.url), ("reachable", "yes" if result.reachable else "no")]
            if result.http_status is not None:
                rows.append(("http status", result.http_status))
            if result.code:
                rows += [("code", result.code), ("explanation", result.explanation)]
                advice = explain(result.code).advice if result.verdict != "ok" else None
                if advice:
                    rows.append(("advice", advice))
            if result.elapsed_ms is not None:
                rows.append(("elapsed", f"{result.elapsed_ms} ms"))
            out.print(_common.table("Online probe (capture.aspx without PayID: cannot act)", rows))
        out.print("configuration OK" if ok else "configuration NOT OK", markup=False, highlight=False)
    if exit_code != EXIT_OK:
        raise typer.Exit(exit_code)
