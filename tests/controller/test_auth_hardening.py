"""What hostile clients did to the controller's auth, kept fixed: the admin
bootstrap race, the login limiter under concurrency, argon2 before the
checks, timing by username, and the password policy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from controller.db.models import User
from controller.db.session import create_engine, session_factory
from controller.settings import Registration
from tests.controller.conftest import PASSWORD, Client, MakeClient
from tests.support.redis import RedisServer

CONCURRENT = 40


def account(name: str, password: str = PASSWORD) -> dict[str, str]:
    return {"username": name, "password": password, "email": f"{name.lower()}@example.com"}


async def users_in(database_url: str) -> list[User]:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            return list((await session.execute(select(User).order_by(User.id))).scalars())
    finally:
        await engine.dispose()


@pytest.fixture
async def from_second_address(client: Client) -> AsyncIterator[aiohttp.ClientSession]:
    """A session whose connections come from 127.0.0.2: another client address."""
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(str(client.make_url("")), connector=connector) as session:
        yield session


# -- 11: the admin bootstrap ------------------------------------------------------


@pytest.mark.parametrize("registration", list(Registration))
async def test_concurrent_first_registrations_elect_one_admin(
    make_client: MakeClient, any_database_url: str, registration: Registration
) -> None:
    client = await make_client(database_url=any_database_url, registration=registration)
    replies = await asyncio.gather(
        *(client.post("/v2/auth/register", json=account(f"user{i}")) for i in range(5))
    )
    statuses = sorted(reply.status for reply in replies)
    stored = await users_in(any_database_url)
    assert [user.is_admin for user in stored].count(True) == 1
    if registration is Registration.ENABLED:
        assert statuses == [201] * 5
        assert len(stored) == 5
    else:
        # Closed registration lets the first user in, and only the first.
        assert statuses == [201, 403, 403, 403, 403]
        assert len(stored) == 1


# -- 12: the login limiter --------------------------------------------------------


async def test_concurrent_wrong_logins_are_limited_and_the_user_still_logs_in(
    make_client: MakeClient, from_second_address: aiohttp.ClientSession
) -> None:
    client = await make_client(login_attempts=5, login_window=60.0)
    assert (await client.post("/v2/auth/register", json=account("alice"))).status == 201
    wrong = {"username": "alice", "password": "wrong password"}
    replies = await asyncio.gather(
        *(client.post("/v2/auth/login", json=wrong) for _ in range(CONCURRENT))
    )
    statuses = [reply.status for reply in replies]
    assert statuses.count(401) <= 5
    assert statuses.count(429) == CONCURRENT - statuses.count(401)
    for reply in replies:
        if reply.status == 429:
            assert 1 <= int(reply.headers["Retry-After"]) <= 60 * 16
    # The attacker's address is held back; the real user, elsewhere, is not.
    async with from_second_address.post(
        "/v2/auth/login", json={"username": "alice", "password": PASSWORD}
    ) as reply:
        assert reply.status == 200, await reply.text()


async def test_two_controllers_on_one_redis_share_the_limit(
    make_client: MakeClient, redis_server: RedisServer
) -> None:
    first = await make_client(redis_url=redis_server.url, login_attempts=4)
    second = await make_client(redis_url=redis_server.url, login_attempts=4)
    assert (await first.post("/v2/auth/register", json=account("alice"))).status == 201
    wrong = {"username": "alice", "password": "wrong password"}
    replies = await asyncio.gather(
        *(
            (first if index % 2 else second).post("/v2/auth/login", json=wrong)
            for index in range(CONCURRENT)
        )
    )
    statuses = [reply.status for reply in replies]
    assert statuses.count(401) == 4  # not 4 per controller
    assert statuses.count(429) == CONCURRENT - 4


async def test_one_address_cannot_spray_many_usernames(make_client: MakeClient) -> None:
    client = await make_client(login_attempts=5, login_address_attempts=12)
    statuses = [
        (
            await client.post("/v2/auth/login", json={"username": f"u{i}", "password": "x" * 8})
        ).status
        for i in range(20)
    ]
    assert statuses == [401] * 12 + [429] * 8


async def test_a_success_resets_the_users_count(make_client: MakeClient) -> None:
    client = await make_client(login_attempts=3)
    await client.post("/v2/auth/register", json=account("alice"))
    wrong = {"username": "alice", "password": "wrong password"}
    right = {"username": "alice", "password": PASSWORD}
    for _ in range(3):
        assert (await client.post("/v2/auth/login", json=wrong)).status == 401
        assert (await client.post("/v2/auth/login", json=right)).status == 200


# -- 13: argon2 only after the checks, and a register limit -----------------------


async def test_register_hashes_nothing_it_refuses(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await make_client(registration=Registration.ADMIN_ONLY)
    assert (await client.post("/v2/auth/register", json=account("root"))).status == 201
    login = await client.post("/v2/auth/login", json={"username": "root", "password": PASSWORD})
    admin = {"Authorization": f"token {(await login.json())['token']}"}
    hashed: list[str] = []
    original = PasswordHasher.hash

    def counting(self: PasswordHasher, password: str | bytes, **kwargs: Any) -> str:
        hashed.append(str(password))
        return original(self, password, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counting)
    refused = [
        await client.post("/v2/auth/register", json=account("alice")),  # not an admin
        await client.post("/v2/auth/register", json=account("ROOT"), headers=admin),  # taken
        await client.post(
            "/v2/auth/register", json=account("ann", "password"), headers=admin
        ),  # common
    ]
    assert [reply.status for reply in refused] == [403, 409, 400]
    assert hashed == []
    accepted = await client.post("/v2/auth/register", json=account("ann"), headers=admin)
    assert accepted.status == 201
    assert len(hashed) == 1


async def test_register_is_rate_limited_per_address(make_client: MakeClient) -> None:
    client = await make_client(register_attempts=3, register_window=600.0)
    statuses = [
        (await client.post("/v2/auth/register", json=account(f"user{i}"))).status for i in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]


# -- 14: the same work for a known and an unknown username ------------------------


async def test_unknown_and_known_usernames_cost_one_verification_each(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.post("/v2/auth/register", json=account("alice"))
    verified: list[str] = []
    original = PasswordHasher.verify

    def counting(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(str(hash))
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    for name in ("alice", "nobody"):
        reply = await client.post("/v2/auth/login", json={"username": name, "password": "x" * 9})
        assert reply.status == 401
    assert len(verified) == 2
    known, decoy = verified
    # The decoy is a real hash with the same parameters as the user's.
    assert known.rsplit("$", 2)[0] == decoy.rsplit("$", 2)[0]


async def test_unknown_usernames_answer_as_slowly_as_known_ones(make_client: MakeClient) -> None:
    client = await make_client(login_attempts=100, login_address_attempts=100)
    await client.post("/v2/auth/register", json=account("alice"))

    async def seconds(name: str) -> float:
        started = time.perf_counter()
        reply = await client.post("/v2/auth/login", json={"username": name, "password": "x" * 9})
        assert reply.status == 401
        return time.perf_counter() - started

    known: list[float] = []
    unknown: list[float] = []
    for _ in range(9):  # interleaved, so a busy machine slows both alike
        known.append(await seconds("alice"))
        unknown.append(await seconds("nobody"))
    ratio = sorted(unknown)[4] / sorted(known)[4]
    assert 0.5 < ratio < 2.0, (known, unknown)


# -- 16: the password policy and case-insensitive usernames -----------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("password", "too common"),
        ("12345678", "too common"),
        ("Password1", "too common"),
        (" " * 8, "one character repeated"),
        ("aaaaaaaaaaaa", "one character repeated"),
        ("carol-smith", "must not be the username"),
        ("CAROL-SMITH", "must not be the username"),
        ("short", "at least 8 characters"),
    ],
)
async def test_weak_passwords_are_refused(client: Client, password: str, reason: str) -> None:
    reply = await client.post("/v2/auth/register", json=account("carol-smith", password))
    assert reply.status == 400
    assert reason in (await reply.json())["detail"]


async def test_passwords_need_no_composition_and_may_be_long(client: Client) -> None:
    for index, password in enumerate(
        ("correct horse battery staple", "ünïcödé pässwörd", "x" * 17 + "y" * 1000)
    ):
        reply = await client.post("/v2/auth/register", json=account(f"user{index}", password))
        assert reply.status == 201, await reply.text()
    too_long = await client.post("/v2/auth/register", json=account("user9", "ab" * 600))
    assert too_long.status == 400


async def test_usernames_are_unique_whatever_their_case(client: Client, database_url: str) -> None:
    assert (await client.post("/v2/auth/register", json=account("Alice"))).status == 201
    again = await client.post("/v2/auth/register", json=account("alice"))
    assert again.status == 409
    for spelling in ("alice", "ALICE", "Alice"):
        reply = await client.post(
            "/v2/auth/login", json={"username": spelling, "password": PASSWORD}
        )
        assert reply.status == 200, spelling
        assert (await reply.json())["username"] == "Alice"
    assert [user.username for user in await users_in(database_url)] == ["Alice"]


async def test_the_database_refuses_case_duplicates(any_database_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    from controller.db.session import migrate

    engine = create_engine(any_database_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            session.add(User(username="Bob", email="b@example.com", password_hash="x"))
        with pytest.raises(IntegrityError):
            async with sessions.begin() as session:
                session.add(User(username="bob", email="c@example.com", password_hash="y"))
        async with sessions() as session:
            count = (await session.execute(select(func.count(User.id)))).scalar_one()
        assert count == 1
    finally:
        await engine.dispose()


async def test_the_upgrade_keeps_an_existing_platform_set_up(any_database_url: str) -> None:
    from sqlalchemy import text

    from controller.db.models import Bootstrap
    from controller.db.session import migrate

    engine = create_engine(any_database_url)
    try:
        await migrate(engine, "0001")
        async with engine.begin() as connection:
            for name, admin in (("root", True), ("Alice", False)):
                await connection.execute(
                    text(
                        "INSERT INTO users (username, email, password_hash, is_admin, created_at) "
                        "VALUES (:name, 'x@example.com', 'x', :admin, CURRENT_TIMESTAMP)"
                    ),
                    {"name": name, "admin": admin},
                )
        await migrate(engine)
        async with session_factory(engine)() as session:
            founded = (await session.execute(select(Bootstrap))).scalar_one()
            root = (await session.execute(select(User).where(User.username == "root"))).scalar_one()
        assert founded.user_id == root.id
    finally:
        await engine.dispose()


async def test_the_upgrade_names_usernames_that_clash_by_case(any_database_url: str) -> None:
    from sqlalchemy import text

    from controller.db.session import migrate

    engine = create_engine(any_database_url)
    try:
        await migrate(engine, "0001")
        async with engine.begin() as connection:
            for name in ("Alice", "alice", "bob"):
                await connection.execute(
                    text(
                        "INSERT INTO users (username, email, password_hash, is_admin, created_at) "
                        "VALUES (:name, 'x@example.com', 'x', false, CURRENT_TIMESTAMP)"
                    ),
                    {"name": name},
                )
        with pytest.raises(RuntimeError, match="whatever their case, and these are not: alice\\."):
            await migrate(engine)
    finally:
        await engine.dispose()
