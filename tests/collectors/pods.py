"""Scripted pod histories, each state a Pod object with the recorded shape
(tests/fixtures/kubernetes/pod.json, as a real API server returns it)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from controller.scheduler.base import MANAGED_BY, MANAGED_BY_LABEL

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kubernetes"
Obj = dict[str, Any]


def fixture(name: str) -> Obj:
    loaded: Obj = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def stamp(moment: dt.datetime) -> str:
    """An API timestamp: RFC 3339, UTC, whole seconds."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def managed_namespace(name: str) -> Obj:
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": name,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "1",
            "labels": {MANAGED_BY_LABEL: MANAGED_BY, "app": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


class PodScript:
    """One pod of `app`'s `ptype` through its life; each method returns the
    Pod object of the next state, times advancing from `start` by a second."""

    def __init__(
        self, app: str, ptype: str, suffix: str, start: dt.datetime, node: str = "node-1"
    ) -> None:
        self.pod = fixture("pod.json")
        meta = self.pod["metadata"]
        meta["name"] = f"{app}-{ptype}-6c9f8d7b5d-{suffix}"
        meta["generateName"] = f"{app}-{ptype}-6c9f8d7b5d-"
        meta["namespace"] = app
        meta["uid"] = str(uuid.uuid4())
        meta["labels"] = {**meta["labels"], "app": app, "type": ptype}
        self.container = f"{app}-{ptype}"
        self.pod["spec"]["containers"][0]["name"] = self.container
        self.node = node
        self.pod["spec"].pop("nodeName")
        self.now = start
        meta["creationTimestamp"] = stamp(start)
        self.pod["status"] = {"phase": "Pending", "qosClass": "Burstable"}
        self.restarts = 0
        self._instance = 0

    def _tick(self) -> str:
        self.now += dt.timedelta(seconds=1)
        return stamp(self.now)

    def snapshot(self) -> Obj:
        return copy.deepcopy(self.pod)

    def _conditions(self, ready: bool) -> list[Obj]:
        scheduled = self.pod["status"]["conditions"][-1]
        readiness = "True" if ready else "False"
        return [
            {"type": "Ready", "status": readiness, "lastProbeTime": None,
             "lastTransitionTime": stamp(self.now)},
            scheduled,
        ]  # fmt: skip

    def _container_status(self, state: Obj, last: Obj | None = None) -> Obj:
        return {
            "name": self.container,
            "state": state,
            "lastState": last or {},
            "ready": "running" in state,
            "restartCount": self.restarts,
            "image": self.pod["spec"]["containers"][0]["image"],
            "imageID": "",
            "containerID": self._container_id(),
            "started": "running" in state,
        }

    def _container_id(self) -> str:
        return f"containerd://{self.pod['metadata']['uid'][:8]}{self._instance:056d}"

    def scheduled(self) -> Obj:
        self.pod["spec"]["nodeName"] = self.node
        self.pod["status"]["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": self._tick()}
        ]  # fmt: skip
        return self.snapshot()

    def unschedulable(self, message: str) -> Obj:
        self.pod["status"]["conditions"] = [
            {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
             "lastTransitionTime": self._tick(), "reason": "Unschedulable",
             "message": message}
        ]  # fmt: skip
        return self.snapshot()

    def creating(self) -> Obj:
        self._tick()
        self.pod["status"]["containerStatuses"] = [
            self._container_status({"waiting": {"reason": "ContainerCreating"}})
        ]
        return self.snapshot()

    def running(self) -> Obj:
        started = self._tick()
        status = self.pod["status"]
        last = (status.get("containerStatuses") or [{}])[0].get("lastState")
        status["phase"] = "Running"
        status["startTime"] = status.get("startTime", started)
        status["conditions"] = self._conditions(ready=True)
        status["containerStatuses"] = [
            self._container_status({"running": {"startedAt": started}}, last)
        ]
        return self.snapshot()

    def terminated(self, reason: str, exit_code: int) -> Obj:
        """The container ended; the kubelet has not restarted it yet."""
        status = self.pod["status"]
        started = status["containerStatuses"][0]["state"]["running"]["startedAt"]
        ended = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started,
            "finishedAt": self._tick(),
            "containerID": self._container_id(),
        }
        status["conditions"] = self._conditions(ready=False)
        status["containerStatuses"] = [self._container_status({"terminated": ended})]
        return self.snapshot()

    def back_off(self) -> Obj:
        """CrashLoopBackOff: waiting for the kubelet's back-off, the crash in lastState."""
        status = self.pod["status"]
        ended = status["containerStatuses"][0]["state"]["terminated"]
        delay = min(10 * 2**self.restarts, 300)
        shown = f"{delay // 60}m{delay % 60}s" if delay >= 60 else f"{delay}s"
        waiting = {
            "reason": "CrashLoopBackOff",
            "message": f"back-off {shown} restarting failed container={self.container} "
            f"pod={self.pod['metadata']['name']}_{self.pod['metadata']['namespace']}"
            f"({self.pod['metadata']['uid']})",
        }
        self._tick()
        status["containerStatuses"] = [
            self._container_status({"waiting": waiting}, {"terminated": ended})
        ]
        return self.snapshot()

    def restarted(self) -> Obj:
        """The kubelet started the container again after its back-off."""
        self.restarts += 1
        self._instance += 1
        return self.running()

    def image_pull_failed(self, reason: str, message: str) -> Obj:
        self._tick()
        self.pod["status"]["containerStatuses"] = [
            self._container_status({"waiting": {"reason": reason, "message": message}})
        ]
        return self.snapshot()

    def deleting(self) -> Obj:
        self.pod["metadata"]["deletionTimestamp"] = self._tick()
        self.pod["metadata"]["deletionGracePeriodSeconds"] = 30
        return self.snapshot()


def warning_event(pod: Obj, reason: str, message: str, count: int, when: dt.datetime) -> Obj:
    """A Warning event about `pod`, with the recorded Event's shape."""
    event = fixture("event.json")
    meta = pod["metadata"]
    event["metadata"]["name"] = f"{meta['name']}.{uuid.uuid4().hex[:16]}"
    event["metadata"]["namespace"] = meta["namespace"]
    event["metadata"]["uid"] = str(uuid.uuid4())
    event["involvedObject"].update(namespace=meta["namespace"], name=meta["name"], uid=meta["uid"])
    event.update(reason=reason, message=message, count=count)
    event["firstTimestamp"] = event["lastTimestamp"] = stamp(when)
    event["metadata"]["creationTimestamp"] = stamp(when)
    return event
