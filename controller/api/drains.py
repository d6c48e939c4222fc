"""An app's log drains: stored here, pushed to the logger, which sends.

    GET    /v2/apps/{id}/drains               -> 200 {"count", "results": [drain]}
    POST   /v2/apps/{id}/drains  {"url": ...} -> 201 drain
    GET    /v2/apps/{id}/drains/{drain}       -> 200 drain, with every logger replica's state
    DELETE /v2/apps/{id}/drains/{drain}       -> 204

A drain's URL is shown redacted (credentials and query values as ***);
the whole URL is only ever sent to the logger. It is stored encrypted
(`Drain.sealed_url`, controller/auth/sealing.py) and opened here only.

This database is the source of truth; the logger holds what it was given
(one state file, or with Redis one set every replica shares). Each drain is
given with the origin `controller:<id>`, so that the reconcile at start
pushes what the logger lacks and removes only drains this controller made
and no longer has, never a drain someone else added to the logger.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from controller.api.access import Access, load_app
from controller.api.apps import signed_in
from controller.api.encoding import json_response
from controller.api.errors import read_json_object, required_string
from controller.auth.sealing import Sealer
from controller.db.models import App, Drain
from controller.errors import BadRequest, LoggerUnavailable, NotFound
from controller.keys import LOGGER, PLATFORM_LOG, SEALER, SESSIONS, SETTINGS
from controller.logger_client import LoggerClient
from logger.drains.url import redact_url

routes = web.RouteTableDef()
log = logging.getLogger("controller.drains")
# Fields of the logger's view of a drain worth showing next to ours.
_STATUS_FIELDS = ("state", "last_error", "last_error_at", "delivered_lines", "dropped_lines")
# ... and in the detail of one drain (`wf drains info`).
_DETAIL_FIELDS = (
    *_STATUS_FIELDS,
    "delivered_bytes",
    "dropped",
    "retries",
    "buffered_lines",
    "replicas",
)
ORIGIN_PREFIX = "controller:"


def origin_of(drain_id: str) -> str:
    """The origin the logger keeps for a drain this controller made."""
    return ORIGIN_PREFIX + drain_id


def drain_json(
    drain: Drain,
    url: str,
    status: dict[str, Any] | None = None,
    fields: tuple[str, ...] = _STATUS_FIELDS,
) -> dict[str, Any]:
    """The API's view of a drain; `url` is its opened (whole) URL."""
    shown: dict[str, Any] = {
        "id": drain.id,
        "app": drain.app_id,
        "url": redact_url(url),
        "created": drain.created_at,
    }
    for field in fields:
        shown[field] = status.get(field) if status else None
    return shown


@routes.get("/v2/apps/{id}/drains")
async def list_drains(request: web.Request) -> web.Response:
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
        drains = list(
            (
                await session.execute(
                    select(Drain).where(Drain.app_id == app.id).order_by(Drain.created_at)
                )
            ).scalars()
        )
    try:
        statuses = {d["id"]: d for d in await request.app[LOGGER].list_drains(app.id)}
    except LoggerUnavailable:
        statuses = {}  # the list still answers; the state shows as null
    sealer = request.app[SEALER]
    results = [
        drain_json(drain, sealer.open(drain.sealed_url), statuses.get(drain.logger_id or ""))
        for drain in drains
    ]
    return json_response({"count": len(results), "results": results})


@routes.post("/v2/apps/{id}/drains")
async def add_drain(request: web.Request) -> web.Response:
    user = signed_in(request)
    body = await read_json_object(request, request.app[SETTINGS].max_body_bytes)
    url = required_string(body, "url", 2048)
    sessions = request.app[SESSIONS]
    async with sessions() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
    logger = request.app[LOGGER]
    drain_id = str(uuid.uuid4())
    # The logger validates the URL (its 400 becomes ours) and gives its id.
    pushed = await logger.add_drain(app.id, url, origin_of(drain_id))
    sealed = request.app[SEALER].seal(url)
    drain = Drain(id=drain_id, app_id=app.id, sealed_url=sealed, logger_id=pushed["id"])
    try:
        async with sessions.begin() as session:
            session.add(drain)
    except Exception:
        await logger.remove_drain(app.id, pushed["id"])
        raise
    await request.app[PLATFORM_LOG].write(
        app.id, f"{user.username} added a drain to {redact_url(url)}"
    )
    return json_response(drain_json(drain, url, pushed), status=201)


@routes.get("/v2/apps/{id}/drains/{drain}")
async def show_drain(request: web.Request) -> web.Response:
    """One drain with the logger's whole view of it: per replica and summed."""
    user = signed_in(request)
    async with request.app[SESSIONS]() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
        drain = await session.get(Drain, request.match_info["drain"][:36])
        if drain is None or drain.app_id != app.id:
            raise NotFound(f"{app.id} has no drain {request.match_info['drain'][:40]!r}")
    status = None
    if drain.logger_id is not None:
        try:
            status = await request.app[LOGGER].get_drain(app.id, drain.logger_id)
        except LoggerUnavailable:
            status = None  # shown with its state unknown (null)
    url = request.app[SEALER].open(drain.sealed_url)
    return json_response(drain_json(drain, url, status, _DETAIL_FIELDS))


@routes.delete("/v2/apps/{id}/drains/{drain}")
async def remove_drain(request: web.Request) -> web.Response:
    user = signed_in(request)
    sessions = request.app[SESSIONS]
    async with sessions() as session:
        app = await load_app(session, request.match_info["id"], user, Access.USE)
        drain = await session.get(Drain, request.match_info["drain"][:36])
        if drain is None or drain.app_id != app.id:
            raise NotFound(f"{app.id} has no drain {request.match_info['drain'][:40]!r}")
    if drain.logger_id is not None:
        await request.app[LOGGER].remove_drain(app.id, drain.logger_id)
    async with sessions.begin() as session:
        record = await session.get(Drain, drain.id)
        if record is not None:
            await session.delete(record)
    await request.app[PLATFORM_LOG].write(
        app.id,
        f"{user.username} removed the drain to "
        f"{redact_url(request.app[SEALER].open(drain.sealed_url))}",
    )
    return web.Response(status=204)


async def reconcile_drains(
    sessions: async_sessionmaker[AsyncSession], logger: LoggerClient, sealer: Sealer
) -> tuple[int, int]:
    """Make the logger hold every drain stored here, app by app: push the
    missing ones, and remove those this controller made (origin
    `controller:<id>`) that are no longer stored. Drains of other origins
    are left alone. Returns (pushed, removed)."""
    pushed = removed = 0
    async with sessions() as session:
        app_ids = list((await session.execute(select(App.id).order_by(App.id))).scalars())
    for app_id in app_ids:
        async with sessions.begin() as session:
            wanted = list(
                (await session.execute(select(Drain).where(Drain.app_id == app_id))).scalars()
            )
            held = await logger.list_drains(app_id)
            held_ids = {str(view["id"]) for view in held}
            by_origin = {str(view.get("origin")): str(view["id"]) for view in held}
            wanted_origins = {origin_of(drain.id) for drain in wanted}
            # Strays first: ours, no longer stored (another origin is not ours to remove).
            for origin, logger_id in by_origin.items():
                if origin.startswith(ORIGIN_PREFIX) and origin not in wanted_origins:
                    await logger.remove_drain(app_id, logger_id)
                    removed += 1
            for drain in wanted:
                if drain.logger_id in held_ids:
                    continue
                known = by_origin.get(origin_of(drain.id))
                if known is not None:  # held under an id we lost: adopt it
                    drain.logger_id = known
                    continue
                try:
                    drain.logger_id = (
                        await logger.add_drain(
                            app_id, sealer.open(drain.sealed_url), origin_of(drain.id)
                        )
                    )["id"]
                except BadRequest as error:
                    log.warning("the logger refused drain %s of %s: %s", drain.id, app_id, error)
                    continue
                pushed += 1
    if pushed or removed:
        log.info("drains reconciled with the logger: %d pushed, %d removed", pushed, removed)
    return pushed, removed


async def check_sealed_drains(sessions: async_sessionmaker[AsyncSession], sealer: Sealer) -> None:
    """At start: every stored drain URL opens with this key (a SettingsError
    naming WF_SECRET_KEY if not), rather than failing drain by drain later."""
    async with sessions() as session:
        for sealed in (await session.execute(select(Drain.sealed_url))).scalars():
            sealer.open(sealed)
