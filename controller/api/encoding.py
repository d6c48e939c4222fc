"""The one JSON encoder of the controller's answers.

Handlers put `datetime`s into their answers as they are; every one is
written here, as RFC 3339 in UTC with microseconds and an offset
(`2026-11-22T10:00:00.123456+00:00`, the log lines' format), so no answer
can carry a time without its zone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web


def rfc3339(moment: datetime) -> str:
    """`moment` in UTC as RFC 3339; a naive datetime is a bug, not a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime has no offset to show: {moment.isoformat()}")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _encode(value: object) -> str:
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_encode)


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)
