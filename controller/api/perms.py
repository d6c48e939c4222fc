"""An app's collaborators (Drycc's shapes).

    GET    /v2/apps/{id}/perms              -> 200 {"users": ["alice", ...]}
    POST   /v2/apps/{id}/perms  {"username"} -> 201
    DELETE /v2/apps/{id}/perms/{username}   -> 204

Anyone who may use the app may list; only its owner or an admin may change.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import delete, select

from controller.api.access import Access, is_collaborator, load_app
from controller.api.apps import signed_in
from controller.api.auth import named
from controller.api.encoding import json_response
from controller.api.errors import read_json_object, required_string
from controller.db.models import Permission, User
from controller.errors import BadRequest, Conflict, NotFound
from controller.keys import PLATFORM_LOG, SESSIONS, SETTINGS

routes = web.RouteTableDef()


@routes.get("/v2/apps/{id}/perms")
async def list_perms(request: web.Request) -> web.Response:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
        names = await session.execute(
            select(User.username)
            .join(Permission, Permission.user_id == User.id)
            .where(Permission.app_id == app.id)
            .order_by(User.username)
        )
        users = list(names.scalars())
    return json_response({"users": users})


@routes.post("/v2/apps/{id}/perms")
async def add_perm(request: web.Request) -> web.Response:
    user = signed_in(request)
    body = await read_json_object(request, request.app[SETTINGS].max_body_bytes)
    username = required_string(body, "username", 150)
    async with request.app[SESSIONS].begin() as session:
        app = await load_app(session, request.match_info["id"], user, Access.ADMINISTER)
        other = (await session.execute(select(User).where(named(username)))).scalar()
        if other is None:
            raise BadRequest(f"no user named {username}")
        if other.id == app.owner_id:
            raise BadRequest(f"{username} owns {app.id} already")
        if await is_collaborator(session, app.id, other.id):
            raise Conflict(f"{username} is already a collaborator on {app.id}")
        session.add(Permission(app_id=app.id, user_id=other.id))
        username = other.username  # as registered, whatever case was typed
    await request.app[PLATFORM_LOG].write(
        app.id, f"{user.username} added {username} as a collaborator"
    )
    return json_response({"username": username}, status=201)


@routes.delete("/v2/apps/{id}/perms/{username}")
async def remove_perm(request: web.Request) -> web.Response:
    user = signed_in(request)
    username = request.match_info["username"]
    async with request.app[SESSIONS].begin() as session:
        app = await load_app(session, request.match_info["id"], user, Access.ADMINISTER)
        other = (await session.execute(select(User).where(named(username)))).scalar()
        if other is None or not await is_collaborator(session, app.id, other.id):
            raise NotFound(f"{username[:150]} is not a collaborator on {app.id}")
        await session.execute(
            delete(Permission).where(Permission.app_id == app.id, Permission.user_id == other.id)
        )
    await request.app[PLATFORM_LOG].write(
        app.id, f"{user.username} removed {username} as a collaborator"
    )
    return web.Response(status=204)
