"""Access to the administrator's pages: one token, a signed session cookie, CSRF and Origin checks.

The model (kept in this one small module, as sqladmin keeps its own):

- Without an admin token the pages do not exist (the application mounts nothing under ``/admin``).
- ``POST /admin/login`` compares the token in constant time and answers with a session cookie:
  ``HttpOnly``, ``SameSite=Strict``, ``Secure`` unless the page is served on a loopback address,
  signed (itsdangerous) with a key derived from the token, so every worker of ``axepta serve``
  accepts it and changing the token ends every session. The cookie holds no secret: a random
  session id and the session's CSRF token, signed, with an expiry.
- Every page but the login form answers 401 without a valid session.
- Every state-changing request (a POST) must carry the session's CSRF token in its form and an
  ``Origin`` (or, failing that, ``Referer``) of the page's own origin; anything else is refused
  with 403 before the form is acted on.

The token never appears in a page, a URL, a cookie or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["COOKIE_NAME", "AdminAuth", "Session", "is_loopback_host"]

COOKIE_NAME = "axepta_admin"
_SESSION_SECONDS = 8 * 3600
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback_host(host: str | None) -> bool:
    """True for 127.0.0.0/8, ``::1`` and ``localhost``: the only hosts served without ``Secure``."""
    if not host:
        return False
    host = host.strip("[]").lower()
    return host in _LOOPBACK or host.startswith("127.")


@dataclass(frozen=True)
class Session:
    """A logged-in administrator: the session id (for logs) and the CSRF token of its forms."""

    sid: str
    csrf: str


class AdminAuth:
    """Checks the admin token, issues and reads session cookies, and guards state changes."""

    __slots__ = ("_serializer", "_token_digest")

    def __init__(self, admin_token: str) -> None:
        if not isinstance(admin_token, str) or len(admin_token) < 16:
            # A short token can be guessed through the login form; refuse it at start-up.
            raise ValueError("the admin token must be at least 16 characters")
        token = admin_token.encode("utf-8")
        self._token_digest = hashlib.sha256(token).digest()
        signing_key = hmac.new(token, b"axepta admin session v1", hashlib.sha256).hexdigest()
        self._serializer = URLSafeTimedSerializer(signing_key, salt="axepta-admin")

    def __repr__(self) -> str:
        return "AdminAuth(<token>)"

    def __reduce__(self) -> str:
        raise TypeError("AdminAuth holds the admin token and cannot be pickled")

    def token_matches(self, candidate: str) -> bool:
        """Constant-time comparison of a submitted token (digests, so lengths do not leak)."""
        digest = hashlib.sha256(candidate.encode("utf-8", "surrogatepass")).digest()
        return hmac.compare_digest(digest, self._token_digest)

    def new_session(self) -> tuple[Session, str]:
        """A fresh session and its signed cookie value."""
        session = Session(sid=secrets.token_urlsafe(12), csrf=secrets.token_urlsafe(24))
        return session, self._serializer.dumps({"sid": session.sid, "csrf": session.csrf})

    def session(self, request: Request) -> Session | None:
        """The request's session, or None when the cookie is absent, forged or expired."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw or len(raw) > 512:
            return None
        try:
            data = self._serializer.loads(raw, max_age=_SESSION_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        sid, csrf = data.get("sid"), data.get("csrf")
        if not isinstance(sid, str) or not isinstance(csrf, str):
            return None
        return Session(sid=sid, csrf=csrf)

    @staticmethod
    def set_cookie(response: Response, request: Request, value: str) -> None:
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=_SESSION_SECONDS,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=not is_loopback_host(request.url.hostname),
        )

    @staticmethod
    def clear_cookie(response: Response, request: Request) -> None:
        response.delete_cookie(
            COOKIE_NAME,
            path="/admin",
            httponly=True,
            samesite="strict",
            secure=not is_loopback_host(request.url.hostname),
        )

    @staticmethod
    def same_origin(request: Request) -> bool:
        """The request comes from a page of this site: ``Origin`` (else ``Referer``) is ours."""
        own = f"{request.url.scheme}://{request.url.netloc}".lower()
        origin = request.headers.get("origin")
        if origin is not None:
            return origin.lower() == own
        referer = request.headers.get("referer")
        if referer:
            parts = urlsplit(referer)
            return f"{parts.scheme}://{parts.netloc}".lower() == own
        return False

    @staticmethod
    def csrf_matches(session: Session, submitted: object) -> bool:
        return isinstance(submitted, str) and hmac.compare_digest(
            submitted.encode("utf-8", "surrogatepass"), session.csrf.encode("ascii")
        )
