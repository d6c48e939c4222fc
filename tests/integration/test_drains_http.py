"""HTTPS drains against a real aiohttp HTTPS server (trustme certificate)."""

from __future__ import annotations

import base64
import json
import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from logger.drains.base import Drain
from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.drains.state import DrainState
from logger.lines import format_timestamp
from tests.integration.drain_sinks import HttpsSink, stored_line
from tests.integration.rsyslog import poll_until
from tests.support.drains import quick_settings, running

T0 = 1_795_000_000_123_456_000
PASSWORD = "pw-Zx81-secret"
TOKEN = "qtok-77aa-secret"


def settings_for(tmp_path: Path, ca_file: Path | None, **changes: object) -> DrainSettings:
    return quick_settings(tmp_path, ca_file, **{"batch_lines": 4, **changes})


async def add(registry: DrainRegistry, url: str) -> Drain:
    view = await registry.add("shop", url)
    drain = registry.drain(view.id)
    assert drain is not None
    return drain


def lines(count: int, start: int = 0) -> list[bytes]:
    return [
        stored_line("shop", "web.1", f"line {n}", T0 + n * 1000)
        for n in range(start, start + count)
    ]


def syslog(line_number: int) -> bytes:
    ts = format_timestamp(T0 + line_number * 1000)
    return f"<14>1 {ts} shop shop web.1 - - line {line_number}".encode()


async def test_logplex_frames_headers_and_batches(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink
) -> None:
    async with running(settings_for(tmp_path, ca_file)) as (registry, _):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(10))
        assert await drain.wait_idle(5)
    requests = https_sink.requests
    assert [request.headers["Logplex-Msg-Count"] for request in requests] == ["4", "4", "2"]
    assert [request.messages for request in requests] == [
        [syslog(n) for n in range(0, 4)],
        [syslog(n) for n in range(4, 8)],
        [syslog(n) for n in range(8, 10)],
    ]
    token = json.loads((tmp_path / "drains.json").read_text())["drains"][0]["token"]
    frame_ids = set()
    for request in requests:
        assert request.headers["Content-Type"] == "application/logplex-1"
        assert request.headers["Logplex-Drain-Token"] == token
        assert request.headers["User-Agent"] == "wf-logger-drain/1"
        assert re.fullmatch(r"[0-9a-f]{32}", request.headers["Logplex-Frame-Id"])
        assert "Authorization" not in request.headers
        frame_ids.add(request.headers["Logplex-Frame-Id"])
    assert len(frame_ids) == 3
    assert re.fullmatch(r"d\.[0-9a-f-]{36}", token)


async def test_batches_by_bytes_and_by_time(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink
) -> None:
    settings = settings_for(tmp_path, ca_file, batch_lines=100, batch_bytes=1024)
    wide = [stored_line("shop", "web.1", f"{n:02d}" + "w" * 400, T0) for n in range(5)]
    async with running(settings) as (registry, _):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, wide)
        assert await drain.wait_idle(5)
    assert [len(request.messages) for request in https_sink.requests] == [2, 2, 1]
    https_sink.requests.clear()
    # Below both limits, lines offered within the interval share one request.
    settings = settings_for(tmp_path, ca_file, batch_lines=100, batch_interval=0.3)
    async with running(replace(settings, state_file=None)) as (registry, _):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(3))
        await poll_until(lambda: False, 0.05)
        registry.deliver("shop", 0, lines(2, start=3))
        assert await drain.wait_idle(5)
    assert [request.messages for request in https_sink.requests] == [[syslog(n) for n in range(5)]]


async def test_retry_on_500_and_429_keeps_the_frame_id(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink
) -> None:
    https_sink.answer(500, 503)
    https_sink.answer(429, retry_after="0")
    async with running(settings_for(tmp_path, ca_file)) as (registry, metrics):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(3))
        assert await drain.wait_idle(5)
        labels = {"drain_id": drain.id, "app": "shop", "scheme": "https"}
        retries_5xx = metrics.get_sample_value(
            "logger_drain_retries_total", {**labels, "kind": "http_5xx"}
        )
        retries_429 = metrics.get_sample_value(
            "logger_drain_retries_total", {**labels, "kind": "http_429"}
        )
        delivered = metrics.get_sample_value("logger_drain_delivered_lines_total", labels)
        view = registry.list("shop")[0]
    assert [request.status for request in https_sink.requests] == [500, 503, 429, 200]
    assert len({request.headers["Logplex-Frame-Id"] for request in https_sink.requests}) == 1
    assert len({request.body for request in https_sink.requests}) == 1
    assert (retries_5xx, retries_429, delivered) == (2, 1, 3)
    assert (view.retries, view.delivered_lines, view.dropped_lines) == (3, 3, 0)
    assert view.last_error == f"127.0.0.1:{https_sink.port} answered HTTP 429 Too Many Requests"
    assert view.state == "connected"


async def test_retry_after_is_waited(tmp_path: Path, ca_file: Path, https_sink: HttpsSink) -> None:
    https_sink.answer(429, retry_after="0.4")
    async with running(settings_for(tmp_path, ca_file, retry_max=1.0)) as (registry, _):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(1))
        assert await drain.wait_idle(5)
    first, second = https_sink.requests
    assert second.received_at - first.received_at >= 0.39


async def test_400_drops_the_batch_and_counts_it_with_the_status(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink
) -> None:
    https_sink.answer(400)
    async with running(settings_for(tmp_path, ca_file)) as (registry, metrics):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(3))
        assert await drain.wait_idle(5)
        registry.deliver("shop", 0, lines(2, start=3))
        assert await drain.wait_idle(5)
        labels = {"drain_id": drain.id, "app": "shop", "scheme": "https"}
        dropped = metrics.get_sample_value(
            "logger_drain_dropped_lines_total", {**labels, "reason": "http_400"}
        )
        view = registry.list("shop")[0]
    assert dropped == 3
    assert (view.dropped, view.delivered_lines, view.retries) == ({"http_400": 3}, 2, 0)
    assert view.last_error == (
        f"127.0.0.1:{https_sink.port} answered HTTP 400 Bad Request; batch of 3 lines dropped"
    )
    assert [request.status for request in https_sink.requests] == [400, 200]
    assert https_sink.accepted_messages() == [syslog(3), syslog(4)]


async def test_credentials_become_basic_auth_and_are_never_shown(
    tmp_path: Path, ca_file: Path, https_sink: HttpsSink, caplog: pytest.LogCaptureFixture
) -> None:
    url = https_sink.url(userinfo=f"drainer:{PASSWORD}", query=f"token={TOKEN}")
    https_sink.answer(500, 401)
    caplog.set_level(logging.DEBUG)
    async with running(settings_for(tmp_path, ca_file)) as (registry, metrics):
        drain = await add(registry, url)
        registry.deliver("shop", 0, lines(2))
        assert await drain.wait_idle(5)
        shown = [
            json.dumps(registry.list("shop")[0].to_json()),
            repr(drain),
            repr(drain.url),
            str(drain.url),
            caplog.text,
            generate_latest(metrics).decode(),
        ]
    token = json.loads((tmp_path / "drains.json").read_text())["drains"][0]["token"]
    for text in shown:
        assert PASSWORD not in text
        assert TOKEN not in text
        assert token not in text
    assert registry.list("shop") == []
    assert "drain" in caplog.text  # the failures were logged, redacted
    auth = base64.b64encode(f"drainer:{PASSWORD}".encode()).decode()
    assert {request.headers["Authorization"] for request in https_sink.requests} == {
        f"Basic {auth}"
    }
    assert {request.path_qs for request in https_sink.requests} == {f"/logs?token={TOKEN}"}


async def test_ndjson_format(tmp_path: Path, ca_file: Path, https_sink: HttpsSink) -> None:
    async with running(settings_for(tmp_path, ca_file)) as (registry, _):
        drain = await add(registry, https_sink.url(query="format=ndjson"))
        registry.deliver("shop", 0, [stored_line("shop", "web.1", "a\nb", T0, b"e")])
        assert await drain.wait_idle(5)
    (request,) = https_sink.requests
    assert request.headers["Content-Type"] == "application/x-ndjson"
    assert request.headers["Logplex-Msg-Count"] == "1"
    assert request.path_qs == "/logs"
    assert [json.loads(row) for row in request.body.splitlines()] == [
        {
            "time": format_timestamp(T0),
            "app": "shop",
            "process": "web",
            "instance": "1",
            "stream": "stderr",
            "message": "a\nb",
        }
    ]


async def test_bad_certificate_is_a_clear_error(tmp_path: Path, https_sink: HttpsSink) -> None:
    async with running(settings_for(tmp_path, None)) as (registry, _):
        drain = await add(registry, https_sink.url())
        registry.deliver("shop", 0, lines(1))
        assert await poll_until(lambda: drain.state is DrainState.BACKING_OFF, 5)
        assert drain.last_error == (
            f"TLS certificate verification failed for 127.0.0.1:{https_sink.port}: "
            "unable to get local issuer certificate"
        )
    assert https_sink.requests == []
