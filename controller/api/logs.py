"""An app's logs, read from the logger.

    GET /v2/apps/{id}/logs?log_lines=N[&proc=P][&since=T][&until=T][&query=Q][&format=json]
        -> 200 text/plain (Drycc's shape), or NDJSON with `format=json`;
           `since`, `until`, `query` are passed through to the logger (history)
    GET /v2/apps/{id}/logs/rates  -> 200 the app's recent log rates (the logger's /rates/{app})
    GET /v2/apps/{id}/logs  (WebSocket upgrade)  -> one request frame from the client:
        {"lines": 300, "follow": true, "timeout": 300, "proc": "web",
         "format": "json", "after_seq": 1234}
      then one text frame per line (with "format": "json", one JSON object with
      its `seq`; a client that reconnects sends the last `seq` it got as
      `after_seq` and misses nothing the ring still holds); the server closes with

        1000  the end: history sent and, when following, the timeout reached
        4400  the request frame is missing, not JSON, or has a wrong field
        4403  access revoked: the token or console session was revoked or
              expired, or the user may no longer read the app (the reason says which)
        4408  no request frame within REQUEST_FRAME_TIMEOUT seconds
        1011  the logger failed (the reason says so)

Authentication (`Authorization: token <t>`, or the console's session cookie
from the same origin: see controller/auth/sessions.py) and access are checked
before the upgrade, so those errors are plain HTTP 401, 403 and 404 answers.
While the socket is open they are checked again every
WF_CONTROLLER_FOLLOW_ACCESS_INTERVAL seconds, and a failed check closes it
with 4403. A client that does not take a frame within
WF_CONTROLLER_FOLLOW_SEND_TIMEOUT seconds is disconnected (no close frame:
it is not reading); the relay reads the logger's stream one line at a time,
so a stuck client holds at most the socket buffers, never a growing queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from controller.api.access import Access, load_app
from controller.api.apps import signed_in
from controller.api.encoding import json_response
from controller.auth import sessions, tokens
from controller.auth.middleware import presented_token
from controller.errors import BadRequest, ControllerError, LoggerUnavailable
from controller.keys import LOGGER, SESSIONS, SETTINGS

log = logging.getLogger("controller.api.logs")

routes = web.RouteTableDef()
DEFAULT_LINES = 100
MAX_LINES = 10_000
REQUEST_FRAME_TIMEOUT = 10.0
CLOSE_BAD_REQUEST = 4400
CLOSE_ACCESS_REVOKED = 4403
CLOSE_REQUEST_TIMEOUT = 4408
# A frame bigger than this is not a log request.
MAX_REQUEST_FRAME = 4096


class ClientGone(Exception):
    """The stream's client closed or reset its connection while a frame was
    being written to it: the end of the stream, not a failure."""


@dataclass(frozen=True)
class FollowRequest:
    lines: int
    follow: bool
    timeout: float
    proc: str | None
    as_json: bool = False
    after_seq: int | None = None


# Query parameters of a read passed through to the logger as they are.
PASSED_THROUGH = ("since", "until", "query")
# The longest value of one of them (a query, a time).
QUERY_MAX = 1000


@routes.get("/v2/apps/{id}/logs")
async def logs(request: web.Request) -> web.StreamResponse:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _websocket(request, app.id)
    lines = _lines(request.query.get("log_lines", str(DEFAULT_LINES)))
    proc = _proc(request.query.get("proc"))
    extra = _passed_through(request)
    body = await request.app[LOGGER].read(app.id, lines, proc, extra=extra)
    if extra.get("format") == "json":
        return web.Response(body=body, content_type="application/x-ndjson")
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


@routes.get("/v2/apps/{id}/logs/rates")
async def rates(request: web.Request) -> web.Response:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
    return json_response(await request.app[LOGGER].rates(app.id))


def _passed_through(request: web.Request) -> dict[str, str]:
    extra = {}
    for name in PASSED_THROUGH:
        value = request.query.get(name)
        if value:
            if len(value) > QUERY_MAX:
                raise BadRequest(f"{name} must be at most {QUERY_MAX} characters")
            extra[name] = value
    output = request.query.get("format", "text")
    if output not in ("text", "json"):
        raise BadRequest("format must be text or json")
    if output == "json":
        extra["format"] = "json"
    return extra


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
    output = frame.get("format", "text")
    if output not in ("text", "json"):
        raise BadRequest("format must be text or json")
    after_seq = frame.get("after_seq")
    if after_seq is not None and type(after_seq) is not int:
        raise BadRequest("after_seq must be a whole number")
    return FollowRequest(
        _checked_lines(lines),
        follow,
        min(float(timeout), max_timeout),
        _proc(proc),
        as_json=output == "json",
        after_seq=after_seq,
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
    access = asyncio.create_task(_access_lost(request, app))
    tasks = (relay, watcher, access)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    _log_failures(request, *tasks)
    code: int = WSCloseCode.OK
    reason = b"end of logs"
    failure = relay.exception() if relay.done() and not relay.cancelled() else None
    if isinstance(failure, TimeoutError):
        # The client stopped reading: a close frame would wait on it too.
        if request.transport is not None:
            request.transport.abort()
        return ws
    if isinstance(failure, ClientGone):
        return ws  # nothing to close: the connection is gone
    if isinstance(failure, LoggerUnavailable):
        code, reason = WSCloseCode.INTERNAL_ERROR, str(failure).encode()[:120]
    if access.done() and not access.cancelled() and access.exception() is None:
        code, reason = CLOSE_ACCESS_REVOKED, access.result().encode()[:120]
    await ws.close(code=code, message=reason)
    return ws


async def _access_lost(request: web.Request, app: str) -> str:
    """Check at an interval that the stream's credential and the user's access
    to the app still hold; return why once they do not."""
    credential = presented_token(request) or sessions.cookie_token(request)
    interval = request.app[SETTINGS].follow_access_interval
    while True:
        await asyncio.sleep(interval)
        async with request.app[SESSIONS]() as session:
            found = await tokens.resolve(session, credential) if credential else None
            if found is None:
                return "access revoked: the token or session is no longer valid"
            try:
                await load_app(session, app, found[1], Access.USE)
            except ControllerError:
                return f"access revoked: no longer allowed to read the logs of {app}"


async def _relay(
    request: web.Request, ws: web.WebSocketResponse, app: str, wanted: FollowRequest
) -> None:
    logger = request.app[LOGGER]
    send_timeout = request.app[SETTINGS].follow_send_timeout

    async def send(line: str) -> None:
        """One frame; TimeoutError when the client does not take it in time,
        ClientGone when its connection is lost meanwhile."""
        try:
            async with asyncio.timeout(send_timeout):
                await ws.send_str(line)
        except ConnectionError as error:
            raise ClientGone(type(error).__name__) from None

    if not wanted.follow:
        extra = {"format": "json"} if wanted.as_json else {}
        if wanted.after_seq is not None:
            extra["after_seq"] = str(wanted.after_seq)
        body = await logger.read(app, wanted.lines, wanted.proc, extra=extra)
        for line in body.decode("utf-8", "replace").splitlines():
            await send(line)
        return
    async for line in logger.follow(
        app,
        wanted.lines,
        wanted.timeout,
        wanted.proc,
        as_json=wanted.as_json,
        after_seq=wanted.after_seq,
    ):
        await send(line)


async def _drain_client(ws: web.WebSocketResponse) -> None:
    try:
        async for _ in ws:
            pass  # frames after the request are ignored
    except ConnectionError as error:  # the client left mid-frame: the end of this stream
        log.debug("log stream client gone: %s", type(error).__name__)


def _log_failures(request: web.Request, *tasks: asyncio.Task[Any]) -> None:
    """A task of a stream that ended on an error nobody expects is logged with
    its traceback (the logger being unreachable is expected: it closes the
    socket with its reason; so is a client too slow to read)."""
    for task in tasks:
        if task.cancelled() or not task.done():
            continue
        error = task.exception()
        if isinstance(error, TimeoutError):
            log.info("log stream of %s: the client stopped reading", request.path)
        elif isinstance(error, ClientGone):
            log.info("log stream of %s: the client went away (%s)", request.path, error)
        elif error is not None and not isinstance(error, LoggerUnavailable):
            log.error("log stream of %s failed", request.path, exc_info=error)


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
