"""Forward-protocol receivers to measure side by side: the logger, and the real
peers users run (Fluent Bit 5.1.1 `-i forward -o null`, Fluentd 1.18
`in_forward` -> `out_null`), each a subprocess on loopback.

The peers are found in `../shared/peers/` beside the repository (where CI and
every developer machine have them), or under `$WF_PEERS_DIR`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO, Protocol

from bench import ROOT
from bench.logger_process import HOST, LoggerProcess, free_port, process_output, stop_process
from bench.measure import process_cpu_seconds


class Receiver(Protocol):
    """What the benchmark needs of a server: where to send, and its CPU."""

    name: str
    forward_port: int

    def cpu_seconds(self) -> float: ...

    async def wait_ready(self, timeout: float = 20.0) -> None: ...

    def output(self) -> str: ...

    def stop(self) -> None: ...


def peers_dir() -> Path:
    configured = os.environ.get("WF_PEERS_DIR")
    return Path(configured) if configured else ROOT.parent / "shared" / "peers"


def fluent_bit_binary() -> Path:
    return peers_dir() / "fluent-bit-5.1.1" / "fluent-bit"


def fluentd_binary() -> Path:
    return peers_dir() / "fluentd-1.18.0" / "fluentd"


class NamedLogger(LoggerProcess):
    """The logger of one source tree, named for the report."""

    def __init__(
        self, name: str, source: Path = ROOT, extra_env: dict[str, str] | None = None
    ) -> None:
        super().__init__(source, extra_env)
        self.name = name


class PeerProcess:
    """A peer receiver: started on a free port, ready once it accepts connections."""

    name = "peer"

    def __init__(self, command: list[str], port: int) -> None:
        self.forward_port = port
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    async def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.output()}")
            try:
                _, writer = await asyncio.open_connection(HOST, self.forward_port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            return
        raise RuntimeError(f"{self.name} not listening after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return process_output(self._log)

    def stop(self) -> None:
        stop_process(self.process, self._log)


class FluentBitReceiver(PeerProcess):
    name = "fluent-bit 5.1.1"

    def __init__(self) -> None:
        port = free_port()
        inputs = ["-i", "forward", "-p", f"listen={HOST}", "-p", f"port={port}"]
        super().__init__([str(fluent_bit_binary()), "-q", *inputs, "-o", "null", "-m", "*"], port)


class FluentdReceiver(PeerProcess):
    name = "fluentd 1.18"

    def __init__(self) -> None:
        self._config = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w", suffix=".conf", prefix="bench-fluentd-"
        )
        port = free_port()
        self._config.write(
            f"<source>\n  @type forward\n  bind {HOST}\n  port {port}\n</source>\n"
            "<match **>\n  @type null\n</match>\n"
        )
        self._config.flush()
        super().__init__(
            [str(fluentd_binary()), "-c", self._config.name, "--no-supervisor", "-q"], port
        )

    def stop(self) -> None:
        super().stop()
        self._config.close()
