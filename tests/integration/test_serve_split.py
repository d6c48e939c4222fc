"""`wf serve --no-logger` and `wf serve --no-controller`: the two halves in two
processes, as the Helm chart runs them. The controller alone reads logs from
the logger's API and writes its platform lines over the forward protocol."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.integration.wf_serve import WF, wf_serve

PASSWORD = "a long test passphrase\n"


def test_controller_alone_talks_to_a_logger_in_another_process(tmp_path: Path) -> None:
    (tmp_path / "logger-state").mkdir()
    (tmp_path / "controller-state").mkdir()
    with wf_serve(tmp_path / "logger-state", "--no-controller") as logger:
        environment = {"WF_LOGGER_URL": logger.logger_url, "WF_FORWARD_URL": logger.forward_url}
        with wf_serve(
            tmp_path / "controller-state", "--no-logger", environment=environment
        ) as alone:
            # No logger in the controller's process: its logs API port is closed.
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{alone.logger_url}/healthz", timeout=2)
            env = {
                **os.environ,
                "XDG_CONFIG_HOME": str(tmp_path / "config"),
                "WF_CONTROLLER_URL": alone.controller_url,
            }
            env.pop("WF_TOKEN", None)

            def wf(*args: str, stdin: str | None = None) -> str:
                done = subprocess.run(
                    [*WF, *args], input=stdin, capture_output=True, text=True, timeout=30,
                    env=env, cwd=tmp_path,
                )  # fmt: skip
                assert done.returncode == 0, (args, done.stdout, done.stderr)
                return done.stdout

            wf("register", "-u", "alice", "-e", "a@example.com", "--password-stdin", stdin=PASSWORD)
            wf("apps", "create", "shop")
            # The platform line went over forward into the other process's rings.
            stored = httpx.get(f"{logger.logger_url}/logs/shop", timeout=5).text
            assert stored.splitlines()[-1].endswith("shop[controller]: app created by alice")
            assert (
                wf("logs", "-a", "shop")
                .splitlines()[-1]
                .endswith("shop[controller]: app created by alice")
            )


def test_nothing_to_run_is_refused() -> None:
    done = subprocess.run(
        [*WF, "serve", "--no-logger", "--no-controller"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "--no-logger and --no-controller leave nothing to run" in done.stderr
