"""What the controller keeps on disk: the database and its folder readable by
its user only, and drain credentials encrypted with a key kept apart."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from controller.db.session import create_engine, migrate
from controller.settings import ControllerSettings
from logger.drains.api import DRAINS
from tests.controller.conftest import Logger, MakeClient, Users
from tests.support.services import free_port

DRAIN_PASSWORD = "s3cret-drain-password"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_database_and_its_folder_are_private(tmp_path: Path) -> None:
    database = tmp_path / "state" / "workflow" / "controller.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    assert mode(database) == 0o600
    assert mode(database.parent) == 0o700
    assert mode(database.parent.parent) == 0o700


async def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "controller.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await engine.dispose()
    assert mode(database) == 0o600


async def stored_drain_urls(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT * FROM drains"))
            return [" ".join(str(value) for value in row) for row in rows]
    finally:
        await engine.dispose()


async def test_drain_credentials_are_encrypted_at_rest_and_sent_whole(
    make_client: MakeClient, logger: Logger, database_url: str, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    client = await make_client(secret_key=key)
    users = Users(client)
    alice = await users.add("alice")
    assert (await client.post("/v2/apps", json={"id": "shop"}, headers=alice)).status == 201
    url = f"https://drainer:{DRAIN_PASSWORD}@127.0.0.1:{free_port()}/logs?token=abc123"
    reply = await client.post("/v2/apps/shop/drains", json={"url": url}, headers=alice)
    assert reply.status == 201, await reply.text()
    listed = await (await client.get("/v2/apps/shop/drains", headers=alice)).text()
    assert DRAIN_PASSWORD not in listed
    assert "abc123" not in listed
    rows = await stored_drain_urls(database_url)
    assert len(rows) == 1
    for secret in (DRAIN_PASSWORD, "abc123", "127.0.0.1", "drainer"):
        assert secret not in rows[0]
    # A controller starting again (same key) pushes the whole URL to a logger
    # that lost it: decrypted for the logger, and only for it.
    registry = logger.app[DRAINS]
    for view in registry.list("shop"):
        assert await registry.remove("shop", view.id)
    await make_client(secret_key=key)
    live = [registry.drain(view.id) for view in registry.list("shop")]
    assert [drain.url.original for drain in live if drain is not None] == [url]


async def test_without_a_key_one_is_made_once_in_a_private_file(
    make_client: MakeClient, settings: ControllerSettings, tmp_path: Path
) -> None:
    key_file = tmp_path / "keys" / "controller-secret.key"
    await make_client(secret_key_file=key_file)
    assert mode(key_file) == 0o600
    assert mode(key_file.parent) == 0o700
    made = key_file.read_bytes()
    Fernet(made.strip())  # a real key
    await make_client(secret_key_file=key_file)
    assert key_file.read_bytes() == made  # kept, not replaced


async def test_a_wrong_key_is_refused_at_start_with_a_clear_error(
    make_client: MakeClient, users: Users
) -> None:
    alice = users.headers("alice")
    url = f"https://drainer:{DRAIN_PASSWORD}@127.0.0.1:{free_port()}/"
    assert (
        await users.client.post("/v2/apps/shop/drains", json={"url": url}, headers=alice)
    ).status == 201
    with pytest.raises(Exception, match="WF_SECRET_KEY") as caught:
        await make_client(secret_key=Fernet.generate_key().decode())
    assert DRAIN_PASSWORD not in str(caught.value)


async def test_the_upgrade_encrypts_stored_drain_urls_and_the_downgrade_opens_them(
    any_database_url: str,
) -> None:
    from controller.auth.sealing import Sealer
    from controller.db.session import downgrade

    sealer = Sealer([Fernet.generate_key()])
    url = f"https://drainer:{DRAIN_PASSWORD}@127.0.0.1:1/"
    engine = create_engine(any_database_url)
    try:
        await migrate(engine, "0002")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (id, username, email, password_hash, is_admin, created_at) "
                    "VALUES (1, 'alice', 'a@example.com', 'x', true, CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO apps (id, uuid, owner_id, created_at, updated_at) VALUES "
                    "('shop', 'u', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO drains (id, app_id, url, created_at) "
                    "VALUES ('d1', 'shop', :url, CURRENT_TIMESTAMP)"
                ),
                {"url": url},
            )
        with pytest.raises(RuntimeError, match="migrate with the controller's key"):
            await migrate(engine)  # no key: nothing is left half done
        await migrate(engine, sealer=sealer)
        async with engine.connect() as connection:
            sealed = (await connection.execute(text("SELECT sealed_url FROM drains"))).scalar_one()
        assert DRAIN_PASSWORD not in sealed
        assert sealer.open(sealed) == url
        await downgrade(engine, "0002", sealer=sealer)
        async with engine.connect() as connection:
            opened = (await connection.execute(text("SELECT url FROM drains"))).scalar_one()
        assert opened == url
    finally:
        await engine.dispose()
