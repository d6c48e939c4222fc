"""Drain registries for tests: quick retries and a registry that is always closed."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings

if TYPE_CHECKING:
    from pathlib import Path


def quick_settings(tmp_path: Path, ca_file: Path | None = None, **changes: object) -> DrainSettings:
    """Settings that retry and time out within a test's patience."""
    base = DrainSettings(
        state_file=tmp_path / "drains.json",
        batch_interval=0.05,
        retry_base=0.02,
        retry_max=0.2,
        connect_timeout=2.0,
        send_timeout=2.0,
        flush_timeout=2.0,
        ca_file=ca_file,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


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
