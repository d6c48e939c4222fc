"""Authentication: every route needs `Authorization: token <t>` (or the web
console's session cookie, see controller/auth/sessions.py) except the few
listed as public, so a new route is protected unless said otherwise."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler

from controller.auth import sessions, tokens
from controller.errors import Unauthorized
from controller.keys import SESSIONS, TOKEN_KEY, USER_KEY, request_user

# The probes and /metrics are public: see controller/health.py.
# The console's login page, its login call and its static assets (no data in them) too.
PUBLIC = frozenset(
    {
        "/v2/auth/register",
        "/v2/auth/login",
        "/healthz",
        "/readyz",
        "/metrics",
        sessions.LOGIN_PATH,
        "/console/login",
        "/static",
    }
)


def presented_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    # Drycc clients send `token <t>`; `Bearer` is accepted as well.
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = presented_token(request)
    cookie = sessions.cookie_token(request) if token is None else None
    if token is not None:
        async with request.app[SESSIONS]() as session:
            found = await tokens.resolve(session, token)
        if found is None:
            raise Unauthorized("the token is invalid, expired or revoked: run `wf login`")
        request[TOKEN_KEY], request[USER_KEY] = found
    elif cookie is not None:
        if sessions.needs_same_origin(request):
            sessions.check_same_origin(request)
        async with request.app[SESSIONS]() as session:
            found = await tokens.resolve(session, cookie)
        if found is not None:  # else: signed out, as if there were no cookie
            request[TOKEN_KEY], request[USER_KEY] = found
    resource = request.match_info.route.resource
    path = resource.canonical if resource is not None else request.path
    if path not in PUBLIC and request_user(request) is None:
        if sessions.wants_page(request):
            raise web.HTTPFound(f"{sessions.LOGIN_PATH}?next={quote(request.path_qs)}")
        raise Unauthorized("authentication required: send `Authorization: token <token>`")
    return await handler(request)


def current_user_id(request: web.Request) -> int:
    user = request_user(request)
    if user is None:  # the middleware guarantees one on protected routes
        raise Unauthorized("authentication required")
    return user.id
