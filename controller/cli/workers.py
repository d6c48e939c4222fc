"""`wf serve --workers N`: N logger processes on one node, one supervisor.

The parent runs no service of its own. It starts N children, each a
`wf serve --no-controller` that opens the forward port with SO_REUSEPORT
(the kernel spreads new connections over them) and its own logs API port
(`WF_LOGGER_PORT` + its index, so that each worker's `/metrics` and
`/readyz` can be scraped); the Kubernetes watcher runs in worker 0 only.
It forwards SIGTERM and SIGINT to them, restarts
one that dies (with backoff, a bounded number of times in a row) and exits
when all have stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from foundation.settings import Integer, Setting, declared, from_environ
from logger.history.settings import HISTORY_ON, QUICKWIT_URL
from logger.store.redis_settings import REDIS_URL

log = logging.getLogger("wf.workers")

# After SIGTERM, how long the children get to finish before SIGKILL.
STOP_GRACE_SECONDS = 30.0

WORKER_COMMAND = (sys.executable, "-m", "controller.cli.main", "serve", "--no-controller")


@dataclass(frozen=True)
class WorkerSettings:
    workers: int = declared(
        Setting(
            "WF_WORKERS",
            Integer(1, 256),
            1,
            "Logger processes on this node sharing the forward port (SO_REUSEPORT);"
            " more than 1 needs WF_REDIS_URL and --no-controller.",
            flag="--workers",
        )
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WorkerSettings:
        return from_environ(cls, environ)


def refusal(workers: int, with_controller: bool, environ: Mapping[str, str]) -> str | None:
    """Why `--workers N` cannot start as asked, or None."""
    if workers <= 1:
        return None
    if with_controller:
        return (
            f"--workers {workers} runs loggers only: add --no-controller and run the"
            " controller as its own `wf serve --no-logger` (WF_LOGGER_URL at any worker)"
        )
    # With the memory store each worker would keep rings of its own, and a read
    # would see only the lines its worker took in.
    if REDIS_URL.read(environ) is None:
        return (
            f"--workers {workers} needs the shared Redis store: set WF_REDIS_URL"
            " (the memory store keeps each worker's logs apart)"
        )
    # One process at a time may write the embedded index's directory.
    if HISTORY_ON.read(environ) and QUICKWIT_URL.read(environ) is None:
        return (
            f"--workers {workers} cannot share the embedded history index:"
            " set WF_QUICKWIT_URL or WF_HISTORY=off"
        )
    return None


def worker_environment(environ: Mapping[str, str], index: int) -> dict[str, str]:
    """What worker `index` runs with: the parent's settings, a forward port it
    shares, and a logs API port of its own."""
    api_port = int(environ.get("WF_LOGGER_PORT", "") or 8088)
    environment = {
        **environ,
        "WF_WORKERS": "1",
        "WF_FORWARD_REUSE_PORT": "true",
        "WF_LOGGER_PORT": str(api_port + index if api_port else 0),
    }
    if index > 0:
        # One Kubernetes watcher per node: N would write each pod line N times.
        # (A worker runs no controller, so the scheduler means only the watcher.)
        environment["WF_SCHEDULER"] = "none"
    return environment


@dataclass
class RestartPolicy:
    """Backoff that doubles with each quick death and resets after a healthy run;
    one per worker."""

    first_delay: float = 0.5
    longest_delay: float = 30.0
    # A worker that ran this long before it died starts over from the first delay.
    healthy_run: float = 60.0
    # Quick deaths in a row after which the worker is given up (and all stop).
    max_quick_restarts: int = 5
    quick_deaths: int = 0

    def next_delay(self, ran_seconds: float) -> float | None:
        """Seconds to wait before the restart, or None to give up."""
        if ran_seconds >= self.healthy_run:
            self.quick_deaths = 0
        self.quick_deaths += 1
        if self.quick_deaths > self.max_quick_restarts:
            return None
        return float(min(self.first_delay * 2 ** (self.quick_deaths - 1), self.longest_delay))


class Supervisor:
    def __init__(
        self,
        count: int,
        environ: Mapping[str, str],
        command: Sequence[str],
        restart_policy: Callable[[], RestartPolicy] = RestartPolicy,
        stop_grace: float = STOP_GRACE_SECONDS,
    ) -> None:
        self._count = count
        self._environ = environ
        self._command = list(command)
        self._restart_policy = restart_policy
        self._stop_grace = stop_grace
        self._stopping = asyncio.Event()
        self._children: dict[int, asyncio.subprocess.Process] = {}
        self._gave_up = False

    async def run(self) -> int:
        """Until a signal (exit 0) or a worker that keeps dying (exit 1)."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop, signum)
        await asyncio.gather(*(self._keep(index) for index in range(self._count)))
        log.info("all %d workers stopped", self._count)
        return 1 if self._gave_up else 0

    @property
    def pids(self) -> list[int]:
        """The workers' process ids, by index."""
        return [self._children[index].pid for index in sorted(self._children)]

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Pass `signum` to every worker and restart none."""
        if not self._stopping.is_set():
            log.info("stopping %d workers (%s)", self._count, signal.Signals(signum).name)
        self._stopping.set()
        for process in self._children.values():
            if process.returncode is None:
                process.send_signal(signum)

    async def _keep(self, index: int) -> None:
        """Worker `index`, restarted until the supervisor stops."""
        policy = self._restart_policy()
        while not self._stopping.is_set():
            process = await asyncio.create_subprocess_exec(
                *self._command, env=worker_environment(self._environ, index)
            )
            self._children[index] = process
            started = time.monotonic()
            log.info("worker %d started (pid %d)", index, process.pid)
            code = await self._wait(process)
            if self._stopping.is_set():
                log.info("worker %d (pid %d) stopped with %s", index, process.pid, code)
                return
            ran = time.monotonic() - started
            delay = policy.next_delay(ran)
            if delay is None:
                log.error(
                    "worker %d died %d times in a row (last: exit %s); stopping all workers",
                    index,
                    policy.quick_deaths,
                    code,
                )
                self._gave_up = True
                self.stop()
                return
            log.warning(
                "worker %d (pid %d) exited with %s after %.1f s; restarting in %.1f s",
                index,
                process.pid,
                code,
                ran,
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _wait(self, process: asyncio.subprocess.Process) -> int:
        waiting = asyncio.ensure_future(process.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait([waiting, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not waiting.done():
            # Again, for a child started just as the signal came.
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(waiting), self._stop_grace)
            except TimeoutError:
                log.warning("worker pid %d did not stop in time: killed", process.pid)
                process.kill()
        return await waiting


def run_workers(count: int, environ: Mapping[str, str], log_level: str) -> int:
    """Supervise `count` workers until stopped; the exit status."""
    command = [*WORKER_COMMAND, "--log-level", log_level]
    return asyncio.run(Supervisor(count, environ, command).run())
