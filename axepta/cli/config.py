"""Where the CLI finds its settings: a profile of ``~/.config/axepta/config.toml`` (``--profile``)
or the ``AXEPTA_*`` environment variables.

A profile looks like::

    [profiles.shop-test]
    merchant_id = "BNP_DEMO_AXEPTA_t"
    blowfish_key = "..."
    hmac_key = "..."
    environment = "test"            # or "production": sending asks for confirmation
    base_url = "https://paymentpage.axepta.bnpparibas/"
    browser_base_url = "https://epayment.axepta.bnpparibas/"   # optional, see below
    charset = "iso-8859-1"          # optional
    test_merchant_ids = ["SHOP_DEMO"]   # test MIDs that do not end in _t (optional)
    small_amounts_enabled = false   # amounts below 100 minor units (helpdesk approval)
    allow_environment_mismatch = false  # production with a MID ending in _t (PROTOCOL §3.5)

Without ``--profile`` the same settings come from ``AXEPTA_MERCHANT_ID``, ``AXEPTA_BLOWFISH_KEY``,
``AXEPTA_HMAC_KEY``, ``AXEPTA_CHARSET``, ``AXEPTA_ENVIRONMENT``, ``AXEPTA_BASE_URL`` (or
``--base-url``), ``AXEPTA_BROWSER_BASE_URL``, ``AXEPTA_TEST_MERCHANT_IDS`` (comma-separated),
``AXEPTA_SMALL_AMOUNTS_ENABLED`` and ``AXEPTA_ALLOW_ENVIRONMENT_MISMATCH``. ``--base-url`` /
``AXEPTA_BASE_URL`` also override a profile's ``base_url``.

The browser base URL (``cbPayPal.aspx``, the buyer's callback) is Axepta's
``https://epayment.axepta.bnpparibas/`` with the default base URL, and the base URL itself
otherwise (a Computop account, the local simulator), unless set explicitly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import typer
from pydantic import SecretStr

from axepta.cli._common import state
from axepta.credentials import Credentials, Environment
from axepta.errors import ConfigurationError
from axepta.fields import is_loopback_host

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_BROWSER_BASE_URL",
    "KNOWN_TEST_MERCHANT_IDS",
    "Settings",
    "check_base_url",
    "check_environment",
    "check_guard",
    "config_path",
    "load_credentials",
    "load_profile",
    "load_settings",
    "profile_names",
]

#: The gateway's S2S host (PROTOCOL.md §3.4); the same host serves test and production MIDs.
DEFAULT_BASE_URL = "https://paymentpage.axepta.bnpparibas/"

#: Where the buyer's browser calls ``cbPayPal.aspx`` with the default base URL (§3.4).
DEFAULT_BROWSER_BASE_URL = "https://epayment.axepta.bnpparibas/"

#: Merchant IDs that are test accounts although they do not end in ``_t``: the vendor's public
#: demo merchant, whose keys are published in its sample code (they cannot be a live account).
KNOWN_TEST_MERCHANT_IDS = frozenset({"BNP_DEMO_AXEPTA"})

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

Source = Literal["profile", "environment"]

_PROFILE_KEYS = frozenset(
    {
        "merchant_id", "blowfish_key", "hmac_key", "charset", "environment", "base_url",
        "browser_base_url", "test_merchant_ids", "small_amounts_enabled", "allow_environment_mismatch",
    }
)


def config_path() -> Path:
    """``$AXEPTA_CONFIG``, else ``$XDG_CONFIG_HOME/axepta/config.toml``, else ``~/.config/…``."""
    explicit = os.environ.get("AXEPTA_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "axepta" / "config.toml"


def _read_config(path: Path) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path} cannot be read: {exc}") from None


def profile_names() -> list[str]:
    """The profiles of the config file (empty when it does not exist)."""
    data = _read_config(config_path())
    profiles = (data or {}).get("profiles", {})
    return sorted(profiles) if isinstance(profiles, dict) else []


def load_profile(name: str) -> dict[str, Any]:
    """The table ``[profiles.NAME]`` of the config file; a missing file or profile is a
    :class:`~axepta.errors.ConfigurationError`."""
    path = config_path()
    data = _read_config(path)
    if data is None:
        raise ConfigurationError(f"profile {name!r} requested but {path} does not exist")
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or name not in profiles:
        have = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else ""
        raise ConfigurationError(f"profile {name!r} is not in {path} (have: {have or 'none'})")
    profile = profiles[name]
    if not isinstance(profile, dict):
        raise ConfigurationError(f"profile {name!r} in {path} is not a table")
    return profile


@dataclass(frozen=True)
class Settings:
    """Everything the CLI knows about where and as whom it talks to the gateway. The keys are
    :class:`pydantic.SecretStr` and kept out of ``repr``."""

    source: Source
    profile: str | None
    config_path: Path
    merchant_id: str | None
    blowfish_key: SecretStr | None = field(repr=False)
    hmac_key: SecretStr | None = field(repr=False)
    charset: str
    declared_environment: Environment | None
    base_url: str
    base_url_source: str
    test_merchant_ids: frozenset[str] = frozenset()
    small_amounts_enabled: bool = False
    allow_environment_mismatch: bool = False
    unknown_keys: tuple[str, ...] = ()
    browser_base_url_setting: str | None = None
    empty: frozenset[str] = frozenset()  # credential settings given but empty

    @property
    def browser_base_url(self) -> str:
        """The explicit setting, else Axepta's browser host with the default base URL, else the
        base URL itself (Computop, the local simulator)."""
        if self.browser_base_url_setting:
            return self.browser_base_url_setting
        base = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return DEFAULT_BROWSER_BASE_URL if base == DEFAULT_BASE_URL else self.base_url

    def __reduce__(self) -> tuple[object, ...]:
        # SecretStr pickles its value in clear: settings that hold keys never leave the process
        raise TypeError("Settings hold secret keys and cannot be pickled")

    @property
    def origin(self) -> str:
        """Where the settings come from, for people."""
        if self.profile:
            return f"profile {self.profile!r} of {self.config_path}"
        return "environment variables"

    def _name(self, key: str) -> str:
        return key if self.source == "profile" else f"AXEPTA_{key.upper()}"

    @property
    def missing(self) -> list[str]:
        """Names of the credential settings that are absent (variable or profile key names)."""
        values = {"merchant_id": self.merchant_id, "blowfish_key": self.blowfish_key, "hmac_key": self.hmac_key}
        return [self._name(k) for k, v in values.items() if not v]

    def absent(self, key: str) -> str:
        """``AXEPTA_HMAC_KEY is empty`` (set to nothing) or ``… is not set`` (absent)."""
        return f"{self._name(key)} is {'empty' if key in self.empty else 'not set'}"

    def missing_message(self) -> str:
        """Every missing credential setting at once, each said empty or not set."""
        keys = [k for k in ("merchant_id", "blowfish_key", "hmac_key") if self._name(k) in self.missing]
        parts = [f"{self._name(k)} ({'empty' if k in self.empty else 'not set'})" for k in keys]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
        if self.source == "profile":
            return f"profile {self.profile!r} of {self.config_path} lacks {listed}"
        return f"environment variable{'s' if len(parts) > 1 else ''} {listed} must be set to the merchant's credentials"

    @property
    def is_listed_test_mid(self) -> bool:
        """Whether the MID is a known or listed test MID that does not end in ``_t``."""
        mid = self.merchant_id or ""
        return mid in KNOWN_TEST_MERCHANT_IDS or mid in self.test_merchant_ids

    @property
    def environment(self) -> Environment:
        """The declared environment, else inferred from the MID (§3.5): ``…_t`` or a known or
        listed test MID is test, anything else production."""
        if self.declared_environment is not None:
            return self.declared_environment
        mid = (self.merchant_id or "").lower()
        return "test" if mid.endswith("_t") or self.is_listed_test_mid else "production"

    @property
    def environment_source(self) -> str:
        if self.declared_environment is not None:
            return "profile" if self.source == "profile" else "AXEPTA_ENVIRONMENT"
        mid = self.merchant_id or ""
        if mid.lower().endswith("_t"):
            return "inferred: the merchant ID ends in _t"
        if self.is_listed_test_mid:
            return "inferred: a known test merchant ID"
        if not mid:
            return "inferred from the merchant ID"
        return (
            "inferred: the merchant ID does not end in _t, so it is taken for a live merchant; "
            f"set {self._name('environment')} to test if it is a test merchant"
        )

    def credentials(self) -> Credentials:
        """The :class:`~axepta.credentials.Credentials`; a missing value or a malformed key is a
        :class:`~axepta.errors.ConfigurationError` naming the setting (never its value)."""
        if self.missing:
            raise ConfigurationError(self.missing_message())
        assert self.merchant_id and self.blowfish_key and self.hmac_key
        return Credentials(
            self.merchant_id,
            self.blowfish_key,
            self.hmac_key,
            self.charset,
            environment=self.environment,
        )


def _flag(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be true or false, not {_kind(value)}")
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false")


def _kind(value: object) -> str:
    """What a TOML value is, for messages (never the value: it may be a key)."""
    names = {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a table"}
    return names.get(type(value), f"a {type(value).__name__}")


def _text(profile: Mapping[str, Any], key: str, name: str) -> str | None:
    """A text setting of a profile: a TOML string, or absent. ``hmac_key = ["a", "b"]`` or
    ``blowfish_key = 12345678`` are refused, naming the key and the type, never the value."""
    value = profile.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"profile {name!r}: {key} must be a string in quotes, not {_kind(value)}")
    return value


def _environment(value: object, name: str) -> Environment | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be 'test' or 'production', not {_kind(value)}")
    text = value.strip().lower()  # the same case rule as every other setting: any case
    if text == "":
        return None
    if text == "test":
        return "test"
    if text == "production":
        return "production"
    raise ConfigurationError(f"{name} must be 'test' or 'production'")


def _id_list(value: object, name: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ConfigurationError(f"{name} must be a list of merchant IDs (strings in quotes)")


def check_environ(env: Mapping[str, str], *names: str) -> None:
    """Every ``AXEPTA_*`` variable (and the given names) must be text: bytes that are not
    valid in the locale's encoding reach Python as lone surrogates and would fail later with a
    traceback; here they are a configuration error naming the variable (exit 3)."""
    for name in sorted({*names, *(n for n in env if n.startswith("AXEPTA_"))}):
        value = env.get(name)
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigurationError(
                f"environment variable {name} holds bytes that are not valid text; set it again "
                "with plain characters"
            ) from None


def _secret(value: object) -> SecretStr | None:
    if value is None or value == "":
        return None
    return SecretStr(str(value))


def load_settings(ctx: typer.Context, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of this invocation: ``--profile`` when given, else the environment
    variables; ``--base-url`` (or ``AXEPTA_BASE_URL``) wins over a profile's ``base_url``.
    Reading never validates the credentials (see :func:`check_guard` and
    :meth:`Settings.credentials`); a missing or malformed profile is a
    :class:`~axepta.errors.ConfigurationError`."""
    env = os.environ if environ is None else environ
    check_environ(env)
    st = state(ctx)
    for given, option in ((st.base_url, "--base-url"), (st.profile, "--profile")):
        if given is not None:
            check_environ({option: given}, option)
    path = config_path()
    if st.profile:
        p = load_profile(st.profile)
        name = st.profile
        texts = {
            key: _text(p, key, name)
            for key in ("merchant_id", "blowfish_key", "hmac_key", "charset", "base_url", "browser_base_url")
        }
        if st.base_url:
            base_url, base_source = st.base_url, "--base-url / AXEPTA_BASE_URL"
        elif texts["base_url"]:
            base_url, base_source = str(texts["base_url"]), "profile"
        else:
            base_url, base_source = DEFAULT_BASE_URL, "default"
        return Settings(
            source="profile",
            profile=st.profile,
            config_path=path,
            merchant_id=texts["merchant_id"] or None,
            blowfish_key=_secret(texts["blowfish_key"]),
            hmac_key=_secret(texts["hmac_key"]),
            charset=texts["charset"] or "iso-8859-1",
            declared_environment=_environment(p.get("environment"), f"profile {st.profile!r}: environment"),
            base_url=base_url,
            base_url_source=base_source,
            test_merchant_ids=_id_list(p.get("test_merchant_ids"), "test_merchant_ids"),
            small_amounts_enabled=_flag(p.get("small_amounts_enabled", False), "small_amounts_enabled"),
            allow_environment_mismatch=_flag(
                p.get("allow_environment_mismatch", False), "allow_environment_mismatch"
            ),
            unknown_keys=tuple(sorted(set(p) - _PROFILE_KEYS)),
            browser_base_url_setting=texts["browser_base_url"] or None,
            empty=frozenset(k for k in ("merchant_id", "blowfish_key", "hmac_key") if texts[k] == ""),
        )
    return Settings(
        source="environment",
        profile=None,
        config_path=path,
        merchant_id=env.get("AXEPTA_MERCHANT_ID") or None,
        blowfish_key=_secret(env.get("AXEPTA_BLOWFISH_KEY")),
        hmac_key=_secret(env.get("AXEPTA_HMAC_KEY")),
        charset=env.get("AXEPTA_CHARSET") or "iso-8859-1",
        declared_environment=_environment(env.get("AXEPTA_ENVIRONMENT"), "AXEPTA_ENVIRONMENT"),
        base_url=st.base_url or DEFAULT_BASE_URL,
        base_url_source="--base-url / AXEPTA_BASE_URL" if st.base_url else "default",
        test_merchant_ids=_id_list(env.get("AXEPTA_TEST_MERCHANT_IDS"), "AXEPTA_TEST_MERCHANT_IDS"),
        small_amounts_enabled=_flag(env.get("AXEPTA_SMALL_AMOUNTS_ENABLED", ""), "AXEPTA_SMALL_AMOUNTS_ENABLED"),
        allow_environment_mismatch=_flag(
            env.get("AXEPTA_ALLOW_ENVIRONMENT_MISMATCH", ""), "AXEPTA_ALLOW_ENVIRONMENT_MISMATCH"
        ),
        browser_base_url_setting=env.get("AXEPTA_BROWSER_BASE_URL") or None,
        empty=frozenset(k for k in ("merchant_id", "blowfish_key", "hmac_key") if env.get(f"AXEPTA_{k.upper()}") == ""),
    )


def check_base_url(url: str, environment: Environment) -> str:
    """A gateway base URL: ``https`` with a host and no query or fragment; plain ``http`` only
    for a loopback host (the local simulator) and never in production (PROTOCOL.md §3.3, §3.5)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(f"base URL {url!r} is not a valid URL") from None
    if not parts.hostname:
        raise ConfigurationError(f"base URL {url!r} has no host")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base URL {url!r} must not carry a query string or fragment")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        if environment == "production":
            raise ConfigurationError(
                f"base URL {url!r} is plain http: refused in production (http is for a local "
                "simulator with a test environment)"
            )
        return url
    raise ConfigurationError(f"base URL {url!r} must use https (plain http only for loopback hosts)")


def check_environment(settings: Settings) -> None:
    """The test/production guard of PROTOCOL.md §3.5: a production environment with a MID
    ending in ``_t`` is refused unless ``allow_environment_mismatch``; a test environment with a
    MID that neither ends in ``_t`` nor is a known or listed test MID is refused. Raises
    :class:`~axepta.errors.ConfigurationError`."""
    mid = settings.merchant_id or ""
    env = settings.environment
    looks_test = mid.lower().endswith("_t")
    if env == "production" and looks_test and not settings.allow_environment_mismatch:
        raise ConfigurationError(
            f"merchant ID {mid!r} ends in _t (a test MID) but the environment is production "
            f"({settings.environment_source}); declare environment test, or set "
            "allow_environment_mismatch if this really is a live MID"
        )
    if env == "test" and not looks_test and not settings.is_listed_test_mid:
        raise ConfigurationError(
            f"environment is test ({settings.environment_source}) but merchant ID {mid!r} does "
            "not end in _t; list it in test_merchant_ids (AXEPTA_TEST_MERCHANT_IDS) if it is a "
            "test MID"
        )


def check_guard(settings: Settings) -> None:
    """Everything that must hold before a request is sent: :func:`check_environment` and
    :func:`check_base_url` (insecure base URLs are refused in production)."""
    check_environment(settings)
    check_base_url(settings.base_url, settings.environment)
    check_base_url(settings.browser_base_url, settings.environment)


def load_credentials(ctx: typer.Context) -> Credentials:
    """Credentials of ``--profile`` when given, else of the environment variables."""
    return load_settings(ctx).credentials()
