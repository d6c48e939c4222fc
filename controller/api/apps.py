"""Apps: each one a Kubernetes namespace (or a record only, scheduler `none`).

POST   /v2/apps        {"id": "shop"} (id optional)  -> 201 app
GET    /v2/apps        ?limit=&offset=  -> 200 {"count", "next", "previous", "results"}
GET    /v2/apps/{id}                                 -> 200 app
DELETE /v2/apps/{id}                                 -> 204
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from controller.api.access import Access, check_app_id, load_app
from controller.api.encoding import json_response
from controller.api.errors import read_json_object, string_field
from controller.api.names import generate_name
from controller.db.models import App, Permission, User
from controller.errors import BadRequest, Conflict, Unauthorized
from controller.keys import LOGGER, PLATFORM_LOG, SCHEDULER, SESSIONS, SETTINGS, request_user

routes = web.RouteTableDef()
DEFAULT_PAGE = 100
MAX_PAGE = 1000
# Tries at a generated name before giving up (collisions are rare).
NAME_ATTEMPTS = 5


def app_json(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "uuid": app.uuid,
        "owner": app.owner.username,
        "created": app.created_at,
        "updated": app.updated_at,
    }


def signed_in(request: web.Request) -> User:
    user = request_user(request)
    if user is None:
        raise Unauthorized("authentication required")
    return user


@routes.post("/v2/apps")
async def create_app(request: web.Request) -> web.Response:
    user = signed_in(request)
    body = await read_json_object(request, request.app[SETTINGS].max_body_bytes)
    requested = string_field(body, "id", required=False, max_length=200)
    sessions = request.app[SESSIONS]
    if requested is not None:
        app_id = check_app_id(requested)
        async with sessions() as session:
            if await session.get(App, app_id) is not None:
                raise Conflict(f"an app named {app_id} already exists")
    else:
        app_id = await _free_name(request)
    scheduler = request.app[SCHEDULER]
    await scheduler.create_app(app_id)
    try:
        async with sessions.begin() as session:
            session.add(App(id=app_id, uuid=str(uuid.uuid4()), owner_id=user.id))
    except IntegrityError:
        # Someone else took the name meanwhile; the namespace is theirs now.
        raise Conflict(f"an app named {app_id} already exists") from None
    async with sessions() as session:
        app = await load_app(session, app_id, user, Access.USE)
    await request.app[PLATFORM_LOG].write(app_id, f"app created by {user.username}")
    return json_response(app_json(app), status=201)


@routes.get("/v2/apps")
async def list_apps(request: web.Request) -> web.Response:
    user = signed_in(request)
    limit = _query_int(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    offset = _query_int(request, "offset", 0, 0, None)
    visible = select(App)
    if not user.is_admin:
        shared = select(Permission.app_id).where(Permission.user_id == user.id)
        visible = visible.where(or_(App.owner_id == user.id, App.id.in_(shared)))
    async with request.app[SESSIONS]() as session:
        count = (
            await session.execute(select(func.count()).select_from(visible.subquery()))
        ).scalar_one()
        page = (
            await session.execute(visible.order_by(App.id).limit(limit).offset(offset))
        ).scalars()
        results = [app_json(app) for app in page]
    return json_response(
        {
            "count": count,
            "next": _page_url(request, limit, offset + limit) if offset + limit < count else None,
            "previous": _page_url(request, limit, max(offset - limit, 0)) if offset else None,
            "results": results,
        }
    )


@routes.get("/v2/apps/{id}")
async def app_info(request: web.Request) -> web.Response:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
    return json_response(app_json(app))


@routes.delete("/v2/apps/{id}")
async def destroy_app(request: web.Request) -> web.Response:
    """Namespace gone (bounded wait), then logs and drains in the logger, and
    only then the record: a failure part way leaves the app to destroy again."""
    user = signed_in(request)
    sessions = request.app[SESSIONS]
    async with sessions() as session:
        app = await load_app(session, request.match_info["id"], user, Access.ADMINISTER)
    app_id = app.id
    platform_log = request.app[PLATFORM_LOG]
    await platform_log.write(app_id, f"app destroy requested by {user.username}")
    await request.app[SCHEDULER].destroy_app(app_id)
    logger = request.app[LOGGER]
    await logger.remove_all_drains(app_id)
    await logger.purge(app_id)
    async with sessions.begin() as session:
        record = await session.get(App, app_id)
        if record is not None:
            await session.delete(record)
    return web.Response(status=204)


async def _free_name(request: web.Request) -> str:
    async with request.app[SESSIONS]() as session:
        for _ in range(NAME_ATTEMPTS):
            name = generate_name()
            if await session.get(App, name) is None:
                return name
    raise Conflict("could not find a free app name; give one with `id`")


def _query_int(
    request: web.Request, name: str, default: int, minimum: int, maximum: int | None
) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise BadRequest(f"{name} must be at least {minimum}{upper}")
    return value


def _page_url(request: web.Request, limit: int, offset: int) -> str:
    return str(request.url.with_query({"limit": str(limit), "offset": str(offset)}))
