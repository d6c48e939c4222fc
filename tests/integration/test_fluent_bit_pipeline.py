"""The generated node pipeline, run for real: Fluent Bit 5.1.1 tails a
kubelet-like folder of CRI and Docker log files, adds pod metadata through its
kubernetes filter (from preloaded Pod objects, the API server address
refusing), and ships over TLS with a shared key, a user and acks into a real
`wf serve`. Rotation, truncation and a 10 s logger outage lose nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import trustme
import yaml

from collectors.fluent_bit import FluentBitSettings, LoggerAddress, render_config
from collectors.fluent_bit.config import MERGED_JSON_KEY
from tests.integration.kubelet_logs import Container
from tests.integration.wf_serve import Server, wf_serve
from tests.support.peers import require_fluent_bit
from tests.support.services import free_port

SHARED_KEY = "pipeline-shared-key-0123"
USER, PASSWORD = "node-shipper", "shipper-password-4567"
# Every wait below is bounded by this; most end in well under a second.
DEADLINE = 20.0
OUTAGE_SECONDS = 10.0

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = DEADLINE) -> T:
    """Poll `probe` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.1)


@dataclass
class Shipped:
    """One line as the logger's JSON API returns it."""

    time: str
    proc: str
    instance: str
    stream: str
    message: str


def logger_lines(server_url: str, app: str) -> list[Shipped]:
    response = httpx.get(
        f"{server_url}/logs/{app}", params={"log_lines": "-1", "format": "json"}, timeout=5
    )
    if response.status_code == 204:
        return []
    response.raise_for_status()
    return [
        Shipped(item["time"], item["proc"], item["instance"], item["stream"], item["message"])
        for item in map(json.loads, response.text.splitlines())
    ]


class Pipeline:
    """The folders, the certificates and the processes of one run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.containers = root / "containers"
        self.meta = root / "meta"
        self.storage = root / "storage"
        self.tap = root / "tap"
        for folder in (self.containers, self.meta, self.storage, self.tap):
            folder.mkdir()
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file, self.cert_file, self.key_file = (
            root / "ca.pem",
            root / "logger.pem",
            root / "logger.key",
        )
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.cert_chain_pems[0].write_to_path(str(self.cert_file))
        cert.private_key_pem.write_to_path(str(self.key_file))
        self.ports = (free_port(), free_port(), free_port())
        self.metrics_port = free_port()
        self.config_path = root / "fluent-bit.yaml"
        self.fluent_bit: subprocess.Popen[bytes] | None = None

    def settings(self) -> FluentBitSettings:
        return FluentBitSettings(
            loggers=(LoggerAddress("127.0.0.1", self.ports[1]),),
            tls=True,
            tls_verify=True,
            tls_ca_file=str(self.ca_file),
            username=USER,
            log_path=str(self.containers / "*.log"),
            db_path=str(self.root / "tail.db"),
            storage_path=str(self.storage),
            metrics_listen="127.0.0.1",
            metrics_port=self.metrics_port,
            config_path=str(self.config_path),
            # Nothing listens there: metadata comes from the preloaded Pod objects only.
            kube_url=f"http://127.0.0.1:{free_port()}",
            kube_meta_preload_cache_dir=str(self.meta),
            flush_seconds=0.2,
            refresh_interval_seconds=1,
            scheduler_base_seconds=1,
            scheduler_cap_seconds=2,
        )

    def write_config(self) -> None:
        config: dict[str, Any] = yaml.safe_load(render_config(self.settings()))
        # A tap beside the forward output: the records as the filter left them,
        # to see the merged JSON the logger itself does not keep.
        config["pipeline"]["outputs"].append(
            {"name": "file", "match": "kube.*", "path": str(self.tap), "format": "plain"}
        )
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def start_fluent_bit(self, binary: Path) -> None:
        env = {
            **os.environ,
            "FLUENT_BIT_SHARED_KEY": SHARED_KEY,
            "FLUENT_BIT_PASSWORD": PASSWORD,
        }
        with (self.root / "fluent-bit.log").open("ab") as log:
            self.fluent_bit = subprocess.Popen(
                [str(binary), "-c", str(self.config_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )

    def stop_fluent_bit(self) -> None:
        if self.fluent_bit is not None and self.fluent_bit.poll() is None:
            self.fluent_bit.send_signal(signal.SIGTERM)
            try:
                self.fluent_bit.wait(10)
            except subprocess.TimeoutExpired:
                self.fluent_bit.kill()
                self.fluent_bit.wait(5)

    @property
    def fluent_bit_log(self) -> str:
        return (self.root / "fluent-bit.log").read_text(errors="replace")

    @contextmanager
    def logger(self) -> Iterator[Server]:
        environment = {
            "WF_FORWARD_TLS_CERT": str(self.cert_file),
            "WF_FORWARD_TLS_KEY": str(self.key_file),
            "WF_FORWARD_SHARED_KEY": SHARED_KEY,
            "WF_FORWARD_USERS": f"{USER}:{PASSWORD}",
        }
        with wf_serve(self.root, ports=self.ports, environment=environment) as server:
            yield server

    def metrics(self) -> str:
        """Fluent Bit's own metrics; empty until its first snapshot (404 before)."""
        url = f"http://127.0.0.1:{self.metrics_port}/api/v2/metrics/prometheus"
        response = httpx.get(url, timeout=5)
        if response.status_code == 404:
            return ""
        response.raise_for_status()
        return response.text


class Expected:
    """What each container wrote, as the logger must show it, in order."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, str], list[tuple[str, str]]] = {}

    def add(self, app: str, proc: str, instance: str, stream: str, message: str) -> None:
        self.lines.setdefault((app, proc, instance), []).append((stream, message))

    def count(self) -> int:
        return sum(map(len, self.lines.values()))

    def of_app(self, app: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
        return {(p, i): lines for (a, p, i), lines in self.lines.items() if a == app}


def grouped(lines: list[Shipped]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    by_source: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for line in lines:
        by_source.setdefault((line.proc, line.instance), []).append((line.stream, line.message))
    return by_source


class App:
    """A container of an app, writing lines and recording what the logger must show."""

    def __init__(self, container: Container, app: str, proc: str, expected: Expected) -> None:
        self.container = container
        self.key = (app, proc, container.pod.rsplit("-", 1)[-1])
        self.expected = expected

    def line(self, text: str, stream: str = "stdout") -> None:
        self.container.line(text, stream)
        self.expected.add(*self.key, stream, text)

    def partial_line(self, pieces: list[str], stream: str = "stdout") -> None:
        self.container.partial_line(pieces, stream)
        self.expected.add(*self.key, stream, "".join(pieces))


def wait_for_all(
    server: Server, expected: Expected, apps: tuple[str, ...], *, by_time: bool = False
) -> None:
    """Until the apps show as many lines as were written; then exactly those, in
    order of arrival, or (`by_time`) once each and in order of their timestamps."""
    wanted = sum(len(lines) for app in apps for lines in expected.of_app(app).values())

    def arrived() -> dict[str, list[Shipped]] | None:
        found = {app: logger_lines(server.logger_url, app) for app in apps}
        return found if sum(map(len, found.values())) >= wanted else None

    found = wait_for(f"{wanted} lines in the logger", arrived)
    for app in apps:
        lines = found[app]
        if by_time:
            # RFC 3339 UTC with a fixed width: text order is time order.
            lines = sorted(lines, key=lambda line: line.time)
        assert grouped(lines) == expected.of_app(app), app


def forward_records(metrics: str) -> float:
    """Records the forward output delivered (acknowledged) so far."""
    for line in metrics.splitlines():
        if line.startswith('fluentbit_output_proc_records_total{name="forward.0"}'):
            return float(line.rsplit(" ", 1)[1])
    return -1.0


def retries(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith('fluentbit_output_retries_total{name="forward.0"}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no forward.0 retries counter in Fluent Bit's metrics")


def buffered_chunks(storage: Path) -> list[Path]:
    return list(storage.rglob("*.flb"))


@pytest.fixture
def pipeline(tmp_path: Path) -> Iterator[Pipeline]:
    run = Pipeline(tmp_path)
    yield run
    run.stop_fluent_bit()


def test_pipeline_ships_every_line_once_through_rotation_and_an_outage(
    pipeline: Pipeline,
) -> None:
    binary = require_fluent_bit()
    folder = pipeline.containers
    expected = Expected()
    web = App(
        Container(
            folder,
            "shop",
            "shop-web-5f7c9d8b-x2x9z",
            "shop-web",
            "cri",
            {"app": "shop", "type": "web"},
        ),
        "shop",
        "web",
        expected,
    )
    worker = App(
        Container(
            folder,
            "shop",
            "shop-worker-6b8d4f-q7k2m",
            "shop-worker",
            "docker",
            {"app": "shop", "type": "worker"},
        ),
        "shop",
        "worker",
        expected,
    )
    # No app/type labels: the namespace names the app, the container the process.
    blog = App(
        Container(folder, "blog", "blog-7f9c6d-abcde", "blog", "cri"), "blog", "blog", expected
    )
    # A platform namespace whose name is also a valid app name, so that only
    # Fluent Bit's exclusion (not the logger's app-name rule) keeps it out.
    platform = Container(
        folder, "drycc", "coredns-5d78c9-zzzzz", "coredns", "cri", {"app": "coredns"}
    )
    for container in (web.container, worker.container, blog.container, platform):
        container.write_meta(pipeline.meta)

    # Written before Fluent Bit starts: read from the head of the files.
    web.line("GET / 200")
    web.line("cache miss on /cart", "stderr")
    web.partial_line(["a long line, first piece; ", "second piece; ", "last piece"])
    worker.line("worker booted")
    worker.line(json.dumps({"level": "info", "msg": "order placed", "order": 42}))
    worker.partial_line(["docker split ", "this line"], "stderr")
    blog.line("blog ready")
    platform.line("coredns is a platform pod: never shipped")

    with pipeline.logger() as first:
        pipeline.write_config()
        pipeline.start_fluent_bit(binary)
        for number in range(5):
            web.line(f"GET /items/{number} 200")
            worker.line(f"job {number} done", "stderr" if number % 2 else "stdout")
        blog.line("blog post published")
        platform.line("more platform lines")
        wait_for_all(first, expected, ("shop", "blog"))

        # Rotation as the kubelet does it: rename, a late write into the old
        # file, a new file under the old name.
        rotated = web.container.path.with_name(web.container.path.name + ".20261201-091500")
        web.container.path.rename(rotated)
        with rotated.open("a") as late:
            late.write(f"{web.container._stamp()} stdout F written just before the reopen\n")
        expected.add(*web.key, "stdout", "written just before the reopen")
        for number in range(3):
            web.line(f"after rotation {number}")
        # copytruncate: the file is copied away and cut to nothing, then grows again.
        shutil.copy(worker.container.path, str(worker.container.path) + ".1")
        os.truncate(worker.container.path, 0)
        worker.line("after truncate 1")
        worker.line("after truncate 2", "stderr")
        wait_for_all(first, expected, ("shop", "blog"))
        assert logger_lines(first.logger_url, "coredns") == []
        assert logger_lines(first.logger_url, "drycc") == []

        # Every chunk acknowledged, so none is re-sent to the next logger.
        delivered = expected.count()
        wait_for(
            "Fluent Bit's acks for every record",
            lambda: True if forward_records(pipeline.metrics()) == delivered else None,
        )
        first.process.send_signal(signal.SIGTERM)
        first.process.wait(10)

    # The logger is away for 10 s while the apps keep writing.
    before_outage = {key: len(lines) for key, lines in expected.lines.items()}
    outage_end = time.monotonic() + OUTAGE_SECONDS
    number = 0
    saw_chunks_on_disk = False
    while time.monotonic() < outage_end:
        web.line(f"during outage {number}")
        worker.line(f"outage job {number}", "stderr" if number % 2 else "stdout")
        number += 1
        saw_chunks_on_disk = saw_chunks_on_disk or bool(buffered_chunks(pipeline.storage))
        time.sleep(0.25)
    assert saw_chunks_on_disk, "Fluent Bit kept no chunk on disk while the logger was away"

    outage = Expected()
    for key, lines in expected.lines.items():
        for stream, message in lines[before_outage.get(key, 0) :]:
            outage.add(*key, stream, message)
    with pipeline.logger() as second:
        # Fluent Bit retries each buffered chunk on its own schedule, so the
        # outage's chunks arrive in any order; each line once, its time kept.
        wait_for_all(second, outage, ("shop",), by_time=True)
        every = expected.count()
        wait_for(
            "Fluent Bit's acks for the buffered records",
            lambda: True if forward_records(pipeline.metrics()) == every else None,
        )
        assert retries(pipeline.metrics()) > 0
    assert pipeline.fluent_bit is not None
    assert pipeline.fluent_bit.poll() is None, pipeline.fluent_bit_log

    # The tap saw the records as the kubernetes filter left them.
    records = [
        json.loads(line)
        for path in pipeline.tap.iterdir()
        for line in path.read_text().splitlines()
    ]
    merged = [r for r in records if MERGED_JSON_KEY in r]
    assert [r[MERGED_JSON_KEY] for r in merged] == [
        {"level": "info", "msg": "order placed", "order": 42}
    ]
    assert merged[0]["log"].rstrip("\n") == json.dumps(
        {"level": "info", "msg": "order placed", "order": 42}
    )
    kubernetes = merged[0]["kubernetes"]
    assert kubernetes["labels"] == {"app": "shop", "type": "worker"}
    assert "annotations" not in kubernetes
    assert {r["kubernetes"]["namespace_name"] for r in records} == {"shop", "blog"}
