"""`wf serve`: every service in one process, with embedded defaults."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from collectors.kubernetes.settings import WatcherSettings
from controller.cli.workers import WorkerSettings, refusal, run_workers
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
@click.option(
    "--logger/--no-logger",
    "with_logger",
    default=True,
    help="Also run the logger (default) or only the controller, which then reads "
    "logs from WF_LOGGER_URL and writes its platform lines to WF_FORWARD_URL.",
)
@_with_setting_flags
def serve(log_level: str, with_controller: bool, with_logger: bool, **flags: object) -> None:
    """Run the logger (forward input, logs and drains API) and the controller
    (the API behind `wf`) in this process, or either alone.

    Shared keys and users are read from WF_FORWARD_SHARED_KEY and
    WF_FORWARD_USERS only, so that they never show in a process list.
    """
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not (with_logger or with_controller):
        raise click.UsageError("--no-logger and --no-controller leave nothing to run")
    environ = settings_environment(flags, os.environ)
    try:
        workers = WorkerSettings.from_env(environ).workers
        if workers > 1 and not with_logger:
            raise click.UsageError("--workers runs logger processes: it cannot go with --no-logger")
        problem = refusal(workers, with_controller, environ)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    if problem is not None:
        raise click.UsageError(problem)
    try:
        settings = LoggerSettings.from_env(environ) if with_logger else None
        controller = None
        if with_controller:
            controller = (
                controller_settings(environ, settings)
                if settings is not None
                else ControllerSettings.from_env(environ)
            )
        # The watcher writes through the logger's ingest path: it runs where a logger does.
        watcher = WatcherSettings.from_env(environ) if with_logger else None
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    if workers > 1:
        # The parent only supervises; its settings were checked above, once.
        sys.exit(run_workers(workers, environ, log_level))
    try:
        asyncio.run(_serve(settings, controller, watcher))
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"cannot listen: {error}") from None
    except ControllerError as error:
        raise click.ClickException(f"the controller cannot start: {error}") from None


async def _serve(
    settings: LoggerSettings | None,
    controller: ControllerSettings | None,
    watcher: WatcherSettings | None = None,
) -> None:
    # Imported here: `wf --help` and the client commands need none of the servers.
    from aiohttp import web

    from logger.app import create_app
    from logger.components import COMPONENTS

    runners: list[web.AppRunner] = []
    try:
        platform_log = None
        if settings is not None:
            logger_app = create_app(settings)
            if watcher is not None and watcher.enabled:
                # Pod lifecycle lines and app state metrics, with --scheduler kubernetes.
                from collectors.kubernetes.watcher import watcher_context

                logger_app.cleanup_ctx.append(watcher_context(watcher))
            runners.append(web.AppRunner(logger_app, access_log=None))
            await runners[-1].setup()
            site = web.TCPSite(runners[-1], settings.api.host, settings.api.port)
            await site.start()
            log.info("logs API on http://%s:%d", settings.api.host, settings.api.port)
            from controller.platform_log import IngestorPlatformLog

            # Platform lines go straight to this process's logger.
            platform_log = IngestorPlatformLog(logger_app[COMPONENTS].ingestor)
        if controller is not None:
            from controller.app import create_app as create_controller_app

            # Without a logger here, the platform lines go over the forward protocol.
            app = create_controller_app(controller, platform_log=platform_log)
            runners.append(web.AppRunner(app, access_log=None))
            await runners[-1].setup()
            await web.TCPSite(runners[-1], controller.host, controller.port).start()
            log.info("controller API on http://%s:%d", controller.host, controller.port)
        from logger.gc_tuning import tune_garbage_collector

        tune_garbage_collector()  # everything is built and listening
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        log.info("shutting down")
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
