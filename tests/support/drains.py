"""Drain registries for tests: quick retries, 127.0.0.1 allowed, a registry always closed.

The sinks the tests talk to (rsyslogd, the HTTPS and TCP stand-ins) listen
on 127.0.0.1, which the destination policy denies by default: every
settings object built here allows it (`LOOPBACK_ALLOWED`), the way an
operator would with WF_DRAINS_ALLOW_DESTINATIONS.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from logger.drains.destinations import HostList
from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.drains.sinks.http.settings import HttpSinkSettings
from logger.drains.sinks.syslog.settings import SyslogSinkSettings

LOOPBACK_ALLOWED = HostList.parse("127.0.0.0/8, ::1", "WF_DRAINS_ALLOW_DESTINATIONS")
# The same for a logger started as a process (`wf serve`, `python -m logger`).
LOOPBACK_ALLOWED_ENV = {"WF_DRAINS_ALLOW_DESTINATIONS": LOOPBACK_ALLOWED.text}

if TYPE_CHECKING:
    from pathlib import Path


def loopback_settings(**changes: object) -> DrainSettings:
    """DrainSettings as in code, with loopback allowed (the test sinks' address)."""
    return with_changes(DrainSettings(allow_destinations=LOOPBACK_ALLOWED), **changes)


def quick_settings(tmp_path: Path, ca_file: Path | None = None, **changes: object) -> DrainSettings:
    """Settings that retry and time out within a test's patience."""
    base = DrainSettings(
        state_file=tmp_path / "drains.json",
        http=HttpSinkSettings(batch_interval=0.05),
        syslog=SyslogSinkSettings(confirm_wait=0.05),
        allow_destinations=LOOPBACK_ALLOWED,
        retry_base=0.02,
        retry_max=0.2,
        connect_timeout=2.0,
        send_timeout=2.0,
        flush_timeout=2.0,
        ca_file=ca_file,
    )
    return with_changes(base, **changes)


# Sink settings the tests set by their old flat names.
_HTTP_FIELDS = {"batch_interval": "batch_interval", "http_retries": "retries"}
_SYSLOG_FIELDS = {
    "udp_max_bytes": "udp_max_bytes",
    "syslog_linger": "linger",
    "syslog_retries": "retries",
    "confirm_wait": "confirm_wait",
}


def with_changes(settings: DrainSettings, **changes: object) -> DrainSettings:
    """`replace`, also for the sinks' settings by flat names (`batch_interval`,
    `udp_max_bytes`, `http_retries`, `syslog_retries`, ...)."""
    http = {_HTTP_FIELDS[name]: changes.pop(name) for name in list(changes) if name in _HTTP_FIELDS}
    syslog = {
        _SYSLOG_FIELDS[name]: changes.pop(name) for name in list(changes) if name in _SYSLOG_FIELDS
    }
    if http:
        changes["http"] = replace(settings.http, **http)  # type: ignore[arg-type]
    if syslog:
        changes["syslog"] = replace(settings.syslog, **syslog)  # type: ignore[arg-type]
    return replace(settings, **changes)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(
    settings: DrainSettings, clock: Callable[[], int] = time.time_ns
) -> AsyncIterator[tuple[DrainRegistry, CollectorRegistry]]:
    """A started registry with its own metrics registry, closed on the way out."""
    metrics = CollectorRegistry()
    registry = DrainRegistry(settings, metrics, clock=clock)
    await registry.start()
    try:
        yield registry, metrics
    finally:
        await registry.close()
