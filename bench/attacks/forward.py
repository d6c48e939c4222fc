"""Replays the forward-input attacks of the hardening issue against a running
`wf serve` on loopback, with a legitimate client sending beside each one.

    python -m bench.attacks [--case NAME ...]

Per case it prints the server's health latency (worst of a probe every
50 ms), the legitimate client's lines lost (must be 0) and ack latency
(median and worst), and the server's RSS (peak during the case). The
server runs with a shared key and `ulimit -n 1024` (soft and hard), as in
the issue; the TLS case starts a second server with a certificate. Every
case is bounded in connections, bytes and time; loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgpack
import trustme

from bench import ROOT
from bench.logger_process import free_port
from logger.forward.client import ForwardClient
from logger.forward.handshake import client_ping

HOST = "127.0.0.1"
SHARED_KEY = b"attack-bench-key"
OPEN_FILES = 1024
CASE_SECONDS = 6.0
RECONNECT_EVERY = 25


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    http_port: int
    forward_port: int
    log_path: Path
    ca_file: str | None = None

    @property
    def logger_url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def rss_bytes(self) -> int:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0


@contextlib.contextmanager
def wf_serve(directory: Path, tls: bool = False) -> Iterator[Server]:
    http_port, forward_port, controller_port = free_port(), free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WF_")}
    env.update(
        WF_FORWARD_SHARED_KEY=SHARED_KEY.decode(),
        WF_DRAINS_STATE_FILE="none",
        WF_PASSWORD_MEMORY_KIB="8192",
        WF_PASSWORD_TIME_COST="1",
        PYTHONPATH=str(ROOT),
    )
    ca_file = None
    if tls:
        ca = trustme.CA()
        cert = ca.issue_cert(HOST)
        cert.private_key_and_cert_chain_pem.write_to_path(str(directory / "tls.pem"))
        ca.cert_pem.write_to_path(str(directory / "ca.pem"))
        env.update(WF_FORWARD_TLS_CERT=str(directory / "tls.pem"))
        env.update(WF_FORWARD_TLS_KEY=str(directory / "tls.pem"))
        ca_file = str(directory / "ca.pem")
    log_path = directory / "serve.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "controller.cli.main", "serve", "--host", HOST,
             "--http-port", str(http_port), "--forward-host", HOST,
             "--forward-port", str(forward_port), "--controller-host", HOST,
             "--controller-port", str(controller_port),
             "--database-url", f"sqlite+aiosqlite:///{directory / 'controller.db'}"],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT,
            preexec_fn=lambda: resource.setrlimit(
                resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES)
            ),
        )  # fmt: skip
    server = Server(process, http_port, forward_port, log_path, ca_file)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.logger_url}/readyz", timeout=1).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()[-3000:])
            time.sleep(0.1)
        yield server
    finally:
        process.kill()
        process.wait(10)


# --- what runs beside every attack ------------------------------------------------


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


def stored_lines(server: Server, app: str) -> int:
    answer = httpx.get(f"{server.logger_url}/logs/{app}", params={"log_lines": "-1"}, timeout=10)
    return 0 if answer.status_code == 204 else len(answer.text.splitlines())


# --- attackers ----------------------------------------------------------------------


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


def empty_gzip_members(server: Server) -> str:
    payload = gzip.compress(b"") * 80_000
    frame = msgpack.packb(["t", payload, {"compressed": "gzip"}], use_bin_type=True)
    for _ in range(5):
        with contextlib.closing(authenticated(server)) as sock:
            send_quietly(sock, frame)
            with contextlib.suppress(OSError):
                sock.recv(1)
    return f"5 frames of 80,000 empty gzip members ({len(payload) / 1e6:.1f} MB each)"


def _unfinished(size: int) -> bytes:
    return b"\x92\xa1t\xc6" + size.to_bytes(4, "big") + bytes(size - 64)


def unfinished_before_handshake(server: Server) -> str:
    data = _unfinished(15 << 20)
    sockets = [connect(server) for _ in range(8)]
    taken = [send_quietly(sock, data, 1.0) for sock in sockets]
    time.sleep(1)
    for sock in sockets:
        sock.close()
    return f"8 connections, 15 MiB frames before any PING; {max(taken) >> 10} KiB sent at most"


def unfinished_after_handshake(server: Server) -> str:
    data = _unfinished(15 << 20)
    sockets = [authenticated(server) for _ in range(24)]
    taken = [send_quietly(sock, data, 1.0) for sock in sockets]
    time.sleep(1)
    for sock in sockets:
        sock.close()
    full = sum(1 for size in taken if size == len(data))
    return f"24 authenticated connections, unfinished 15 MiB frames; {full} sent whole"


def idle_socket_flood(server: Server) -> str:
    sockets = []
    with contextlib.suppress(OSError):
        for _ in range(1100):
            sockets.append(connect(server))
    time.sleep(2)
    for sock in sockets:
        sock.close()
    return f"{len(sockets)} idle sockets (ulimit -n {OPEN_FILES})"


def unauthenticated_churn(server: Server) -> str:
    opened = 0
    deadline = time.monotonic() + 4
    held: list[socket.socket] = []
    while time.monotonic() < deadline and opened < 3000:
        with contextlib.suppress(OSError):
            held.append(connect(server, f"127.0.1.{1 + opened % 50}"))
            opened += 1
        if len(held) > 400:
            held.pop(0).close()
    for sock in held:
        sock.close()
    return f"{opened} connections that never send a PING from 50 addresses, 400 held at a time"


def plaintext_on_tls(server: Server) -> str:
    frame = msgpack.packb(["app.x.web", 0, {"log": "plain"}])
    for _ in range(20):
        with contextlib.closing(connect(server)) as sock:
            sock.sendall(frame)
            with contextlib.suppress(OSError):
                sock.recv(100)
    warned = "does not speak TLS" in server.log_path.read_text()
    return f"20 plaintext clients on the TLS port; logged: {warned}"


@dataclass(frozen=True)
class Case:
    number: int
    name: str
    attack: Callable[[Server], str] | None
    tls: bool = False


# Cases 4, 5 and 7 are the router's and the lines' (other parts); 8-18 the
# logs API, the controller and drains: hooks, so that they join this table.
CASES = [
    Case(1, "empty_gzip_members", empty_gzip_members),
    Case(2, "unfinished_before_handshake", unfinished_before_handshake),
    Case(2, "unfinished_after_handshake", unfinished_after_handshake),
    Case(3, "idle_socket_flood", idle_socket_flood),
    Case(3, "unauthenticated_churn", unauthenticated_churn),
    Case(4, "time_past_year_9999", None),
    Case(5, "unbounded_label_sizes", None),
    Case(6, "plaintext_on_tls_port", plaintext_on_tls, tls=True),
    Case(7, "log_spoofing", None),
]


def run_case(server: Server, case: Case) -> str:
    assert case.attack is not None
    app = f"legit-{case.name.replace('_', '-')}"[:40]
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
        what = case.attack(server)
    finally:
        time.sleep(max(0.5, CASE_SECONDS - (time.monotonic() - started)))
        stop.set()
        for thread in threads:
            thread.join(30)
    lost = seen.sent - stored_lines(server, app)
    ack = sorted(seen.ack_ms) or [0.0]
    return (
        f"{case.number:>2} {case.name:<28} health max {max(seen.health_ms):7.1f} ms"
        f" ({seen.health_failures} failed)  lost {lost:>3} of {seen.sent:>3} acked"
        f" ({seen.failed_sends} sends refused)"
        f"  ack p50 {statistics.median(ack):6.1f} max {ack[-1]:7.1f} ms"
        f"  RSS peak {seen.peak_rss / 2**20:6.0f} MiB\n     {what}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", help="run only these cases (by name)")
    options = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))  # the attacker's sockets
    chosen = [case for case in CASES if not options.case or case.name in options.case]
    with tempfile.TemporaryDirectory() as directory:
        for tls in (False, True):
            cases = [case for case in chosen if case.tls == tls]
            if not cases:
                continue
            folder = Path(directory) / ("tls" if tls else "tcp")
            folder.mkdir()
            with wf_serve(folder, tls=tls) as server:
                print(f"wf serve (pid {server.process.pid}, ulimit -n {OPEN_FILES},"
                      f" {'TLS, ' if tls else ''}shared key), RSS at start"
                      f" {server.rss_bytes() / 2**20:.0f} MiB", flush=True)  # fmt: skip
                for case in cases:
                    if case.attack is None:
                        print(f"{case.number:>2} {case.name:<28} (hook: not a forward-input case)")
                        continue
                    print(run_case(server, case), flush=True)
                tracebacks = server.log_path.read_text().count("Traceback")
                print(f"   tracebacks in the server's log: {tracebacks}")


if __name__ == "__main__":
    main()
