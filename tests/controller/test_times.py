"""Every time in every answer is RFC 3339 with an offset, on SQLite and on a
real PostgreSQL, for a row just written and for the same row read back by
another engine (what a restart of the controller does)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from controller.api.encoding import dumps, rfc3339
from controller.db.models import Token, User
from controller.db.session import create_engine, migrate, session_factory
from tests.controller.conftest import MakeClient, Users
from tests.support.services import free_port

RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00")


def times_of(answer: dict[str, Any], *fields: str) -> dict[str, str]:
    found = {field: answer[field] for field in fields}
    for field, value in found.items():
        assert isinstance(value, str), (field, value)
        assert RFC3339_UTC.fullmatch(value), (field, value)
    return found


async def test_times_have_an_offset_when_new_and_when_read_back(
    any_database_url: str, make_client: MakeClient
) -> None:
    client = await make_client(database_url=any_database_url)
    users = Users(client)
    alice = await users.add("alice")
    created_user = times_of(
        await (await client.get("/v2/auth/whoami", headers=alice)).json(), "date_joined"
    )
    reply = await client.post("/v2/apps", json={"id": "shop"}, headers=alice)
    assert reply.status == 201
    created_app = times_of(await reply.json(), "created", "updated")
    reply = await client.post(
        "/v2/apps/shop/drains", json={"url": f"syslog://127.0.0.1:{free_port()}"}, headers=alice
    )
    assert reply.status == 201
    created_drain = times_of(await reply.json(), "created")

    # A second controller on the same database: a new engine, new sessions.
    again = await make_client(database_url=any_database_url)
    assert (
        times_of(await (await again.get("/v2/auth/whoami", headers=alice)).json(), "date_joined")
        == created_user
    )
    assert (
        times_of(
            await (await again.get("/v2/apps/shop", headers=alice)).json(), "created", "updated"
        )
        == created_app
    )
    listing = await (await again.get("/v2/apps", headers=alice)).json()
    assert times_of(listing["results"][0], "created", "updated") == created_app
    drains = await (await again.get("/v2/apps/shop/drains", headers=alice)).json()
    assert times_of(drains["results"][0], "created") == created_drain


async def test_the_column_stores_utc_and_reads_back_aware_utc(any_database_url: str) -> None:
    kolkata = timezone(timedelta(hours=5, minutes=30))
    written = datetime(2026, 11, 22, 15, 30, 0, 123456, tzinfo=kolkata)
    engine = create_engine(any_database_url)
    try:
        await migrate(engine)
        async with session_factory(engine).begin() as session:
            user = User(username="alice", email="a@example.com", password_hash="x")
            session.add(user)
            await session.flush()
            session.add(Token(user_id=user.id, digest="d" * 64, expires_at=written))
    finally:
        await engine.dispose()

    engine = create_engine(any_database_url)
    try:
        async with session_factory(engine)() as session:
            token = (await session.execute(select(Token))).scalar_one()
            assert token.expires_at is not None
            assert token.expires_at.tzinfo is UTC
            assert token.expires_at == written
            assert token.expires_at.hour == 10  # 15:30 in Kolkata is 10:00 UTC
            assert token.created_at.tzinfo is UTC
        with pytest.raises(StatementError, match="naive datetime"):
            async with session_factory(engine).begin() as session:
                session.add(Token(user_id=1, digest="e" * 64, expires_at=datetime(2026, 1, 1)))
    finally:
        await engine.dispose()


def test_the_serializer_writes_utc_with_an_offset_and_refuses_naive_times() -> None:
    moment = datetime(2026, 11, 22, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert rfc3339(moment) == "2026-11-22T10:00:00.000000+00:00"
    assert dumps({"at": moment}) == '{"at": "2026-11-22T10:00:00.000000+00:00"}'
    with pytest.raises(ValueError, match="naive datetime"):
        dumps({"at": datetime(2026, 11, 22, 10, 0)})
