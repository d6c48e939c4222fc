"""The controller's side of the logger's HTTP APIs: logs and drains.

Every failure to reach the logger, or an answer it should not have given,
is a LoggerUnavailable (503 to the user); the logger's own 400 about a
drain URL becomes the user's 400, with its (redacted) message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
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
        history: Mapping[str, str] | None = None,
    ) -> bytes:
        """The newest lines; `history` adds the logger's since, until, query
        and format parameters (a read past the ring)."""
        params = {"log_lines": str(lines)}
        if proc:
            params["proc"] = proc
        params.update(history or {})
        try:
            async with self._session.get(
                self._logs_url(app), params=params, timeout=self._timeout
            ) as reply:
                if reply.status == 204:
                    return b""
                if reply.status == 400:
                    raise BadRequest(await _message(reply))
                if reply.status == 501:
                    raise HistoryNotAvailable(await _message(reply))
                await _check(reply, "read logs")
                return await reply.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _unreachable(error) from None

    async def follow(
        self, app: str, lines: int, timeout: float, proc: str | None = None
    ) -> AsyncIterator[str]:
        """History then live lines, until `timeout` seconds pass (the logger ends it)."""
        params = {"log_lines": str(lines), "follow": "true", "timeout": f"{timeout:g}"}
        if proc:
            params["proc"] = proc
        # No total timeout: the logger closes the stream at `timeout`.
        stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=self._timeout.total, sock_read=timeout + 30
        )
        try:
            async with self._session.get(
                self._logs_url(app), params=params, timeout=stream_timeout
            ) as reply:
                await _check(reply, "follow logs")
                async for raw in reply.content:
                    yield raw.decode("utf-8", "replace").rstrip("\n")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _unreachable(error) from None

    async def purge(self, app: str) -> None:
        try:
            async with self._session.delete(self._logs_url(app), timeout=self._timeout) as reply:
                if reply.status not in (204, 404):
                    await _check(reply, "delete logs")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _unreachable(error) from None

    # -- drains -----------------------------------------------------------------

    async def add_drain(self, app: str, url: str) -> dict[str, Any]:
        body = await self._drains("POST", app, json={"url": url}, expect=(201,))
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise LoggerUnavailable("the logger answered a drain without an id")
        return body

    async def list_drains(self, app: str) -> list[dict[str, Any]]:
        body = await self._drains("GET", app, expect=(200,))
        drains = body.get("drains") if isinstance(body, dict) else None
        if not isinstance(drains, list):
            raise LoggerUnavailable("the logger answered a drain list without `drains`")
        return [drain for drain in drains if isinstance(drain, dict)]

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
        try:
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
        except (aiohttp.ClientError, TimeoutError) as error:
            raise _unreachable(error) from None

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


def _unreachable(error: BaseException) -> LoggerUnavailable:
    return LoggerUnavailable(f"cannot reach the logger: {type(error).__name__}")
