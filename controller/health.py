"""The controller's probes and its own metrics, like the logger's:

    GET /healthz  -> 200 OK while the process runs
    GET /readyz   -> 200 {"ready": true, "checks": {"database": "ok"}}
                     503 {"ready": false, "detail": "...", "checks": {...}}: what is not ready
    GET /metrics  -> 200 Prometheus text: request counts and latencies, process metrics

All three are public (controller/auth/middleware.py): a probe or a scraper
has no token, and nothing here names a user, an app or a path.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from controller.api.encoding import json_response
from controller.keys import SESSIONS
from controller.telemetry import TELEMETRY

routes = web.RouteTableDef()
# A database that does not answer a `SELECT 1` within this is not ready.
READY_TIMEOUT = 2.0


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="OK")


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    checks = {"database": await _database_check(request)}
    failing = [f"{name} {state}" for name, state in checks.items() if state != "ok"]
    if failing:
        detail = "not ready: " + "; ".join(failing)
        return json_response({"ready": False, "detail": detail, "checks": checks}, status=503)
    return json_response({"ready": True, "checks": checks})


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[TELEMETRY].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _database_check(request: web.Request) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT), request.app[SESSIONS]() as session:
            await session.execute(text("SELECT 1"))
    except TimeoutError:
        return f"not reachable (no answer within {READY_TIMEOUT:g} s)"
    except (SQLAlchemyError, OSError) as error:
        # The driver's type says enough; its message may quote the statement.
        cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
        return f"not reachable ({type(cause).__name__})"
    return "ok"
