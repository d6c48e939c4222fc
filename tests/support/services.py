"""Finding the real servers and tools the tests run.

On a developer machine a missing binary skips the test that needs it; with
REQUIRE_REAL_SERVICES=1 (CI) the same absence fails the test, so a green CI
run always means the real component was exercised.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def services_required() -> bool:
    return os.environ.get("REQUIRE_REAL_SERVICES", "") not in ("", "0")


def require_binary(name: str, *extra_dirs: str) -> str:
    """The path of a system binary; skip (or fail in CI) when it is missing."""
    search = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", *extra_dirs])
    found = shutil.which(name, path=search)
    if found:
        return found
    message = f"{name} is not installed (see scripts/system-packages.txt)"
    if services_required():
        pytest.fail(message)
    pytest.skip(message)


# Ports handed out in this run: two calls made before either port is bound
# (a logger's forward and HTTP ports) must never get the same one.
_handed_out: set[int] = set()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, and that
    no earlier call in this test run returned."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a server process, killing it when it is still there after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
