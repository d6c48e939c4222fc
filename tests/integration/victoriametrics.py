"""A real VictoriaMetrics (the Debian `victoria-metrics` binary) on 127.0.0.1.

Started with a temporary storage directory, `-search.latencyOffset=0s` (so
just-written samples are queryable) and its result cache off (so a query
after an import never sees an older answer), optionally scraping targets
through `-promscrape.config`. Synthetic series are imported with explicit
timestamps (`import_prometheus`). New series take about a second to become
searchable, and asked too early VictoriaMetrics remembers "no such series"
for several seconds, so `wait_for` first waits, then polls with a bound.

Start and stop are synchronous so that a module-scoped fixture can share
one server; `wait_for` is async so a logger in the test's loop keeps
answering scrapes meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import free_port, require_binary

START_TIMEOUT = 15.0
FIRST_LOOK = 1.2


class VictoriaMetricsServer:
    def __init__(self, workdir: Path, scrape_config: str | None = None) -> None:
        self.binary = require_binary("victoria-metrics")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.scrape_config = scrape_config
        self._process: subprocess.Popen[bytes] | None = None
        self._log = workdir / "victoria-metrics.log"

    def start(self) -> None:
        args = [
            self.binary,
            f"-storageDataPath={self.workdir / 'data'}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-retentionPeriod=1",
            "-loggerLevel=WARN",
        ]
        if self.scrape_config is not None:
            config = self.workdir / "scrape.yml"
            config.write_text(self.scrape_config)
            args.append(f"-promscrape.config={config}")
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline and self._process.poll() is None:
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/health").status_code == 200:
                        return
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"victoria-metrics did not start:\n{self.output()}")

    def output(self) -> str:
        return self._log.read_text(errors="replace")[-4000:] if self._log.exists() else ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def import_prometheus(self, text: str) -> None:
        """Samples in the text exposition format, timestamps in milliseconds."""
        reply = httpx.post(f"{self.url}/api/v1/import/prometheus", content=text, timeout=10.0)
        assert reply.status_code == 204, reply.text

    async def wait_for(self, query: str, check: Any, timeout: float = 20.0) -> list[Any]:
        """The instant query's result once `check(result)` is true."""
        deadline = time.monotonic() + timeout
        found: list[Any] = []
        await asyncio.sleep(FIRST_LOOK)
        async with httpx.AsyncClient(timeout=5.0) as client:
            while time.monotonic() < deadline:
                reply = await client.get(f"{self.url}/api/v1/query", params={"query": query})
                if reply.status_code == 200:
                    found = reply.json()["data"]["result"]
                    if check(found):
                        return found
                await asyncio.sleep(0.3)
        raise AssertionError(f"{query}: the check failed until the end, last result {found}")
