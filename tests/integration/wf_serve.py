"""`wf serve` as a real process on free loopback ports, for the CLI tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.services import free_port

WF = [sys.executable, "-m", "controller.cli.main"]
START_TIMEOUT = 20.0


class Server:
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        http_port: int,
        forward_port: int,
        controller_port: int,
        log_path: Path,
    ) -> None:
        self.process = process
        self.logger_url = f"http://127.0.0.1:{http_port}"
        self.forward_url = f"tcp://127.0.0.1:{forward_port}"
        self.controller_url = f"http://127.0.0.1:{controller_port}"
        self.log_path = log_path


@contextmanager
def wf_serve(
    directory: Path,
    *extra: str,
    ports: tuple[int, int, int] | None = None,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Logger and controller in one `wf serve`, state under `directory`.

    `ports` (HTTP, forward, controller) lets a test start a second server
    where a stopped one was; `environment` adds variables for this one."""
    http_port, forward_port, controller_port = ports or (free_port(), free_port(), free_port())
    log_path = directory / "serve.log"
    env = {
        **os.environ,
        **(environment or {}),
        "WF_DRAINS_STATE_FILE": "none",
        "WF_HISTORY_DIR": str(directory / "history"),
        # The smallest allowed password hashing cost keeps the tests fast.
        "WF_PASSWORD_MEMORY_KIB": "8192",
        "WF_PASSWORD_TIME_COST": "1",
        "WF_DRAIN_BATCH_INTERVAL": "0.05",
    }
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [
                *WF,
                "serve",
                "--host",
                "127.0.0.1",
                "--http-port",
                str(http_port),
                "--forward-host",
                "127.0.0.1",
                "--forward-port",
                str(forward_port),
                "--controller-host",
                "127.0.0.1",
                "--controller-port",
                str(controller_port),
                "--database-url",
                f"sqlite+aiosqlite:///{directory / 'controller.db'}",
                *extra,
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            _wait_ready(process, log_path, http_port, controller_port)
            yield Server(process, http_port, forward_port, controller_port, log_path)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(5)


def _wait_ready(
    process: subprocess.Popen[bytes], log_path: Path, http_port: int, controller_port: int
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    urls = [
        f"http://127.0.0.1:{http_port}/readyz",
        f"http://127.0.0.1:{controller_port}/healthz",
    ]
    while urls:
        try:
            if httpx.get(urls[0], timeout=1).status_code == 200:
                urls.pop(0)
                continue
        except httpx.TransportError:
            pass
        assert process.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "wf serve did not become ready"
        time.sleep(0.1)
