"""The administrator's pages (eFront's Finished / Not-Finished screen and more), server-rendered.

Every view does its data work here and hands plain values to a template; templates only show.
Routes are listed once, in :func:`admin_routes`. Access control lives in :mod:`.auth`; money
actions in :mod:`.actions`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from axepta.amounts import from_minor_units
from axepta.credentials import Credentials
from axepta.ledger import Ledger
from axepta.ledger.machine import GROUPS
from axepta.server.admin import books
from axepta.server.admin.actions import MoneyActions
from axepta.server.admin.auth import AdminAuth, Session

__all__ = ["admin_routes"]

PAGE_SIZE = 25
_MAX_FORM = 8 * 1024
_GROUP_TITLES = {"not_finished": "Not-Finished", "finished": "Finished", "failed": "Failed"}

View = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class AdminConfig:
    ledger: Ledger
    credentials: Credentials
    auth: AdminAuth
    templates: Jinja2Templates
    actions: MoneyActions | None
    replay: Callable[[int], Any]


def _money(minor: object, currency: object) -> str:
    if not isinstance(minor, int) or not isinstance(currency, str):
        return ""
    try:
        return f"{from_minor_units(minor, currency)} {currency}"
    except ValueError:
        return f"{minor} (minor units) {currency}"


def _templates() -> Jinja2Templates:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("axepta.server", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["money"] = _money
    env.filters["when"] = lambda value: "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Jinja2Templates(env=env)


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < len(raw) < 7 and int(raw) > 0 else 1


async def _form(request: Request) -> FormData:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > _MAX_FORM:
        return FormData()
    return await request.form(max_files=0, max_fields=32)


class _Pages:
    def __init__(self, config: AdminConfig) -> None:
        self.c = config

    # -- rendering ----------------------------------------------------------------------------

    def render(
        self, request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
    ) -> Response:
        base = {"merchant_id": self.c.credentials.merchant_id, "session": None, "section": None}
        response = self.c.templates.TemplateResponse(
            request, f"axepta/admin/{name}", {**base, **context}, status_code=status_code
        )
        response.headers["cache-control"] = "no-store"
        response.headers["x-frame-options"] = "DENY"
        response.headers["referrer-policy"] = "same-origin"
        response.headers["content-security-policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        return response

    def login_page(self, request: Request, *, error: str | None = None, status_code: int = 401) -> Response:
        return self.render(request, "login.html", {"error": error}, status_code=status_code)

    # -- guards -------------------------------------------------------------------------------

    def page(self, view: Callable[[Request, Session], Awaitable[Response]]) -> View:
        """A page for logged-in administrators: 401 (with the login form) without a session."""

        @wraps(view)
        async def guarded(request: Request) -> Response:
            session = self.c.auth.session(request)
            if session is None:
                return self.login_page(request)
            return await view(request, session)

        return guarded

    def change(
        self, view: Callable[[Request, Session, FormData], Awaitable[Response]]
    ) -> View:
        """A state-changing POST: a session, our own Origin, and the session's CSRF token."""

        @wraps(view)
        async def guarded(request: Request) -> Response:
            session = self.c.auth.session(request)
            if session is None:
                return self.login_page(request)
            form = await _form(request)
            if not self.c.auth.same_origin(request) or not self.c.auth.csrf_matches(
                session, form.get("csrf_token")
            ):
                return self.render(
                    request,
                    "refused.html",
                    {"session": session, "error": "Refused: the form did not come from this site's own page (CSRF check)."},
                    status_code=403,
                )
            return await view(request, session, form)

        return guarded

    # -- login --------------------------------------------------------------------------------

    async def login_form(self, request: Request) -> Response:
        if self.c.auth.session(request) is not None:
            return RedirectResponse(request.url_for("admin:payments"), status_code=303)
        return self.login_page(request, status_code=200)

    async def login(self, request: Request) -> Response:
        if not self.c.auth.same_origin(request):
            return self.login_page(request, error="Refused: the form did not come from this site.", status_code=403)
        form = await _form(request)
        token = form.get("token")
        if not isinstance(token, str) or not self.c.auth.token_matches(token):
            return self.login_page(request, error="That is not the admin token.")
        _session, cookie = self.c.auth.new_session()
        response = RedirectResponse(
            str(request.url_for("admin:payments")) + "?group=not_finished", status_code=303
        )
        self.c.auth.set_cookie(response, request, cookie)
        return response

    async def logout(self, request: Request, session: Session, form: FormData) -> Response:
        response = RedirectResponse(request.url_for("admin:login"), status_code=303)
        self.c.auth.clear_cookie(response, request)
        return response

    # -- payments -----------------------------------------------------------------------------

    async def home(self, request: Request, session: Session) -> Response:
        return RedirectResponse(str(request.url_for("admin:payments")) + "?group=not_finished", status_code=303)

    async def payments(self, request: Request, session: Session) -> Response:
        group = request.query_params.get("group", "not_finished").replace("-", "_")
        if group not in GROUPS and group != "all":
            group = "not_finished"
        text = request.query_params.get("q", "").strip()[:255]
        page = _page_number(request)
        found = await run_in_threadpool(
            books.find_payments, self.c.ledger, group=None if group == "all" else group,
            text=text or None, page=page, page_size=PAGE_SIZE,
        )
        query = {"group": group, **({"q": text} if text else {})}
        return self.render(
            request,
            "payments.html",
            {
                "session": session,
                "section": group,
                "title": _GROUP_TITLES.get(group, "All"),
                "group": group,
                "q": text,
                "found": found,
                "prev_url": f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
                "next_url": f"?{urlencode({**query, 'page': page + 1})}" if found.has_next else None,
            },
        )

    async def payment(self, request: Request, session: Session) -> Response:
        trans_id = request.query_params.get("trans_id", "")
        merchant_id = request.query_params.get("mid") or None
        detail = await run_in_threadpool(books.payment_detail, self.c.ledger, trans_id, merchant_id)
        if detail is None:
            return self.render(
                request, "refused.html",
                {"session": session, "error": "No payment with that TransID in the books."},
                status_code=404,
            )
        return self.render(
            request,
            "payment.html",
            {
                "session": session,
                "section": detail.payment.group,
                "d": detail,
                "money_actions": self.c.actions is not None,
                "notice": request.query_params.get("notice"),
            },
        )

    # -- inbox and accounts -------------------------------------------------------------------

    async def inbox(self, request: Request, session: Session) -> Response:
        page = _page_number(request)
        found = await run_in_threadpool(books.inbox, self.c.ledger, page=page, page_size=PAGE_SIZE)
        return self.render(
            request,
            "inbox.html",
            {
                "session": session,
                "section": "inbox",
                "found": found,
                "notice": request.query_params.get("notice"),
                "prev_url": f"?page={page - 1}" if page > 1 else None,
                "next_url": f"?page={page + 1}" if found.has_next else None,
            },
        )

    async def replay(self, request: Request, session: Session, form: FormData) -> Response:
        message_id = int(request.path_params["message_id"])
        receipt = await run_in_threadpool(self.c.replay, message_id)
        notice = f"Message {message_id} replayed: {receipt.outcome}."
        return RedirectResponse(
            f"{request.url_for('admin:inbox')}?{urlencode({'notice': notice})}", status_code=303
        )

    async def accounts(self, request: Request, session: Session) -> Response:
        overview = await run_in_threadpool(books.accounts_overview, self.c.ledger)
        return self.render(
            request,
            "accounts.html",
            {
                "session": session,
                "section": "accounts",
                "o": overview,
                "notice": request.query_params.get("notice"),
                "error": request.query_params.get("error"),
            },
        )

    async def assign(self, request: Request, session: Session, form: FormData) -> Response:
        message_id = int(request.path_params["message_id"])
        account = form.get("account")
        target = request.url_for("admin:accounts")
        if not isinstance(account, str) or not account.strip() or len(account) > 128:
            error = "Give the account to credit (1 to 128 characters)."
            return RedirectResponse(f"{target}?{urlencode({'error': error})}", status_code=303)
        try:
            await run_in_threadpool(self.c.ledger.accounts.assign, message_id, account.strip())
        except (LookupError, ValueError) as exc:
            return RedirectResponse(f"{target}?{urlencode({'error': str(exc)})}", status_code=303)
        notice = f"Top-up {message_id} assigned to {account.strip()}."
        return RedirectResponse(f"{target}?{urlencode({'notice': notice})}", status_code=303)

    # -- money actions ------------------------------------------------------------------------

    async def confirm(self, request: Request, session: Session, form: FormData) -> Response:
        assert self.c.actions is not None
        plan = await run_in_threadpool(self.c.actions.plan, form)
        if plan.error is not None:
            detail = await run_in_threadpool(books.payment_detail, self.c.ledger, plan.trans_id, None)
            if detail is None:
                return self.render(request, "refused.html", {"session": session, "error": plan.error}, status_code=404)
            return self.render(
                request, "payment.html",
                {"session": session, "section": detail.payment.group, "d": detail, "money_actions": True, "error": plan.error},
                status_code=400,
            )
        return self.render(request, "confirm.html", {"session": session, "plan": plan})

    async def execute(self, request: Request, session: Session, form: FormData) -> Response:
        assert self.c.actions is not None
        outcome = await run_in_threadpool(self.c.actions.execute, form)
        query = urlencode({"trans_id": outcome.trans_id, "mid": outcome.merchant_id, "notice": outcome.message})
        return RedirectResponse(f"{request.url_for('admin:payment')}?{query}", status_code=303)


def admin_routes(
    ledger: Ledger,
    credentials: Credentials,
    *,
    admin_token: str,
    actions: MoneyActions | None = None,
    replay: Callable[[int], Any],
) -> list[BaseRoute]:
    """The routes of ``/admin``, in one place (mounted by :func:`axepta.server.create_app`).
    ``replay(message_id)`` applies a stored message again (with the receiver's settings)."""
    config = AdminConfig(ledger, credentials, AdminAuth(admin_token), _templates(), actions, replay)
    p = _Pages(config)
    routes: list[BaseRoute] = [
        Route("/", p.page(p.home), name="home"),
        Route("/login", p.login_form, methods=["GET"], name="login"),
        Route("/login", p.login, methods=["POST"], name="login_post"),
        Route("/logout", p.change(p.logout), methods=["POST"], name="logout"),
        Route("/payments", p.page(p.payments), name="payments"),
        Route("/payment", p.page(p.payment), name="payment"),
        Route("/inbox", p.page(p.inbox), name="inbox"),
        Route("/messages/{message_id:int}/replay", p.change(p.replay), methods=["POST"], name="replay"),
        Route("/accounts", p.page(p.accounts), name="accounts"),
        Route("/messages/{message_id:int}/assign", p.change(p.assign), methods=["POST"], name="assign"),
        Mount("/static", app=StaticFiles(packages=[("axepta.server", "static")]), name="static"),
    ]
    if actions is not None:
        routes += [
            Route("/payment/confirm", p.change(p.confirm), methods=["POST"], name="confirm"),
            Route("/payment/execute", p.change(p.execute), methods=["POST"], name="execute"),
        ]
    return [Mount("/admin", routes=routes, name="admin")]
