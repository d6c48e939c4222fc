"""The logs HTTP API, compatible with the Drycc logger.

    GET    /logs/{app}?log_lines=N&follow=true&timeout=S
    DELETE /logs/{app}
    GET    /healthz, /readyz, /metrics

Additive extensions: `proc=` (prefix of `process.instance`), `since=`
(RFC 3339), `format=json` (NDJSON), `after_seq=` (resume without a gap; when
the store no longer holds some lines after it, the answer starts with one
notice line saying how many are gone, `logger.buffer.gap_notice`).
History past the ring (docs/history.md): `since=`, `until=` (RFC 3339,
inclusive) and `query=` read the history index too, merged in order with
the ring; with history off, `until=` and `query=` answer 501.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from foundation.echo import capped
from logger.app_names import app_name_problem
from logger.buffer import gap_notice
from logger.components import COMPONENTS, READY, LoggerComponents
from logger.follow_writer import LiveWriter
from logger.history.backend import BadQuery, HistoryUnavailable
from logger.history.keys import HISTORY
from logger.history.query import checked_query
from logger.history.reader import HistoryRead, read_history
from logger.lines import line_record, line_text, line_time, normalize_timestamp
from logger.store.base import ReadQuery, ReadResult
from logger.tail import Batch

routes = web.RouteTableDef()

TEXT = "text/plain; charset=utf-8"
NDJSON = "application/x-ndjson"
# How often a quiet follow checks that its client is still there.
_LIVENESS_INTERVAL = 1.0
_json = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class LogRequest:
    query: ReadQuery
    follow: bool
    timeout: float
    json: bool
    # Set when the request reads past the ring (since, until or query).
    history: HistoryRead | None = None


def bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=_json.encode({"detail": capped(message)}).decode(), content_type="application/json"
    )


def parse_log_request(params: Mapping[str, str], components: LoggerComponents) -> LogRequest:
    """Validate the query string; every problem is a 400 that says what is wrong."""
    api = components.settings.api
    limit = _int_param(params, "log_lines", api.default_lines)
    if limit < -1:
        raise bad_request("log_lines must be -1 (all) or a count of lines")
    follow = _bool_param(params, "follow")
    timeout = api.max_follow_timeout
    if "timeout" in params:
        try:
            timeout = float(params["timeout"])
        except ValueError:
            raise bad_request("timeout must be a number of seconds") from None
        if not timeout > 0:
            raise bad_request("timeout must be more than 0 seconds")
        timeout = min(timeout, api.max_follow_timeout)
    since = None
    if params.get("since"):
        try:
            since = normalize_timestamp(params["since"])
        except ValueError as error:
            raise bad_request(f"since: {error}") from None
    after_seq = _int_param(params, "after_seq", None) if "after_seq" in params else None
    output = params.get("format", "text")
    if output not in ("text", "json"):
        raise bad_request("format must be text or json")
    until = None
    if params.get("until"):
        try:
            until = normalize_timestamp(params["until"])
        except ValueError as error:
            raise bad_request(f"until: {error}") from None
    try:
        text = checked_query(params.get("query"))
    except BadQuery as error:
        raise bad_request(str(error)) from None
    process = params.get("proc") or None
    query = ReadQuery(limit=limit, process=process, since=since, after_seq=after_seq)
    history = None
    if since is not None or until is not None or text is not None:
        if follow and (until is not None or text is not None):
            raise bad_request("until and query do not combine with follow")
        history = HistoryRead(limit=limit, proc=process, since=since, until=until, query=text)
    return LogRequest(
        query=query, follow=follow, timeout=timeout, json=output == "json", history=history
    )


@routes.get("/logs/{app}")
async def get_logs(request: web.Request) -> web.StreamResponse:
    components = request.app[COMPONENTS]
    app = requested_app(request)
    log_request = parse_log_request(request.query, components)
    if log_request.follow:
        return await _follow(request, components, app, log_request)
    result = await _read(request, components, app, log_request)
    if not result.lines and not result.gone:
        return web.Response(status=204)
    body = _render_history(app, result, log_request.json)
    if log_request.json:
        return web.Response(body=body, content_type=NDJSON)
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


async def _read(
    request: web.Request, components: LoggerComponents, app: str, log_request: LogRequest
) -> ReadResult:
    """The ring, or with since/until/query the history index merged with it."""
    wanted = log_request.history
    indexer = request.app.get(HISTORY)
    if wanted is None or (indexer is None and wanted.until is None and wanted.query is None):
        return await components.store.read(app, log_request.query)
    if indexer is None:
        raise web.HTTPNotImplemented(
            text=_json.encode(
                {"detail": "history is off on this logger: until and query need it"}
            ).decode(),
            content_type="application/json",
        )
    try:
        lines = await read_history(
            components.store, indexer, app, wanted, components.settings.history.max_read_lines
        )
    except BadQuery as error:
        raise bad_request(str(error)) from None
    except HistoryUnavailable as error:
        raise web.HTTPServiceUnavailable(
            text=_json.encode({"detail": f"history unavailable: {error}"}).decode(),
            content_type="application/json",
        ) from None
    return ReadResult(lines, lines[-1][0] if lines else -1)


@routes.delete("/logs/{app}")
async def delete_logs(request: web.Request) -> web.Response:
    app = requested_app(request)
    indexer = request.app.get(HISTORY)
    if indexer is not None:
        try:
            await indexer.backend.delete_app(app)
        except HistoryUnavailable as error:
            raise web.HTTPServiceUnavailable(
                text=_json.encode({"detail": f"history unavailable: {error}"}).decode(),
                content_type="application/json",
            ) from None
    if await request.app[COMPONENTS].store.delete(app):
        return web.Response(status=204)
    raise web.HTTPNotFound(
        text=_json.encode({"detail": f"no logs for {app}"}).decode(),
        content_type="application/json",
    )


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="OK")


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    problem = request.app[COMPONENTS].store_problem()
    if problem is not None:
        return web.Response(status=503, text=problem)
    if request.app[READY].is_set():
        return web.Response(text="OK")
    return web.Response(status=503, text="starting or stopping")


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[COMPONENTS].telemetry.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _follow(
    request: web.Request, components: LoggerComponents, app: str, log_request: LogRequest
) -> web.StreamResponse:
    """History, then live lines, with no line lost or repeated between them.

    The follower subscribes (and its subscription is live, `until_live`)
    before the history is read, so a line stored meanwhile is both queued
    and (maybe) in the history; sequence numbers decide, and only lines
    after the last one written are sent."""
    response = web.StreamResponse(headers={"X-Accel-Buffering": "no"})
    response.content_type = NDJSON if log_request.json else "text/plain"
    if not log_request.json:
        response.charset = "utf-8"
    hub = components.hub
    query = log_request.query
    form = "json" if log_request.json else "text"
    follower = hub.subscribe(app)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + log_request.timeout
    try:
        await hub.until_live(follower)
        history = await components.store.read(app, query)
        # Headers once the follow knows where it starts: a client that sees
        # them gets every line stored from then on (and a store that fails
        # the read answers with a status, not a cut stream).
        await response.prepare(request)
        cursor = history.last_seq
        if query.after_seq is not None:
            cursor = max(cursor, query.after_seq)
        out = LiveWriter(
            request,
            response,
            cursor=cursor,
            deadline=deadline,
            write_timeout=components.settings.api.follow_write_timeout,
            form=form,
            render=_RENDERERS[form],
        )
        if history.lines or history.gone:
            await out.write(_render_history(app, history, log_request.json))
        while (remaining := deadline - loop.time()) > 0:
            if request.transport is None or request.transport.is_closing():
                break
            if not query.filtered and not follower.attached:
                follower.attach(out.push)  # refused while batches are queued: they come first
            if not await follower.wait(min(remaining, _LIVENESS_INTERVAL)):
                continue
            notice, batches = follower.take()
            chunks: list[bytes] = []
            if notice is not None:
                chunks.append(_render([(None, notice)], log_request.json))
            for batch in batches:
                if batch.last_seq <= out.cursor:
                    continue  # already sent with the history
                if batch.first_seq > out.cursor and not query.filtered:
                    chunks.append(out.whole(batch))  # the common case
                else:
                    fresh = [
                        (seq, line)
                        for seq, line in enumerate(batch.lines, batch.first_seq)
                        if seq > out.cursor and query.matches(line)
                    ]
                    if fresh:
                        chunks.append(_render(fresh, log_request.json))
                out.cursor = batch.last_seq
            if chunks:
                await out.write(b"".join(chunks))
        follower.detach()  # nothing may follow the end of the stream
        await response.write_eof()
    except ConnectionError:
        pass  # the client left
    except TimeoutError:
        # The client stopped reading: what is unsent cannot end cleanly.
        if request.transport is not None:
            request.transport.abort()
    finally:
        hub.unsubscribe(follower)
    return response


def _render_history(app: str, result: ReadResult, as_json: bool) -> bytes:
    """The lines read, after one notice when some asked for are gone."""
    if not result.gone:
        return _render(result.lines, as_json)
    now = time.time_ns()
    oldest = line_time(result.lines[0][1]).decode("ascii", "replace") if result.lines else ""
    notice = gap_notice(app, result.gone, oldest, now)
    return _render([(None, notice), *result.lines], as_json)


def _render_batch_text(batch: Batch) -> bytes:
    return _render(enumerate(batch.lines, batch.first_seq), as_json=False)


def _render_batch_json(batch: Batch) -> bytes:
    return _render(enumerate(batch.lines, batch.first_seq), as_json=True)


_RENDERERS = {"text": _render_batch_text, "json": _render_batch_json}


def _render(lines: Iterable[tuple[int | None, bytes]], as_json: bool) -> bytes:
    if not as_json:
        return b"".join([line_text(stored) + b"\n" for _, stored in lines])
    out = []
    for seq, stored in lines:
        record: dict[str, object] = {"seq": seq}
        record.update(line_record(stored))  # the field names are logger.lines'
        out.append(_json.encode(record) + b"\n")
    return b"".join(out)


def requested_app(request: web.Request) -> str:
    """The `{app}` of the path, or a 400 saying why it is not an app name."""
    app = request.match_info["app"]
    problem = app_name_problem(app)
    if problem is not None:
        raise bad_request(problem)
    return app


def _int_param(params: Mapping[str, str], name: str, default: int | None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        if default is None:
            raise bad_request(f"{name} needs a value")
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f"{name} must be a whole number, got {raw!r}") from None


def _bool_param(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name, "false").lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no", ""):
        return False
    raise bad_request(f"{name} must be true or false")
