"""Records built to break the logger's lines, sent over a real connection:
times no stored line can show, label fields of any size, and text that tries
to pass for another line. Each is contained to its own record."""

from __future__ import annotations

import json
from typing import Any, Protocol

import msgpack
import pytest
from pytest_aiohttp import AiohttpClient

from logger.app import FORWARD, create_app
from logger.config import ApiSettings, LoggerSettings
from logger.forward.settings import ForwardSettings
from tests.integration.forward_helpers import (
    BASE_NS,
    BASE_TEXT,
    HOST,
    RawConnection,
    RunningLogger,
    entry,
    fixext8_time,
    forward_frame,
    integer_time,
    options_map,
)

SECOND = 1_000_000_000
KIB = 1 << 10


class StartLogger(Protocol):
    async def __call__(self, *, max_line_bytes: int = ...) -> RunningLogger: ...


@pytest.fixture
def start_logger(aiohttp_client: AiohttpClient) -> StartLogger:
    async def start(*, max_line_bytes: int = 16 * KIB) -> RunningLogger:
        settings = LoggerSettings(
            forward=ForwardSettings(host=HOST, port=0),
            api=ApiSettings(host=HOST, port=0),
            max_line_bytes=max_line_bytes,
        )
        app = create_app(settings)
        return RunningLogger(await aiohttp_client(app), app[FORWARD].port)

    return start


def pod(**overrides: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "pod_name": "shop-web-7d9f8b6c5-x2x9z",
        "namespace_name": "shop",
        "container_name": "shop-web",
        "labels": {"app": "shop", "type": "web"},
    }
    meta.update(overrides)
    return meta


async def send(logger: RunningLogger, tag: str, entries: list[bytes], chunk: str) -> None:
    conn = await RawConnection.open(logger.port)
    try:
        await conn.send_and_ack(forward_frame(tag, entries, options_map(chunk)), chunk)
    finally:
        await conn.close()


async def test_a_time_past_year_9999_is_an_invalid_entry_and_the_frame_is_acked(
    start_logger: StartLogger,
) -> None:
    logger = await start_logger()
    late = SECOND + 123_000  # the second after BASE, to move the router's cached second
    entries = [
        entry(fixext8_time(BASE_NS), {"log": "first"}),
        entry(integer_time(10**12 * SECOND), {"log": "year 33658"}),
        entry(b"\x92" + integer_time(10**12 * SECOND) + b"\x80", {"log": "the same, paired"}),
        # An EventTime whose nanoseconds are past a second.
        entry(b"\xd7\x00" + (BASE_NS // SECOND).to_bytes(4, "big") + (SECOND).to_bytes(4, "big"),
              {"log": "nanoseconds past a second"}),
        entry(fixext8_time(BASE_NS + late), {"log": "last"}),
    ]  # fmt: skip
    await send(logger, "app.shop.web", entries, "t1")
    # The router's cached second is whole: a later frame's lines have their time.
    await send(logger, "app.shop.web", [entry(fixext8_time(BASE_NS), {"log": "again"})], "t2")
    assert await logger.lines("shop") == [
        f"{BASE_TEXT} shop[web]: first",
        f"{BASE_TEXT.replace(':00.123456', ':01.123579')} shop[web]: last",
        f"{BASE_TEXT} shop[web]: again",
    ]
    assert await logger.metric("logger_discarded_events_total", reason="invalid_time") == 3
    assert await logger.metric("logger_stored_lines_total") == 3


async def test_label_fields_of_any_size_never_reach_lines_or_metrics(
    start_logger: StartLogger,
) -> None:
    logger = await start_logger(max_line_bytes=1 * KIB)
    huge = "w" * (256 * KIB)
    records = [
        # A process type past 63 characters: the container name stands in.
        {"log": "type", "kubernetes": pod(labels={"app": "shop", "type": huge})},
        # Neither a valid type nor a valid container name: `app`.
        {"log": "both", "kubernetes": pod(labels={"app": "shop", "type": "Web"},
                                          container_name="c" * 64)},
        # A pod name whose last segment is no label: no instance.
        {"log": "pod", "kubernetes": pod(pod_name="shop-" + huge)},
        # A long message of such a record: every piece has the short head.
        {"log": "x" * (8 * KIB), "kubernetes": pod(pod_name="shop-" + huge,
                                                   labels={"app": "shop", "type": huge})},
    ]  # fmt: skip
    entries = [entry(fixext8_time(BASE_NS), record) for record in records]
    await send(logger, "kube.var.log", entries, "l1")
    lines = await logger.lines("shop")
    assert lines[:3] == [
        f"{BASE_TEXT} shop[shop-web.x2x9z]: type",
        f"{BASE_TEXT} shop[app.x2x9z]: both",
        f"{BASE_TEXT} shop[web]: pod",
    ]
    pieces = lines[3:]
    assert len(pieces) == 8
    assert {piece.split("]: ", 1)[0] for piece in pieces} == {f"{BASE_TEXT} shop[shop-web"}
    response = await logger.client.get("/metrics")
    metrics = await response.text()
    assert huge[:64] not in metrics
    assert len(metrics) < 64 * KIB
    assert 'proc="shop-web"' in metrics
    # What was passed over is counted, once per source (four sources here).
    assert 'logger_passed_over_fields_total{field="process_type"} 3.0' in metrics
    assert 'logger_passed_over_fields_total{field="instance"} 2.0' in metrics


@pytest.mark.parametrize(
    ("tag", "source"),
    [
        ("app.shop.x]: y", "shop[app]"),
        ("app.shop.web\nforged", "shop[app]"),
        ("app.shop." + "p" * 64, "shop[app]"),
        ("app.shop.worker", "shop[worker]"),
    ],
)
async def test_a_tag_process_cannot_forge_the_source(
    start_logger: StartLogger, tag: str, source: str
) -> None:
    logger = await start_logger()
    await send(logger, tag, [entry(fixext8_time(BASE_NS), {"log": "m"})], "g1")
    assert await logger.lines("shop") == [f"{BASE_TEXT} {source}: m"]


async def test_a_multi_line_message_cannot_pass_for_another_line(
    start_logger: StartLogger,
) -> None:
    logger = await start_logger()
    forged = f"{BASE_TEXT} shop[controller]: app deleted by admin"
    message = f"real\n{forged}\r{forged}\x1b[2K\ttab"
    await send(logger, "app.shop.web", [entry(fixext8_time(BASE_NS), {"log": message})], "s1")
    text = await logger.lines("shop")
    # Every line of the text output that starts with a time is a line the
    # logger stored; a continuation is indented, other controls are escaped.
    assert text == [
        f"{BASE_TEXT} shop[web]: real",
        f"    {forged}\\x0d{forged}\\x1b[2K\ttab",
    ]
    response = await logger.client.get("/logs/shop", params={"format": "json"})
    (row,) = [json.loads(line) for line in (await response.text()).splitlines()]
    assert row["message"] == message  # JSON keeps the text as it was sent
    assert msgpack.unpackb(msgpack.packb(row["message"])) == message
