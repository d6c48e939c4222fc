"""The controller's side of the logger's HTTP APIs: logs and drains.

The one place this boundary's foreign errors are translated (`_logger_errors`):

    aiohttp.ClientError, TimeoutError     -> LoggerUnavailable (503), type name only
    an error status, an unexpected body   -> LoggerUnavailable (503), the logger's message
    the logger's 400 about a drain URL    -> BadRequest (400), its (redacted) message
    the logger's 400 about a read's query -> BadRequest (400), its message
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import aiohttp

from controller.errors import ApiError, BadRequest, LoggerUnavailable


class HistoryNotAvailable(ApiError):
    """The logger has no history (WF_HISTORY=off): `until` and `query` need it."""

    status = 501


class LoggerClient:
    def __init__(self, base_url: str, session: aiohttp.ClientSession, timeout: float) -> None:
        self._base = base_url.rstrip("/")
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    # -- logs -------------------------------------------------------------------

    async def read(
        self,
        app: str,
        lines: int,
        proc: str | None = None,
        *,
        extra: dict[str, str] | None = None,
    ) -> bytes:
        """The app's lines; `extra` are further query parameters passed through
        (`since`, `until`, `query`, `format`)."""
        params = {"log_lines": str(lines), **(extra or {})}
        if proc:
            params["proc"] = proc
        with _logger_errors():
            async with self._session.get(
                self._logs_url(app), params=params, timeout=self._timeout
            ) as reply:
                if reply.status == 204:
                    return b""
                if reply.status == 400:  # a parameter passed through was refused
                    raise BadRequest(await _message(reply))
                if reply.status == 501:  # history is off on that logger
                    raise HistoryNotAvailable(await _message(reply))
                await _check(reply, "read logs")
                return await reply.read()

    async def follow(
        self,
        app: str,
        lines: int,
        timeout: float,
        proc: str | None = None,
        *,
        as_json: bool = False,
        after_seq: int | None = None,
    ) -> AsyncIterator[str]:
        """History then live lines, until `timeout` seconds pass (the logger ends it).
        `as_json`: NDJSON lines with their `seq`; `after_seq`: resume after that line."""
        params = {"log_lines": str(lines), "follow": "true", "timeout": f"{timeout:g}"}
        if proc:
            params["proc"] = proc
        if as_json:
            params["format"] = "json"
        if after_seq is not None:
            params["after_seq"] = str(after_seq)
        # No total timeout: the logger closes the stream at `timeout`.
        stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=self._timeout.total, sock_read=timeout + 30
        )
        with _logger_errors():
            async with self._session.get(
                self._logs_url(app), params=params, timeout=stream_timeout
            ) as reply:
                await _check(reply, "follow logs")
                async for raw in reply.content:
                    yield raw.decode("utf-8", "replace").rstrip("\n")

    async def rates(self, app: str) -> dict[str, Any]:
        """The app's recent log rates (the logger's `GET /rates/{app}`)."""
        with _logger_errors():
            async with self._session.get(
                f"{self._base}/rates/{quote(app, safe='')}", timeout=self._timeout
            ) as reply:
                await _check(reply, "read log rates")
                try:
                    body = await reply.json()
                except ValueError:
                    body = None
        if not isinstance(body, dict) or not isinstance(body.get("times"), list):
            raise LoggerUnavailable("the logger answered rates without `times`")
        return body

    async def purge(self, app: str) -> None:
        with _logger_errors():
            async with self._session.delete(self._logs_url(app), timeout=self._timeout) as reply:
                if reply.status not in (204, 404):
                    await _check(reply, "delete logs")

    # -- drains -----------------------------------------------------------------

    async def add_drain(self, app: str, url: str, origin: str | None = None) -> dict[str, Any]:
        """Add a drain; `origin` (the controller's id for it) is kept and
        shown back, so that a reconcile can tell its drains from others'."""
        request: dict[str, Any] = {"url": url}
        if origin is not None:
            request["origin"] = origin
        body = await self._drains("POST", app, json=request, expect=(201,))
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise LoggerUnavailable("the logger answered a drain without an id")
        return body

    async def list_drains(self, app: str) -> list[dict[str, Any]]:
        body = await self._drains("GET", app, expect=(200,))
        drains = body.get("drains") if isinstance(body, dict) else None
        if not isinstance(drains, list):
            raise LoggerUnavailable("the logger answered a drain list without `drains`")
        return [drain for drain in drains if isinstance(drain, dict)]

    async def get_drain(self, app: str, drain_id: str) -> dict[str, Any] | None:
        """One drain as the logger shows it (every replica's state); None
        when the logger has no such drain."""
        body = await self._drains("GET", app, drain_id, expect=(200, 404))
        return body if isinstance(body, dict) else None

    async def remove_drain(self, app: str, drain_id: str) -> None:
        """Remove one drain; one the logger does not have is already removed."""
        await self._drains("DELETE", app, drain_id, expect=(204, 404))

    async def remove_all_drains(self, app: str) -> None:
        for drain in await self.list_drains(app):
            await self.remove_drain(app, str(drain["id"]))

    async def _drains(
        self,
        method: str,
        app: str,
        drain_id: str | None = None,
        *,
        json: Any = None,
        expect: tuple[int, ...],
    ) -> Any:
        url = f"{self._base}/drains/{quote(app, safe='')}"
        if drain_id is not None:
            url += f"/{quote(drain_id, safe='')}"
        with _logger_errors():
            async with self._session.request(
                method, url, json=json, timeout=self._timeout
            ) as reply:
                if reply.status == 404 and reply.content_type != "application/json":
                    # aiohttp's own 404: this logger has no drains API mounted.
                    raise LoggerUnavailable(f"the logger at {self._base} has no drains API")
                if reply.status == 400:
                    raise BadRequest(await _message(reply))
                if reply.status not in expect:
                    await _check(reply, "manage drains", force=True)
                if reply.status == 204 or reply.status == 404:
                    return None
                return await reply.json()

    def _logs_url(self, app: str) -> str:
        return f"{self._base}/logs/{quote(app, safe='')}"


async def _check(reply: aiohttp.ClientResponse, action: str, force: bool = False) -> None:
    if reply.status >= 400 or force:
        raise LoggerUnavailable(
            f"the logger could not {action}: {reply.status} {await _message(reply)}"
        )


async def _message(reply: aiohttp.ClientResponse) -> str:
    text = (await reply.text())[:500]
    try:
        body = await reply.json(content_type=None)
    except ValueError:
        return text.strip()
    if isinstance(body, dict):
        return str(body.get("error") or body.get("detail") or text).strip()
    return text.strip()


@contextlib.contextmanager
def _logger_errors() -> Iterator[None]:
    """aiohttp's errors and timeouts, as the controller's LoggerUnavailable."""
    try:
        yield
    except (aiohttp.ClientError, TimeoutError) as error:
        # The type only: the message may hold the logger's URL with its query.
        raise _unreachable(error) from None


def _unreachable(error: BaseException) -> LoggerUnavailable:
    return LoggerUnavailable(f"cannot reach the logger: {type(error).__name__}")
