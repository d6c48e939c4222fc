"""Users and tokens: registration, login, whoami, revocation, rate limits,
and secrets never shown or stored in the clear."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from sqlalchemy import select

from controller.auth.ratelimit import AttemptLimiter
from controller.db.models import Token, User
from controller.db.session import create_engine, session_factory
from controller.errors import TooManyRequests
from controller.settings import ControllerSettings, Registration
from tests.controller.conftest import PASSWORD, Client, MakeClient, Users


async def register(client: Client, name: str, **extra: str) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": f"token {extra.pop('token')}"} if "token" in extra else None
    body = {"username": name, "password": PASSWORD, "email": f"{name}@example.com", **extra}
    reply = await client.post("/v2/auth/register", json=body, headers=headers)
    return reply.status, await reply.json()


async def login(client: Client, name: str, password: str = PASSWORD) -> tuple[int, dict[str, str]]:
    reply = await client.post("/v2/auth/login", json={"username": name, "password": password})
    return reply.status, await reply.json()


async def test_first_user_is_admin_and_whoami(client: Client) -> None:
    status, first = await register(client, "admin")
    assert status == 201
    assert first["username"] == "admin"
    assert first["is_superuser"] is True
    assert set(first) == {"id", "username", "email", "is_superuser", "date_joined"}
    status, second = await register(client, "alice")
    assert (status, second["is_superuser"]) == (201, False)
    status, body = await login(client, "alice")
    assert status == 200
    token = body["token"]
    assert token.startswith("wf_")
    reply = await client.get("/v2/auth/whoami", headers={"Authorization": f"token {token}"})
    assert reply.status == 200
    assert (await reply.json())["username"] == "alice"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "x y", "password": PASSWORD, "email": "a@b.c"}, "username must be"),
        ({"username": "ann", "password": "short", "email": "a@b.c"}, "at least 8 characters"),
        ({"username": "ann", "password": PASSWORD, "email": "nope"}, "email must be"),
        ({"username": 5, "password": PASSWORD, "email": "a@b.c"}, "username must be a string"),
        ({"password": PASSWORD, "email": "a@b.c"}, "username is required"),
        ({"username": "a" * 151, "password": PASSWORD, "email": "a@b.c"}, "at most 150"),
    ],
)
async def test_register_rejects_bad_input(
    client: Client, body: dict[str, object], message: str
) -> None:
    reply = await client.post("/v2/auth/register", json=body)
    assert reply.status == 400
    assert message in (await reply.json())["detail"]


@pytest.mark.parametrize(
    "raw", [b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"username": "a"' + b" " * 5000]
)
async def test_bodies_that_are_not_json_objects_are_400(client: Client, raw: bytes) -> None:
    reply = await client.post("/v2/auth/register", data=raw)
    assert reply.status == 400
    detail = (await reply.json())["detail"]
    assert "JSON object" in detail or "larger than 4096 bytes" in detail


async def test_duplicate_username_is_409(client: Client) -> None:
    assert (await register(client, "alice"))[0] == 201
    status, body = await register(client, "alice")
    assert (status, body["detail"]) == (409, "the username alice is taken")


async def test_registration_closed_and_admin_only(make_client: MakeClient) -> None:
    closed = await make_client(registration=Registration.DISABLED)
    assert (await register(closed, "root"))[0] == 201  # the first user still may
    status, body = await register(closed, "alice")
    assert (status, body["detail"]) == (403, "registration is closed on this platform")


async def test_admin_only_registration(make_client: MakeClient, database_url: str) -> None:
    client = await make_client(registration=Registration.ADMIN_ONLY)
    assert (await register(client, "root"))[0] == 201
    status, body = await register(client, "alice")
    assert (status, body["detail"]) == (403, "only an admin may register users on this platform")
    _, root = await login(client, "root")
    assert (await register(client, "alice", token=root["token"]))[0] == 201
    _, alice = await login(client, "alice")
    assert (await register(client, "bob", token=alice["token"]))[0] == 403


async def test_wrong_password_unknown_user_and_bad_tokens_are_401(client: Client) -> None:
    await register(client, "alice")
    assert await login(client, "alice", "wrong password") == (
        401,
        {"detail": "wrong username or password"},
    )
    assert (await login(client, "nobody"))[0] == 401
    for header in ("token wf_madeup", "token nope", "Basic abc", "token "):
        reply = await client.get("/v2/auth/whoami", headers={"Authorization": header})
        assert reply.status == 401, header
    reply = await client.get("/v2/auth/whoami")
    assert reply.status == 401
    assert "authentication required" in (await reply.json())["detail"]


async def test_logout_revokes_one_token_or_all(client: Client) -> None:
    await register(client, "alice")
    first = (await login(client, "alice"))[1]["token"]
    second = (await login(client, "alice"))[1]["token"]
    third = (await login(client, "alice"))[1]["token"]

    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}"}

    assert (await client.post("/v2/auth/logout", headers=auth(first))).status == 204
    assert (await client.get("/v2/auth/whoami", headers=auth(first))).status == 401
    assert (await client.get("/v2/auth/whoami", headers=auth(second))).status == 200
    reply = await client.post("/v2/auth/logout?all=true", headers=auth(second))
    assert reply.status == 204
    assert (await client.get("/v2/auth/whoami", headers=auth(third))).status == 401
    assert (await client.post("/v2/auth/logout")).status == 401


async def test_expired_tokens_are_refused(make_client: MakeClient) -> None:
    client = await make_client(token_ttl=0.001)
    await register(client, "alice")
    token = (await login(client, "alice"))[1]["token"]
    reply = await client.get("/v2/auth/whoami", headers={"Authorization": f"token {token}"})
    assert reply.status == 401


async def test_login_attempts_are_rate_limited(make_client: MakeClient) -> None:
    client = await make_client(login_attempts=3, login_window=60.0)
    await register(client, "alice")
    for _ in range(3):
        assert (await login(client, "alice", "wrong password"))[0] == 401
    reply = await client.post("/v2/auth/login", json={"username": "alice", "password": PASSWORD})
    assert reply.status == 429
    assert 1 <= int(reply.headers["Retry-After"]) <= 60
    assert "too many failed logins" in (await reply.json())["detail"]


async def test_limiter_window_and_success_reset() -> None:
    limiter = AttemptLimiter(ControllerSettings(login_attempts=2, login_window=1.0))
    try:
        for _ in range(2):
            await limiter.attempt(limiter.login_limits("a", "1"), "failed logins")
        with pytest.raises(TooManyRequests) as refused:
            await limiter.attempt(limiter.login_limits("A", "1"), "failed logins")
        assert refused.value.retry_after == 1
        # Another address, or another user at this address, is not held back.
        await limiter.attempt(limiter.login_limits("a", "2"), "failed logins")
        await limiter.attempt(limiter.login_limits("b", "1"), "failed logins")
        deadline = time.monotonic() + 10
        while True:  # the window passes
            try:
                await limiter.attempt(limiter.login_limits("a", "1"), "failed logins")
                break
            except TooManyRequests:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        await limiter.attempt(limiter.login_limits("a", "1"), "failed logins")
        await limiter.login_succeeded("a", "1")
        await limiter.attempt(limiter.login_limits("a", "1"), "failed logins")
    finally:
        await limiter.close()


async def test_passwords_and_tokens_are_stored_hashed_and_never_shown(
    client: Client, settings: ControllerSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _status, user = await register(client, "alice")
    token = (await login(client, "alice"))[1]["token"]
    assert PASSWORD not in str(user)
    whoami = await client.get("/v2/auth/whoami", headers={"Authorization": f"token {token}"})
    assert token not in await whoami.text()
    assert PASSWORD not in await whoami.text()
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            stored = (await session.execute(select(User))).scalar_one()
            digests = list((await session.execute(select(Token.digest))).scalars())
    finally:
        await engine.dispose()
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert len(digests) == 1
    assert token not in digests[0]
    assert len(digests[0]) == 64
    assert PASSWORD not in caplog.text
    assert token not in caplog.text


async def test_users_fixture_shapes(users: Users) -> None:
    assert sorted(users.tokens) == ["admin", "alice", "bob", "eve"]
