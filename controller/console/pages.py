"""The console's routes: its pages, its login and logout, and its assets.

    GET  /login                   the login page (public)
    GET  /                        the apps you can see
    GET  /apps/{id}[/{page}]      an app: tail (default), search, charts, drains, collaborators
    POST /console/login  {"username", "password"}  -> 200 {"username"}, sets the session cookie
    POST /console/logout                           -> 204, revokes the session, clears the cookie
    GET  /static/...              the shell's script and styles (public: no data in them)

Every page is the same shell; the script reads the data from the `/v2/` API.
An app page is only served to a user who may use the app: anyone else gets
the same 404 as for an app that does not exist. Unauthenticated page
requests are sent to /login by the auth middleware.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from controller.api import auth
from controller.api.access import Access, load_app
from controller.api.apps import signed_in
from controller.api.encoding import json_response
from controller.auth import sessions, tokens
from controller.errors import NotFound
from controller.keys import SESSIONS, SETTINGS, request_token

STATIC = Path(__file__).parent / "static"
SHELL = (STATIC / "index.html").read_bytes()
PAGES = frozenset({"tail", "search", "charts", "drains", "collaborators"})
# Scripts, styles and connections only from this origin; nothing may frame a page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
NOT_FOUND = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found - Workflow console</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/console.css"></head>
<body><main id="main"><h1>Not found</h1><p>There is no such page, or no app of that
name that you can see.</p><p><a href="/">Your apps</a></p></main></body></html>
"""

routes = web.RouteTableDef()


def setup(app: web.Application) -> None:
    app.add_routes(routes)
    app.on_response_prepare.append(_security_headers)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.content_type == "text/html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"


def _shell(status: int = 200) -> web.Response:
    return web.Response(body=SHELL, status=status, content_type="text/html", charset="utf-8")


@routes.get(sessions.LOGIN_PATH)
async def login_page(request: web.Request) -> web.Response:
    return _shell()


@routes.get("/")
async def apps_page(request: web.Request) -> web.Response:
    signed_in(request)
    return _shell()


@routes.get("/apps/{id}")
async def app_page(request: web.Request) -> web.Response:
    return await _app_page(request, "tail")


@routes.get("/apps/{id}/{page}")
async def app_subpage(request: web.Request) -> web.Response:
    return await _app_page(request, request.match_info["page"])


async def _app_page(request: web.Request, page: str) -> web.Response:
    user = signed_in(request)
    try:
        if page not in PAGES:
            raise NotFound(f"no console page {page[:40]!r}")
        async with request.app[SESSIONS]() as session:
            await load_app(session, request.match_info["id"], user, Access.USE)
    except NotFound:
        return web.Response(text=NOT_FOUND, status=404, content_type="text/html")
    return _shell()


@routes.post("/console/login")
async def login(request: web.Request) -> web.Response:
    """The API's own login (its checks and limits), its token in a cookie."""
    sessions.check_same_origin(request)
    settings = request.app[SETTINGS]
    reply = await auth.login(request)
    if not isinstance(reply, web.Response):
        raise TypeError("the login handler answers a whole response")
    answer = json.loads(reply.text or "{}")
    token = answer["token"]
    async with request.app[SESSIONS].begin() as session:
        await sessions.limit_lifetime(session, token, settings.console_session_ttl)
    # The token goes in the cookie only: no script on the page ever sees it.
    response = json_response({"username": answer["username"]})
    sessions.set_cookie(response, request, settings, token)
    return response


@routes.post("/console/logout")
async def logout(request: web.Request) -> web.Response:
    signed_in(request)
    token = request_token(request)
    if token is not None:
        async with request.app[SESSIONS].begin() as session:
            await tokens.revoke(session, token.id)
    response = web.Response(status=204)
    sessions.clear_cookie(response, request, request.app[SETTINGS])
    return response


routes.static("/static", STATIC, append_version=False)
