"""A `/var/log/containers`-like folder, written the way a node writes it.

Container log files are named as the kubelet names them
(`<pod>_<namespace>_<container>-<64 hex container id>.log`) and hold lines in
the container runtime's format: CRI (`<RFC 3339 nano> <stream> <P|F> <text>`,
containerd and CRI-O) or Docker's json-file (`{"log", "stream", "time"}`, a
line without its trailing newline being a partial one). The pod metadata the
kubernetes filter would fetch from the API server is written as
`<namespace>_<pod>.meta` files: the Pod object as `GET /api/v1/namespaces/
{namespace}/pods/{name}` returns it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path


def rfc3339_nano(moment: dt.datetime, nanos: int = 0) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond * 1000 + nanos:09d}Z"


@dataclass
class Container:
    """One container of one pod, and the log file its runtime writes."""

    folder: Path
    namespace: str
    pod: str
    container: str
    runtime: str  # "cri" or "docker"
    labels: dict[str, str] = field(default_factory=dict)
    _lines_written: int = 0

    @property
    def container_id(self) -> str:
        return hashlib.sha256(f"{self.pod}/{self.container}".encode()).hexdigest()

    @property
    def path(self) -> Path:
        name = f"{self.pod}_{self.namespace}_{self.container}-{self.container_id}.log"
        return self.folder / name

    def write(self, *file_lines: str) -> None:
        """Append raw file lines and flush them to the file system at once."""
        with self.path.open("a", encoding="utf-8") as file:
            file.write("".join(line + "\n" for line in file_lines))
            file.flush()
            os.fsync(file.fileno())

    def line(self, text: str, stream: str = "stdout") -> None:
        """One whole log line of the app."""
        if self.runtime == "cri":
            self.write(f"{self._stamp()} {stream} F {text}")
        else:
            self.write(self._docker(text + "\n", stream))

    def partial_line(self, pieces: list[str], stream: str = "stdout") -> None:
        """One app line the runtime split into pieces (as it does past 16 KiB)."""
        if self.runtime == "cri":
            tags = ["P"] * (len(pieces) - 1) + ["F"]
            self.write(
                *(
                    f"{self._stamp()} {stream} {tag} {p}"
                    for tag, p in zip(tags, pieces, strict=True)
                )
            )
        else:
            last = len(pieces) - 1
            self.write(
                *(
                    self._docker(piece + ("\n" if i == last else ""), stream)
                    for i, piece in enumerate(pieces)
                )
            )

    def _stamp(self) -> str:
        self._lines_written += 1
        return rfc3339_nano(dt.datetime.now(dt.UTC), self._lines_written % 1000)

    def _docker(self, log: str, stream: str) -> str:
        record = {"log": log, "stream": stream, "time": self._stamp()}
        return json.dumps(record, separators=(",", ":"))

    def pod_object(self) -> dict[str, object]:
        """The Pod as the API server returns it (the fields the filter reads, and more)."""
        return {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": self.pod,
                "namespace": self.namespace,
                "uid": hashlib.md5(self.pod.encode()).hexdigest(),
                "resourceVersion": "4242",
                "creationTimestamp": "2026-12-01T09:00:00Z",
                "labels": dict(self.labels),
                "annotations": {"workflow.example/release": "v7"},
            },
            "spec": {
                "nodeName": "node-1",
                "containers": [{"name": self.container, "image": f"registry/{self.pod}:v7"}],
            },
            "status": {
                "phase": "Running",
                "hostIP": "10.0.0.11",
                "podIP": "10.244.1.7",
                "containerStatuses": [
                    {
                        "name": self.container,
                        "ready": True,
                        "restartCount": 0,
                        "image": f"registry/{self.pod}:v7",
                        "imageID": f"registry/{self.pod}@sha256:{self.container_id}",
                        "containerID": f"containerd://{self.container_id}",
                    }
                ],
            },
        }

    def write_meta(self, meta_folder: Path) -> None:
        path = meta_folder / f"{self.namespace}_{self.pod}.meta"
        path.write_text(json.dumps(self.pod_object()), encoding="utf-8")
