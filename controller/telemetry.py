"""The controller's own metrics (prometheus-client), on a registry of its own.

Requests are counted and timed by route *template* (`/v2/apps/{id}`), method
and status, so label values are bounded by the routes the controller has: a
path that matches no route is `unmatched`, a method outside HTTP's usual set
is `other`. Names follow `<component>_<name>_<unit>_total` (Vector's
instrumentation spec); the process collector adds RSS, CPU and open fds.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

# `_created` series double the exposition and no dashboard reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]
UNMATCHED_ROUTE = "unmatched"
OTHER_METHOD = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds: from a cached metrics page (ms) to an argon2 login or a namespace
# deletion waited for (many seconds). A WebSocket follow counts its whole life.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def register_process_metrics(registry: CollectorRegistry) -> None:
    """`process_*` (RSS, CPU seconds, open and max fds, start time) and
    `python_info` on `registry`, as the default registry would have them."""
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)


class ControllerTelemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        register_process_metrics(self.registry)
        self.requests = Counter(
            "controller_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_duration = Histogram(
            "controller_http_request_duration_seconds",
            "Time from a request's arrival to its answer, by method, route template and status.",
            ["method", "route", "status"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = {
            "method": method if method in METHODS else OTHER_METHOD,
            "route": route,
            "status": str(status),
        }
        self.requests.labels(**labels).inc()
        self.request_duration.labels(**labels).observe(seconds)


TELEMETRY = web.AppKey("controller_telemetry", ControllerTelemetry)


def route_template(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


@web.middleware
async def measure_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: it sees the status every other one decided."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        request.app[TELEMETRY].observe(
            request.method, route_template(request), status, time.perf_counter() - started
        )
