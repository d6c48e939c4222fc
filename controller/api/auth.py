"""Users and tokens.

POST /v2/auth/register  {"username", "password", "email"}  -> 201 user
POST /v2/auth/login     {"username", "password"}           -> 200 {"token"}
GET  /v2/auth/whoami                                       -> 200 user
POST /v2/auth/logout    [?all=true]                        -> 204 (revokes the token, or all)
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from controller.api.encoding import json_response
from controller.api.errors import read_json_object, required_string
from controller.auth import tokens
from controller.auth.middleware import current_user_id
from controller.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from controller.db.models import User
from controller.errors import BadRequest, Conflict, Forbidden, TooManyRequests, Unauthorized
from controller.keys import (
    LIMITER,
    PASSWORDS,
    SESSIONS,
    SETTINGS,
    request_token,
    request_user,
)
from controller.settings import Registration

routes = web.RouteTableDef()
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,149}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "is_superuser": user.is_admin,
        "date_joined": user.created_at,
    }


@routes.post("/v2/auth/register")
async def register(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    body = await read_json_object(request, settings.max_body_bytes)
    username = required_string(body, "username", 150)
    password = required_string(body, "password", MAX_PASSWORD_LENGTH)
    email = required_string(body, "email", 254)
    if not USERNAME.fullmatch(username):
        raise BadRequest(
            "username must be letters, digits and . _ @ + -, starting with a letter or digit"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if not EMAIL.fullmatch(email):
        raise BadRequest("email must be an address like name@example.com")
    password_hash = await request.app[PASSWORDS].hash(password)
    async with request.app[SESSIONS].begin() as session:
        first = (await session.execute(select(func.count(User.id)))).scalar_one() == 0
        caller = request_user(request)
        if not first:
            if settings.registration is Registration.DISABLED:
                raise Forbidden("registration is closed on this platform")
            if settings.registration is Registration.ADMIN_ONLY and not (
                caller is not None and caller.is_admin
            ):
                raise Forbidden("only an admin may register users on this platform")
        taken = await session.execute(select(User.id).where(User.username == username))
        if taken.first() is not None:
            raise Conflict(f"the username {username} is taken")
        user = User(username=username, email=email, password_hash=password_hash, is_admin=first)
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            raise Conflict(f"the username {username} is taken") from None
    return json_response(user_json(user), status=201)


@routes.post("/v2/auth/login")
async def login(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    body = await read_json_object(request, settings.max_body_bytes)
    username = required_string(body, "username", 150)
    password = required_string(body, "password", MAX_PASSWORD_LENGTH)
    limiter = request.app[LIMITER]
    keys = (f"user:{username.lower()}", f"address:{request.remote}")
    wait = limiter.retry_after(*keys)
    if wait:
        raise TooManyRequests(f"too many failed logins: try again in {wait}s", wait)
    async with request.app[SESSIONS].begin() as session:
        user = (await session.execute(select(User).where(User.username == username))).scalar()
        stored = user.password_hash if user is not None else None
        if user is None or not await request.app[PASSWORDS].verify(stored, password):
            limiter.failed(*keys)
            raise Unauthorized("wrong username or password")
        limiter.succeeded(*keys)
        token = await tokens.issue(session, user, settings.token_ttl)
    return json_response({"token": token, "username": user.username})


@routes.get("/v2/auth/whoami")
async def whoami(request: web.Request) -> web.Response:
    user = request_user(request)
    if user is None:
        raise Unauthorized("authentication required")
    return json_response(user_json(user))


@routes.post("/v2/auth/logout")
async def logout(request: web.Request) -> web.Response:
    user_id = current_user_id(request)
    token = request_token(request)
    everything = request.query.get("all", "false").lower()
    if everything not in ("true", "false", "1", "0"):
        raise BadRequest("all must be true or false")
    async with request.app[SESSIONS].begin() as session:
        if everything in ("true", "1"):
            await tokens.revoke_all(session, user_id)
        elif token is not None:
            await tokens.revoke(session, token.id)
    return web.Response(status=204)
