"""Where the CLI finds credentials: a profile of ``~/.config/axepta/config.toml`` (``--profile``)
or the ``AXEPTA_*`` environment variables.

A profile looks like::

    [profiles.shop-test]
    merchant_id = "BNP_DEMO_AXEPTA_t"
    blowfish_key = "..."
    hmac_key = "..."
    environment = "test"            # or "production": sending asks for confirmation
    base_url = "https://paymentpage.axepta.bnpparibas/"
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import typer

from axepta.cli._common import state
from axepta.credentials import Credentials
from axepta.errors import ConfigurationError

__all__ = ["config_path", "load_credentials", "load_profile"]


def config_path() -> Path:
    """``$AXEPTA_CONFIG``, else ``$XDG_CONFIG_HOME/axepta/config.toml``, else ``~/.config/…``."""
    explicit = os.environ.get("AXEPTA_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "axepta" / "config.toml"


def load_profile(name: str) -> dict[str, Any]:
    """The table ``[profiles.NAME]`` of the config file; a missing file or profile is a
    :class:`~axepta.errors.ConfigurationError`."""
    path = config_path()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"profile {name!r} requested but {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from None
    profiles = data.get("profiles", {})
    if name not in profiles:
        raise ConfigurationError(f"profile {name!r} is not in {path} (have: {', '.join(sorted(profiles)) or 'none'})")
    profile = profiles[name]
    if not isinstance(profile, dict):
        raise ConfigurationError(f"profile {name!r} in {path} is not a table")
    return profile


def load_credentials(ctx: typer.Context) -> Credentials:
    """Credentials of ``--profile`` when given, else of the environment variables."""
    st = state(ctx)
    if st.profile:
        profile = load_profile(st.profile)
        missing = [k for k in ("merchant_id", "blowfish_key", "hmac_key") if not profile.get(k)]
        if missing:
            raise ConfigurationError(f"profile {st.profile!r} lacks {', '.join(missing)}")
        env = profile.get("environment")
        if env not in (None, "test", "production"):
            raise ConfigurationError(f"profile {st.profile!r}: environment must be 'test' or 'production'")
        return Credentials(
            str(profile["merchant_id"]),
            str(profile["blowfish_key"]),
            str(profile["hmac_key"]),
            str(profile.get("charset", "iso-8859-1")),
            environment=env,
        )
    return Credentials.from_env()
