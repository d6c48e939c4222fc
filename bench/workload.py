"""The ingest workload: Kubernetes-decorated records in pre-encoded Forward frames."""

from __future__ import annotations

import argparse
import gzip
import struct
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import msgpack

TAG = "kube.var.log.containers"
INSTANCES = ("x2x9z", "k8d7q", "p4m2w")
NODE = "node-07"
FILLER = (
    ' "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)'
    ' Chrome/120.0 Safari/537.36" upstream=10.2.3.4:8000'
)


def event_time(epoch_ns: int) -> msgpack.ExtType:
    """EventTime: ext type 0, big-endian seconds then nanoseconds."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanos))


def access_line(n: int, width: int) -> str:
    """A distinct access-log-like message of exactly `width` characters."""
    head = f'10.1.{n % 250}.{n % 199} "GET /api/v1/orders/{n:09d} HTTP/1.1" 200 {n % 9000 + 100}'
    return (head + FILLER * (1 + width // len(FILLER)))[:width]


def kube_record(app: str, instance: int, log: str) -> dict[str, Any]:
    """A record as Fluent Bit's kubernetes filter decorates it (fewer keys than real)."""
    return {
        "log": log,
        "stream": "stdout",
        "kubernetes": {
            "pod_name": f"{app}-web-5d8f7c9b4-{INSTANCES[instance]}",
            "namespace_name": app,
            "container_name": f"{app}-web",
            "labels": {"app": app, "type": "web"},
            "host": NODE,
        },
    }


class EntryForm(StrEnum):
    """How each entry carries its time, as real clients send it."""

    PLAIN = "plain"
    """`[EventTime, record]`: Fluentd, and Fluent Bit before 5.0.5."""
    METADATA = "metadata"
    """`[[EventTime, {}], record]`: Fluent Bit 5's default out_forward form."""


class Carrier(StrEnum):
    """How the entries travel in the frame."""

    FORWARD = "forward"
    """Forward mode: `[tag, [entry, ...], options]`."""
    GZIP = "gzip"
    """CompressedPackedForward: `[tag, bin(gzip(entry entry ...)), {compressed: gzip}]`,
    what `compress gzip` in Fluent Bit's out_forward sends."""


def frame_body(entries: list[list[Any]]) -> bytes:
    """A Forward-mode frame without its options: the options carry the chunk id,
    which changes per send, so they are packed separately and written after."""
    return b"\x93" + msgpack.packb(TAG) + msgpack.packb(entries)


def gzip_frame_body(entries: list[list[Any]]) -> bytes:
    """A CompressedPackedForward frame without its options (one gzip member)."""
    payload = b"".join(msgpack.packb(entry) for entry in entries)
    return b"\x93" + msgpack.packb(TAG) + msgpack.packb(gzip.compress(payload, 6))


def frame_options(chunk: str, size: int, *, compressed: bool = False) -> bytes:
    options: dict[str, Any] = {"chunk": chunk, "size": size}
    if compressed:
        options["compressed"] = "gzip"
    return msgpack.packb(options)


@dataclass
class Workload:
    bodies: list[bytes]
    records_per_frame: int
    compressed: bool = False

    def options(self, chunk: str) -> bytes:
        """The options map to send after a body, acked under `chunk`."""
        return frame_options(chunk, self.records_per_frame, compressed=self.compressed)

    @property
    def bytes_per_record(self) -> float:
        return sum(map(len, self.bodies)) / (len(self.bodies) * self.records_per_frame)

    def stream(self) -> bytes:
        """Every pool frame once, back to back, as a client would send them."""
        return b"".join(body + self.options(f"pool-{i}") for i, body in enumerate(self.bodies))


def ingest_workload(
    frames: int,
    records_per_frame: int,
    apps: int,
    apps_per_frame: int,
    message_bytes: int,
    form: EntryForm = EntryForm.PLAIN,
    carrier: Carrier = Carrier.FORWARD,
) -> Workload:
    """Frames whose records are spread over `apps_per_frame` of `apps` apps
    (three pods each); consecutive frames move on to the next apps."""
    base_ns = time.time_ns()
    bodies = []
    for f in range(frames):
        entries = []
        for j in range(records_per_frame):
            n = f * records_per_frame + j
            app = f"app{(f * apps_per_frame + j % apps_per_frame) % apps:03d}"
            log = access_line(n, message_bytes - 1) + "\n"  # docker-style trailing newline
            instance = (j // apps_per_frame) % 3
            time_field: Any = event_time(base_ns + n * 1000)
            if form is EntryForm.METADATA:
                time_field = [time_field, {}]
            entries.append([time_field, kube_record(app, instance, log)])
        compressed = carrier is Carrier.GZIP
        bodies.append(gzip_frame_body(entries) if compressed else frame_body(entries))
    return Workload(bodies, records_per_frame, compressed=carrier is Carrier.GZIP)


def workload_from(args: argparse.Namespace, apps_per_frame: int) -> Workload:
    return ingest_workload(
        args.pool_frames, args.records_per_frame, args.apps, apps_per_frame, args.message_bytes
    )
