"""Per-app log rates from the per-app counters: differences over the interval,
a new app counted from zero, the points bound, and the logger's endpoint."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from logger.app import create_app
from logger.app_metrics import ONE_LINE, AppLogCounter
from logger.app_rates import RateHistory
from logger.components import COMPONENTS
from logger.config import LoggerSettings


def add(counter: AppLogCounter, app: str, proc: str, stream: int, lines: int) -> None:
    counter.slots(app, proc)[stream] += lines * (ONE_LINE + 10)


def test_rates_are_lines_per_second_by_proc_stream_and_level() -> None:
    counter = AppLogCounter(10)
    history = RateHistory(counter, interval=2.0, points=3)
    history.sample(100.0)
    add(counter, "shop", "web", 0, 10)
    add(counter, "shop", "web", 1, 4)
    counter.levels[("shop", "error")] = 4
    history.sample(102.0)
    add(counter, "shop", "worker", 0, 6)
    history.sample(104.0)
    rates = history.rates("shop")
    assert rates["times"] == [102.0, 104.0]
    # shop had no lines at the first sample: its first rate counts from zero.
    assert rates["procs"] == {"web": [7.0, 0.0], "worker": [0.0, 3.0]}
    assert rates["streams"] == {"stdout": [5.0, 3.0], "stderr": [2.0, 0.0]}
    assert rates["levels"] == {"error": [2.0, 0.0]}
    for moment in (106.0, 108.0, 110.0):
        history.sample(moment)
    assert history.rates("shop")["times"] == [106.0, 108.0, 110.0]
    assert history.rates("other") == {
        "app": "other",
        "interval": 2.0,
        "times": [],
        "procs": {},
        "streams": {},
        "levels": {},
    }


async def test_the_logger_serves_an_apps_rates() -> None:
    app = create_app(LoggerSettings(rates_interval=0.1), forward=False)
    async with TestClient(TestServer(app)) as client:
        await app[COMPONENTS].ingestor.write_platform_line("shop", "web", "ERROR down")
        deadline = 50
        while deadline:
            body = await (await client.get("/rates/shop")).json()
            if body["procs"].get("web") and max(body["procs"]["web"]) > 0:
                break
            deadline -= 1
            await asyncio.sleep(0.1)
        assert max(body["procs"]["web"]) > 0
        assert max(body["levels"]["error"]) > 0
        assert (await client.get("/rates/Not_An_App!")).status == 400
