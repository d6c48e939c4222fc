"""`wf serve`: every service in one process, with embedded defaults."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click
from aiohttp import web

from controller.embedded import controller_settings
from controller.errors import ControllerError
from controller.settings import ControllerSettings
from logger.app import create_app
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.errors import SettingsError

# Each flag sets the environment variable the settings read, so flags and
# variables are two spellings of one setting (the flag wins).
SETTING_FLAGS: list[tuple[str, str, str]] = [
    ("--host", "WF_LOGGER_HOST", "Address the logs and drains API listens on [127.0.0.1]."),
    ("--http-port", "WF_LOGGER_PORT", "Port of the logs API [8088]."),
    ("--forward-host", "WF_FORWARD_HOST", "Address the forward input listens on [0.0.0.0]."),
    ("--forward-port", "WF_FORWARD_PORT", "Port of the forward input, TCP and UDP [24224]."),
    ("--tls-cert", "WF_FORWARD_TLS_CERT", "PEM certificate: the forward input speaks TLS."),
    ("--tls-key", "WF_FORWARD_TLS_KEY", "PEM private key for --tls-cert."),
    ("--lines-per-app", "WF_LOGGER_LINES_PER_APP", "Lines kept per app [1000]."),
    ("--max-buffer-bytes", "WF_LOGGER_MAX_BUFFER_BYTES", "Bound on all buffered lines [256MiB]."),
    (
        "--redis-url",
        "WF_REDIS_URL",
        "Redis shared by logger replicas [none: rings in this process].",
    ),
    ("--max-line-bytes", "WF_LOGGER_MAX_LINE_BYTES", "Longer messages are split [16KiB]."),
    ("--max-frame-bytes", "WF_FORWARD_MAX_FRAME_BYTES", "Largest frame, inflated [16MiB]."),
    ("--max-connections", "WF_FORWARD_MAX_CONNECTIONS", "Forward connections at once [1024]."),
    (
        "--idle-timeout",
        "WF_FORWARD_IDLE_TIMEOUT",
        "Seconds before a silent client is closed [300].",
    ),
    (
        "--handshake-timeout",
        "WF_FORWARD_HANDSHAKE_TIMEOUT",
        "Seconds to finish the handshake [10].",
    ),
    ("--max-follow-timeout", "WF_LOGGER_MAX_FOLLOW_TIMEOUT", "Longest follow, seconds [3600]."),
    (
        "--follower-queue-lines",
        "WF_LOGGER_FOLLOWER_QUEUE_LINES",
        "Lines queued per follower [10000].",
    ),
    ("--controller-host", "WF_CONTROLLER_HOST", "Address the controller listens on [0.0.0.0]."),
    ("--controller-port", "WF_CONTROLLER_PORT", "Port of the controller API [8000]."),
    (
        "--database-url",
        "WF_DATABASE_URL",
        "Controller database [SQLite in ~/.local/state/workflow].",
    ),
    ("--scheduler", "WF_SCHEDULER", "kubernetes or none [none]."),
    (
        "--drains-state-file",
        "WF_DRAINS_STATE_FILE",
        "Drains state file, or none [state dir].",
    ),
]

log = logging.getLogger("wf")
CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


def settings_environment(flags: Mapping[str, object], environ: Mapping[str, str]) -> dict[str, str]:
    merged = dict(environ)
    for flag, variable, _ in SETTING_FLAGS:
        value = flags.get(flag.lstrip("-").replace("-", "_"))
        if value is not None:
            merged[variable] = str(value)
    return merged


def _with_setting_flags(function: CommandFunction) -> CommandFunction:
    for flag, variable, help_text in reversed(SETTING_FLAGS):
        function = click.option(flag, default=None, help=f"{help_text} (env {variable})")(function)
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
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    try:
        asyncio.run(_serve(settings, controller))
    except OSError as error:
        raise click.ClickException(f"cannot listen: {error}") from None
    except ControllerError as error:
        raise click.ClickException(f"the controller cannot start: {error}") from None


async def _serve(settings: LoggerSettings, controller: ControllerSettings | None) -> None:
    logger_app = create_app(settings)
    runners = [web.AppRunner(logger_app, access_log=None)]
    await runners[0].setup()
    try:
        site = web.TCPSite(runners[0], settings.api.host, settings.api.port)
        await site.start()
        log.info("logs API on http://%s:%d", settings.api.host, settings.api.port)
        if controller is not None:
            # Imported here: client commands need none of the server's stack.
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
