"""A real Redis for the tests: `redis-server` on 127.0.0.1 and a free port,
its files in a temporary directory, nothing persisted, stopped at the end.

Started with a configuration on the command line (no file), so that every
setting the tests rely on is visible here: no RDB snapshots, no AOF, no
protected-mode surprises on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from tests.support.services import free_port, require_binary, stop_process

START_TIMEOUT = 20.0


class Redis:
    def __init__(self) -> None:
        self.binary = require_binary("redis-server")
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="wf-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self._log = log = (self.directory / "redis.log").open("wb")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers_ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "redis-server did not start: " + (self.directory / "redis.log").read_text()
                )
            time.sleep(0.05)

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        stop_process(self.process)
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)
