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
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from controller.api.encoding import json_response
from controller.api.errors import read_json_object, required_string
from controller.auth import tokens
from controller.auth.middleware import current_user_id
from controller.auth.policy import MAX_PASSWORD_LENGTH, check_password
from controller.db.models import Bootstrap, User
from controller.errors import BadRequest, Conflict, Forbidden, Unauthorized
from controller.keys import (
    LIMITER,
    PASSWORDS,
    SESSIONS,
    SETTINGS,
    request_token,
    request_user,
)
from controller.settings import ControllerSettings, Registration

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


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def named(username: str) -> Any:
    """The condition matching `username` whatever its case."""
    return func.lower(User.username) == username.lower()


async def admit(
    session: AsyncSession, settings: ControllerSettings, caller: User | None, username: str
) -> bool:
    """Whether this registration may go ahead, and as the first user (the
    first admin): Forbidden or Conflict when it may not."""
    first = (await session.execute(select(Bootstrap.id))).first() is None
    if not first:
        if settings.registration is Registration.DISABLED:
            raise Forbidden("registration is closed on this platform")
        if settings.registration is Registration.ADMIN_ONLY and not (
            caller is not None and caller.is_admin
        ):
            raise Forbidden("only an admin may register users on this platform")
    if (await session.execute(select(User.id).where(named(username)))).first() is not None:
        raise Conflict(f"the username {username} is taken")
    return first


@routes.post("/v2/auth/register")
async def register(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    limiter = request.app[LIMITER]
    await limiter.attempt(limiter.register_limits(client_address(request)), "registrations")
    body = await read_json_object(request, settings.max_body_bytes)
    username = required_string(body, "username", 150)
    password = required_string(body, "password", MAX_PASSWORD_LENGTH)
    email = required_string(body, "email", 254)
    if not USERNAME.fullmatch(username):
        raise BadRequest(
            "username must be letters, digits and . _ @ + -, starting with a letter or digit"
        )
    if not EMAIL.fullmatch(email):
        raise BadRequest("email must be an address like name@example.com")
    check_password(password, username)
    caller = request_user(request)
    sessions = request.app[SESSIONS]
    # Every check before the hash: a refused registration costs no argon2.
    async with sessions() as session:
        await admit(session, settings, caller, username)
    password_hash = await request.app[PASSWORDS].hash(password)
    user = User(username=username, email=email, password_hash=password_hash)
    try:
        await insert_user(sessions, settings, caller, user)
    except IntegrityError:
        # Lost a race: for the bootstrap row (another registration became
        # the first admin meanwhile) or for the name. Checked again as a
        # second user, so a closed registration stays closed.
        user = User(username=username, email=email, password_hash=password_hash)
        try:
            await insert_user(sessions, settings, caller, user)
        except IntegrityError:
            raise Conflict(f"the username {username} is taken") from None
    return json_response(user_json(user), status=201)


async def insert_user(
    sessions: async_sessionmaker[AsyncSession],
    settings: ControllerSettings,
    caller: User | None,
    user: User,
) -> None:
    """The checks again, in the transaction that inserts: the first user
    also inserts the bootstrap row, whose primary key admits only one."""
    async with sessions.begin() as session:
        user.is_admin = await admit(session, settings, caller, user.username)
        session.add(user)
        await session.flush()
        if user.is_admin:
            session.add(Bootstrap(id=1, user_id=user.id))
            await session.flush()


@routes.post("/v2/auth/login")
async def login(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    body = await read_json_object(request, settings.max_body_bytes)
    username = required_string(body, "username", 150)
    password = required_string(body, "password", MAX_PASSWORD_LENGTH)
    limiter = request.app[LIMITER]
    # Counted before the password is checked: parallel attempts cannot pass.
    address = client_address(request)
    await limiter.attempt(limiter.login_limits(username, address), "failed logins")
    async with request.app[SESSIONS].begin() as session:
        user = (await session.execute(select(User).where(named(username)))).scalar()
        stored = user.password_hash if user is not None else None
        # Always one verification (against a decoy for an unknown user), so
        # the answer's time does not tell whether the username exists.
        matched = await request.app[PASSWORDS].verify(stored, password)
        if user is None or not matched:
            raise Unauthorized("wrong username or password")
        await limiter.login_succeeded(username, address)
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
