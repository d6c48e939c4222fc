"""A drain added through the logger's API receives what Fluent Bit-style
clients send to the forward input: the whole pipeline, real rsyslogd at the end."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from logger.app import FORWARD, create_app
from logger.config import ApiSettings, LoggerSettings
from logger.forward.client import ForwardClient
from logger.forward.settings import ForwardSettings
from tests.support.drains import loopback_settings

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_aiohttp import AiohttpClient

    from tests.integration.rsyslog import Rsyslog

T0 = 1_795_341_600_000_000_000  # 2026-11-22T10:00:00Z


async def test_forward_in_syslog_out(
    aiohttp_client: AiohttpClient, rsyslog: Rsyslog, tmp_path: Path
) -> None:
    settings = LoggerSettings(
        forward=ForwardSettings(host="127.0.0.1", port=0),
        api=ApiSettings(host="127.0.0.1"),
        drains=loopback_settings(state_file=tmp_path / "drains.json", batch_interval=0.05),
    )
    app = create_app(settings)
    client = await aiohttp_client(app)
    added = await client.post(
        "/drains/shop", json={"url": f"syslog://127.0.0.1:{rsyslog.tcp_port}"}
    )
    assert added.status == 201
    drain = await added.json()

    def send() -> None:
        with ForwardClient("127.0.0.1", app[FORWARD].port) as forward:
            records = [
                (T0 + i * 1000, {"log": f"order {i}\n", "stream": "stdout"}) for i in range(300)
            ]
            forward.send("app.shop.web", records)
            forward.send("app.other.web", [(T0, {"log": "not drained"})])

    await asyncio.to_thread(send)
    received = await rsyslog.wait_for(300)
    assert [record.msg for record in received] == [f"order {i}" for i in range(300)]
    assert {(record.app, record.procid) for record in received} == {("shop", "web")}
    await asyncio.sleep(0.2)
    assert rsyslog.count() == 300  # the other app's line went nowhere

    listed = await (await client.get("/drains/shop")).json()
    assert [d["id"] for d in listed["drains"]] == [drain["id"]]
    metrics = await (await client.get("/metrics")).text()
    assert f'logger_drain_delivered_lines_total{{app="shop",drain_id="{drain["id"]}"' in metrics
    assert (tmp_path / "drains.json").exists()
