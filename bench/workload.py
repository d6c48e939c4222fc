"""The ingest workload: Kubernetes-decorated records in pre-encoded Forward frames."""

from __future__ import annotations

import argparse
import struct
import time
from dataclasses import dataclass
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


def frame_body(entries: list[list[Any]]) -> bytes:
    """A Forward-mode frame without its options: the options carry the chunk id,
    which changes per send, so they are packed separately and written after."""
    return b"\x93" + msgpack.packb(TAG) + msgpack.packb(entries)


def frame_options(chunk: str, size: int) -> bytes:
    return msgpack.packb({"chunk": chunk, "size": size})


@dataclass
class Workload:
    bodies: list[bytes]
    records_per_frame: int

    @property
    def bytes_per_record(self) -> float:
        return sum(map(len, self.bodies)) / (len(self.bodies) * self.records_per_frame)

    def stream(self) -> bytes:
        """Every pool frame once, back to back, as a client would send them."""
        return b"".join(
            body + frame_options(f"pool-{i}", self.records_per_frame)
            for i, body in enumerate(self.bodies)
        )


def ingest_workload(
    frames: int, records_per_frame: int, apps: int, apps_per_frame: int, message_bytes: int
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
            entries.append([event_time(base_ns + n * 1000), kube_record(app, instance, log)])
        bodies.append(frame_body(entries))
    return Workload(bodies, records_per_frame)


def workload_from(args: argparse.Namespace, apps_per_frame: int) -> Workload:
    return ingest_workload(
        args.pool_frames, args.records_per_frame, args.apps, apps_per_frame, args.message_bytes
    )
