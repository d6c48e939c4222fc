"""`wf serve`: every service in one process, with embedded defaults."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from collectors.kubernetes.settings import WatcherSettings
from controller.embedded import controller_settings
from controller.errors import ControllerError
from controller.settings import ControllerSettings
from controller.settings_catalog import flagged_settings
from logger.config import LoggerSettings
from logger.errors import SettingsError

# Each flag sets the environment variable the settings read, so flags and
# variables are two spellings of one setting (the flag wins). Flags, their
# help and defaults come from the declarations (docs/settings.md lists them).
SETTING_FLAGS = flagged_settings()

log = logging.getLogger("wf")
CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


def settings_environment(flags: Mapping[str, object], environ: Mapping[str, str]) -> dict[str, str]:
    merged = dict(environ)
    for flag, setting in SETTING_FLAGS:
        value = flags.get(flag.lstrip("-").replace("-", "_"))
        if value is not None:
            merged[setting.variable] = str(value)
    return merged


def _with_setting_flags(function: CommandFunction) -> CommandFunction:
    for flag, setting in reversed(SETTING_FLAGS):
        function = click.option(flag, default=None, help=setting.help())(function)
    return function


@click.command()
@click.option("--log-level", default="info", show_default=True, help="Server log level.")
@click.option(
    "--controller/--no-controller",
    "with_controller",
    default=True,
    help="Also run the controller API (default) or only the logger.",
)
@_with_setting_flags
def serve(log_level: str, with_controller: bool, **flags: object) -> None:
    """Run the logger (forward input, logs and drains API) and the controller
    (the API behind `wf`) in this process.

    Shared keys and users are read from WF_FORWARD_SHARED_KEY and
    WF_FORWARD_USERS only, so that they never show in a process list.
    """
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    environ = settings_environment(flags, os.environ)
    try:
        settings = LoggerSettings.from_env(environ)
        controller = controller_settings(environ, settings) if with_controller else None
        watcher = WatcherSettings.from_env(environ)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    try:
        asyncio.run(_serve(settings, controller, watcher))
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot listen: {error}") from None
    except ControllerError as error:
        raise click.ClickException(f"the controller cannot start: {error}") from None


async def _serve(
    settings: LoggerSettings,
    controller: ControllerSettings | None,
    watcher: WatcherSettings | None = None,
) -> None:
    # Imported here: `wf --help` and the client commands need none of the servers.
    from aiohttp import web

    from logger.app import create_app
    from logger.components import COMPONENTS

    logger_app = create_app(settings)
    if watcher is not None and watcher.enabled:
        # Pod lifecycle lines and app state metrics, with --scheduler kubernetes.
        from collectors.kubernetes.watcher import watcher_context

        logger_app.cleanup_ctx.append(watcher_context(watcher))
    runners = [web.AppRunner(logger_app, access_log=None)]
    await runners[0].setup()
    try:
        site = web.TCPSite(runners[0], settings.api.host, settings.api.port)
        await site.start()
        log.info("logs API on http://%s:%d", settings.api.host, settings.api.port)
        if controller is not None:
            from controller.app import create_app as create_controller_app
            from controller.platform_log import IngestorPlatformLog

            # Platform lines go straight to this process's logger.
            platform_log = IngestorPlatformLog(logger_app[COMPONENTS].ingestor)
            app = create_controller_app(controller, platform_log=platform_log)
            runners.append(web.AppRunner(app, access_log=None))
            await runners[1].setup()
            await web.TCPSite(runners[1], controller.host, controller.port).start()
            log.info("controller API on http://%s:%d", controller.host, controller.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
