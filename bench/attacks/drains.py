"""Drains (cases 17-18): a drain pointed inside the platform, and drains
whose receivers never read."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter

from bench.attacks.follows import create_app
from bench.attacks.harness import HOST, Case, flood, http_from, metric_values, register
from bench.serve_process import Server

# What would tell a user what answered inside the platform.
REVEALING = ("401", "403", "Unauthorized", "refused", "answered", "HTTP/", "127.0.0.1:")


def ssrf_destinations(server: Server) -> list[str]:
    port = server.controller_port
    return [
        f"https://127.0.0.1:{port}/v2/apps",
        f"http://localhost:{port}/",
        "https://169.254.169.254/latest/meta-data/",
        "syslog://10.0.0.1:514",
        f"https://[::ffff:127.0.0.1]:{port}/",
        "syslog+tls://metadata.google.internal:6514",
    ]


def ssrf(server: Server) -> str:
    token = register(server, "drainer17", "127.0.17.1")
    create_app(server, token, "atk-ssrf", "127.0.17.1")
    answers = []
    with http_from("127.0.17.1") as client:
        for url in ssrf_destinations(server):
            answers.append(
                client.post(
                    f"{server.controller_url}/v2/apps/atk-ssrf/drains",
                    json={"url": url},
                    headers={"Authorization": f"token {token}"},
                )
            )
    statuses = [answer.status_code for answer in answers]
    details = [str(answer.json().get("detail", "")) for answer in answers]
    revealing = sum(
        1 for detail in details if any(word in detail.split("(")[0] for word in REVEALING)
    )
    return (
        f"{len(answers)} drains to loopback, localhost, 169.254.169.254, 10.0.0.1,"
        f" ::ffff:127.0.0.1, the metadata name: answered {statuses};"
        f" {revealing} details name an answer; first: {details[0][:110]!r}"
    )


class NeverReading:
    """TCP listeners that accept and never read: a syslog drain's worst sink."""

    def __init__(self, count: int) -> None:
        self.listeners = []
        for _ in range(count):
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            listener.bind((HOST, 0))
            listener.listen(16)
            listener.settimeout(0.2)
            self.listeners.append(listener)
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def ports(self) -> list[int]:
        return [listener.getsockname()[1] for listener in self.listeners]

    def _accept(self) -> None:
        while not self.stop.is_set():
            for listener in self.listeners:
                with contextlib.suppress(OSError):
                    self.accepted.append(listener.accept()[0])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for sock in [*self.accepted, *self.listeners]:
            sock.close()


def drain_memory(server: Server) -> str:
    app = "atk-drain"
    sinks = NeverReading(6)
    try:
        with http_from("127.0.18.1") as client:
            for port in sinks.ports:
                client.post(
                    f"{server.logger_url}/drains/{app}", json={"url": f"syslog://{HOST}:{port}"}
                ).raise_for_status()
        sent = flood(server, app, 30)
        buffered = sum(metric_values(server, "logger_drain_buffer_lines").values())
        delivered = sum(metric_values(server, "logger_drain_delivered_lines").values())
        dropped: Counter[str] = Counter()
        for labels, value in metric_values(server, "logger_drain_dropped_lines").items():
            dropped[dict(labels)["reason"]] += int(value)
    finally:
        sinks.close()
    return (
        f"6 drains to receivers that never read, {sent:,} lines of 1 KB: {buffered:,.0f} lines"
        f" buffered (~{buffered / 1024:.0f} MiB), dropped {dict(dropped)},"
        f" counted delivered {delivered:,.0f} (what the kernel took)"
    )


CASES = [
    Case(17, "drain_ssrf", ssrf),
    Case(18, "drain_memory", drain_memory, server="drains"),
]
