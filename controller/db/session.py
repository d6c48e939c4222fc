"""The async engine, sessions, and applying migrations at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from controller.db.files import private_file

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def create_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_file(Path(database))

        # SQLite enforces foreign keys (and so ON DELETE CASCADE) only when asked.
        @event.listens_for(engine.sync_engine, "connect")
        def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


class Sealing(Protocol):
    """What a migration that encrypts or decrypts stored secrets needs."""

    def seal(self, plaintext: str) -> str: ...

    def open(self, sealed: str) -> str: ...


def alembic_config(connection: Connection | None = None, sealer: Sealing | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    # For the migrations that move stored secrets in or out of encryption.
    config.attributes["sealer"] = sealer
    return config


async def migrate(
    engine: AsyncEngine, revision: str = "head", sealer: Sealing | None = None
) -> None:
    """Bring the schema to `revision` (what `wf migrate` and the start do)."""

    def upgrade(connection: Connection) -> None:
        command.upgrade(alembic_config(connection, sealer), revision)

    async with engine.begin() as connection:
        await connection.run_sync(upgrade)


async def downgrade(engine: AsyncEngine, revision: str, sealer: Sealing | None = None) -> None:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection, sealer), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)
