"""Errors as JSON `{"detail": "..."}` with the right status, never a stack
trace; request bodies read with a bound and checked for shape."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from controller.api.encoding import json_response
from controller.errors import BadRequest, ControllerError, TooManyRequests
from foundation.echo import capped

log = logging.getLogger("controller.api")


def error_response(status: int, message: str) -> web.Response:
    return json_response({"detail": capped(message)}, status=status)


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except TooManyRequests as error:
        response = error_response(error.status, str(error))
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    except ControllerError as error:
        if error.status >= 500:
            log.warning("%s %s: %s", request.method, request.path, error)
        return error_response(error.status, str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return error_response(error.status, error.reason)
    except Exception:
        # The message may hold anything (a URL, a query): only the type is logged.
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(500, "internal error")


async def read_json_object(request: web.Request, max_bytes: int) -> dict[str, Any]:
    if request.content_length is not None and request.content_length > max_bytes:
        raise BadRequest(f"the request body is larger than {max_bytes} bytes")
    raw = await request.content.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise BadRequest(f"the request body is larger than {max_bytes} bytes")
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def string_field(
    body: dict[str, Any], name: str, *, required: bool = True, max_length: int = 255
) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    if required and not value:
        raise BadRequest(f"{name} must not be empty")
    if len(value) > max_length:
        raise BadRequest(f"{name} must be at most {max_length} characters")
    return value


def required_string(body: dict[str, Any], name: str, max_length: int = 255) -> str:
    value = string_field(body, name, max_length=max_length)
    assert value is not None  # required=True never returns None
    return value
