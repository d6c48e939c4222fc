"""`wf serve --workers 2`: two logger processes on one forward port
(SO_REUSEPORT), supervised by the parent: both take connections, a killed
one is restarted, SIGTERM stops all, and the memory store is refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.integration.wf_serve import WF
from tests.support.services import free_port

DEADLINE = 30.0
# The supervisor refuses more than one worker without the shared store; the
# refusals below need only a well-formed URL (nothing is started).
SHARED_STORE = {"WF_REDIS_URL": "redis://127.0.0.1:6379/0"}


@dataclass
class Workers:
    process: subprocess.Popen[bytes]
    api_ports: tuple[int, int]
    forward_port: int
    log_path: Path

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    def open_connections(self, api_port: int) -> float:
        text = httpx.get(f"http://127.0.0.1:{api_port}/metrics", timeout=2).text
        for line in text.splitlines():
            if line.startswith('logger_open_connections{input="forward"}'):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no logger_open_connections in {text}")


def poll(condition: Callable[[], bool], what: str, log_path: Path) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"{what}\n{log_path.read_text()}"
        time.sleep(0.1)


def two_free_ports() -> int:
    """A port p such that p and p + 1 are free on 127.0.0.1 right now."""
    while True:
        base = free_port()
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
        return base


def ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def serve_environment(directory: Path) -> dict[str, str]:
    return {
        **os.environ,
        "WF_DRAINS_STATE_FILE": "none",
        "WF_HISTORY": "off",
        "XDG_STATE_HOME": str(directory / "state"),
    }


@contextmanager
def two_workers(directory: Path, redis_url: str) -> Iterator[Workers]:
    """Two workers on a real redis-server (`redis_url`), as they run in production."""
    base, forward_port = two_free_ports(), free_port()
    log_path = directory / "serve.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [*WF, "serve", "--workers", "2", "--no-controller", "--host", "127.0.0.1",
             "--http-port", str(base), "--forward-host", "127.0.0.1",
             "--forward-port", str(forward_port)],
            stdout=log_file, stderr=subprocess.STDOUT,
            env={**serve_environment(directory), "WF_REDIS_URL": redis_url},
        )  # fmt: skip
    workers = Workers(process, (base, base + 1), forward_port, log_path)
    try:
        poll(lambda: ready(base) and ready(base + 1), "both workers ready", log_path)
        assert len(workers.children()) == 2
        yield workers
    finally:
        if process.poll() is None:
            for pid in workers.children():
                os.kill(pid, signal.SIGKILL)
            process.kill()
            process.wait(5)


def test_two_workers_share_the_forward_port_and_stop_on_sigterm(
    tmp_path: Path, redis_url: str
) -> None:
    with two_workers(tmp_path, redis_url) as workers, ExitStack() as connections:
        # Distinct processes, each listening on the one forward port.
        children = workers.children()
        assert workers.process.pid not in children
        for _ in range(40):
            client = socket.create_connection(("127.0.0.1", workers.forward_port), timeout=5)
            connections.enter_context(client)
        # The kernel spread the connections: both workers hold some.
        poll(
            lambda: all(workers.open_connections(port) > 0 for port in workers.api_ports),
            "connections on both workers",
            workers.log_path,
        )
        total = sum(workers.open_connections(port) for port in workers.api_ports)
        assert total == 40
        connections.close()

        workers.process.send_signal(signal.SIGTERM)
        assert workers.process.wait(DEADLINE) == 0, workers.log_path.read_text()
        for pid in children:
            assert not Path(f"/proc/{pid}").exists(), f"worker {pid} still runs"
        assert "all 2 workers stopped" in workers.log_path.read_text()


def test_a_killed_worker_is_restarted(tmp_path: Path, redis_url: str) -> None:
    with two_workers(tmp_path, redis_url) as workers:
        first, second = workers.children()
        os.kill(first, signal.SIGKILL)
        poll(
            lambda: len(set(workers.children()) - {first, second}) == 1,
            "a new worker in place of the killed one",
            workers.log_path,
        )
        assert second in workers.children()
        poll(
            lambda: all(ready(port) for port in workers.api_ports), "ready again", workers.log_path
        )
        assert f"(pid {first}) exited with -9" in workers.log_path.read_text()
        assert workers.process.poll() is None


@pytest.mark.parametrize(
    ("extra", "environment", "message"),
    [
        (("--no-controller",), {}, "needs the shared Redis store: set WF_REDIS_URL"),
        ((), SHARED_STORE, "runs loggers only: add --no-controller"),
        (("--no-controller",), {**SHARED_STORE, "WF_HISTORY": "on"}, "embedded history index"),
        (("--no-logger",), SHARED_STORE, "cannot go with --no-logger"),
    ],
)
def test_two_workers_are_refused_without_what_they_share(
    tmp_path: Path, extra: tuple[str, ...], environment: dict[str, str], message: str
) -> None:
    inherited = serve_environment(tmp_path)
    inherited.pop("WF_REDIS_URL", None)
    env = {**inherited, **environment}
    done = subprocess.run(
        [*WF, "serve", "--workers", "2", "--http-port", str(free_port()),
         "--forward-port", str(free_port()), *extra],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
