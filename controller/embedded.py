"""Running the controller next to a logger in one process (`wf serve`).

The logger application mounts its own drains API; the controller reaches it
over HTTP exactly as it reaches a logger in another process, and writes its
platform lines straight into the in-process ingestor.
"""

from __future__ import annotations

from collections.abc import Mapping

from controller.settings import ControllerSettings
from logger.config import LoggerSettings


def embedded_environment(environ: Mapping[str, str], logger: LoggerSettings) -> dict[str, str]:
    """The controller's environment next to an in-process logger: unless
    set, the logger URL is that logger's."""
    merged = dict(environ)
    if not merged.get("WF_LOGGER_URL"):
        host = logger.api.host
        if host in ("", "0.0.0.0", "::"):
            host = "127.0.0.1"
        merged["WF_LOGGER_URL"] = f"http://{host}:{logger.api.port}"
    return merged


def controller_settings(environ: Mapping[str, str], logger: LoggerSettings) -> ControllerSettings:
    return ControllerSettings.from_env(embedded_environment(environ, logger))
