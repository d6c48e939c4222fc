"""The controller flow end to end, as a user runs it: `wf serve` (logger and
controller in one process) and `wf` commands as real processes.

register -> apps create -> lines through the forward port -> `wf logs`
and `wf logs -f` through the controller -> a drain receiving lines ->
collaborators -> destroy -> logs and drains gone -> logout."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.wf_serve import WF, Server, wf_serve

PASSWORD = "end-to-end password"


class TcpSink:
    """A TCP listener that keeps every byte it is sent (a syslog drain's far end)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.received = bytearray()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            connection.settimeout(0.2)
            with connection:
                while not self._stop.is_set():
                    try:
                        data = connection.recv(65536)
                    except TimeoutError:
                        continue
                    if not data:
                        break
                    self.received += data

    def wait_for(self, text: bytes, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.received:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with wf_serve(tmp_path) as running:
        yield running


@pytest.fixture
def sink() -> Iterator[TcpSink]:
    listener = TcpSink()
    yield listener
    listener.close()


class User:
    """Runs `wf` as one user: own config directory, own working directory."""

    def __init__(self, server: Server, home: Path) -> None:
        home.mkdir()
        self.home = home
        self.env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(home / "config"),
            "WF_CONTROLLER_URL": server.controller_url,
        }
        self.env.pop("WF_TOKEN", None)

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*WF, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=30,
            env=self.env,
            cwd=self.home,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result.stdout


def wait_for_followers(server: Server, count: int, timeout: float = 20.0) -> None:
    """Until the logger has `count` live followers (its `logger_followers` gauge)."""
    deadline = time.monotonic() + timeout
    while True:
        text = httpx.get(f"{server.logger_url}/metrics", timeout=5).text
        gauge = next(line for line in text.splitlines() if line.startswith("logger_followers "))
        if int(float(gauge.split()[1])) == count:
            return
        assert time.monotonic() < deadline, f"no {count} followers after {timeout} s"
        time.sleep(0.05)


def messages(output: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in output.splitlines()]


def test_register_create_logs_follow_drain_destroy(
    server: Server, sink: TcpSink, tmp_path: Path
) -> None:
    admin = User(server, tmp_path / "admin")
    out = admin.ok(
        "register", "-u", "admin", "-e", "admin@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert out.strip() == f"Registered admin; logged in to {server.controller_url}"
    config = json.loads((admin.home / "config" / "wf" / "config.json").read_text())
    assert config["controller"] == server.controller_url
    assert config["token"].startswith("wf_")
    assert oct((admin.home / "config" / "wf" / "config.json").stat().st_mode & 0o777) == "0o600"
    assert admin.ok("whoami").strip() == f"You are admin (admin) at {server.controller_url}"

    assert admin.ok("apps", "create", "shop", "--here").strip() == "Created shop"
    assert json.loads(admin.ok("apps", "list", "--json"))[0]["id"] == "shop"
    assert "owner:    admin" in admin.ok("apps", "info")  # -a from the directory's .wf-app

    sent = admin.run("emit", "-a", "shop", "-p", "web", "--forward-url", server.forward_url, "hi")
    assert sent.returncode == 0, sent.stderr
    assert messages(admin.ok("logs", "-n", "10")) == [
        "shop[controller]: app created by admin",
        "shop[web]: hi",
    ]

    drain_out = admin.ok("drains", "add", f"syslog://127.0.0.1:{sink.port}", "-a", "shop")
    assert drain_out.startswith("Added drain ")
    drains = json.loads(admin.ok("drains", "list", "-a", "shop", "--json"))
    assert [drain["url"] for drain in drains] == [f"syslog://127.0.0.1:{sink.port}"]

    follower = subprocess.Popen(
        [*WF, "logs", "-a", "shop", "-n", "1", "-f", "--timeout", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=admin.env,
    )
    wait_for_followers(server, 1)  # the follow is open: history sent, waiting for more
    live = admin.run(
        "emit", "-a", "shop", "-p", "worker", "--forward-url", server.forward_url, "live"
    )
    assert live.returncode == 0, live.stderr
    out, err = follower.communicate(timeout=20)
    assert follower.returncode == 0, err
    assert messages(out)[-1] == "shop[worker]: live"
    assert messages(out)[0].startswith("shop[controller]: admin added a drain to syslog://")
    assert sink.wait_for(b"live"), bytes(sink.received)
    drain_id = drains[0]["id"]
    deadline = time.monotonic() + 10
    while json.loads(admin.ok("drains", "info", drain_id, "--json"))["delivered_lines"] < 1:
        assert time.monotonic() < deadline, "wf drains info never counted a delivered line"
        time.sleep(0.1)
    shown = admin.ok("drains", "info", drain_id)
    assert shown.startswith(f"=== shop drain {drain_id}\nurl:        syslog://127.0.0.1:")
    assert "delivered:  " in shown
    assert "state:      connected" in shown

    bob = User(server, tmp_path / "bob")
    bob.ok("register", "-u", "bob", "-e", "bob@example.com", "--password-stdin", stdin=PASSWORD)
    denied = bob.run("logs", "-a", "shop")
    assert denied.returncode == 1
    assert denied.stderr.strip() == "Error: app shop not found (404)"
    admin.ok("perms", "add", "bob", "-a", "shop")
    assert json.loads(admin.ok("perms", "list", "-a", "shop", "--json")) == ["bob"]
    assert "shop[worker]: live" in bob.ok("logs", "-a", "shop")
    refused = bob.run("apps", "destroy", "-a", "shop", "--confirm", "shop")
    assert refused.returncode == 1
    assert "only the owner of shop or an admin may do this (403)" in refused.stderr

    unconfirmed = admin.run("apps", "destroy", "-a", "shop")
    assert unconfirmed.returncode == 1
    assert "needs --confirm shop" in unconfirmed.stderr
    assert admin.ok("apps", "destroy", "-a", "shop", "--confirm", "shop").strip() == (
        "Destroyed shop"
    )
    gone = admin.run("logs", "-a", "shop")
    assert (gone.returncode, gone.stderr.strip()) == (1, "Error: app shop not found (404)")
    assert httpx.get(f"{server.logger_url}/logs/shop", timeout=5).status_code == 204
    assert httpx.get(f"{server.logger_url}/drains/shop", timeout=5).json()["drains"] == []

    assert admin.ok("logout").strip() == "Logged out"
    after = admin.run("whoami")
    assert after.returncode == 1
    assert "not logged in" in after.stderr


def test_clear_errors_without_a_controller(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home),
        "WF_CONTROLLER_URL": "http://127.0.0.1:9",
        "WF_TOKEN": "wf_x",
    }
    result = subprocess.run(
        [*WF, "apps", "list"], capture_output=True, text=True, timeout=30, env=env, cwd=home
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot reach the controller at http://127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1
    no_app = subprocess.run(
        [*WF, "logs"], capture_output=True, text=True, timeout=30, env=env, cwd=home
    )
    assert no_app.returncode == 1
    assert "no app given: use -a APP" in no_app.stderr
