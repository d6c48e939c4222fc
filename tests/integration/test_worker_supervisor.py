"""The supervisor behind `wf serve --workers` over real child processes:
it gives up on a worker that keeps dying, and kills one that ignores SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

import pytest

from controller.cli.workers import RestartPolicy, Supervisor

DEADLINE = 20.0


def quick_policy() -> RestartPolicy:
    return RestartPolicy(first_delay=0.01, longest_delay=0.05, max_quick_restarts=3)


def ignoring(directory: Path) -> list[int]:
    """The pids of the children that have said they ignore SIGTERM."""
    return sorted(int(path.name) for path in directory.iterdir())


async def test_a_worker_that_keeps_dying_stops_all_with_exit_1(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "wf.workers")
    dying = [sys.executable, "-c", "raise SystemExit(3)"]
    supervisor = Supervisor(1, {}, dying, restart_policy=quick_policy)
    assert await asyncio.wait_for(supervisor.run(), DEADLINE) == 1
    messages = [record.getMessage() for record in caplog.records]
    assert sum("exited with 3" in message for message in messages) == 3
    assert "worker 0 died 4 times in a row (last: exit 3); stopping all workers" in messages


async def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.INFO, "wf.workers")
    # Each child says, with a file named by its pid, that it ignores SIGTERM now.
    stubborn = [
        sys.executable,
        "-c",
        "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        " open(os.path.join(sys.argv[1], str(os.getpid())), 'w').close(); time.sleep(60)",
        str(tmp_path),
    ]
    supervisor = Supervisor(2, {}, stubborn, restart_policy=quick_policy, stop_grace=0.5)
    running = asyncio.create_task(supervisor.run())
    deadline = time.monotonic() + DEADLINE
    while len(ignoring(tmp_path)) < 2:
        assert time.monotonic() < deadline, "the workers did not start"
        await asyncio.sleep(0.05)
    assert ignoring(tmp_path) == sorted(supervisor.pids)
    supervisor.stop()
    # Stopped by the supervisor, not given up on: exit 0, and no restart.
    assert await asyncio.wait_for(running, DEADLINE) == 0
    messages = [record.getMessage() for record in caplog.records]
    assert sum("did not stop in time: killed" in message for message in messages) == 2
    assert not any("restarting" in message for message in messages)
