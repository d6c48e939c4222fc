"""Fixtures for the controller: a real logger (forward input, logs and drains
APIs) on loopback, the controller app against it, users and their tokens,
and the databases (SQLite per test, PostgreSQL started once per run)."""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from controller.app import create_app
from controller.db.session import create_engine, migrate
from controller.keys import RECONCILED
from controller.settings import ControllerSettings
from logger.app import create_app as create_logger_app
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.forward.settings import ForwardSettings
from logger.store.base import ReadQuery
from tests.support.drains import loopback_settings
from tests.support.postgres import Postgres
from tests.support.services import free_port

PASSWORD = "correct horse battery"
Client = TestClient[web.Request, web.Application]


@dataclass
class Logger:
    app: web.Application
    server: TestServer
    forward_port: int

    @property
    def url(self) -> str:
        return str(self.server.make_url("")).rstrip("/")

    async def lines(self, app: str) -> list[str]:
        """The app's stored lines as `app[source]: message` (no timestamp)."""
        result = await self.app[COMPONENTS].store.read(app, ReadQuery(limit=-1))
        return [stored[1:].decode().split(" ", 1)[1] for _, stored in result.lines]


@pytest.fixture
async def logger() -> AsyncIterator[Logger]:
    forward_port = free_port()
    settings = LoggerSettings(
        forward=ForwardSettings(host="127.0.0.1", port=forward_port),
        # In memory, and quick to close: nothing here waits on a drain.
        drains=loopback_settings(state_file=None, flush_timeout=0.1, connect_timeout=1.0),
    )
    app = create_logger_app(settings)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield Logger(app, server, forward_port)
    await server.close()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once, copied for each test (the controller's own
    start-up migration then finds it current)."""
    path = tmp_path_factory.mktemp("template") / "controller.db"

    async def run() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    asyncio.run(run())
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    path = tmp_path / "controller.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(logger: Logger, database_url: str, tmp_path: Path) -> ControllerSettings:
    return ControllerSettings(
        database_url=database_url,
        logger_url=logger.url,
        forward_url=f"tcp://127.0.0.1:{logger.forward_port}",
        logger_timeout=5.0,
        # The smallest allowed cost keeps the tests fast; production uses 64 MiB.
        password_memory_kib=8192,
        password_time_cost=1,
        max_body_bytes=4096,
        max_follow_timeout=30.0,
        secret_key_file=tmp_path / "controller-secret.key",
    )


MakeClient = Callable[..., Awaitable[Client]]


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, settings: ControllerSettings) -> MakeClient:
    async def make(**changes: Any) -> Client:
        app = create_app(replace(settings, **changes))
        client = await aiohttp_client(app)
        await asyncio.wait_for(app[RECONCILED], 10)
        return client

    return make


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return await make_client()


class Users:
    """Registers users and logs them in; `users.token("alice")` is a header."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    async def add(self, name: str) -> dict[str, str]:
        reply = await self.client.post(
            "/v2/auth/register",
            json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"},
            headers=self.headers(next(iter(self.tokens), None)) if self.tokens else None,
        )
        assert reply.status == 201, await reply.text()
        login = await self.client.post(
            "/v2/auth/login", json={"username": name, "password": PASSWORD}
        )
        assert login.status == 200, await login.text()
        self.tokens[name] = (await login.json())["token"]
        return self.headers(name)

    def headers(self, name: str | None) -> dict[str, str]:
        return {"Authorization": f"token {self.tokens[name]}"} if name else {}


@pytest.fixture
async def users(client: Client) -> Users:
    """admin (the first user), alice (owns shop), bob (collaborator on shop), eve."""
    users = Users(client)
    for name in ("admin", "alice", "bob", "eve"):
        await users.add(name)
    reply = await client.post("/v2/apps", json={"id": "shop"}, headers=users.headers("alice"))
    assert reply.status == 201, await reply.text()
    reply = await client.post(
        "/v2/apps/shop/perms", json={"username": "bob"}, headers=users.headers("alice")
    )
    assert reply.status == 201, await reply.text()
    return users


# -- PostgreSQL ------------------------------------------------------------------

_databases = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = Postgres()
    server.start()
    yield server
    server.stop()


async def create_database(server: Postgres) -> str:
    name = f"wf_test_{next(_databases)}"
    for _ in range(100):  # the server may still be starting up
        try:
            connection = await asyncpg.connect(server.admin_url, timeout=5)
            break
        except (asyncpg.CannotConnectNowError, OSError):
            await asyncio.sleep(0.1)
    else:
        raise RuntimeError("postgres does not accept connections")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'controller.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    return await create_database(server)
