"""Forward-input attacks (cases 1-7): what a client of the forward port
can send, with or without the shared key."""

from __future__ import annotations

import contextlib
import gzip
import re
import socket
import time

import httpx
import msgpack

from bench.attacks.harness import (
    OPEN_FILES,
    Case,
    authenticated,
    connect,
    entry,
    metric_sum,
    send_frame,
    send_quietly,
    stored_lines,
)
from bench.serve_process import Server
from logger.forward.client import event_time


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
    taken, _ = _send_unfinished([connect(server) for _ in range(8)])
    return f"8 connections, 15 MiB frames before any PING; {max(taken) >> 10} KiB sent at most"


def unfinished_after_handshake(server: Server) -> str:
    taken, whole = _send_unfinished([authenticated(server) for _ in range(24)])
    full = sum(1 for size in taken if size == whole)
    return f"24 authenticated connections, unfinished 15 MiB frames; {full} sent whole"


def _send_unfinished(sockets: list[socket.socket]) -> tuple[list[int], int]:
    """Each socket sends one unfinished frame declaring 15 MiB (for up to
    1 s), then all are closed a second later: the bytes each got through,
    and the bytes of the whole frame sent."""
    data = _unfinished(15 << 20)
    taken = [send_quietly(sock, data, 1.0) for sock in sockets]
    time.sleep(1)
    for sock in sockets:
        sock.close()
    return taken, len(data)


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
    warned = "does not speak TLS" in server.log_text()
    return f"20 plaintext clients on the TLS port; logged: {warned}"


def time_past_year_9999(server: Server) -> str:
    """A frame whose first entry's integer time is past year 9999, between
    valid ones: the valid entries must be stored and the frame acked."""
    app = "atk-time"
    invalid_before = metric_sum(server, "logger_discarded_events_total")
    with contextlib.closing(authenticated(server)) as sock:
        acked = send_frame(
            sock, f"app.{app}.web",
            [[10**12, {"log": "from the year 33658"}], entry("valid 1"), entry("valid 2")],
        )  # fmt: skip
        later = send_frame(sock, f"app.{app}.web", [entry("later line")])
    lines = stored_lines(server, app)
    stamped = sum(1 for line in lines if re.match(r"\d{4}-\d\d-\d\dT", line))
    counted = metric_sum(server, "logger_discarded_events_total") - invalid_before
    return (
        f"time 10**12 among 2 valid entries: acked {acked}, {len(lines) - 1} of 2 valid stored,"
        f" a later frame acked {later} and {stamped} of {len(lines)} lines timestamped,"
        f" {counted:.0f} discarded (counted)"
    )


def unbounded_label_sizes(server: Server) -> str:
    """20 records with a 256 KiB process type and pod name: refused or
    bounded, and /metrics stays small."""
    app = "atk-labels"
    huge = "p" * (256 << 10)
    metrics_before = len(httpx.get(f"{server.logger_url}/metrics", timeout=10).content)
    discarded_before = metric_sum(server, "logger_discarded_events_total")
    passed_over_before = metric_sum(server, "logger_passed_over_fields_total")
    acked = 0
    with contextlib.closing(authenticated(server)) as sock:
        for n in range(20):
            kubernetes = {
                "pod_name": huge + str(n), "namespace_name": app,
                "container_name": "web", "labels": {"app": app, "type": huge + str(n)},
            }  # fmt: skip
            acked += send_frame(
                sock,
                "kube.x",
                [[event_time(time.time_ns()), {"log": "hi", "kubernetes": kubernetes}]],
            )
    lines = stored_lines(server, app)
    longest = max((len(line) for line in lines), default=0)
    metrics_after = len(httpx.get(f"{server.logger_url}/metrics", timeout=10).content)
    discarded = metric_sum(server, "logger_discarded_events_total") - discarded_before
    passed_over = metric_sum(server, "logger_passed_over_fields_total") - passed_over_before
    return (
        f"20 records with 256 KiB process type and pod name: {acked} acked, {len(lines)} stored"
        f" (longest line {longest} bytes), {discarded:.0f} counted as discarded,"
        f" {passed_over:.0f} fields counted as passed over;"
        f" /metrics {metrics_before >> 10} -> {metrics_after >> 10} KiB"
    )


FORGED = re.compile(r"^(\S+ )?shop\[controller\]: ")


def log_spoofing(server: Server) -> str:
    """A newline (and a CR) in a message and in a process type, to forge a
    `shop[controller]: ...` line in `wf logs` output."""
    app = "atk-spoof"
    forged = "2026-11-22T10:00:00.000000+00:00 shop[controller]: app deleted by admin"
    with contextlib.closing(authenticated(server)) as sock:
        message_acked = send_frame(sock, f"app.{app}.web", [entry(f"hello\n{forged}\rx")])
        kubernetes = {
            "pod_name": "shop-web-1", "namespace_name": app, "container_name": "web",
            "labels": {"app": app, "type": f"web]: hi\n{forged}"},
        }  # fmt: skip
        proc_acked = send_frame(
            sock, "kube.x", [[event_time(time.time_ns()), {"log": "x", "kubernetes": kubernetes}]]
        )
    text = httpx.get(f"{server.logger_url}/logs/{app}", params={"log_lines": "-1"}).text
    rows = text.splitlines()
    forgeries = sum(1 for line in rows if FORGED.match(line))
    unstamped = [line for line in rows if not re.match(r"\d{4}-\d\d-\d\dT", line)]
    shown = unstamped[0][:40] if unstamped else ""
    return (
        f"forged lines in a message (acked {message_acked}) and a process type"
        f" (acked {proc_acked}): {forgeries} forged lines in `wf logs` output of {len(rows)};"
        f" continuations shown as {shown!r}"
    )


CASES = [
    Case(1, "empty_gzip_members", empty_gzip_members),
    Case(2, "unfinished_before_handshake", unfinished_before_handshake),
    Case(2, "unfinished_after_handshake", unfinished_after_handshake),
    Case(3, "idle_socket_flood", idle_socket_flood),
    Case(3, "unauthenticated_churn", unauthenticated_churn),
    Case(4, "time_past_year_9999", time_past_year_9999),
    Case(5, "unbounded_label_sizes", unbounded_label_sizes),
    Case(6, "plaintext_on_tls_port", plaintext_on_tls, server="tls"),
    Case(7, "log_spoofing", log_spoofing),
]
