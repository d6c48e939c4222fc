"""Recent per-app log rates, from the logger's own per-app counters.

    GET /rates/{app}
        -> 200 {"app": "shop", "interval": 5.0,
                "times":   [unix seconds, ...],          one per interval, oldest first
                "procs":   {"web": [lines/s, ...]},      lines by process type
                "streams": {"stdout": [...], "stderr": [...], "none": [...]},
                "levels":  {"error": [...], ...}}        lines by detected level

A sampler takes the totals of `logger.app_metrics.AppLogCounter` every
`WF_LOGGER_RATES_INTERVAL` seconds and keeps the last `WF_LOGGER_RATES_POINTS`
per app; a rate is the difference of two samples over their interval. So
the console's charts and `wf metrics` work with no VictoriaMetrics. An app
past the label bound (`WF_LOGGER_METRICS_MAX_APPS`) is counted under
`_other` and has no rates of its own. An app with no lines: every list empty.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from logger.api import requested_app
from logger.app_metrics import AppLogCounter
from logger.components import COMPONENTS

routes = web.RouteTableDef()
_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Sample:
    """One app's totals at one moment."""

    time: float
    # (proc, stream) -> lines
    lines: dict[tuple[str, str], int]
    # level -> lines
    levels: dict[str, int]


@dataclass
class RateHistory:
    """The last `points + 1` samples of each app (two make one rate)."""

    counter: AppLogCounter
    interval: float
    points: int
    samples: dict[str, deque[Sample]] = field(default_factory=dict)
    last_time: float | None = None

    def sample(self, now: float) -> None:
        lines: dict[str, dict[tuple[str, str], int]] = {}
        for app, proc, stream, count, _bytes in self.counter.totals():
            lines.setdefault(app, {})[(proc, stream)] = count
        levels: dict[str, dict[str, int]] = {}
        for (app, level), count in list(self.counter.levels.items()):
            levels.setdefault(app, {})[level] = count
        for app in lines.keys() | levels.keys():
            history = self.samples.get(app)
            if history is None:
                history = self.samples[app] = deque(maxlen=self.points + 1)
                if self.last_time is not None:  # it had no lines at the last sample
                    history.append(Sample(self.last_time, {}, {}))
            history.append(Sample(now, lines.get(app, {}), levels.get(app, {})))
        self.last_time = now

    def rates(self, app: str) -> dict[str, Any]:
        history = list(self.samples.get(app, ()))
        times: list[float] = []
        procs: dict[str, list[float]] = {}
        streams: dict[str, list[float]] = {}
        levels: dict[str, list[float]] = {}
        names = _names(history)
        for index, (before, after) in enumerate(itertools.pairwise(history)):
            elapsed = after.time - before.time
            times.append(round(after.time, 3))
            for series, keys, delta in (
                (procs, names.procs, _by(before, after, 0)),
                (streams, names.streams, _by(before, after, 1)),
                (levels, names.levels, _levels(before, after)),
            ):
                for key in keys:
                    values = series.setdefault(key, [0.0] * index)
                    values.append(round(delta.get(key, 0) / elapsed, 3) if elapsed > 0 else 0.0)
        return {
            "app": app,
            "interval": self.interval,
            "times": times,
            "procs": procs,
            "streams": streams,
            "levels": levels,
        }


@dataclass(frozen=True, slots=True)
class _Names:
    procs: list[str]
    streams: list[str]
    levels: list[str]


def _names(history: list[Sample]) -> _Names:
    procs: set[str] = set()
    streams: set[str] = set()
    levels: set[str] = set()
    for sample in history:
        for proc, stream in sample.lines:
            procs.add(proc)
            streams.add(stream)
        levels.update(sample.levels)
    return _Names(sorted(procs), sorted(streams), sorted(levels))


def _by(before: Sample, after: Sample, part: int) -> dict[str, int]:
    """Lines added between two samples, by proc (part 0) or stream (part 1)."""
    out: dict[str, int] = {}
    for key, count in after.lines.items():
        out[key[part]] = out.get(key[part], 0) + count - before.lines.get(key, 0)
    return out


def _levels(before: Sample, after: Sample) -> dict[str, int]:
    return {level: count - before.levels.get(level, 0) for level, count in after.levels.items()}


RATES = web.AppKey("logger_rates", RateHistory)


async def rate_sampler(app: web.Application) -> AsyncIterator[None]:
    """The cleanup context that samples the counters every interval."""
    components = app[COMPONENTS]
    history = RateHistory(
        components.app_logs, components.settings.rates_interval, components.settings.rates_points
    )
    app[RATES] = history
    history.sample(time.time())

    async def run() -> None:
        while True:
            await asyncio.sleep(history.interval)
            history.sample(time.time())

    task = asyncio.create_task(run())
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


@routes.get("/rates/{app}")
async def get_rates(request: web.Request) -> web.Response:
    app = requested_app(request)
    body = _json.encode(request.app[RATES].rates(app))
    return web.Response(body=body, content_type="application/json")
