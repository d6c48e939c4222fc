"""The web console's session: an API token carried in a cookie.

The cookie holds a token issued like `wf login`'s (`controller/auth/tokens.py`),
so it is revocable like any token, is listed with the user's tokens, and
logging out deletes it. Its lifetime is WF_CONSOLE_SESSION_TTL.

Cookie flags: `HttpOnly` (no script reads it), `SameSite=Strict` (no other
site's page sends it), `Path=/`, and `Secure` when the request came over TLS
(WF_CONSOLE_SECURE_COOKIE: `request` looks at the connection only, since any
client can send `X-Forwarded-Proto`; `forwarded` also trusts that header, for
a controller reachable only through a TLS-terminating proxy; `always`).

CSRF: a request authenticated by the cookie (not by an `Authorization`
header, which no other site can make a browser send) that changes state, or
opens a WebSocket, must come from the console's own origin: `Sec-Fetch-Site:
same-origin` when the browser sends it, else an `Origin` equal to the
request's own scheme and host. Anything else, or neither header, is refused
with 403. Browsers send both on every POST, DELETE and WebSocket handshake,
and a page cannot forge them; SameSite=Strict is a second line behind it.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from controller.auth import tokens
from controller.db.models import Token, utcnow
from controller.errors import Forbidden
from controller.settings import ControllerSettings, CookieSecurity

COOKIE = "wf_session"
LOGIN_PATH = "/login"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cookie_token(request: web.Request) -> str | None:
    value = request.cookies.get(COOKIE)
    return value or None


def is_tls(request: web.Request, security: CookieSecurity) -> bool:
    if security is CookieSecurity.ALWAYS or request.secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return security is CookieSecurity.FORWARDED and forwarded == "https"


def set_cookie(
    response: web.StreamResponse, request: web.Request, settings: ControllerSettings, token: str
) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.console_session_ttl),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_tls(request, settings.console_secure_cookie),
    )


def clear_cookie(
    response: web.StreamResponse, request: web.Request, settings: ControllerSettings
) -> None:
    response.del_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=is_tls(request, settings.console_secure_cookie),
    )


async def limit_lifetime(session: AsyncSession, token: str, ttl: float) -> None:
    """A console session lives `ttl` seconds, however long API tokens live."""
    expires = utcnow() + timedelta(seconds=ttl)
    await session.execute(
        update(Token).where(Token.digest == tokens.digest(token)).values(expires_at=expires)
    )


def needs_same_origin(request: web.Request) -> bool:
    upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
    return upgrade or request.method not in SAFE_METHODS


def check_same_origin(request: web.Request) -> None:
    """Refuse a cross-site request that would use the cookie (see the module doc)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site == "same-origin":
            return
        raise Forbidden(f"refused: a {site} request cannot use the console session")
    origin = request.headers.get("Origin")
    if origin is None:
        raise Forbidden("refused: a request with the console session must send Origin")
    own = f"{request.scheme}://{request.host}"
    forwarded = f"https://{request.host}"
    if origin not in (own, forwarded):
        raise Forbidden("refused: the console session is only usable from its own origin")


def wants_page(request: web.Request) -> bool:
    """A browser asking for a console page, rather than a client for the API."""
    return (
        request.method == "GET"
        and not request.path.startswith("/v2/")
        and "text/html" in request.headers.get("Accept", "")
    )
