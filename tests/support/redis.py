"""A real Redis for the tests: `redis-server` on 127.0.0.1 and a free port,
its files in a temporary directory, nothing persisted, stopped at the end.

Started with a configuration on the command line (no file), so that every
setting the tests rely on is visible here: no RDB snapshots, no AOF, no
protected-mode surprises on loopback.

`pause()`/`resume()` (SIGSTOP/SIGCONT) make it unresponsive without closing
connections; `stop()` then `start()` restart it empty on the same port;
`remove()` stops it and deletes its directory."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from tests.support.services import free_port, require_binary, stop_process

START_TIMEOUT = 20.0


class RedisServer:
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
        self._log = (self.directory / "redis.log").open("ab")
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
                "--protected-mode",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start: " + self.log_text())
            time.sleep(0.05)

    def command(self, *words: str) -> bytes:
        """One inline command, the raw reply (for tests that inspect Redis itself)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            connection.sendall(" ".join(words).encode() + b"\r\n")
            return connection.recv(1 << 20)

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server cannot exit
        stop_process(self.process)
        if self._log is not None:
            self._log.close()
            self._log = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_text(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _answers(self) -> bool:
        try:
            return self.command("PING").startswith(b"+PONG")
        except OSError:
            return False
