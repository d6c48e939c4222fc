"""Logs API and follows (cases 8-10): followers that never read, follows
that outlive their permission, and error bodies that echo the request."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from dataclasses import dataclass

import aiohttp

from bench.attacks.harness import (
    HOST,
    Case,
    authenticated,
    entry,
    flood,
    http_from,
    metric_sum,
    register,
    send_frame,
)
from bench.serve_process import Server

FOLLOW_TIMEOUT = 5
STUCK_HTTP = 20
STUCK_WEBSOCKETS = 10
FLOOD_MEGABYTES = 20


def stuck_http_follower(server: Server, app: str) -> socket.socket:
    """A follow request from a client that never reads (a small receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.bind(("127.0.0.8", 0))
    sock.connect((HOST, server.http_port))
    sock.sendall(
        f"GET /logs/{app}?follow=true&timeout={FOLLOW_TIMEOUT}&log_lines=0 HTTP/1.1\r\n"
        f"Host: {HOST}\r\n\r\n".encode()
    )
    return sock


def followers(server: Server) -> float:
    return metric_sum(server, "logger_followers")


def wait_followers(server: Server, wanted: float, above: bool, seconds: float) -> float:
    """Poll the logger's follower gauge until it is at least (or at most)
    `wanted`; the seconds it took, or -1 past the deadline."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        now = followers(server)
        if (now >= wanted) if above else (now <= wanted):
            return time.monotonic() - started
        time.sleep(0.1)
    return -1.0


def create_app(server: Server, token: str, app: str, source: str) -> None:
    with http_from(source) as client:
        answer = client.post(
            f"{server.controller_url}/v2/apps",
            json={"id": app},
            headers={"Authorization": f"token {token}"},
        )
        if answer.status_code not in (201, 409):
            raise RuntimeError(f"creating {app}: {answer.status_code} {answer.text[:200]}")


async def stuck_websockets(server: Server, token: str, app: str, count: int) -> list[object]:
    """Controller WebSocket follows that send their request and never read."""
    session = aiohttp.ClientSession()
    sockets: list[object] = [session]
    for _ in range(count):
        ws = await session.ws_connect(
            f"{server.controller_url}/v2/apps/{app}/logs",
            headers={"Authorization": f"token {token}"},
        )
        await ws.send_json({"follow": True, "lines": 0, "timeout": FOLLOW_TIMEOUT})
        sockets.append(ws)
    return sockets


def never_reading_followers(server: Server) -> str:
    app = "atk-stuck"
    token = register(server, "stuck8", "127.0.0.8")
    create_app(server, token, app, "127.0.0.8")
    flood(server, app, 1)
    baseline = followers(server)
    loop = asyncio.new_event_loop()
    started = time.monotonic()
    held = [stuck_http_follower(server, app) for _ in range(STUCK_HTTP)]
    sockets = loop.run_until_complete(stuck_websockets(server, token, app, STUCK_WEBSOCKETS))
    total = STUCK_HTTP + STUCK_WEBSOCKETS
    subscribed = wait_followers(server, baseline + total, above=True, seconds=5) >= 0
    peak = followers(server) - baseline
    sent = flood(server, app, FLOOD_MEGABYTES)
    gone = wait_followers(server, baseline, above=False, seconds=30)
    cut = time.monotonic() - started if gone >= 0 else -1
    left = followers(server) - baseline
    for sock in held:
        sock.close()
    session = sockets[0]
    assert isinstance(session, aiohttp.ClientSession)
    loop.run_until_complete(session.close())
    loop.close()
    return (
        f"{STUCK_HTTP} HTTP + {STUCK_WEBSOCKETS} WebSocket followers (timeout {FOLLOW_TIMEOUT} s)"
        f" that never read, {sent:,} lines of 1 KB sent: {peak:.0f} subscribed"
        f" (all: {subscribed}), all cut {cut:.1f} s after they came, {left:.0f} left"
    )


@dataclass
class Stream:
    """One controller WebSocket follow, read until the server closes it."""

    frames: int = 0
    close_code: int | None = None
    reason: str = ""
    closed_at: float = 0.0


async def read_stream(ws: aiohttp.ClientWebSocketResponse, stream: Stream) -> None:
    ends = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)
    while (message := await ws.receive()).type not in ends:
        stream.frames += message.type == aiohttp.WSMsgType.TEXT
    stream.close_code = ws.close_code
    stream.reason = str(message.extra or "")
    stream.closed_at = time.monotonic()


async def follow_until_revoked(server: Server, token: str, app: str, revoke: object) -> str:
    """Follow `app` as `token`, see a line arrive, call `revoke`, then wait
    (at most 15 s) for the server to close the stream."""
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"{server.controller_url}/v2/apps/{app}/logs",
            headers={"Authorization": f"token {token}"},
        )
        await ws.send_json({"follow": True, "lines": 0})
        stream = Stream()
        reader = asyncio.create_task(read_stream(ws, stream))
        with contextlib.closing(authenticated(server)) as sock:
            for _ in range(50):  # until the follow is live and sees a line
                await asyncio.to_thread(send_frame, sock, f"app.{app}.web", [entry("before")])
                if stream.frames:
                    break
                await asyncio.sleep(0.1)
            seen_before = stream.frames
            assert callable(revoke)
            await asyncio.to_thread(revoke)
            revoked_at = time.monotonic()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(15):
                    while not reader.done():
                        await asyncio.to_thread(send_frame, sock, f"app.{app}.web", [entry("x")])
                        await asyncio.sleep(0.2)
        after = stream.frames - seen_before
        if not reader.done():
            reader.cancel()
            return f"still open 15 s after revocation ({after} frames since)"
        return (
            f"closed {stream.close_code} ({stream.reason!r}) {stream.closed_at - revoked_at:.1f} s"
            f" after, {after} frames meanwhile"
        )


def revoked_follows(server: Server) -> str:
    owner = register(server, "owner9", "127.0.0.9")
    guest = register(server, "guest9", "127.0.0.9")
    app = "atk-revoke"
    create_app(server, owner, app, "127.0.0.9")
    controller = server.controller_url

    def logout() -> None:
        with http_from("127.0.0.9") as client:
            client.post(
                f"{controller}/v2/auth/logout", headers={"Authorization": f"token {owner}"}
            ).raise_for_status()

    with http_from("127.0.0.9") as client:
        client.post(
            f"{controller}/v2/apps/{app}/perms",
            json={"username": "guest9"},
            headers={"Authorization": f"token {owner}"},
        ).raise_for_status()

    def remove_guest() -> None:
        with http_from("127.0.0.9") as client:
            client.delete(
                f"{controller}/v2/apps/{app}/perms/guest9",
                headers={"Authorization": f"token {owner}"},
            ).raise_for_status()

    removed = asyncio.run(follow_until_revoked(server, guest, app, remove_guest))
    revoked = asyncio.run(follow_until_revoked(server, owner, app, logout))
    return f"collaborator removed: {removed}; token revoked: {revoked}"


def capped_error_bodies(server: Server) -> str:
    """Requests carrying 8 KiB where the server names what was wrong."""
    big = "A" * 8192
    token = register(server, "echo10", "127.0.0.10")
    auth = {"Authorization": f"token {token}"}
    with http_from("127.0.0.10") as client:
        answers = [
            client.get(f"{server.logger_url}/logs/{big}"),
            client.get(f"{server.logger_url}/logs/app", params={"log_lines": big}),
            client.post(f"{server.logger_url}/drains/app", json={"url": f"syslog://{big}:1"}),
            client.post(f"{server.controller_url}/v2/apps", json={"id": big}, headers=auth),
            client.get(
                f"{server.controller_url}/v2/apps/app/logs", params={"proc": big}, headers=auth
            ),
        ]
    statuses = sorted({answer.status_code for answer in answers})
    sizes = [len(answer.content) for answer in answers]
    echoed = sum(1 for answer in answers if big[:400] in answer.text)
    return (
        f"{len(answers)} requests carrying 8 KiB: answered {statuses}, bodies {sizes} bytes"
        f" (largest {max(sizes)}), {echoed} echo more than 400 characters of it"
    )


CASES = [
    Case(8, "never_reading_followers", never_reading_followers),
    Case(9, "revoked_follows", revoked_follows),
    Case(10, "capped_error_bodies", capped_error_bodies),
]
