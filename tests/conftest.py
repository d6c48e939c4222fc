"""Test-run policy: in CI (REQUIRE_REAL_SERVICES=1) a skipped test fails the run."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis import RedisServer
from tests.support.services import services_required

_skipped: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # Every process a test starts keeps its state (history index, controller
    # key, drains) under this run's own directory, never the user's home,
    # where two runs (or two replicas) would share one index lock.
    state = Path(tempfile.mkdtemp(prefix="wf-test-state-"))
    os.environ["XDG_STATE_HOME"] = str(state)
    config.add_cleanup(lambda: shutil.rmtree(state, ignore_errors=True))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if services_required() and _skipped:
        print(f"\nREQUIRE_REAL_SERVICES=1 but {len(_skipped)} test(s) skipped:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One `redis-server` for the run; tests that stop or pause Redis start their own."""
    server = RedisServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A `redis-server` of this test's own, for a test that pauses or stops it."""
    server = RedisServer()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The shared Redis, emptied for this test."""
    assert redis_server.command("FLUSHALL").startswith(b"+OK")
    return redis_server.url
