"""``axepta config show`` and ``axepta config check`` (offline and ``--online``)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from typer.testing import CliRunner

from axepta.cli import app
from axepta.credentials import Credentials
from axepta.crypto import verify
from tests.conftest import DEMO_BLOWFISH, DEMO_HMAC, DEMO_MID
from tests.test_cli.conftest import BASE, assert_clean, decrypt_form, encrypted_reply, env

PROBE_URL = BASE + "capture.aspx"


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text, "utf-8")
    return {"AXEPTA_CONFIG": str(cfg)}


def profile(name: str = "shop", mid: str = "SHOP_t", **extra: str) -> str:
    values = {"merchant_id": f'"{mid}"', "blowfish_key": f"'{DEMO_BLOWFISH}'", "hmac_key": f"'{DEMO_HMAC}'", **extra}
    lines = [f"[profiles.{name}]", *(f"{k} = {v}" for k, v in values.items())]
    return "\n".join(lines) + "\n"


def checks_of(stdout: str) -> dict[str, dict[str, str]]:
    data = json.loads(stdout)
    return {c["name"]: c for c in data["checks"]}


# --------------------------------------------------------------------------------- config show


def test_show_environment_masks_keys(runner: CliRunner) -> None:
    res = runner.invoke(app, ["config", "show"], env=env())
    assert res.exit_code == 0, res.output
    assert "******** (16 characters)" in res.stdout
    assert "******** (32 characters)" in res.stdout
    assert "environment variables" in res.stdout
    assert "Tc5" not in res.stdout and "4n!" not in res.stdout
    assert_clean(res)


def test_show_json_shape(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "config", "show"], env=env())
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["source"] == "environment" and data["profile"] is None
    assert data["merchant_id"] == DEMO_MID
    assert data["blowfish_key"] == {"value": "********", "length": 16}
    assert data["hmac_key"] == {"value": "********", "length": 32}
    assert data["environment"] == "test"
    assert data["environment_source"] == "inferred: a known test merchant ID"
    assert data["base_url"] == BASE and data["base_url_source"] == "default"
    assert data["config_exists"] is False and data["profiles"] == []
    assert_clean(res)


def test_show_partial_configuration_is_shown_not_refused(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "config", "show"], env=env(AXEPTA_HMAC_KEY="", AXEPTA_MERCHANT_ID=""))
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["hmac_key"] is None and data["merchant_id"] is None and data["environment"] is None
    res = runner.invoke(app, ["config", "show"], env=env(AXEPTA_HMAC_KEY=""))
    assert "(not set)" in res.stdout


def test_show_profile_and_base_url_precedence(runner: CliRunner, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, profile(environment='"test"', base_url='"https://www.computop-paygate.com/"') + profile("other", "LIVE"))
    res = runner.invoke(app, ["--json", "--profile", "shop", "config", "show"], env=cfg)
    data = json.loads(res.stdout)
    assert res.exit_code == 0
    assert data["source"] == "profile" and data["profile"] == "shop"
    assert data["profiles"] == ["other", "shop"] and data["config_exists"] is True
    assert data["environment"] == "test" and data["environment_source"] == "profile"
    assert (data["base_url"], data["base_url_source"]) == ("https://www.computop-paygate.com/", "profile")
    res = runner.invoke(app, ["--json", "--profile", "shop", "--base-url", "https://x.example/", "config", "show"], env=cfg)
    data = json.loads(res.stdout)
    assert (data["base_url"], data["base_url_source"]) == ("https://x.example/", "--base-url / AXEPTA_BASE_URL")
    assert_clean(res)


def test_show_people_lists_profile_settings(runner: CliRunner, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path,
        profile(environment='"test"', test_merchant_ids='["SHOP"]', small_amounts_enabled="true", allow_environment_mismatch="true"),
    )
    res = runner.invoke(app, ["--profile", "shop", "config", "show"], env=cfg)
    assert res.exit_code == 0
    for text in ("profile 'shop'", "test_merchant_ids", "small_amounts_enabled", "allow_environment_mismatch", "(exists)"):
        assert text in res.stdout
    assert_clean(res)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[profiles.shop", "is not valid TOML"),
        ("[profiles]\nshop = 3\n", "is not a table"),
        (profile(environment='"staging"'), "environment must be 'test' or 'production'"),
        (profile(small_amounts_enabled='"maybe"'), "small_amounts_enabled must be true or false"),
        (profile(test_merchant_ids="3"), "test_merchant_ids must be a list"),
        # issue 11 item 12: profile values are type-checked (never the value in the message)
        (profile(hmac_key='["a", "b"]'), "profile 'shop': hmac_key must be a string in quotes, not a list"),
        (profile(blowfish_key="12345678"), "profile 'shop': blowfish_key must be a string in quotes, not a number"),
        (profile(merchant_id="1"), "profile 'shop': merchant_id must be a string in quotes, not a number"),
        (profile(charset="true"), "profile 'shop': charset must be a string in quotes, not a boolean"),
        (profile(small_amounts_enabled="1"), "small_amounts_enabled must be true or false, not a number"),
        (profile(environment="1"), "environment must be 'test' or 'production', not a number"),
    ],
)
def test_show_bad_profile_exit_3(runner: CliRunner, tmp_path: Path, content: str, message: str) -> None:
    res = runner.invoke(app, ["--profile", "shop", "config", "show"], env=write_config(tmp_path, content))
    assert res.exit_code == 3
    assert message in res.stderr


def test_show_unknown_profile_and_missing_file_exit_3(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(app, ["--profile", "nope", "config", "show"], env=write_config(tmp_path, profile()))
    assert res.exit_code == 3 and "profile 'nope' is not in" in res.stderr and "have: shop" in res.stderr
    res = runner.invoke(app, ["--profile", "nope", "config", "show"], env={"AXEPTA_CONFIG": str(tmp_path / "none.toml")})
    assert res.exit_code == 3 and "does not exist" in res.stderr


def test_show_bad_environment_variable_exit_3(runner: CliRunner) -> None:
    res = runner.invoke(app, ["config", "show"], env=env(AXEPTA_ENVIRONMENT="prod"))
    assert res.exit_code == 3 and "AXEPTA_ENVIRONMENT must be" in res.stderr


# -------------------------------------------------------------------------------- config check


def test_check_ok(runner: CliRunner) -> None:
    res = runner.invoke(app, ["config", "check"], env=env())
    assert res.exit_code == 0, res.output
    assert "configuration OK" in res.stdout
    assert_clean(res)
    res = runner.invoke(app, ["--json", "config", "check"], env=env())
    data = json.loads(res.stdout)
    assert data["ok"] is True and data["exit_code"] == 0 and data["online"] is None
    assert {c["verdict"] for c in data["checks"]} == {"ok"}
    assert [c["name"] for c in data["checks"]] == ["merchant_id", "blowfish_key", "hmac_key", "charset", "environment", "base_url"]


@pytest.mark.parametrize(
    ("overrides", "name", "verdict", "text"),
    [
        ({"AXEPTA_BLOWFISH_KEY": ""}, "blowfish_key", "fail", "AXEPTA_BLOWFISH_KEY is empty"),
        ({"AXEPTA_HMAC_KEY": ""}, "hmac_key", "fail", "AXEPTA_HMAC_KEY is empty"),
        ({"AXEPTA_MERCHANT_ID": ""}, "merchant_id", "fail", "AXEPTA_MERCHANT_ID is empty"),
        ({"AXEPTA_MERCHANT_ID": "X" * 31}, "merchant_id", "fail", "1 to 30 characters"),
        ({"AXEPTA_MERCHANT_ID": "SHOP_t "}, "merchant_id", "fail", "leading or trailing spaces"),
        ({"AXEPTA_MERCHANT_ID": "SHÖP_t"}, "merchant_id", "warn", "unusual characters"),
        ({"AXEPTA_BLOWFISH_KEY": "abc"}, "blowfish_key", "fail", "found 3 bytes"),
        ({"AXEPTA_BLOWFISH_KEY": "k" * 57}, "blowfish_key", "fail", "found 57 bytes"),
        ({"AXEPTA_BLOWFISH_KEY": "k" * 20}, "blowfish_key", "warn", "20 bytes; the gateway issues 16-character keys"),
        ({"AXEPTA_BLOWFISH_KEY": " " + "k" * 15}, "blowfish_key", "warn", "leading or trailing spaces"),
        ({"AXEPTA_HMAC_KEY": "h" * 31}, "hmac_key", "warn", "31 characters; the gateway issues 32-character keys"),
        ({"AXEPTA_HMAC_KEY": "h" * 31 + " "}, "hmac_key", "warn", "leading or trailing spaces"),
        ({"AXEPTA_HMAC_KEY": DEMO_BLOWFISH}, "hmac_key", "warn", "equals the Blowfish key"),
        ({"AXEPTA_CHARSET": "koi8-r"}, "charset", "fail", "not supported"),
        ({"AXEPTA_CHARSET": "utf8"}, "charset", "ok", "utf-8"),
        ({"AXEPTA_MERCHANT_ID": "SHOP_t", "AXEPTA_ENVIRONMENT": "production"}, "environment", "fail", "ends in _t (a test MID) but the environment is production"),
        ({"AXEPTA_MERCHANT_ID": "SHOP", "AXEPTA_ENVIRONMENT": "test"}, "environment", "fail", "does not end in _t"),
        ({"AXEPTA_MERCHANT_ID": "SHOP", "AXEPTA_ENVIRONMENT": "test", "AXEPTA_TEST_MERCHANT_IDS": "A, SHOP"}, "environment", "ok", "test (AXEPTA_ENVIRONMENT)"),
        ({"AXEPTA_MERCHANT_ID": "SHOP_t", "AXEPTA_ENVIRONMENT": "production", "AXEPTA_ALLOW_ENVIRONMENT_MISMATCH": "1"}, "environment", "ok", "production"),
        ({"AXEPTA_MERCHANT_ID": "SHOP"}, "environment", "ok", "production (inferred: the merchant ID does not end in _t"),
        ({"AXEPTA_BASE_URL": "http://127.0.0.1:8765/"}, "base_url", "ok", "loopback: a local simulator"),
        ({"AXEPTA_BASE_URL": "http://127.0.0.1:8765/", "AXEPTA_MERCHANT_ID": "LIVE"}, "base_url", "fail", "refused in production"),
        ({"AXEPTA_BASE_URL": "http://gateway.example/"}, "base_url", "fail", "must use https"),
        ({"AXEPTA_BASE_URL": "https://gateway.example/"}, "base_url", "warn", "not a known gateway host"),
        ({"AXEPTA_BASE_URL": "https://paymentpage.axepta.bnpparibas/?x=1"}, "base_url", "fail", "query string"),
        ({"AXEPTA_BASE_URL": "https:///nohost"}, "base_url", "fail", "has no host"),
        ({"AXEPTA_BASE_URL": "https://h.example:99999/"}, "base_url", "fail", "is not a valid URL"),
    ],
)
def test_check_findings(runner: CliRunner, overrides: dict[str, str], name: str, verdict: str, text: str) -> None:
    res = runner.invoke(app, ["--json", "config", "check"], env=env(**overrides))
    found = checks_of(res.stdout)[name]
    assert found["verdict"] == verdict, found
    assert text in found["detail"]
    failed = verdict == "fail"
    assert res.exit_code == (3 if failed else 0)
    assert json.loads(res.stdout)["ok"] is (not failed)
    assert_clean(res)


def test_check_people_output_marks_failures(runner: CliRunner) -> None:
    res = runner.invoke(app, ["config", "check"], env=env(AXEPTA_BLOWFISH_KEY="abc"))
    assert res.exit_code == 3
    assert "FAIL" in res.stdout and "configuration NOT OK" in res.stdout and "found 3 bytes" in res.stdout
    assert "abc" not in res.stdout.replace("found 3 bytes", "")


def test_check_profile_warnings(runner: CliRunner, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, profile(hmac_keyy='"typo"'))
    res = runner.invoke(app, ["--json", "--profile", "shop", "config", "check"], env=cfg)
    assert res.exit_code == 0
    checks = checks_of(res.stdout)
    assert checks["profile"]["verdict"] == "warn" and "hmac_keyy" in checks["profile"]["detail"]
    assert checks["environment"]["verdict"] == "warn" and "state environment" in checks["environment"]["detail"]
    cfg = write_config(tmp_path, profile(environment='"test"'))
    res = runner.invoke(app, ["--json", "--profile", "shop", "config", "check"], env=cfg)
    checks = checks_of(res.stdout)
    assert checks["profile"]["verdict"] == "ok" and checks["environment"]["detail"] == "test (profile)"
    assert_clean(res)


def test_check_profile_missing_keys_named(runner: CliRunner, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[profiles.shop]\nmerchant_id = "SHOP_t"\nenvironment = "test"\n')
    res = runner.invoke(app, ["--json", "--profile", "shop", "config", "check"], env=cfg)
    assert res.exit_code == 3
    checks = checks_of(res.stdout)
    assert checks["blowfish_key"]["detail"] == "blowfish_key is not set"
    assert checks["hmac_key"]["detail"] == "hmac_key is not set"


# ----------------------------------------------------------------------------- check --online


def online(runner: CliRunner, reply: httpx.Response | Exception, **overrides: str) -> tuple[object, respx.Route]:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        route = mock.post(PROBE_URL)
        if isinstance(reply, Exception):
            route.side_effect = reply
        else:
            route.return_value = reply
        res = runner.invoke(app, ["--json", "config", "check", "--online"], env=env(**overrides))
    return res, route


def test_online_probe_is_harmless_and_authenticated(runner: CliRunner, creds: Credentials) -> None:
    body = encrypted_reply(creds, {"mid": DEMO_MID, "TransID": "axepta-config-check", "Status": "FAILED", "Code": "20100001", "Description": "PayID missing"})
    res, route = online(runner, httpx.Response(200, text=body))
    assert res.exit_code == 0, res.output
    sent = decrypt_form(creds, route.calls.last.request.content)
    # no PayID, no Amount, no Currency: nothing a capture could act on
    assert set(sent) == {"MerchantID", "TransID", "MAC"}
    assert verify(DEMO_HMAC, sent["MAC"], "", "axepta-config-check", DEMO_MID, "", "")
    probe = json.loads(res.stdout)["online"]
    assert probe["verdict"] == "ok" and probe["reachable"] is True and probe["code"] == "20100001"
    assert "authenticated" in probe["meaning"] and "nothing was captured" in probe["meaning"]
    assert probe["reply_decrypted"] is True and probe["url"] == PROBE_URL
    assert_clean(res, route.calls.last.request.content.decode())


@pytest.mark.parametrize(
    ("code", "exit_code", "text"),
    [
        ("20120044", 3, "check the HMAC key and the merchant ID"),
        ("20100044", 3, "found no valid MAC"),
        ("20110007", 3, "could not decrypt the request: check the Blowfish key"),
        ("20010000", 3, "could not decrypt the request"),
        ("20100003", 3, "merchant ID was refused"),
        ("20500000", 3, "merchant ID was refused"),
        ("00000000", 0, "unexpected"),
        ("21500061", 0, "reachable; the gateway answered"),
    ],
)
def test_online_codes_interpreted(runner: CliRunner, creds: Credentials, code: str, exit_code: int, text: str) -> None:
    res, _ = online(runner, httpx.Response(200, text=f"Code={code}&Status=FAILED"))
    assert res.exit_code == exit_code
    data = json.loads(res.stdout)
    assert text in data["online"]["meaning"] and data["online"]["code"] == code
    assert data["ok"] is (exit_code == 0)
    assert data["online"]["reply_decrypted"] is False


def test_online_people_output(runner: CliRunner, creds: Credentials) -> None:
    with respx.mock(assert_all_called=True) as mock:
        mock.post(PROBE_URL).return_value = httpx.Response(200, text=encrypted_reply(creds, {"Code": "20120044"}))
        res = runner.invoke(app, ["config", "check", "--online"], env=env())
    assert res.exit_code == 3
    assert "20120044" in res.stdout and "check the HMAC key and the merchant ID" in res.stdout
    assert_clean(res)


def test_online_unreachable_exit_4(runner: CliRunner) -> None:
    res, _ = online(runner, httpx.ConnectError("connection refused"))
    assert res.exit_code == 4
    probe = json.loads(res.stdout)["online"]
    assert probe["reachable"] is False and "not reachable: ConnectError" in probe["meaning"]


def test_online_http_error_exit_4(runner: CliRunner) -> None:
    res, _ = online(runner, httpx.Response(503, text="down"))
    assert res.exit_code == 4
    assert "HTTP 503" in json.loads(res.stdout)["online"]["meaning"]


def test_online_reply_with_another_key_exit_3(runner: CliRunner) -> None:
    other = Credentials(DEMO_MID, "another-key-1234", DEMO_HMAC)
    res, _ = online(runner, httpx.Response(200, text=encrypted_reply(other, {"Code": "20100001"})[:-2] + "ZZ"))
    assert res.exit_code == 3
    assert "cannot be decrypted with the configured Blowfish key" in json.loads(res.stdout)["online"]["meaning"]


def test_online_reply_encrypted_with_another_key_exit_3(runner: CliRunner) -> None:
    other = Credentials(DEMO_MID, "another-key-1234", DEMO_HMAC)
    res, _ = online(runner, httpx.Response(200, text=encrypted_reply(other, {"mid": DEMO_MID, "Code": "20100007"})))
    assert res.exit_code == 3
    assert "cannot be decrypted with the configured Blowfish key" in json.loads(res.stdout)["online"]["meaning"]


def test_online_reply_without_code_is_a_warning(runner: CliRunner) -> None:
    res, _ = online(runner, httpx.Response(200, text="<html>hello</html>"))
    assert res.exit_code == 0
    probe = json.loads(res.stdout)["online"]
    assert probe["verdict"] == "warn" and "no response code" in probe["meaning"]


def test_online_skipped_when_offline_checks_fail(runner: CliRunner) -> None:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        route = mock.post(PROBE_URL)
        res = runner.invoke(app, ["--json", "config", "check", "--online"], env=env(AXEPTA_HMAC_KEY=""))
        assert not route.called
    assert res.exit_code == 3
    assert json.loads(res.stdout)["online"] == {"skipped": "skipped: fix the failed checks first"}
    res = runner.invoke(app, ["config", "check", "--online"], env=env(AXEPTA_HMAC_KEY=""))
    assert "skipped" in res.stdout


@pytest.mark.parametrize(
    ("overrides", "browser"),
    [
        ({}, "https://epayment.axepta.bnpparibas/"),
        ({"AXEPTA_BASE_URL": "https://paymentpage.axepta.bnpparibas"}, "https://epayment.axepta.bnpparibas/"),
        ({"AXEPTA_BASE_URL": "https://www.computop-paygate.com/"}, "https://www.computop-paygate.com/"),
        ({"AXEPTA_BASE_URL": "http://127.0.0.1:8765/"}, "http://127.0.0.1:8765/"),
        ({"AXEPTA_BROWSER_BASE_URL": "https://pay.example/"}, "https://pay.example/"),
    ],
)
def test_browser_base_url(runner: CliRunner, overrides: dict[str, str], browser: str) -> None:
    res = runner.invoke(app, ["--json", "config", "show"], env=env(**overrides))
    assert json.loads(res.stdout)["browser_base_url"] == browser


def test_browser_base_url_is_checked(runner: CliRunner, tmp_path: Path) -> None:
    res = runner.invoke(app, ["--json", "config", "check"], env=env(AXEPTA_BROWSER_BASE_URL="http://pay.example/"))
    assert res.exit_code == 3
    assert "must use https" in checks_of(res.stdout)["base_url"]["detail"]
    cfg = write_config(tmp_path, profile(environment='"test"', browser_base_url='"https://www.computop-paygate.com/"'))
    res = runner.invoke(app, ["--json", "--profile", "shop", "config", "show"], env=cfg)
    assert json.loads(res.stdout)["browser_base_url"] == "https://www.computop-paygate.com/"


# ------------------------------------------------------- issue 11 item 12, issue 13 item 4: settings


@pytest.mark.parametrize("extra", [{"hmac_key": '["a", "b"]'}, {"blowfish_key": "12345678"}])
def test_check_refuses_badly_typed_profile_values(runner: CliRunner, tmp_path: Path, extra: dict[str, str]) -> None:
    res = runner.invoke(app, ["--profile", "shop", "config", "check"], env=write_config(tmp_path, profile(**extra)))
    assert res.exit_code == 3, res.output
    assert "must be a string in quotes" in res.stderr
    assert "12345678" not in res.output + res.stderr and '"a"' not in res.stderr


@pytest.mark.parametrize("name", ["AXEPTA_MERCHANT_ID", "AXEPTA_BLOWFISH_KEY", "AXEPTA_HMAC_KEY", "AXEPTA_CHARSET", "AXEPTA_TEST_MERCHANT_IDS"])
@pytest.mark.parametrize("command", [["config", "show"], ["config", "check"], ["capture", "0123456789ABCDEF0123456789ABCDEF", "--trans-id", "T", "--amount", "12", "--currency", "EUR", "--yes"]])
def test_undecodable_environment_variable_exit_3(runner: CliRunner, name: str, command: list[str]) -> None:
    undecodable = b"\xff\xfekey".decode("utf-8", "surrogateescape")  # what Python makes of such bytes
    res = runner.invoke(app, command, env=env(**{name: undecodable}))
    assert res.exit_code == 3, res.output
    assert f"environment variable {name} holds bytes that are not valid text" in res.stderr
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_empty_is_not_unset_and_all_missing_are_named(runner: CliRunner) -> None:
    res = runner.invoke(
        app,
        ["capture", "0123456789ABCDEF0123456789ABCDEF", "--trans-id", "T", "--amount", "12", "--currency", "EUR", "--yes"],
        env={"AXEPTA_MERCHANT_ID": "SHOP_t", "AXEPTA_BLOWFISH_KEY": "", "COLUMNS": "200"},
    )
    assert res.exit_code == 3, res.output
    text = " ".join(res.stderr.split())
    assert "AXEPTA_BLOWFISH_KEY (empty) and AXEPTA_HMAC_KEY (not set)" in text


def test_profile_missing_keys_named_at_once(runner: CliRunner, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, '[profiles.shop]\nmerchant_id = "SHOP_t"\nblowfish_key = ""\n')
    res = runner.invoke(app, ["--profile", "shop", "crypto", "encrypt", "A=1"], env=cfg)
    assert res.exit_code == 3
    assert "lacks blowfish_key (empty) and hmac_key (not set)" in " ".join(res.stderr.split())


def test_production_inferred_from_the_merchant_id_is_said(runner: CliRunner) -> None:
    res = runner.invoke(app, ["--json", "config", "show"], env=env(AXEPTA_MERCHANT_ID="SHOP42"))
    data = json.loads(res.stdout)
    assert data["environment"] == "production"
    assert "does not end in _t" in data["environment_source"] and "AXEPTA_ENVIRONMENT" in data["environment_source"]


@pytest.mark.parametrize("value", ["TEST", "Test", " test "])
def test_environment_case_rule_is_the_flags_rule(runner: CliRunner, value: str) -> None:
    res = runner.invoke(app, ["--json", "config", "show"], env=env(AXEPTA_ENVIRONMENT=value))
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["environment"] == "test"
