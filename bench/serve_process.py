"""`wf serve` (logger and controller in one process) as a subprocess on
loopback ports, for the attack harness and the soak."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import ROOT
from bench.logger_process import HOST, free_port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    http_port: int
    forward_port: int
    controller_port: int
    log_path: Path
    directory: Path
    ca_file: str | None = None

    @property
    def logger_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def controller_url(self) -> str:
        return f"http://{HOST}:{self.controller_port}"

    def pids(self) -> list[int]:
        """The server and its children (the history index runs in one)."""
        return [self.process.pid, *children(self.process.pid)]

    def rss_bytes(self) -> int:
        """RSS of the server and its children together."""
        return sum(rss_of(pid) for pid in self.pids())

    def open_fds(self) -> int:
        """Open descriptors of the server and its children together."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                total += len(os.listdir(f"/proc/{pid}/fd"))
        return total

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            for child in map(int, text.split()):
                found += [child, *children(child)]
    return found


def rss_of(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def stop(server: Server) -> None:
    """Terminate the server (killed if it does not go in 10 s) and wait
    until its children are gone too, before its directory is removed."""
    family = server.pids()
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in family[1:]):
        if time.monotonic() > deadline:
            for pid in family[1:]:
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
            break
        time.sleep(0.1)


def _file_limit(open_files: int | None) -> Callable[[], None] | None:
    if open_files is None:
        return None

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

    return apply


@contextlib.contextmanager
def wf_serve(
    directory: Path,
    env_extra: Mapping[str, str] | None = None,
    open_files: int | None = None,
    ca_file: str | None = None,
) -> Iterator[Server]:
    """`wf serve` with its state (SQLite, history index) in `directory`;
    killed on exit. `open_files` sets `ulimit -n` (soft and hard)."""
    http_port, forward_port, controller_port = free_port(), free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WF_")}
    env.update(
        WF_DRAINS_STATE_FILE="none",
        WF_HISTORY_DIR=str(directory / "history"),
        WF_SECRET_KEY_FILE=str(directory / "state" / "secret.key"),
        WF_PASSWORD_MEMORY_KIB="8192",
        WF_PASSWORD_TIME_COST="1",
        PYTHONPATH=str(ROOT),
    )
    env.update(env_extra or {})
    log_path = directory / "serve.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "controller.cli.main", "serve", "--host", HOST,
             "--http-port", str(http_port), "--forward-host", HOST,
             "--forward-port", str(forward_port), "--controller-host", HOST,
             "--controller-port", str(controller_port),
             "--database-url", f"sqlite+aiosqlite:///{directory / 'state' / 'controller.db'}"],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT,
            stdin=subprocess.DEVNULL, preexec_fn=_file_limit(open_files),
        )  # fmt: skip
    server = Server(process, http_port, forward_port, controller_port, log_path, directory, ca_file)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"{server.logger_url}/readyz", timeout=1).status_code == 200
                if ready and httpx.get(f"{server.controller_url}/readyz", timeout=1).is_success:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()[-3000:])
            time.sleep(0.1)
        yield server
    finally:
        stop(server)
