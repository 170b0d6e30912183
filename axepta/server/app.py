"""The application factory and its route list.

| route | method | what | absent when |
|---|---|---|---|
| ``/axepta/notify`` | POST, GET | the platform's URLNotify (and URLSuccess/URLFailure bodies) | — |
| ``/paypal/ipn`` | POST | PayPal's IPN | no ``paypal_receivers`` |
| ``/healthz`` | GET | the books answer | — |

While the application runs, a background loop verifies stored IPN that are due (new ones,
``unverified`` ones after their backoff, ones a dead worker held) and delivers pending events to
the handlers registered on the ledger (``Ledger.on``), every ``interval`` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

import anyio
import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from axepta.credentials import Credentials
from axepta.errors import ConfigurationError
from axepta.server.receiver import Receiver

if TYPE_CHECKING:
    from axepta.ledger import Ledger

__all__ = ["app_from_env", "create_app", "load_handlers", "receivers_from_env"]

logger = logging.getLogger("axepta.server")


def create_app(
    ledger: Ledger,
    credentials: Credentials,
    *,
    admin_token: str | None = None,
    paypal_receivers: Sequence[str] = (),
    ipn_verify_url: str | None = None,
    allow_money_actions: bool = False,
    ipn_environment: Literal["test", "production"] | None = None,
    background: bool = True,
    interval: float = 1.0,
    concurrency: int = 8,
    gateway_base_url: str | None = None,
    http_client_factory: Callable[[], httpx.Client] | None = None,
) -> Starlette:
    """An ASGI application (Starlette) receiving into ``ledger`` for the merchant of
    ``credentials``: ``POST``/``GET /axepta/notify`` (answers per LEDGER.md), ``POST /paypal/ipn``
    (only with ``paypal_receivers``, the shop's own PayPal addresses or receiver ids for the §9.4
    check; postbacks go to ``ipn_verify_url`` when given), ``GET /healthz``.

    ``background`` runs the loop that verifies stored IPN and delivers events every ``interval``
    seconds. ``concurrency`` bounds the units of work of the books running at once in this
    process (each holds a database connection).

    ``admin_token`` mounts the administrator's pages under ``/admin/`` (docs/admin.md; at least 16
    characters; kept out of every page, repr and log). ``allow_money_actions`` adds capture, refund
    and reverse to them, sent by a client journaled in ``ledger`` to ``gateway_base_url`` (the
    production gateway when ``None``) through ``http_client_factory()`` when given."""
    if not isinstance(credentials, Credentials):
        raise ConfigurationError("create_app needs the merchant's Credentials")
    if interval <= 0:
        raise ConfigurationError("interval must be > 0 seconds")
    if concurrency < 1:
        raise ConfigurationError("concurrency must be >= 1")
    receivers = tuple(r.strip() for r in paypal_receivers if r and r.strip())
    if ipn_verify_url is not None:
        from axepta.ipn import verification_url

        verification_url(b"", verify_url=ipn_verify_url)  # https, or http to loopback: else ConfigurationError
    receiver = Receiver(ledger, credentials, receivers, ipn_verify_url, ipn_environment, concurrency)
    routes: list[BaseRoute] = [
        Route("/axepta/notify", receiver.notify, methods=["POST", "GET"], name="notify"),
        Route("/healthz", receiver.healthz, methods=["GET"], name="healthz"),
    ]
    if receivers:
        routes.append(Route("/paypal/ipn", receiver.ipn, methods=["POST"], name="paypal_ipn"))
    if admin_token is not None:
        routes += _admin(ledger, credentials, admin_token, receiver, allow_money_actions, gateway_base_url,
                         http_client_factory)  # fmt: skip

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tasks:
            if background:
                tasks.start_soon(_background, receiver, interval)
            yield
            tasks.cancel_scope.cancel()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.receiver = receiver
    app.state.allow_money_actions = allow_money_actions
    app.state.admin = admin_token is not None
    return app


def _admin(
    ledger: Ledger,
    credentials: Credentials,
    admin_token: str,
    receiver: Receiver,
    allow_money_actions: bool,
    gateway_base_url: str | None,
    http_client_factory: Callable[[], httpx.Client] | None,
) -> list[BaseRoute]:
    from axepta.server.admin.actions import MoneyActions
    from axepta.server.admin.views import admin_routes

    actions = None
    if allow_money_actions:
        from axepta.client import AxeptaClient

        def client() -> AxeptaClient:
            options: dict[str, Any] = {"ledger": ledger}
            if gateway_base_url is not None:
                options["base_url"] = gateway_base_url
            if http_client_factory is not None:
                options["http_client"] = http_client_factory()
            return AxeptaClient(credentials, **options)

        actions = MoneyActions(ledger, client)
    def replay(message_id: int) -> Any:
        return ledger.replay(
            message_id, credentials=credentials, receivers=receiver.paypal_receivers, verify_url=receiver.verify_url
        )

    try:
        return admin_routes(ledger, credentials, admin_token=admin_token, actions=actions, replay=replay)
    except ValueError as exc:
        raise ConfigurationError(f"admin token: {exc}") from None


async def _background(receiver: Receiver, interval: float) -> None:
    """Verify due IPN and deliver due events, forever (a failing round is logged and retried)."""
    while True:
        for work in (receiver.verify_pending, receiver.ledger.deliver_events):
            try:
                await anyio.to_thread.run_sync(work, limiter=receiver._books())
            except Exception as exc:
                logger.warning("background %s failed: %s", getattr(work, "__name__", "work"), type(exc).__name__)
        await anyio.sleep(interval)


def receivers_from_env() -> list[str]:
    """``AXEPTA_PAYPAL_RECEIVERS``: comma-separated PayPal addresses (or receiver ids)."""
    return [r.strip() for r in os.environ.get("AXEPTA_PAYPAL_RECEIVERS", "").split(",") if r.strip()]


def load_handlers(spec: str) -> Callable[[Ledger], Any]:
    """``module:function`` → the function (called with the ledger to register its handlers with
    ``Ledger.on``). A bad spec is a :class:`ConfigurationError` naming it."""
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(f"events handler {spec!r}: expected module:function")
    try:
        target = getattr(import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"events handler {spec!r} cannot be loaded ({type(exc).__name__}: {exc})") from None
    if not callable(target):
        raise ConfigurationError(f"events handler {spec!r} is not callable")
    return target  # type: ignore[no-any-return]


def app_from_env() -> Starlette:
    """The application ``axepta serve`` runs in each uvicorn worker, configured by the
    environment: ``AXEPTA_DATABASE_URL``, the merchant's ``AXEPTA_*`` credentials,
    ``AXEPTA_PAYPAL_RECEIVERS``, ``AXEPTA_IPN_VERIFY_URL``, ``AXEPTA_IPN_ENVIRONMENT``,
    ``AXEPTA_SERVE_EVENTS`` (``module:function`` registering event handlers),
    ``AXEPTA_SERVE_INTERVAL`` and ``AXEPTA_ADMIN_TOKEN``."""
    from axepta.ledger import Ledger

    ledger = Ledger(os.environ.get("AXEPTA_DATABASE_URL") or None)
    events = os.environ.get("AXEPTA_SERVE_EVENTS")
    if events:
        load_handlers(events)(ledger)
    environment = os.environ.get("AXEPTA_IPN_ENVIRONMENT") or None
    if environment not in (None, "test", "production"):
        raise ConfigurationError("AXEPTA_IPN_ENVIRONMENT must be test or production")
    try:
        interval = float(os.environ.get("AXEPTA_SERVE_INTERVAL") or 1.0)
    except ValueError:
        raise ConfigurationError("AXEPTA_SERVE_INTERVAL must be a number of seconds") from None
    return create_app(
        ledger,
        Credentials.from_env(),
        admin_token=os.environ.get("AXEPTA_ADMIN_TOKEN") or None,
        paypal_receivers=receivers_from_env(),
        ipn_verify_url=os.environ.get("AXEPTA_IPN_VERIFY_URL") or None,
        ipn_environment=environment,  # type: ignore[arg-type]
        interval=interval,
        allow_money_actions=os.environ.get("AXEPTA_ALLOW_MONEY_ACTIONS") == "1",
        gateway_base_url=os.environ.get("AXEPTA_BASE_URL") or None,
    )
