"""The drains HTTP API, mounted on the logger's application.

    POST   /drains/{app}       {"url": "syslog+tls://logs.example.com:6514"[, "origin": ...]}
                               -> 201 drain
    GET    /drains/{app}       -> 200 {"app": ..., "drains": [drain, ...]}
    GET    /drains/{app}/{id}  -> 200 drain
    DELETE /drains/{app}/{id}  -> 204

`origin` names who asked for the drain (the controller sends its own id
for it, so that it can tell its drains from others'); it is shown back.
With Redis every replica shows the same drains, each with `replicas`
(every replica's state) and counters summed over them.

Errors answer `{"detail": "<message>"}` (as the logs API): 400 for a bad URL, app name or body,
a duplicate or the per-app limit; 404 for an unknown drain; 503 when the
state file (or Redis, for the shared set) cannot be written. URLs are always shown redacted.

The core wires it with `app[DRAINS] = registry` and `app.add_routes(routes)`.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from foundation.echo import capped
from logger.drains.errors import DrainStateFileError, InvalidDrain
from logger.drains.registry import DrainRegistry

DRAINS = web.AppKey("drains", DrainRegistry)
# A drain request is one small JSON object.
MAX_BODY_BYTES = 16 * 1024

routes = web.RouteTableDef()


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"detail": capped(message)}, status=status)


@routes.post("/drains/{app}")
async def add_drain(request: web.Request) -> web.Response:
    registry = request.app[DRAINS]
    app = request.match_info["app"]
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _error(400, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    # Bounded by the application's client_max_size even when chunked.
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        return _error(400, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        body: Any = json.loads(raw or b"null")
    except ValueError:
        return _error(400, 'the body must be JSON: {"url": "<drain URL>"}')
    url = body.get("url") if isinstance(body, dict) else None
    origin = body.get("origin") if isinstance(body, dict) else None
    if not isinstance(url, str) or not isinstance(origin, str | None):
        return _error(400, 'the body must be JSON: {"url": "<drain URL>"}')
    try:
        view = await registry.add(app, url, origin)
    except InvalidDrain as error:
        return _error(400, str(error))
    except DrainStateFileError as error:
        return _error(503, f"the drain could not be saved: {error}")
    return web.json_response({**view.to_json(), "origin": origin}, status=201)


@routes.get("/drains/{app}")
async def list_drains(request: web.Request) -> web.Response:
    registry = request.app[DRAINS]
    app = request.match_info["app"]
    return web.json_response({"app": app, "drains": await registry.describe(app)})


@routes.get("/drains/{app}/{drain_id}")
async def show_drain(request: web.Request) -> web.Response:
    app, drain_id = request.match_info["app"], request.match_info["drain_id"]
    found = await request.app[DRAINS].describe(app, drain_id)
    if not found:
        return _error(404, f"{app} has no drain {drain_id[:40]!r}")
    return web.json_response(found[0])


@routes.delete("/drains/{app}/{drain_id}")
async def remove_drain(request: web.Request) -> web.Response:
    registry = request.app[DRAINS]
    app = request.match_info["app"]
    drain_id = request.match_info["drain_id"]
    try:
        removed = await registry.remove(app, drain_id)
    except DrainStateFileError as error:
        return _error(503, f"the drain could not be removed: {error}")
    if not removed:
        return _error(404, f"{app} has no drain {drain_id[:40]!r}")
    return web.Response(status=204)
