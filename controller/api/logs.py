"""An app's logs, read from the logger.

    GET /v2/apps/{id}/logs?log_lines=N[&proc=P]  -> 200 text/plain (Drycc's shape)
        [&since=T][&until=T][&query=Q][&format=json]  history past the ring
        (RFC 3339 times, the logger's query syntax; NDJSON with format=json;
        501 when the logger has no history). The app is the one in the path,
        checked for access first: the query only narrows that app's lines.
    GET /v2/apps/{id}/logs  (WebSocket upgrade)  -> one request frame from the client:
        {"lines": 300, "follow": true, "timeout": 300, "proc": "web"}
      then one text frame per line; the server closes with

        1000  the end: history sent and, when following, the timeout reached
        4400  the request frame is missing, not JSON, or has a wrong field
        4408  no request frame within REQUEST_FRAME_TIMEOUT seconds
        1011  the logger failed (the reason says so)

Authentication (`Authorization: token <t>`) and access are checked before
the upgrade, so those errors are plain HTTP 401 and 404 answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from controller.api.access import Access, load_app
from controller.api.apps import signed_in
from controller.errors import BadRequest, LoggerUnavailable
from controller.keys import LOGGER, SESSIONS, SETTINGS

routes = web.RouteTableDef()
DEFAULT_LINES = 100
MAX_LINES = 10_000
REQUEST_FRAME_TIMEOUT = 10.0
CLOSE_BAD_REQUEST = 4400
CLOSE_REQUEST_TIMEOUT = 4408
# A frame bigger than this is not a log request.
MAX_REQUEST_FRAME = 4096
MAX_QUERY_CHARS = 1000


@dataclass(frozen=True)
class FollowRequest:
    lines: int
    follow: bool
    timeout: float
    proc: str | None


@routes.get("/v2/apps/{id}/logs")
async def logs(request: web.Request) -> web.StreamResponse:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _websocket(request, app.id)
    lines = _lines(request.query.get("log_lines", str(DEFAULT_LINES)))
    proc = _proc(request.query.get("proc"))
    history = _history(request.query)
    body = await request.app[LOGGER].read(app.id, lines, proc, history)
    if history.get("format") == "json":
        return web.Response(body=body, content_type="application/x-ndjson")
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


def _history(query: Mapping[str, str]) -> dict[str, str]:
    """The history parameters passed through to the logger, which checks them."""
    passed = {name: query[name] for name in ("since", "until", "query") if query.get(name)}
    if len(passed.get("query", "")) > MAX_QUERY_CHARS:
        raise BadRequest(f"query must be at most {MAX_QUERY_CHARS} characters")
    output = query.get("format", "text")
    if output not in ("text", "json"):
        raise BadRequest("format must be text or json")
    if output == "json":
        passed["format"] = "json"
    return passed


def parse_follow_request(raw: str, max_timeout: float) -> FollowRequest:
    try:
        frame: Any = json.loads(raw)
    except ValueError:
        raise BadRequest("the first frame must be a JSON object") from None
    if not isinstance(frame, dict):
        raise BadRequest("the first frame must be a JSON object")
    lines = frame.get("lines", DEFAULT_LINES)
    if type(lines) is not int:
        raise BadRequest("lines must be a whole number")
    follow = frame.get("follow", False)
    if not isinstance(follow, bool):
        raise BadRequest("follow must be true or false")
    timeout = frame.get("timeout", max_timeout)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise BadRequest("timeout must be a number of seconds above 0")
    proc = frame.get("proc")
    if proc is not None and not isinstance(proc, str):
        raise BadRequest("proc must be a string")
    return FollowRequest(
        _checked_lines(lines), follow, min(float(timeout), max_timeout), _proc(proc)
    )


async def _websocket(request: web.Request, app: str) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_REQUEST_FRAME)
    await ws.prepare(request)
    try:
        message = await ws.receive(timeout=REQUEST_FRAME_TIMEOUT)
    except TimeoutError:
        await ws.close(code=CLOSE_REQUEST_TIMEOUT, message=b"no request frame in time")
        return ws
    if message.type != WSMsgType.TEXT:
        await ws.close(code=CLOSE_BAD_REQUEST, message=b"expected a JSON text frame")
        return ws
    try:
        wanted = parse_follow_request(message.data, request.app[SETTINGS].max_follow_timeout)
    except BadRequest as error:
        await ws.close(code=CLOSE_BAD_REQUEST, message=str(error).encode()[:120])
        return ws
    relay = asyncio.create_task(_relay(request, ws, app, wanted))
    # Reading is what notices the client leaving (or closing) early.
    watcher = asyncio.create_task(_drain_client(ws))
    try:
        await asyncio.wait({relay, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (relay, watcher):
            task.cancel()
        await asyncio.gather(relay, watcher, return_exceptions=True)
    code, reason = WSCloseCode.OK, b"end of logs"
    if relay.done() and not relay.cancelled() and isinstance(relay.exception(), LoggerUnavailable):
        code, reason = WSCloseCode.INTERNAL_ERROR, str(relay.exception()).encode()[:120]
    await ws.close(code=code, message=reason)
    return ws


async def _relay(
    request: web.Request, ws: web.WebSocketResponse, app: str, wanted: FollowRequest
) -> None:
    logger = request.app[LOGGER]
    if not wanted.follow:
        body = await logger.read(app, wanted.lines, wanted.proc)
        for line in body.decode("utf-8", "replace").splitlines():
            await ws.send_str(line)
        return
    async for line in logger.follow(app, wanted.lines, wanted.timeout, wanted.proc):
        await ws.send_str(line)


async def _drain_client(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass  # frames after the request are ignored


def _lines(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest("log_lines must be a whole number") from None
    return _checked_lines(value)


def _checked_lines(value: int) -> int:
    if not 0 <= value <= MAX_LINES:
        raise BadRequest(f"log_lines must be from 0 to {MAX_LINES}")
    return value


def _proc(proc: str | None) -> str | None:
    if proc is not None and len(proc) > 100:
        raise BadRequest("proc must be at most 100 characters")
    return proc or None
