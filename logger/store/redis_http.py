"""The logs API's answer while Redis is unreachable: 503 with a message."""

from __future__ import annotations

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from logger.errors import StoreUnavailable

_json = msgspec.json.Encoder()


@web.middleware
async def store_unavailable_as_503(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except StoreUnavailable as error:
        # The message names Redis's host and port, never the URL's credentials.
        raise web.HTTPServiceUnavailable(
            text=_json.encode({"detail": str(error)}).decode(),
            content_type="application/json",
            headers={"Retry-After": "1"},
        ) from None
