"""`wf migrate`: bring the controller's database to the newest schema
(the controller also does this at start)."""

from __future__ import annotations

import asyncio
import os

import click

from controller.errors import SettingsError
from controller.settings import ControllerSettings


@click.command()
@click.option("--database-url", envvar="WF_DATABASE_URL", default=None, help="env WF_DATABASE_URL")
def migrate(database_url: str | None) -> None:
    """Apply the database migrations (Alembic) up to the newest."""
    environ = dict(os.environ)
    if database_url:
        environ["WF_DATABASE_URL"] = database_url
    try:
        settings = ControllerSettings.from_env(environ)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None

    # Imported here: the database stack is not needed by the other commands.
    from controller.auth.sealing import load_sealer
    from controller.db.session import create_engine
    from controller.db.session import migrate as run_migrations

    try:
        sealer = load_sealer(settings)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            # The key, for the migrations that encrypt stored drain URLs.
            await run_migrations(engine, sealer=sealer)
        finally:
            await engine.dispose()

    asyncio.run(run())
    click.echo("The database is up to date")
