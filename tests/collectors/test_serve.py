"""`wf serve --scheduler kubernetes` runs the watcher; the embedded default does not."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx
import pytest

from tests.collectors.conftest import DEADLINE, ThreadedStandIn, write_kubeconfig
from tests.collectors.pods import PodScript
from tests.integration.wf_serve import wf_serve


def test_wf_serve_with_the_kubernetes_scheduler_writes_lifecycle_lines(
    threaded_standin: ThreadedStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", threaded_standin.url))
    )
    with wf_serve(tmp_path, "--scheduler", "kubernetes") as server:
        # Its times after the watcher's start, or the watcher takes them as told before.
        web = PodScript("shop", "web", "x2x9z", dt.datetime.now(dt.UTC))
        threaded_standin.call(lambda: threaded_standin.api.pods.put(web.scheduled()))
        deadline = time.monotonic() + DEADLINE
        while True:
            reply = httpx.get(f"{server.logger_url}/logs/shop", timeout=5)
            if "shop[kubernetes]: web.x2x9z scheduled on node-1" in reply.text:
                break
            assert time.monotonic() < deadline, (
                server.log_path.read_text(),
                threaded_standin.api.requests,
                reply.status_code,
                reply.text,
            )
            time.sleep(0.1)
        metrics = httpx.get(f"{server.logger_url}/metrics", timeout=5).text
    assert 'kubernetes_app_pods{app="shop",phase="Pending",proc="web"} 1.0' in metrics
    assert "kubernetes_watcher_lines_total 1.0" in metrics


def test_wf_serve_without_a_scheduler_watches_nothing(
    threaded_standin: ThreadedStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig", threaded_standin.url))
    )
    monkeypatch.delenv("WF_SCHEDULER", raising=False)
    with wf_serve(tmp_path) as server:
        metrics = httpx.get(f"{server.logger_url}/metrics", timeout=5).text
    # The watcher registers its series when it is built: none means none was.
    assert "logger_stored_lines_total" in metrics
    assert "kubernetes_watcher" not in metrics
    assert threaded_standin.api.pods.list_requests == 0
    assert threaded_standin.api.pods.watch_requests == 0
