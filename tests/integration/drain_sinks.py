"""Test-side receivers for drains that are not rsyslog.

`HttpsSink`: a real aiohttp HTTPS server (trustme certificate) standing in
for a hosted log service that takes Logplex frames; its answers can be
scripted (500, 429, 400, ...) and it records every request.
`StalledServer`: a listener whose connections are never read.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections import deque
from dataclasses import dataclass

import trustme
from aiohttp import web

from logger.drains.sinks.syslog.encoder import split_frames
from logger.lines import format_timestamp
from tests.integration.rsyslog import poll_until
from tests.support.services import free_port


def stored_line(app: str, source: str, message: str, epoch_ns: int, stream: bytes = b"o") -> bytes:
    """A buffered line as the store keeps it."""
    return stream + f"{format_timestamp(epoch_ns)} {app}[{source}]: {message}".encode()


@dataclass(frozen=True, slots=True)
class Request:
    """One POST the sink received, and the status it answered."""

    headers: dict[str, str]
    path_qs: str
    body: bytes
    status: int
    received_at: float

    @property
    def messages(self) -> list[bytes]:
        messages, rest = split_frames(self.body)
        assert rest == b"", f"trailing bytes in a frame: {rest[:80]!r}"
        return messages


class HttpsSink:
    """An HTTPS log endpoint on 127.0.0.1 (`/logs`), restartable on its port."""

    def __init__(self, ca: trustme.CA) -> None:
        self.port = free_port()
        self.requests: list[Request] = []
        self.answers: deque[tuple[int, dict[str, str]]] = deque()
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(self._tls)
        self._runner: web.AppRunner | None = None

    def url(self, userinfo: str = "", query: str = "") -> str:
        at = f"{userinfo}@" if userinfo else ""
        return f"https://{at}127.0.0.1:{self.port}/logs{'?' + query if query else ''}"

    def answer(self, *statuses: int, retry_after: str | None = None) -> None:
        """Answer the next requests with these statuses (then 200 again);
        status 0 reads the request and drops the connection without answering."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self.answers.extend((status, headers) for status in statuses)

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        status, headers = self.answers.popleft() if self.answers else (200, {})
        self.requests.append(
            Request(dict(request.headers), request.path_qs, body, status, time.monotonic())
        )
        if status == 0:
            assert request.transport is not None
            request.transport.abort()
            raise ConnectionResetError("the sink hung up")
        return web.Response(status=status, headers=headers, text="ok" if status < 300 else "no")

    async def start(self) -> None:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/logs", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._tls)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def accepted(self) -> list[Request]:
        return [request for request in self.requests if 200 <= request.status < 300]

    def accepted_messages(self) -> list[bytes]:
        return [message for request in self.accepted for message in request.messages]

    async def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[bytes]:
        await poll_until(lambda: len(self.accepted_messages()) >= count, timeout)
        return self.accepted_messages()

    async def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[Request]:
        await poll_until(lambda: len(self.requests) >= count, timeout)
        return list(self.requests)


class StalledServer:
    """Accepts TCP connections (in the kernel backlog) and never reads them."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window so that writers stall after little data.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()
