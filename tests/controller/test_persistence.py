"""Persistence on both databases: SQLite (the embedded default) and a real
PostgreSQL started for the run. Migrations up and down, and the API's
cascades and constraints on each."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from controller.db.models import Drain, Permission, User
from controller.db.session import (
    alembic_config,
    create_engine,
    downgrade,
    migrate,
    session_factory,
)
from tests.controller.conftest import MakeClient, Users
from tests.support.services import free_port

TABLES = {"alembic_version", "users", "tokens", "apps", "permissions", "drains", "bootstrap"}
# The newest revision, where the start-up migration leaves the schema.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


async def test_migrations_up_down_and_up(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    try:
        await migrate(engine)
        assert await tables(any_database_url) == TABLES
        async with engine.connect() as connection:
            version = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
        assert version == HEAD
        await downgrade(engine, "base")
        assert await tables(any_database_url) == {"alembic_version"}
        await migrate(engine)
        await migrate(engine)  # at head already: nothing to do
        assert await tables(any_database_url) == TABLES
    finally:
        await engine.dispose()


async def test_unique_usernames_are_enforced_by_the_database(any_database_url: str) -> None:
    engine = create_engine(any_database_url)
    try:
        await migrate(engine)
        sessions = session_factory(engine)
        async with sessions.begin() as session:
            session.add(User(username="alice", email="a@example.com", password_hash="x"))
        try:
            async with sessions.begin() as session:
                session.add(User(username="alice", email="b@example.com", password_hash="y"))
            raised = False
        except IntegrityError:
            raised = True
        assert raised
    finally:
        await engine.dispose()


async def test_api_flow_and_cascades(any_database_url: str, make_client: MakeClient) -> None:
    client = await make_client(database_url=any_database_url)
    users = Users(client)
    alice = await users.add("alice")
    await users.add("bob")
    assert (await client.post("/v2/apps", json={"id": "shop"}, headers=alice)).status == 201
    assert (
        await client.post("/v2/apps/shop/perms", json={"username": "bob"}, headers=alice)
    ).status == 201
    drain = await client.post(
        "/v2/apps/shop/drains", json={"url": f"syslog://127.0.0.1:{free_port()}"}, headers=alice
    )
    assert drain.status == 201
    listing = await (await client.get("/v2/apps", headers=users.headers("bob"))).json()
    assert [app["id"] for app in listing["results"]] == ["shop"]
    assert (await client.delete("/v2/apps/shop", headers=alice)).status == 204

    engine = create_engine(any_database_url)
    try:
        async with session_factory(engine)() as session:
            counts = [
                (await session.execute(select(func.count()).select_from(model))).scalar_one()
                for model in (Permission, Drain, User)
            ]
    finally:
        await engine.dispose()
    assert counts == [0, 0, 2]
