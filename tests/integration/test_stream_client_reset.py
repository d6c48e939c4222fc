"""A log stream whose client resets its connection while the controller is
writing to it (a crashed or hostile client) is the client leaving: one info
line, never an ERROR with a traceback, which a client could repeat to flood
the server's log. Against a real `wf serve`: the race between the relay's
write and the reader noticing the reset is the real server's."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from logger.forward.client import ForwardAddress, ForwardClient
from tests.controller.test_logs_revocation import _masked_text_frame
from tests.integration.wf_serve import Server, wf_serve

PASSWORD = "correct horse battery staple 42"


def poll(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.05)


def metric(server: Server, name: str) -> float:
    text = httpx.get(f"{server.logger_url}/metrics", timeout=5).text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(f"{name} "))


def signed_up(server: Server) -> str:
    user = {"username": "alice", "password": PASSWORD, "email": "alice@example.com"}
    httpx.post(f"{server.controller_url}/v2/auth/register", json=user).raise_for_status()
    login = httpx.post(f"{server.controller_url}/v2/auth/login", json=user)
    token = str(login.raise_for_status().json()["token"])
    httpx.post(
        f"{server.controller_url}/v2/apps",
        json={"id": "shop"},
        headers={"Authorization": f"token {token}"},
    ).raise_for_status()
    return token


def stuck_stream(server: Server, token: str) -> socket.socket:
    """A WebSocket follow of shop whose client never reads (a tiny buffer)."""
    port = int(server.controller_url.rsplit(":", 1)[1])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /v2/apps/shop/logs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: token {token}\r\n\r\n"
        ).encode()
    )
    sock.sendall(_masked_text_frame(json.dumps({"lines": 0, "follow": True, "timeout": 60})))
    return sock


def test_a_client_resetting_its_stream_mid_write_is_logged_as_gone_not_as_an_error(
    tmp_path: Path,
) -> None:
    with wf_serve(tmp_path) as server:
        token = signed_up(server)
        sock = stuck_stream(server, token)
        poll(lambda: metric(server, "logger_followers") == 1, 10, "the stream follows")
        address = ForwardAddress.parse(server.forward_url)
        with ForwardClient(address.host, address.port) as client:
            # Until the logger drops lines for the stream: the controller's
            # relay is then stuck writing to the client, not reading.
            deadline = time.monotonic() + 30
            while not metric(server, "logger_follower_dropped_lines_total"):
                assert time.monotonic() < deadline, "the relay never backed up"
                for _ in range(20):
                    client.send("app.shop.web", [(time.time_ns(), {"log": "x" * 1000})] * 100)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # with a reset
        poll(
            lambda: "log stream of /v2/apps/shop/logs" in server.log_path.read_text(),
            10,
            "the stream's end is logged",
        )
        log = server.log_path.read_text()
    assert "ERROR controller.api.logs" not in log, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert "log stream of /v2/apps/shop/logs: the client went away" in log, log[-3000:]
