"""The monitoring stack the panel and vmalert tests query: the real logger
(`python -m logger`) with lines, losses and drains, scraped every second by
a real VictoriaMetrics that also holds synthetic cAdvisor, kube-state and
kubelet series for one app.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from logger.forward.client import ForwardClient
from metrics.settings import MetricsSettings
from tests.support.services import free_port, stop_process
from tests.support.victoriametrics import VictoriaMetricsServer

APP = "shop"
POD = "shop-web-5d8f7c9b4-x2x9z"
# A drain buffer this small overflows within one round of `feed` while its
# destination is down, and never while the destination takes every batch.
DRAIN_BUFFER_LINES = 20
SETTINGS = MetricsSettings()


class _Sink(BaseHTTPRequestHandler):
    """An HTTP drain destination that accepts every batch."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def drain_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ingest"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Logger:
    api_port: int
    forward_port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def add_drain(self, app: str, url: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/drains/{app}",
            data=json.dumps({"url": url}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201

    def send(self, app: str, messages: list[tuple[str, str]]) -> None:
        """Lines of `app`'s web pod, as (stream, message), over the forward protocol."""
        now = time.time_ns()
        kubernetes = {
            "namespace_name": app,
            "pod_name": POD,
            "container_name": "web",
            "labels": {"app": app, "type": "web"},
        }
        records = [
            (now + i, {"log": message, "stream": stream, "kubernetes": kubernetes})
            for i, (stream, message) in enumerate(messages)
        ]
        client = ForwardClient("127.0.0.1", self.forward_port)
        try:
            client.send("kube.var.log.containers", records)
            # A record without an app: discarded with reason no_app.
            client.send("kube.unknown", [(now, {"log": "orphan line"})])
        finally:
            client.close()

    def send_garbage(self) -> None:
        """Bytes that are no forward frame: a decoding error on that connection."""
        with socket.create_connection(("127.0.0.1", self.forward_port), timeout=5) as sock:
            sock.sendall(b"\xc1" * 16)
            sock.settimeout(5)
            with suppress(OSError):
                sock.recv(1)  # until the logger closes the connection


@contextmanager
def running_logger(folder: Path) -> Iterator[Logger]:
    api_port, forward_port = free_port(), free_port()
    env = {
        **os.environ,
        "WF_LOGGER_HOST": "127.0.0.1",
        "WF_LOGGER_PORT": str(api_port),
        "WF_FORWARD_HOST": "127.0.0.1",
        "WF_FORWARD_PORT": str(forward_port),
        "WF_DRAINS_STATE_FILE": "none",
        "WF_DRAIN_BUFFER_LINES": str(DRAIN_BUFFER_LINES),
        "WF_DRAIN_BATCH_INTERVAL": "0.1",
        "WF_DRAIN_RETRY_BASE": "0.2",
        "WF_DRAIN_RETRY_MAX": "0.5",
        "WF_DRAIN_CONNECT_TIMEOUT": "0.5",
    }
    log = (folder / "logger.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "logger"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    logger = Logger(api_port, forward_port, process)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError((folder / "logger.log").read_text(errors="replace"))
            try:
                with urllib.request.urlopen(f"{logger.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield logger
    finally:
        stop_process(process)
        log.close()


def container_series(now_ms: int) -> str:
    """Ten minutes of an app's container series, one sample every 15 s, in the
    Prometheus text format with the selectors the catalog uses."""
    s = SETTINGS
    ns, pod, ctr = s.namespace_label, s.pod_label, s.container_label
    # cAdvisor's receive/transmit series are per pod (no container label).
    cadvisor = f'job="{s.cadvisor_job}",{ns}="{APP}",{pod}="{POD}"'
    kube = f'job="{s.kube_state_job}",{ns}="{APP}",{pod}="{POD}"'
    kubelet = f'job="{s.kubelet_job}",{ns}="{APP}",persistentvolumeclaim="data-shop-0"'
    web, eth0 = f'{ctr}="web"', 'interface="eth0"'
    # The Kubernetes watcher's series, as a logger running it exports them.
    watched = f'job="{s.logger_job}",app="{APP}",proc="web"'
    lines: list[str] = []
    for step in range(41):
        at = now_ms - (40 - step) * 15_000
        seconds = step * 15
        samples = [
            # 0.9 of a core, against a limit of 1: above the 80% threshold.
            (f"container_cpu_usage_seconds_total{{{cadvisor},{web}}}", 0.9 * seconds),
            (f"container_memory_working_set_bytes{{{cadvisor},{web}}}", 300e6),
            (f"container_network_receive_bytes_total{{{cadvisor},{eth0}}}", 2e3 * seconds),
            (f"container_network_transmit_bytes_total{{{cadvisor},{eth0}}}", 1e3 * seconds),
            (f'kube_pod_container_resource_limits{{{kube},{web},resource="cpu",unit="core"}}', 1),
            (f'kube_pod_container_resource_limits{{{kube},{web},resource="memory"}}', 1e9),
            (f"kube_pod_container_status_restarts_total{{{kube},{web}}}", int(step > 30)),
            (f'kube_pod_status_phase{{{kube},phase="Running"}}', 1),
            (f'kube_pod_status_phase{{{kube},phase="Failed"}}', 0),
            # 90% full: above the 80% threshold.
            (f"kubelet_volume_stats_used_bytes{{{kubelet}}}", 9e9),
            (f"kubelet_volume_stats_capacity_bytes{{{kubelet}}}", 10e9),
            (f'kubernetes_app_pods{{{watched},phase="Running"}}', 1),
            (f'kubernetes_app_waiting_containers{{{watched},reason="CrashLoopBackOff"}}',
             int(step > 30)),
            (f'kubernetes_app_last_terminated_containers{{{watched},reason="OOMKilled"}}', 1),
            (f"kubernetes_app_oom_kills_total{{{watched}}}", int(step > 30)),
            (f"kubernetes_app_container_restarts_total{{{watched}}}", int(step > 30)),
        ]  # fmt: skip
        lines.extend(f"{name} {value} {at}" for name, value in samples)
    return "\n".join(lines) + "\n"


@dataclass
class Stack:
    vm: VictoriaMetricsServer
    logger: Logger


@contextmanager
def running_stack(folder: Path) -> Iterator[Stack]:
    with drain_sink() as sink_url, running_logger(folder) as logger:
        logger.add_drain(APP, sink_url)
        # Nothing listens there: the drain backs off, overflows and drops.
        logger.add_drain(APP, f"http://127.0.0.1:{free_port()}/ingest")
        vm = VictoriaMetricsServer(
            folder / "vm", {SETTINGS.logger_job: f"127.0.0.1:{logger.api_port}"}
        )
        vm.start()
        try:
            vm.import_prometheus(container_series(int(time.time() * 1000)))
            feed(logger)
            yield Stack(vm, logger)
        finally:
            vm.stop()


def feed(logger: Logger) -> None:
    """Lines, losses and errors in two rounds a few scrapes apart, so every
    counter has grown between two samples (rates above zero)."""
    frame = (
        [("stdout", "GET /healthz 200")] * 6
        + [("stderr", "ERROR payment failed")] * 4
        + [("stdout", "INFO order placed")] * 2
    )
    for _ in range(2):
        for _ in range(3):
            logger.send(APP, frame)
            time.sleep(0.3)
        logger.send_garbage()
        time.sleep(1.5)
