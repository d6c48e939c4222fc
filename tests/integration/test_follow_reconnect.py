"""`wf logs -f` through the controller survives a network blip: it reconnects
by itself and resumes after the last line it printed, so the user sees every
line once, in order, including those sent while the connection was down.

Between the `wf` process and a real `wf serve` sits `CuttableRelay`, a plain
TCP relay on loopback that the test can cut (every open connection reset,
new ones refused) and heal: the blip, with both real ends unchanged.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.wf_serve import WF, Server, wf_serve

PASSWORD = "a long test passphrase\n"
DEADLINE = 30.0


class CuttableRelay:
    """Relays loopback TCP connections to `target`; `cut()` resets them all and
    refuses new ones until `heal()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._refusing = False
        self._stopped = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        with self._lock:
            self._refusing = True
            sockets, self._open = self._open, []
        for sock in sockets:
            _reset(sock)

    def heal(self) -> None:
        with self._lock:
            self._refusing = False

    def close(self) -> None:
        self._stopped = True
        self.cut()
        self._listener.close()
        self._thread.join(5)

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                refusing = self._refusing
            if refusing:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _reset(sink)


def _reset(sock: socket.socket) -> None:
    """Abort the connection (SO_LINGER 0: RST), as a dropped path looks to the
    ends. `shutdown` first: a plain close would wait for the pump thread still
    blocked in recv() on the same socket, and reset nothing meanwhile."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def poll(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Output:
    """A process's stdout or stderr lines, read as they come."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(str(line).rstrip("\n"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with wf_serve(tmp_path) as running:
        yield running


def test_follow_resumes_after_a_network_blip_with_no_gap_and_no_repeat(
    server: Server, tmp_path: Path
) -> None:
    home = tmp_path / "alice"
    home.mkdir()
    env = {
        **os.environ,
        "XDG_CONFIG_HOME": str(home / "config"),
        "WF_CONTROLLER_URL": server.controller_url,
    }
    env.pop("WF_TOKEN", None)

    def wf(*args: str, stdin: str | None = None, **extra: str) -> str:
        done = subprocess.run(
            [*WF, *args], input=stdin, capture_output=True, text=True, timeout=30,
            env={**env, **extra}, cwd=home,
        )  # fmt: skip
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done.stdout

    wf("register", "-u", "alice", "-e", "alice@example.com", "--password-stdin", stdin=PASSWORD)
    wf("apps", "create", "shop")

    def emit(numbers: range) -> None:
        lines = "".join(f"line {n}\n" for n in numbers)
        wf("emit", "-a", "shop", "-p", "web", "--forward-url", server.forward_url, stdin=lines)

    host, port = server.controller_url.removeprefix("http://").split(":")
    relay = CuttableRelay((host, int(port)))
    follower = subprocess.Popen(
        [*WF, "logs", "-a", "shop", "-n", "0", "-f", "--timeout", "120"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "WF_CONTROLLER_URL": relay.url},
        cwd=home,
    )
    out, err = Output(follower.stdout), Output(follower.stderr)

    def received() -> list[str]:
        return [line.split(": ", 1)[1] for line in out.lines if "shop[web]" in line]

    def followers() -> int:
        text = httpx.get(f"{server.logger_url}/metrics", timeout=5).text
        line = next(line for line in text.splitlines() if line.startswith("logger_followers "))
        return int(float(line.split()[1]))

    try:
        poll(lambda: followers() == 1, "the follow to open")
        emit(range(1, 11))
        poll(lambda: len(received()) >= 10, "the first ten lines")
        relay.cut()
        emit(range(11, 21))  # sent while the follower is disconnected
        poll(lambda: any("reconnecting" in line for line in err.lines), "a reconnect attempt")
        poll(lambda: followers() == 0, "the logger to see the follow gone")
        relay.heal()
        poll(lambda: len(received()) >= 20, "the lines sent during the blip")
        emit(range(21, 26))
        poll(lambda: len(received()) >= 25, "lines after the blip")
    finally:
        follower.terminate()
        follower.wait(10)
        relay.close()
    assert received() == [f"line {n}" for n in range(1, 26)]
    assert any("log stream broken" in line for line in err.lines), err.lines
