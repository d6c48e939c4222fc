"""What runs beside every attack (a health probe and a legitimate forward
client), the case table's shape, and the attackers' shared tools."""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgpack
from prometheus_client.parser import text_string_to_metric_families

from bench.serve_process import Server
from logger.forward.client import ForwardClient, event_time
from logger.forward.handshake import client_ping

HOST = "127.0.0.1"
SHARED_KEY = b"attack-bench-key"
OPEN_FILES = 1024  # the server's `ulimit -n`, soft and hard, as in the issue
CASE_SECONDS = 6.0
RECONNECT_EVERY = 25
STRONG_PASSWORD = "correct horse battery staple 42"


@dataclass(frozen=True)
class Case:
    number: int
    name: str
    attack: Callable[[Server], str]
    server: str = "tcp"  # which server profile it runs on (see __main__.PROFILES)


@dataclass
class Observations:
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0
    ack_ms: list[float] = field(default_factory=list)
    sent: int = 0
    failed_sends: int = 0
    peak_rss: int = 0


def probe_health(server: Server, seen: Observations, stop: threading.Event) -> None:
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                client.get(f"{server.logger_url}/healthz").raise_for_status()
            except httpx.HTTPError:
                seen.health_failures += 1
            seen.health_ms.append((time.perf_counter() - started) * 1000)
            seen.peak_rss = max(seen.peak_rss, server.rss_bytes())
            stop.wait(0.05)


def legitimate_client(server: Server, app: str, seen: Observations, stop: threading.Event) -> None:
    """One line per acked frame every 20 ms; a new connection every
    RECONNECT_EVERY lines and after a refusal (a line not acked is sent
    again, as Fluent Bit would; one acked but not stored is lost)."""
    client: ForwardClient | None = None
    while not stop.is_set():
        try:
            if client is None:
                client = ForwardClient(
                    HOST, server.forward_port, shared_key=SHARED_KEY,
                    tls=server.ca_file is not None, ca_file=server.ca_file, timeout=10,
                )  # fmt: skip
            started = time.perf_counter()
            client.send(f"app.{app}.web", [(time.time_ns(), {"log": f"line {seen.sent}"})])
            seen.ack_ms.append((time.perf_counter() - started) * 1000)
            seen.sent += 1
            if seen.sent % RECONNECT_EVERY == 0:
                client.close()  # a new client arrives during the attack too
                client = None
        except (OSError, ValueError) as error:
            seen.failed_sends += 1
            print(f"    legitimate client: {error}", file=sys.stderr)
            client = None
        stop.wait(0.02)
    if client is not None:
        client.close()


def stored_lines(server: Server, app: str) -> list[str]:
    answer = httpx.get(f"{server.logger_url}/logs/{app}", params={"log_lines": "-1"}, timeout=10)
    return [] if answer.status_code == 204 else answer.text.splitlines()


def run_case(server: Server, case: Case) -> str:
    app = f"legit-{case.name.replace('_', '-')}"[:40].rstrip("-")
    seen = Observations()
    stop = threading.Event()
    threads = [
        threading.Thread(target=probe_health, args=(server, seen, stop)),
        threading.Thread(target=legitimate_client, args=(server, app, seen, stop)),
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    try:
        verdict = case.attack(server)
    except Exception as error:  # a harness failure is reported, not hidden
        verdict = f"HARNESS ERROR {type(error).__name__}: {error}"
    finally:
        time.sleep(max(0.5, CASE_SECONDS - (time.monotonic() - started)))
        stop.set()
        for thread in threads:
            thread.join(30)
    lost = seen.sent - len(stored_lines(server, app))
    ack = sorted(seen.ack_ms) or [0.0]
    return (
        f"{case.number:>2} {case.name:<28} health max {max(seen.health_ms):7.1f} ms"
        f" ({seen.health_failures} failed)  lost {lost:>3} of {seen.sent:>3} acked"
        f" ({seen.failed_sends} sends refused)"
        f"  ack p50 {statistics.median(ack):6.1f} max {ack[-1]:7.1f} ms"
        f"  RSS peak {seen.peak_rss / 2**20:6.0f} MiB\n     {verdict}"
    )


# --- attackers' tools ---------------------------------------------------------------


def connect(server: Server, source: str = "127.0.0.2") -> socket.socket:
    """An attacker's socket: from another loopback address than the
    legitimate client's (127.0.0.1), as another host would be."""
    return socket.create_connection(
        (HOST, server.forward_port), timeout=10, source_address=(source, 0)
    )


def authenticated(server: Server) -> socket.socket:
    sock = connect(server)
    unpacker = msgpack.Unpacker(raw=False)
    while True:
        unpacker.feed(sock.recv(65536))
        with contextlib.suppress(msgpack.OutOfData):
            helo = unpacker.unpack()
            break
    sock.sendall(client_ping(helo, SHARED_KEY, "attacker").frame)
    while True:
        with contextlib.suppress(msgpack.OutOfData):
            unpacker.unpack()  # PONG
            return sock
        unpacker.feed(sock.recv(65536))


def send_quietly(sock: socket.socket, data: bytes, seconds: float = 2.0) -> int:
    """Send as much of `data` as the server takes within `seconds`."""
    sock.settimeout(seconds)
    sent = 0
    with contextlib.suppress(OSError):
        view = memoryview(data)
        while sent < len(data):
            sent += sock.send(view[sent : sent + (1 << 20)])
    return sent


def send_frame(sock: socket.socket, tag: str, entries: list[list[Any]]) -> bool:
    """One Forward-mode frame with a chunk id; whether the ack came back."""
    chunk = base64.b64encode(os.urandom(12)).decode()
    sock.sendall(msgpack.packb([tag, entries, {"chunk": chunk}]))
    unpacker = msgpack.Unpacker(raw=False)
    sock.settimeout(10)
    with contextlib.suppress(OSError):
        while data := sock.recv(65536):
            unpacker.feed(data)
            for reply in unpacker:
                return isinstance(reply, dict) and reply.get("ack") == chunk
    return False


def flood(server: Server, app: str, megabytes: int, line_bytes: int = 1000) -> int:
    """`megabytes` of acked lines into `app`, 100 lines a frame; lines sent."""
    message = "x" * line_bytes
    frames = megabytes * 1_000_000 // (line_bytes * 100)
    with ForwardClient(HOST, server.forward_port, shared_key=SHARED_KEY, timeout=30) as client:
        for _ in range(frames):
            now = time.time_ns()
            client.send(f"app.{app}.web", [(now, {"log": message})] * 100)
    return frames * 100


def entry(log: str, **record: Any) -> list[Any]:
    return [event_time(time.time_ns()), {"log": log, **record}]


def metric_values(server: Server, family: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of one metric family on the logger's /metrics, by labels
    (a counter's family is named without its `_total`)."""
    family = family.removesuffix("_total")
    text = httpx.get(f"{server.logger_url}/metrics", timeout=10).text
    values: dict[tuple[tuple[str, str], ...], float] = {}
    for found in text_string_to_metric_families(text):
        if found.name == family:
            for sample in found.samples:
                if not sample.name.endswith("_created"):
                    values[tuple(sorted(sample.labels.items()))] = sample.value
    return values


def metric_sum(server: Server, family: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for key, value in metric_values(server, family).items() if wanted <= set(key))


def http_from(source: str, timeout: float = 10) -> httpx.Client:
    """A client whose requests come from the loopback address `source`: the
    controller limits per client address."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=timeout)


def register(server: Server, username: str, source: str, token: str | None = None) -> str:
    """A user (registered if need be) and a token for them."""
    headers = {"Authorization": f"token {token}"} if token else {}
    with http_from(source) as client:
        client.post(
            f"{server.controller_url}/v2/auth/register",
            json={"username": username, "password": STRONG_PASSWORD, "email": "a@example.com"},
            headers=headers,
        )
        answer = client.post(
            f"{server.controller_url}/v2/auth/login",
            json={"username": username, "password": STRONG_PASSWORD},
        )
        answer.raise_for_status()
        return str(answer.json()["token"])
