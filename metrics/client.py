"""A VictoriaMetrics client (Prometheus querying API) on httpx, async.

    async with VictoriaMetrics("http://127.0.0.1:8428", timeout=5.0) as vm:
        samples = await vm.query('up{job="workflow-logger"}')
        series = await vm.query_range(expr, start, end, step=60)

Connection errors are retried (`retries` more attempts, `retry_pause`
apart): VictoriaMetrics restarting should not fail a request. Nothing else
is retried, so a slow server costs at most `timeout` per attempt. A query
the server rejects raises `QueryError` with its message; anything else that
keeps an answer from arriving raises `MetricsUnavailable`.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from metrics.errors import MetricsUnavailable, QueryError

# The message of an error answer is cut to this length.
MAX_ERROR_TEXT = 500


@dataclass(frozen=True, slots=True)
class Sample:
    """One series of an instant query: its labels and value at the query time."""

    labels: dict[str, str]
    timestamp: float
    value: float
    # The value as the server wrote it (`"1.5e+06"`, `"NaN"`), for re-exposition.
    text: str


@dataclass(frozen=True, slots=True)
class Series:
    """One series of a range query: labels and (timestamp, value) points."""

    labels: dict[str, str]
    points: list[tuple[float, float]]


class VictoriaMetrics:
    """Instant and range queries against one server (`/api/v1/query[_range]`)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        retry_pause: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.shown_url = _without_credentials(self.url)
        self._retries = retries
        self._retry_pause = retry_pause
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def __aenter__(self) -> VictoriaMetrics:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.aclose()

    async def query(self, expr: str, at: float | None = None) -> list[Sample]:
        """An instant query; `at` is a Unix time (default: now)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = _number(at)
        data = await self._get("/api/v1/query", params)
        if data.get("resultType") != "vector":
            raise MetricsUnavailable(
                f"VictoriaMetrics at {self.shown_url} answered a {data.get('resultType')!r} "
                "result to an instant query, expected a vector"
            )
        try:
            return [
                Sample(dict(item["metric"]), float(item["value"][0]), float(item["value"][1]),
                       str(item["value"][1]))
                for item in data["result"]
            ]  # fmt: skip
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise self._garbled(error) from None

    async def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """A range query from `start` to `end` (Unix times), one point per `step` seconds."""
        params = {
            "query": expr,
            "start": _number(start),
            "end": _number(end),
            "step": _number(step),
        }
        data = await self._get("/api/v1/query_range", params)
        if data.get("resultType") != "matrix":
            raise MetricsUnavailable(
                f"VictoriaMetrics at {self.shown_url} answered a {data.get('resultType')!r} "
                "result to a range query, expected a matrix"
            )
        try:
            return [
                Series(
                    dict(item["metric"]),
                    [(float(ts), float(value)) for ts, value in item["values"]],
                )
                for item in data["result"]
            ]
        except (KeyError, TypeError, ValueError) as error:
            raise self._garbled(error) from None

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                reply = await self._client.get(self.url + path, params=params)
                break
            except httpx.TransportError as error:
                # Only a refused or dropped connection is worth another try;
                # a timeout already cost the whole budget once.
                retry = not isinstance(error, httpx.TimeoutException)
                if not retry or attempt >= self._retries:
                    raise MetricsUnavailable(
                        f"VictoriaMetrics at {self.shown_url} is unreachable ({_describe(error)})"
                    ) from None
            attempt += 1
            await asyncio.sleep(self._retry_pause)
        if reply.status_code in (400, 422):
            raise QueryError(
                f"VictoriaMetrics rejected the query: {_error_text(reply)}", reply.status_code
            )
        if reply.status_code != 200:
            raise MetricsUnavailable(
                f"VictoriaMetrics at {self.shown_url} answered {reply.status_code}: "
                f"{_error_text(reply)}"
            )
        try:
            body = reply.json()
        except ValueError:
            raise MetricsUnavailable(
                f"VictoriaMetrics at {self.shown_url} answered something that is not JSON"
            ) from None
        if not isinstance(body, dict) or body.get("status") != "success":
            raise MetricsUnavailable(
                f"VictoriaMetrics at {self.shown_url} answered without success: "
                f"{str(body)[:MAX_ERROR_TEXT]}"
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise self._garbled(TypeError("no data"))
        return data

    def _garbled(self, error: Exception) -> MetricsUnavailable:
        return MetricsUnavailable(
            f"VictoriaMetrics at {self.shown_url} answered an unexpected result shape "
            f"({type(error).__name__})"
        )


def _number(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    return repr(float(value)) if value != int(value) else str(int(value))


def _describe(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return type(error).__name__


def _error_text(reply: httpx.Response) -> str:
    """VictoriaMetrics' own error message (`{"status":"error","error":...}`), else the body."""
    try:
        body = reply.json()
        text = body.get("error") if isinstance(body, dict) else None
    except ValueError:
        text = None
    text = str(text or reply.text.strip() or reply.reason_phrase)
    return text[:MAX_ERROR_TEXT]


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
