"""Logger replicas as real processes (`wf serve --no-controller`) on one
Redis, a follower reading one of them, and the real Fluent Bit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.services import free_port, services_required

WF = [sys.executable, "-m", "controller.cli.main"]
START_TIMEOUT = 20.0
REPO = Path(__file__).resolve().parents[2]


class Replica:
    def __init__(
        self, process: subprocess.Popen[bytes], http_port: int, forward_port: int, log: Path
    ) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{http_port}"
        self.forward_port = forward_port
        self.log = log


@contextmanager
def replica(
    directory: Path,
    name: str,
    redis_url: str,
    *extra: str,
    env: dict[str, str] | None = None,
) -> Iterator[Replica]:
    http_port, forward_port = free_port(), free_port()
    log = directory / f"{name}.log"
    env = {
        **os.environ,
        "WF_DRAINS_STATE_FILE": "none",
        "WF_REDIS_URL": redis_url,
        # A state directory (the embedded history index) of its own, as each pod has.
        "XDG_STATE_HOME": str(directory / name / "state"),
        **(env or {}),
    }
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                *WF,
                "serve",
                "--no-controller",
                "--host",
                "127.0.0.1",
                "--http-port",
                str(http_port),
                "--forward-host",
                "127.0.0.1",
                "--forward-port",
                str(forward_port),
                *extra,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_ready(process, log, f"http://127.0.0.1:{http_port}/readyz")
            yield Replica(process, http_port, forward_port, log)
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


def wait_ready(process: subprocess.Popen[bytes], log: Path, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{url} did not become ready: {log.read_text()}"
        time.sleep(0.1)


class Follower:
    """`GET /logs/{app}?follow=true&format=json` read in a thread, row by row."""

    def __init__(self, url: str, app: str, timeout: float) -> None:
        self.rows: list[dict[str, object]] = []
        self.error: BaseException | None = None
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, app, timeout), daemon=True)
        self._thread.start()
        assert self.connected.wait(10), "the follower did not connect"

    def _run(self, url: str, app: str, timeout: float) -> None:
        params = {"follow": "true", "format": "json", "log_lines": "-1", "timeout": str(timeout)}
        try:
            with httpx.stream(
                "GET", f"{url}/logs/{app}", params=params, timeout=timeout + 10
            ) as reply:
                self.connected.set()
                for line in reply.iter_lines():
                    if line:
                        self.rows.append(json.loads(line))
        except BaseException as error:  # reported by join()
            self.error = error
            self.connected.set()

    def join(self, timeout: float) -> list[dict[str, object]]:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the follow did not end"
        if self.error is not None:
            raise self.error
        return self.rows


def fluent_bit_binary() -> str | None:
    """Fluent Bit 5.1.1 beside the repository (`../shared/peers`), else /work/shared/peers."""
    configured = os.environ.get("WF_PEERS_DIR")
    for peers in ([Path(configured)] if configured else []) + [
        REPO.parent / "shared/peers",
        Path("/work/shared/peers"),
    ]:
        candidate = peers / "fluent-bit-5.1.1" / "fluent-bit"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_fluent_bit() -> str:
    import pytest

    found = fluent_bit_binary()
    if found is None:
        message = "Fluent Bit 5.1.1 not found in ../shared/peers (WF_PEERS_DIR)"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    return found


def ring(url: str, app: str) -> list[dict[str, object]]:
    reply = httpx.get(f"{url}/logs/{app}", params={"log_lines": "-1", "format": "json"}, timeout=10)
    if reply.status_code == 204:
        return []
    reply.raise_for_status()
    return [json.loads(line) for line in reply.text.splitlines()]
