"""An app's metrics, read from VictoriaMetrics with the catalog's queries.

    GET /v2/apps/{id}/metrics
        -> 200 text/plain (Prometheus text format): the app's current
           container, kube-state and volume metrics (`metrics.catalog.CURRENT_METRICS`:
           the latest value within WF_METRICS_CURRENT_WINDOW, only each metric's
           own labels), cached for WF_METRICS_CACHE_TTL seconds per app.
    GET /v2/apps/{id}/metrics/{ptype}/status?start=&stop=&every=
        -> 200 {"id", "ptype", "usage": {"cpus": {pod: [[ts, cores]]},
                 "memory": {pod: [[ts, bytes]]},
                 "networks": {"receive": {pod: [[ts, bytes/s]]}, "transmit": {...}}}}
           start and stop: Unix seconds (default: the last hour); every: the
           step, `30s`, `5m`, `1h` or seconds (default: 60 s, or coarser so
           that the points fit the bound).

Access is the same as for every app route. VictoriaMetrics not configured
or unreachable: 503 with a message; a query it rejects: 502.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from controller.api.access import Access, load_app
from controller.api.apps import signed_in
from controller.api.encoding import json_response
from controller.errors import BadGateway, BadRequest, ServiceUnavailable
from controller.keys import SESSIONS, SETTINGS
from controller.settings import ControllerSettings
from metrics.catalog import CURRENT_METRICS, Catalog, CurrentMetric
from metrics.client import Sample, Series, VictoriaMetrics
from metrics.errors import MetricsUnavailable, QueryError

routes = web.RouteTableDef()
T = TypeVar("T")
# Process types are Kubernetes label values and pod name parts.
PTYPE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
DEFAULT_WINDOW = 3600.0
DEFAULT_EVERY = 60.0
MIN_EVERY = 1.0
# A rate needs a few scrapes in its window, whatever the step.
MIN_RATE_WINDOW = 60.0
# Apps whose rendered metrics are cached at once.
CACHE_ENTRIES = 1024
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(s|m|h|d)?")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
NOT_CONFIGURED = (
    "metrics are not configured: set WF_VICTORIAMETRICS_URL on the controller to the "
    "VictoriaMetrics URL (for example http://victoriametrics:8428)"
)


class RenderedCache:
    """Rendered pages per app for `ttl` seconds, at most CACHE_ENTRIES apps."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, key: str, now: float) -> str | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            return None
        return entry[1]

    def put(self, key: str, value: str, now: float) -> None:
        if self.ttl <= 0:
            return
        self._entries[key] = (now + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > CACHE_ENTRIES:
            self._entries.popitem(last=False)


@dataclass
class MetricsBackend:
    """What the handlers need: the client (None when not configured), the
    catalog and the cache."""

    client: VictoriaMetrics | None
    catalog: Catalog
    cache: RenderedCache


METRICS = web.AppKey("controller_metrics", MetricsBackend)


async def metrics_backend(app: web.Application) -> AsyncIterator[None]:
    """The cleanup context that opens and closes the VictoriaMetrics client."""
    settings: ControllerSettings = app[SETTINGS]
    client = None
    if settings.victoriametrics_url:
        client = VictoriaMetrics(
            settings.victoriametrics_url,
            timeout=settings.victoriametrics_timeout,
            retries=settings.victoriametrics_retries,
        )
    app[METRICS] = MetricsBackend(
        client, Catalog(settings.metrics), RenderedCache(settings.metrics_cache_ttl)
    )
    yield
    if client is not None:
        await client.close()


@routes.get("/v2/apps/{id}/metrics")
async def current(request: web.Request) -> web.Response:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
    backend, client = _backend(request)
    now = time.monotonic()
    body = backend.cache.get(app.id, now)
    if body is None:
        window = _duration_text(request.app[SETTINGS].metrics_current_window)
        queries = backend.catalog.app_container_current(app.id, window)
        results = await _upstream(_all([client.query(q) for q in queries.values()]))
        body = render_text(list(zip(CURRENT_METRICS, results, strict=True)))
        backend.cache.put(app.id, body, now)
    return web.Response(body=body.encode(), headers={"Content-Type": TEXT_FORMAT})


@routes.get("/v2/apps/{id}/metrics/{ptype}/status")
async def status(request: web.Request) -> web.Response:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
    ptype = request.match_info["ptype"]
    if not PTYPE.fullmatch(ptype):
        raise BadRequest(
            f"{ptype[:70]!r} is not a process type: use lowercase letters, digits and '-'"
        )
    settings: ControllerSettings = request.app[SETTINGS]
    start, stop, every = parse_range(
        request.query, time.time(), settings.metrics_max_window, settings.metrics_max_points
    )
    backend, client = _backend(request)
    catalog = backend.catalog
    window = _duration_text(max(every, MIN_RATE_WINDOW))
    queries = (
        catalog.app_cpu_usage(app.id, ptype, window),
        catalog.app_memory_usage(app.id, ptype),
        catalog.app_network_receive(app.id, ptype, window),
        catalog.app_network_transmit(app.id, ptype, window),
    )
    cpus, memory, receive, transmit = await _upstream(
        _all([client.query_range(q, start, stop, every) for q in queries])
    )
    pod = settings.metrics.pod_label
    return json_response(
        {
            "id": app.id,
            "ptype": ptype,
            "usage": {
                "cpus": by_pod(cpus, pod),
                "memory": by_pod(memory, pod),
                "networks": {"receive": by_pod(receive, pod), "transmit": by_pod(transmit, pod)},
            },
        }
    )


def parse_range(
    query: Any, now: float, max_window: float, max_points: int
) -> tuple[float, float, float]:
    """(start, stop, every) from the query string, within the bounds."""
    stop = _time(query.get("stop"), "stop", now)
    start = _time(query.get("start"), "start", stop - DEFAULT_WINDOW)
    if start >= stop:
        raise BadRequest("start must be before stop")
    window = stop - start
    if window > max_window:
        raise BadRequest(
            f"the window from start to stop is {window:.0f} s, at most {max_window:.0f} s"
        )
    raw_every = query.get("every")
    if raw_every is None:
        every = max(DEFAULT_EVERY, math.ceil(window / (max_points - 1)))
    else:
        every = parse_duration(raw_every, "every")
        if every < MIN_EVERY:
            raise BadRequest(f"every must be at least {MIN_EVERY:.0f} s")
    points = math.floor(window / every) + 1
    if points > max_points:
        raise BadRequest(
            f"start, stop and every ask for {points} points, at most {max_points}: "
            f"use every={math.ceil(window / (max_points - 1))}s or a shorter window"
        )
    return start, stop, every


def parse_duration(raw: str, name: str) -> float:
    """`30s`, `5m`, `1h`, `1d` or a number of seconds."""
    found = _DURATION.fullmatch(raw.strip())
    if found is None:
        raise BadRequest(f"{name} must be a duration like 30s, 5m or 1h, got {raw[:40]!r}")
    return float(found.group(1)) * _SECONDS[found.group(2)]


def by_pod(series: list[Series], pod_label: str) -> dict[str, list[list[float]]]:
    """Drycc's shape: {pod: [[unix seconds, value], ...]}."""
    return {
        item.labels.get(pod_label, ""): [[int(ts), value] for ts, value in item.points]
        for item in series
    }


def render_text(results: list[tuple[CurrentMetric, list[Sample]]]) -> str:
    """The Prometheus text exposition of each metric's samples."""
    out: list[str] = []
    for metric, samples in results:
        if not samples:
            continue
        out.append(f"# HELP {metric.name} {metric.help}")
        out.append(f"# TYPE {metric.name} {metric.type}")
        rows = []
        for sample in samples:
            labels = ",".join(
                f'{name}="{_escape(value)}"' for name, value in sorted(sample.labels.items())
            )
            rows.append(f"{metric.name}{{{labels}}} {sample.text}")
        out.extend(sorted(rows))
    return "".join(line + "\n" for line in out)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _time(raw: str | None, name: str, default: float) -> float:
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a Unix time in seconds, got {raw[:40]!r}") from None
    if not math.isfinite(value) or value < 0:
        raise BadRequest(f"{name} must be a Unix time in seconds, got {raw[:40]!r}")
    return value


def _duration_text(seconds: float) -> str:
    return f"{math.ceil(seconds)}s"


def _backend(request: web.Request) -> tuple[MetricsBackend, VictoriaMetrics]:
    backend = request.app[METRICS]
    if backend.client is None:
        raise ServiceUnavailable(NOT_CONFIGURED)
    return backend, backend.client


async def _all(calls: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Every call's result; on the first failure the others are cancelled."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def _upstream(call: Awaitable[T]) -> T:
    try:
        return await call
    except MetricsUnavailable as error:
        raise ServiceUnavailable(str(error)) from None
    except QueryError as error:
        raise BadGateway(str(error)) from None
