"""`wf logs --since/--until/--grep/--json` against a real `wf serve`, with
the embedded history on (its default) and off."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_cli import run_wf
from tests.integration.wf_serve import Server, wf_serve


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with wf_serve(
        tmp_path, "--lines-per-app", "50", environment={"WF_HISTORY_COMMIT_INTERVAL": "0.1"}
    ) as running:
        yield running


def logs(server: Server, *args: str) -> list[str]:
    done = run_wf("logs", "-a", "shop", "--logger-url", server.logger_url, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_since_grep_and_json_read_past_the_ring(server: Server) -> None:
    body = "".join(f"GET /item/{i} {'500' if i % 10 == 0 else '200'}\n" for i in range(300))
    sent = run_wf(
        "emit", "-a", "shop", "-p", "web", "--forward-url", server.forward_url, stdin=body
    )
    assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + 20
    while len(lines := logs(server, "--since", "1h", "-n", "1000")) < 300:
        assert time.monotonic() < deadline, f"only {len(lines)} lines searchable"
        time.sleep(0.1)
    assert [line.rsplit(" ", 2)[1] for line in lines] == [f"/item/{i}" for i in range(300)]
    assert len(logs(server, "-n", "1000")) == 50  # the ring alone holds 50
    errors = logs(server, "--since", "2h", "--grep", "500", "-n", "1000")
    assert [line.rsplit(" ", 2)[1] for line in errors] == [f"/item/{i}" for i in range(0, 300, 10)]
    rows = [json.loads(row) for row in logs(server, "--since", "1h", "--grep", "500", "--json")]
    assert len(rows) == 30
    assert {(row["app"], row["proc"]) for row in rows} == {("shop", "web")}
    assert logs(server, "--since", "2h", "--until", "1h") == []
    bad = run_wf("logs", "-a", "shop", "--logger-url", server.logger_url, "--grep", "(500")
    assert bad.returncode != 0
    assert "query" in bad.stderr
    age = run_wf("logs", "-a", "shop", "--logger-url", server.logger_url, "--since", "soon")
    assert age.returncode != 0
    assert "neither RFC 3339 nor an age" in age.stderr


def test_history_off_is_a_clear_message(tmp_path: Path) -> None:
    with wf_serve(tmp_path, environment={"WF_HISTORY": "off"}) as server:
        done = run_wf("logs", "-a", "shop", "--logger-url", server.logger_url, "--grep", "x")
        assert done.returncode != 0
        assert "history is off on this logger" in done.stderr
