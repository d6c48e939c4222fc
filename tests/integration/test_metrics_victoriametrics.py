"""The logger's exporter scraped by a real VictoriaMetrics, and every catalog
query run against it: the per-app log metrics arrive with their exact
values, and VictoriaMetrics accepts every query the catalog builds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from logger.app import create_app as create_logger_app
from logger.components import COMPONENTS
from logger.config import LoggerSettings
from logger.forward.protocol import EventFrame
from logger.model import Record
from metrics.catalog import Catalog
from metrics.client import VictoriaMetrics
from tests.support.services import free_port, require_binary
from tests.support.victoriametrics import VictoriaMetricsServer
from tests.unit.test_routing import T0, event_time


@pytest.fixture
async def logger() -> AsyncIterator[TestServer]:
    # Two apps get their own label value; a third is counted under _other.
    app = create_logger_app(LoggerSettings(metrics_max_apps=2), forward=False)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    ingestor = app[COMPONENTS].ingestor
    for tag, messages in [
        ("app.shop.web", ["GET / 200", "ERROR db down", '{"level":"warn","msg":"slow"}']),
        ("app.shop.worker", ["INFO job done"]),
        ("app.blog.web", ["GET /post 200"]),
        ("app.extra.web", ["ERROR one", "ERROR two"]),
    ]:
        entries = [(event_time(T0), Record(log=m, stream="stdout")) for m in messages]
        await ingestor.ingest(EventFrame(tag, entries, "forward"), "forward", 100)
    yield server
    await server.close()


@pytest.fixture
def vm(tmp_path: Path, logger: TestServer) -> Iterator[VictoriaMetricsServer]:
    server = VictoriaMetricsServer(tmp_path, {"workflow-logger": f"127.0.0.1:{logger.port}"})
    server.start()
    yield server
    server.stop()


def values(result: list[dict[str, object]]) -> dict[str, str]:
    out = {}
    for item in result:
        labels = item["metric"]
        assert isinstance(labels, dict)
        key = ",".join(
            f"{k}={v}" for k, v in sorted(labels.items()) if k not in ("job", "instance")
        )
        value = item["value"]
        assert isinstance(value, list)
        out[key] = value[1]
    return out


async def test_log_metrics_scraped_with_exact_values(vm: VictoriaMetricsServer) -> None:
    lines = await vm.wait_for_async(
        'logger_app_lines_total{job="workflow-logger"}', lambda r: len(r) == 4
    )
    assert values(lines) == {
        "__name__=logger_app_lines_total,app=shop,proc=web,stream=stdout": "3",
        "__name__=logger_app_lines_total,app=shop,proc=worker,stream=stdout": "1",
        "__name__=logger_app_lines_total,app=blog,proc=web,stream=stdout": "1",
        "__name__=logger_app_lines_total,app=_other,proc=_other,stream=stdout": "2",
    }
    levels = await vm.wait_for_async("logger_app_level_lines_total", lambda r: len(r) == 4)
    assert values(levels) == {
        "__name__=logger_app_level_lines_total,app=shop,level=error": "1",
        "__name__=logger_app_level_lines_total,app=shop,level=warning": "1",
        "__name__=logger_app_level_lines_total,app=shop,level=info": "1",
        "__name__=logger_app_level_lines_total,app=_other,level=error": "2",
    }
    # 32 (time) + 1 + len("blog[web]: ") + len("GET /post 200")
    size = await vm.wait_for_async('logger_app_bytes_total{app="blog"}', lambda r: len(r) == 1)
    assert size[0]["value"][1] == str(32 + 1 + 11 + 13)
    overflow = await vm.wait_for_async(
        "logger_app_label_overflow_lines_total", lambda r: len(r) == 1
    )
    assert overflow[0]["value"][1] == "2"


async def test_every_catalog_query_runs(vm: VictoriaMetricsServer, logger: TestServer) -> None:
    await vm.wait_for_async('up{job="workflow-logger"}', lambda r: len(r) == 1)
    catalog = Catalog()
    queries = {
        **catalog.pipeline("1m"),
        **catalog.app("shop", "web", "1m"),
        **catalog.app_container_current("shop", "5m"),
        **catalog.apps("1m"),
    }
    async with VictoriaMetrics(vm.url, timeout=5.0) as client:
        results = {name: await client.query(expr) for name, expr in queries.items()}
        assert [(s.labels, s.value) for s in results["logger_up"]] == [
            (
                {
                    "__name__": "up",
                    "instance": f"127.0.0.1:{logger.port}",
                    "job": "workflow-logger",
                },
                1.0,
            )
        ]
        ring = results["logger_ring_fill"]
        assert len(ring) == 1
        assert 0 < ring[0].value < 0.001
    # Each name is one query: nothing else in the package spells out PromQL.
    assert len(set(queries.values())) == len(queries)


async def test_promtool_accepts_the_exporter_output(logger: TestServer) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(logger.make_url("/metrics")) as reply,
    ):
        text = await reply.read()
    assert b'logger_app_lines_total{app="shop",proc="web",stream="stdout"} 3.0' in text
    process = await asyncio.create_subprocess_exec(
        require_binary("promtool"),
        "check",
        "metrics",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(text), 30)
    assert (process.returncode, output.decode()) == (0, "")
