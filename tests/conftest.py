"""Test-run policy: in CI (REQUIRE_REAL_SERVICES=1) a skipped test fails the run."""

from __future__ import annotations

import pytest

from tests.support.services import services_required

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if services_required() and _skipped:
        print(f"\nREQUIRE_REAL_SERVICES=1 but {len(_skipped)} test(s) skipped:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
