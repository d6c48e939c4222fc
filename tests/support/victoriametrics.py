"""A real VictoriaMetrics (the Debian `victoria-metrics` binary) and vmalert
on 127.0.0.1, for the metrics, controller and dashboard tests.

VictoriaMetrics starts in a temporary folder with `-search.latencyOffset=0s`
(just-written samples are queryable) and its result cache off (an answer
never predates an import or a scrape), optionally scraping targets every
second. Synthetic series are imported with explicit timestamps
(`import_prometheus`). New series take about a second to become searchable,
and asked too early VictoriaMetrics remembers "no such series" for several
seconds, so `wait_for` first lets a fresh start or import settle, then polls
with a bound.

Everything here is synchronous, so that a module-scoped fixture can share
one server; `wait_for_async` runs the same poll in a worker thread so that
a server in the test's event loop (a logger being scraped) keeps answering
meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.support.services import free_port, require_binary, stop_process

START_TIMEOUT = 20.0
WAIT_TIMEOUT = 20.0
# How long a fresh start or import is left alone before the first query.
SETTLE = 1.2
POLL = 0.25

Result = list[dict[str, Any]]


def scrape_config(targets: Mapping[str, str], interval: str = "1s") -> str:
    """A `-promscrape.config` with one job per (job name, host:port)."""
    jobs = [
        {"job_name": job, "scrape_interval": interval, "static_configs": [{"targets": [target]}]}
        for job, target in targets.items()
    ]
    return json.dumps({"scrape_configs": jobs})  # JSON is YAML


def _answer(reply: httpx.Response) -> dict[str, Any]:
    """A Prometheus API answer (status, data or error), also for an error reply."""
    try:
        answer: dict[str, Any] = reply.json()
    except ValueError:
        return {"status": "error", "error": f"HTTP {reply.status_code}: {reply.text[:500]}"}
    return answer


class _Service:
    """A server process on 127.0.0.1 and a free port, its output in `folder`,
    ready once GET /health answers 200."""

    name = ""

    def __init__(self, folder: Path) -> None:
        self.binary = require_binary(self.name)
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / f"{self.name}.log"

    def arguments(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        arguments = self.arguments()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [self.binary, *arguments], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        exited = self.process.poll()
        self.stop()
        state = (
            f"exited with {exited}" if exited is not None else f"not healthy in {START_TIMEOUT}s"
        )
        raise RuntimeError(f"{self.name} at {self.url} {state}:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)

    def _get(self, path: str, params: Mapping[str, str | float] | None = None) -> dict[str, Any]:
        return _answer(httpx.get(f"{self.url}{path}", params=params, timeout=5.0))


class VictoriaMetricsServer(_Service):
    """Single-node VictoriaMetrics, scraping `scrape_targets` (job name to
    host:port) every second when given."""

    name = "victoria-metrics"

    def __init__(self, folder: Path, scrape_targets: Mapping[str, str] | None = None) -> None:
        super().__init__(folder)
        self.scrape_targets = scrape_targets
        self._settled = 0.0

    def arguments(self) -> list[str]:
        arguments = [
            f"-storageDataPath={self.folder / 'data'}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-retentionPeriod=1d",
            "-loggerLevel=WARN",
        ]
        if self.scrape_targets is not None:
            config = self.folder / "scrape.json"
            config.write_text(scrape_config(self.scrape_targets), encoding="utf-8")
            arguments.append(f"-promscrape.config={config}")
        return arguments

    def start(self) -> None:
        super().start()
        self._settled = time.monotonic() + SETTLE

    def import_prometheus(self, text: str) -> None:
        """Series in the Prometheus text format (timestamps in ms optional)."""
        reply = httpx.post(f"{self.url}/api/v1/import/prometheus", content=text, timeout=10.0)
        assert reply.status_code == 204, reply.text
        self._settled = time.monotonic() + SETTLE

    def query(self, expr: str) -> dict[str, Any]:
        """The /api/v1/query answer at now (status, data or error)."""
        return self._get("/api/v1/query", {"query": expr})

    def query_range(self, expr: str, seconds: int = 120, step: str = "5s") -> dict[str, Any]:
        now = time.time()
        params: dict[str, str | float] = {
            "query": expr,
            "start": now - seconds,
            "end": now,
            "step": step,
        }
        return self._get("/api/v1/query_range", params)

    def wait_for(
        self, expr: str, check: Callable[[Result], bool] = bool, timeout: float = WAIT_TIMEOUT
    ) -> Result:
        """The instant query's result once `check(result)` is true (by
        default: once it is not empty)."""
        deadline = time.monotonic() + timeout
        time.sleep(max(0.0, min(self._settled, deadline) - time.monotonic()))
        while True:
            answer = self.query(expr)
            result: Result = answer.get("data", {}).get("result", [])
            if answer.get("status") == "success" and check(result):
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr}: the check failed within {timeout}s, last {answer}")
            time.sleep(POLL)

    async def wait_for_async(
        self, expr: str, check: Callable[[Result], bool] = bool, timeout: float = WAIT_TIMEOUT
    ) -> Result:
        """`wait_for` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for, expr, check, timeout)


class VmAlert(_Service):
    """vmalert evaluating rule files against a VictoriaMetrics, writing
    recording rules and alert state back into it."""

    name = "vmalert"

    def __init__(self, folder: Path, rule_files: list[Path], vm: VictoriaMetricsServer) -> None:
        super().__init__(folder)
        self.rule_files = rule_files
        self.vm = vm

    def dry_run(self) -> subprocess.CompletedProcess[str]:
        """Parse and validate the rule files (expressions and templates)."""
        return subprocess.run(
            [self.binary, "-dryRun", *[f"-rule={path}" for path in self.rule_files]],
            capture_output=True,
            text=True,
            timeout=WAIT_TIMEOUT,
            check=False,
        )

    def arguments(self) -> list[str]:
        return [
            *[f"-rule={path}" for path in self.rule_files],
            f"-datasource.url={self.vm.url}",
            f"-remoteWrite.url={self.vm.url}",
            # No Alertmanager here: notifications to a closed port fail
            # and are logged; the alert state is read from the API.
            f"-notifier.url=http://127.0.0.1:{free_port()}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
            "-remoteWrite.flushInterval=500ms",
            "-loggerLevel=ERROR",
        ]

    def groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = self._get("/api/v1/rules")["data"]["groups"]
        return groups

    def alerts(self) -> list[dict[str, Any]]:
        # `null` until the first alert is active.
        alerts: list[dict[str, Any]] | None = self._get("/api/v1/alerts")["data"]["alerts"]
        return alerts or []

    def wait_firing(self, name: str, timeout: float = WAIT_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for alert in self.alerts():
                if alert["name"] == name and alert["state"] == "firing":
                    return alert
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not firing within {timeout}s: {self.alerts()}")
            time.sleep(POLL)
