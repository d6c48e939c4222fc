"""The logger under test: `python -m logger` as a subprocess on loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import aiohttp

from bench import ROOT
from bench.measure import process_cpu_seconds

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class LoggerProcess:
    """`python -m logger` on loopback ports; always terminated by `stop`.

    `source` is the tree whose `logger` package runs (default: this one), so
    that two commits can be measured side by side in one invocation;
    `extra_env` adds settings (WF_REDIS_URL, say; history is off unless it
    turns it on); `command` replaces `python -m logger` (`wf serve --workers N`,
    say: then `cpu_seconds` adds up the workers too)."""

    name = "logger"

    def __init__(
        self,
        source: Path = ROOT,
        extra_env: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> None:
        self.source = source
        self.forward_port = free_port()
        self.http_port = free_port()
        # Closed in stop(); kept for the error message if the logger fails.
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if not k.startswith("WF_")}
        env.update(
            WF_FORWARD_HOST=HOST,
            WF_FORWARD_PORT=str(self.forward_port),
            WF_LOGGER_HOST=HOST,
            WF_LOGGER_PORT=str(self.http_port),
            # No drains from a state file left on this machine: nothing but the rings.
            WF_DRAINS_STATE_FILE="none",
            # The tree measured comes first on the path, before any installed copy.
            PYTHONPATH=str(source),
            WF_HISTORY="off",
        )
        env.update(extra_env or {})
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "logger"],
            cwd=source,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def cpu_seconds(self) -> float:
        """This process's CPU and its children's (the workers of a supervisor)."""
        pid = self.process.pid
        total = process_cpu_seconds(pid)
        with contextlib.suppress(OSError):
            for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
                with contextlib.suppress(OSError):
                    total += process_cpu_seconds(int(child))
        return total

    async def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"logger exited early:\n{self.output()}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{self.base_url}/readyz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"logger not ready after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return process_output(self._log)

    def stop(self) -> None:
        stop_process(self.process, self._log)


def process_output(log: IO[bytes]) -> str:
    """The end of what a child process wrote to `log`, for an error message."""
    log.seek(0)
    return log.read()[-4000:].decode(errors="replace")


def stop_process(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    """Terminate a child (killed if it does not go in 10 s) and close its log."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    log.close()
