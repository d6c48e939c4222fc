"""A real VictoriaMetrics (and vmalert) on 127.0.0.1 for the dashboard and
rule tests: started in a temporary directory, scraping what it is told,
fed synthetic series through /api/v1/import/prometheus, and stopped.

(The metrics package may grow a shared fixture in tests/integration/; this
one is local to tests/dashboards so the two slices do not edit one file.)
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.services import free_port, require_binary

TIMEOUT = 20.0


def _get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"{url} not healthy in {TIMEOUT}s: {log.read_text(errors='replace')[-3000:]}"
    )


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class VictoriaMetrics:
    """Single-node VictoriaMetrics scraping `scrape_targets` every second."""

    def __init__(self, folder: Path, scrape_targets: dict[str, str]) -> None:
        self.binary = require_binary("victoria-metrics")
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.scrape_targets = scrape_targets
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        jobs = [
            {
                "job_name": job,
                "scrape_interval": "1s",
                "static_configs": [{"targets": [target]}],
            }
            for job, target in self.scrape_targets.items()
        ]
        config = self.folder / "scrape.json"  # JSON is YAML
        config.write_text(json.dumps({"scrape_configs": jobs}), encoding="utf-8")
        log = self.folder / "victoria-metrics.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"-storageDataPath={self.folder / 'data'}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    f"-promscrape.config={config}",
                    # New samples are searchable at once, not 30 s later.
                    "-search.latencyOffset=0s",
                    # No result cache: an answer never predates an import or scrape.
                    "-search.disableCache",
                    "-retentionPeriod=1d",
                    "-loggerLevel=ERROR",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_healthy(f"{self.url}/health", self.process, log)

    def stop(self) -> None:
        _stop(self.process)

    def import_prometheus(self, text: str) -> None:
        """Series in the Prometheus text format (timestamps in ms optional)."""
        request = urllib.request.Request(
            f"{self.url}/api/v1/import/prometheus", data=text.encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=5.0) as response:
            assert response.status == 204, response.status

    def query(self, expr: str) -> dict[str, Any]:
        """The /api/v1/query answer at now (status, data or error)."""
        params = urllib.parse.urlencode({"query": expr})
        try:
            answer: dict[str, Any] = _get_json(f"{self.url}/api/v1/query?{params}")
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read())
        return answer

    def query_range(self, expr: str, seconds: int = 120, step: str = "5s") -> dict[str, Any]:
        now = time.time()
        params = urllib.parse.urlencode(
            {"query": expr, "start": now - seconds, "end": now, "step": step}
        )
        try:
            answer: dict[str, Any] = _get_json(f"{self.url}/api/v1/query_range?{params}")
        except urllib.error.HTTPError as error:
            answer = json.loads(error.read())
        return answer

    def wait_for(self, expr: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        """Poll until `expr` returns a non-empty instant vector."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.query(expr)
            result: list[dict[str, Any]] = answer.get("data", {}).get("result", [])
            if answer.get("status") == "success" and result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"no data for {expr} within {timeout}s: {answer}")
            time.sleep(0.25)


class VmAlert:
    """vmalert evaluating rule files against a VictoriaMetrics, writing
    recording rules and alert state back into it."""

    def __init__(self, folder: Path, rule_files: list[Path], vm: VictoriaMetrics) -> None:
        self.binary = require_binary("vmalert")
        self.folder = folder
        self.rule_files = rule_files
        self.vm = vm
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def dry_run(self) -> subprocess.CompletedProcess[str]:
        """Parse and validate the rule files (expressions and templates)."""
        return subprocess.run(
            [self.binary, "-dryRun", *[f"-rule={path}" for path in self.rule_files]],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / "vmalert.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    *[f"-rule={path}" for path in self.rule_files],
                    f"-datasource.url={self.vm.url}",
                    f"-remoteWrite.url={self.vm.url}",
                    # No Alertmanager here: notifications to a closed port fail
                    # and are logged; the alert state is read from the API.
                    f"-notifier.url=http://127.0.0.1:{free_port()}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    "-remoteWrite.flushInterval=500ms",
                    "-loggerLevel=ERROR",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_healthy(f"{self.url}/health", self.process, log)

    def stop(self) -> None:
        _stop(self.process)

    def groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = _get_json(f"{self.url}/api/v1/rules")["data"]["groups"]
        return groups

    def alerts(self) -> list[dict[str, Any]]:
        # `null` until the first alert is active.
        alerts: list[dict[str, Any]] | None = _get_json(f"{self.url}/api/v1/alerts")["data"][
            "alerts"
        ]
        return alerts or []

    def wait_firing(self, name: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for alert in self.alerts():
                if alert["name"] == name and alert["state"] == "firing":
                    return alert
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not firing within {timeout}s: {self.alerts()}")
            time.sleep(0.25)
