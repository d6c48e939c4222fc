"""`wf metrics` with no VictoriaMetrics: it says so and shows the app's log
rates from the logger's own counters, against a real `wf serve`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.integration.test_cli import run_wf
from tests.integration.wf_serve import wf_serve


def test_wf_metrics_falls_back_to_log_rates(tmp_path: Path) -> None:
    with wf_serve(tmp_path, environment={"WF_LOGGER_RATES_INTERVAL": "0.2"}) as server:
        url = server.controller_url
        user = {"username": "alice", "password": "correct horse battery", "email": "a@x.io"}
        assert httpx.post(url + "/v2/auth/register", json=user).status_code == 201
        token = httpx.post(url + "/v2/auth/login", json=user).json()["token"]
        env = {"WF_TOKEN": token, "WF_CONTROLLER_URL": url, "HOME": str(tmp_path)}
        created = httpx.post(
            url + "/v2/apps", json={"id": "shop"}, headers={"Authorization": f"token {token}"}
        )
        assert created.status_code == 201
        sent = run_wf(
            "emit", "-a", "shop", "-p", "web", "--forward-url", server.forward_url,
            stdin="".join(f"ERROR {i}\n" for i in range(50)),
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 10
        while True:
            shown = run_wf("metrics", "-a", "shop", "--json", env=env)
            assert shown.returncode == 0, shown.stderr
            rates = json.loads(shown.stdout)["rates"]
            if max(rates["procs"].get("web", [0])) > 0:
                break
            assert time.monotonic() < deadline, shown.stdout
            time.sleep(0.2)
        assert "metrics are not configured (no VictoriaMetrics)" in shown.stderr
        assert max(rates["levels"]["error"]) > 0
        text = run_wf("metrics", "-a", "shop", env=env)
        assert text.returncode == 0, text.stderr
        assert text.stdout.startswith("=== shop log lines per second")
        assert any(line.startswith("web ") for line in text.stdout.splitlines())
