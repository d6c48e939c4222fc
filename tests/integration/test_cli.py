"""`wf serve`, `wf emit` and `wf logs` as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller.cli.logs import colourize
from controller.cli.main import cli
from tests.integration.wf_serve import WF, Server, wf_serve
from tests.support.services import free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with wf_serve(tmp_path, "--lines-per-app", "50") as running:
        yield running


def run_wf(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WF, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
    )


def test_emit_then_logs_text_json_and_follow(server: Server) -> None:
    sent = run_wf(
        "emit",
        "--app",
        "shop",
        "--proc",
        "web",
        "--forward-url",
        server.forward_url,
        "hello",
        "world",
    )
    assert sent.returncode == 0, sent.stderr
    assert "sent 1 line to shop" in sent.stderr
    piped = run_wf("emit", "-a", "shop", "--forward-url", server.forward_url, stdin="a\nb\nc\n")
    assert piped.returncode == 0, piped.stderr

    text = run_wf("logs", "-a", "shop", "--logger-url", server.logger_url)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "shop[web]: hello world",
        "shop[cli]: a",
        "shop[cli]: b",
        "shop[cli]: c",
    ]
    assert "\x1b[" not in text.stdout  # no colour when stdout is not a terminal

    as_json = run_wf(
        "logs",
        "-a",
        "shop",
        "-n",
        "2",
        "--proc",
        "cli",
        "--json",
        "--logger-url",
        server.logger_url,
    )
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(row["proc"], row["message"]) for row in rows] == [("cli", "b"), ("cli", "c")]

    follower = subprocess.Popen(
        [
            *WF,
            "logs",
            "-a",
            "shop",
            "-n1",
            "-f",
            "--timeout",
            "3",
            "--logger-url",
            server.logger_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    assert (
        run_wf(
            "emit", "-a", "shop", "-p", "worker", "--forward-url", server.forward_url, "live"
        ).returncode
        == 0
    )
    out, _ = follower.communicate(timeout=15)
    assert [line.split(" ", 1)[1] for line in out.splitlines()] == [
        "shop[cli]: c",
        "shop[worker]: live",
    ]
    assert follower.returncode == 0


def test_sigterm_stops_cleanly(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(10) == 0


def test_unreachable_logger_is_a_clear_error() -> None:
    port = free_port()
    result = CliRunner().invoke(
        cli, ["logs", "-a", "shop", "--logger-url", f"http://127.0.0.1:{port}"]
    )
    assert result.exit_code == 1
    assert "cannot reach the logger" in result.output
    emitted = CliRunner().invoke(
        cli, ["emit", "-a", "shop", "--forward-url", f"tcp://127.0.0.1:{port}", "x"]
    )
    assert emitted.exit_code == 1
    assert "cannot send to the logger" in emitted.output


def test_invalid_setting_names_the_variable() -> None:
    result = run_wf("serve", "--lines-per-app", "zero")
    assert result.returncode == 1
    assert "WF_LOGGER_LINES_PER_APP" in result.stderr


def test_colour_by_process_type() -> None:
    line = "2026-11-22T10:00:00.123456+00:00 shop[web.x2x9z]: GET / 200"
    coloured = colourize(line)
    assert coloured != line
    assert "shop[web.x2x9z]:" in coloured
    assert coloured.endswith(" GET / 200")
    assert (
        colourize("2026-11-22T10:00:00.123456+00:00 shop[web.other]: x").split("shop")[0]
        == coloured.split("shop")[0]
    )
