"""Pod lifecycle as lines and metric deltas: the watcher's state machine, no I/O.

Objects in (namespaces, pods and events as the API server sends them, JSON
dicts), `Changes` out: the lines to write and the counter deltas. Gauges
are read from `pod_states()` at scrape time.

No duplicates: every line comes from a *fact* that the object itself states,
keyed so that the same state seen again (a re-list after `410 Gone`, a watch
resumed after a dropped connection) maps to the same key:

    scheduled on <node>                  (PodScheduled True; its lastTransitionTime)
    cannot be scheduled: <message>       (PodScheduled False; its lastTransitionTime)
    started                              (container, restartCount; running.startedAt)
    <reason> (exit <code>)[, restarting in <delay> | , restarted]
                                         (the terminated container's containerID; finishedAt)
    CrashLoopBackOff after <n> restarts  (container, restartCount >= 1; the last finishedAt)
    image pull failed: <message>         (container, image; the pod's creationTimestamp)
    <reason>: <message>                  (a Warning event's uid and count; its last time)
    deleted                              (a DELETED event, or a pod missing from a re-list)

A fact is written once per watcher process. On a watcher restart (an empty
memory) a fact whose time is before the start of the watcher, to the
second (API timestamps have whole seconds), is remembered but not written:
the watcher before wrote it. A deletion while no watcher ran is not seen.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors.kubernetes.identity import PodSource, pod_source
from controller.scheduler.base import MANAGED_BY, MANAGED_BY_LABEL

SOURCE = "kubernetes"
# Closed sets of label values; anything else is "other".
PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
WAITING_REASONS = (
    "ContainerCreating",
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "other",
)
TERMINATION_REASONS = (
    "OOMKilled",
    "Error",
    "Completed",
    "ContainerCannotRun",
    "DeadlineExceeded",
    "other",
)
IMAGE_PULL_FAILURES = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
# Warning events worth a line: what the pod's own status does not say.
EVENT_REASONS = frozenset(
    {"Unhealthy", "FailedMount", "FailedAttachVolume", "Evicted", "Preempted", "FailedCreate"}
)
# The kubelet's restart back-off: 10s, doubled per restart, at most 5 minutes.
BACKOFF_INITIAL_SECONDS = 10
BACKOFF_MAX_SECONDS = 300
MAX_MESSAGE_CHARS = 300
# Bounds on what is remembered: facts per pod, deleted pods, events.
MAX_FACTS_PER_POD = 64
MAX_REMEMBERED = 10_000
_BACKOFF = re.compile(r"back-off (\S+) restarting")
Obj = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Line:
    app: str
    message: str


@dataclass(slots=True)
class Changes:
    """What one input changed: lines to write, and counter deltas by (app, process)."""

    lines: list[Line] = field(default_factory=list)
    restarts: list[tuple[str, str, int]] = field(default_factory=list)
    oom_kills: list[tuple[str, str]] = field(default_factory=list)
    # (app, process) of pods seen for the first time: their counters start at 0,
    # so that the first restart or OOM kill is an increase, not a new series.
    processes: list[tuple[str, str]] = field(default_factory=list)
    # Objects that could not be used, by reason (counted, never fatal).
    skipped: list[str] = field(default_factory=list)

    def extend(self, other: Changes) -> None:
        self.lines.extend(other.lines)
        self.restarts.extend(other.restarts)
        self.oom_kills.extend(other.oom_kills)
        self.processes.extend(other.processes)
        self.skipped.extend(other.skipped)


@dataclass(frozen=True, slots=True)
class ContainerState:
    process: str
    waiting: str | None
    last_terminated: str | None


@dataclass(frozen=True, slots=True)
class PodState:
    app: str
    process: str
    phase: str
    containers: tuple[ContainerState, ...]


@dataclass(slots=True)
class _Pod:
    namespace: str
    name: str
    source: PodSource
    state: PodState
    facts: OrderedDict[tuple[str, ...], None] = field(default_factory=OrderedDict)
    restarts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Fact:
    key: tuple[str, ...]
    time: dt.datetime | None
    text: str
    container: str = ""
    oom: bool = False


class LifecycleMachine:
    """Namespaces, pods and events in; `Changes` out. `started_at` is when
    this watcher process started (UTC)."""

    def __init__(self, started_at: dt.datetime) -> None:
        self._since = started_at.astimezone(dt.UTC).replace(microsecond=0)
        self._managed: set[str] = set()
        self._pods: dict[str, _Pod] = {}
        # The latest object of pods in namespaces not (yet) managed, by uid:
        # the namespace watch may tell of a new app after its first pods.
        self._parked: dict[str, Obj] = {}
        self._deleted: OrderedDict[str, None] = OrderedDict()
        self._events: OrderedDict[str, int] = OrderedDict()

    # -- namespaces ----------------------------------------------------------------

    def namespaces_listed(self, items: Iterable[Obj]) -> Changes:
        managed = {_meta(item).get("name", "") for item in items if _is_managed(item)}
        changes = Changes()
        for name in managed - self._managed:
            changes.extend(self._manage(name))
        self._managed = managed
        return changes

    def namespace_changed(self, kind: str, namespace: Obj) -> Changes:
        name = _meta(namespace).get("name", "")
        if kind != "DELETED" and _is_managed(namespace):
            return self._manage(name) if name not in self._managed else Changes()
        self._managed.discard(name)  # its pods' own DELETED events follow
        return Changes()

    def _manage(self, name: str) -> Changes:
        self._managed.add(name)
        changes = Changes()
        for uid, pod in list(self._parked.items()):
            if _meta(pod).get("namespace") == name:
                del self._parked[uid]
                changes.extend(self.pod_changed("ADDED", pod))
        return changes

    # -- pods ----------------------------------------------------------------------

    def pods_listed(self, items: Iterable[Obj]) -> Changes:
        """A full list (at start, or after 410 Gone): a pod known before and
        missing now was deleted while the watch was down."""
        changes = Changes()
        listed: set[str] = set()
        for item in items:
            listed.add(_meta(item).get("uid", ""))
            changes.extend(self.pod_changed("ADDED", item))
        for uid in [uid for uid in self._parked if uid not in listed]:
            del self._parked[uid]
        for uid in [uid for uid in self._pods if uid not in listed]:
            changes.extend(self._delete(uid))
        return changes

    def pod_changed(self, kind: str, pod: Obj) -> Changes:
        try:
            return self._pod_changed(kind, pod)
        except (AttributeError, TypeError, ValueError):  # a malformed object
            return Changes(skipped=["invalid_object"])

    def _pod_changed(self, kind: str, pod: Obj) -> Changes:
        meta = _meta(pod)
        uid, namespace, name = meta.get("uid"), meta.get("namespace"), meta.get("name")
        if not (isinstance(uid, str) and isinstance(namespace, str) and isinstance(name, str)):
            return Changes(skipped=["invalid_object"])
        if kind == "DELETED":
            self._parked.pop(uid, None)
            return self._delete(uid)
        if uid in self._deleted:
            return Changes()  # a late copy of a pod already gone
        if namespace not in self._managed:
            self._parked[uid] = pod
            return Changes()
        labels = _str_map(meta.get("labels"))
        containers = _container_statuses(pod)
        first_container = _first_container(pod)
        source = pod_source(namespace, name, labels, first_container)
        if source is None:
            return Changes(skipped=["no_app"])
        record = self._pods.get(uid)
        new_pod = record is None
        if record is None:
            record = self._pods[uid] = _Pod(namespace, name, source, _pod_state(pod, source))
        record.source = source
        record.state = _pod_state(pod, source)
        changes = Changes()
        multi = len(_spec_containers(pod)) > 1
        created = _time(meta.get("creationTimestamp"))
        for fact in _pod_facts(pod, containers, multi):
            if fact.key in record.facts:
                continue
            record.facts[fact.key] = None
            if len(record.facts) > MAX_FACTS_PER_POD:
                record.facts.popitem(last=False)
            when = fact.time or created
            if when is not None and when < self._since:
                continue  # an earlier watcher wrote it
            changes.lines.append(Line(source.app, f"{source.name} {fact.text}"))
            if fact.oom:
                process = labels.get("type") or fact.container or source.process
                changes.oom_kills.append((source.app, process))
        # Restarts count from what this process saw: a pod first seen at
        # start is a baseline, a pod created since counts from zero.
        counts_from_zero = new_pod and created is not None and created >= self._since
        for status in containers:
            container = str(status.get("name", ""))
            if new_pod:
                changes.processes.append((source.app, labels.get("type") or container))
            count = _int(status.get("restartCount"))
            before = record.restarts.get(container)
            if before is None:
                before = 0 if counts_from_zero else count
            if count > before:
                process = labels.get("type") or container
                changes.restarts.append((source.app, process, count - before))
            record.restarts[container] = max(count, before)
        return changes

    def _delete(self, uid: str) -> Changes:
        record = self._pods.pop(uid, None)
        if uid in self._deleted or record is None:
            return Changes()
        _remember(self._deleted, uid)
        return Changes(lines=[Line(record.source.app, f"{record.source.name} deleted")])

    # -- events --------------------------------------------------------------------

    def events_listed(self, items: Iterable[Obj]) -> Changes:
        changes = Changes()
        for item in items:
            changes.extend(self.event_changed("ADDED", item))
        return changes

    def event_changed(self, kind: str, event: Obj) -> Changes:
        try:
            return self._event_changed(kind, event)
        except (AttributeError, TypeError, ValueError):  # a malformed object
            return Changes(skipped=["invalid_object"])

    def _event_changed(self, kind: str, event: Obj) -> Changes:
        if kind == "DELETED" or event.get("type") != "Warning":
            return Changes()
        reason = event.get("reason")
        involved = event.get("involvedObject") or {}
        if reason not in EVENT_REASONS or involved.get("kind") != "Pod":
            return Changes()
        if involved.get("namespace") not in self._managed:
            return Changes()
        uid = _meta(event).get("uid")
        if not isinstance(uid, str):
            return Changes(skipped=["invalid_object"])
        series = event.get("series") or {}
        count = _int(series.get("count") or event.get("count") or 1)
        if self._events.get(uid, 0) >= count:
            return Changes()
        _remember(self._events, uid, count)
        when = _time(
            series.get("lastObservedTime")
            or event.get("lastTimestamp")
            or event.get("eventTime")
            or event.get("firstTimestamp")
        )
        if when is not None and when < self._since:
            return Changes()
        record = self._pods.get(str(involved.get("uid", "")))
        if record is None:
            record = next(
                (
                    pod
                    for pod in self._pods.values()
                    if pod.namespace == involved.get("namespace")
                    and pod.name == involved.get("name")
                ),
                None,
            )
        if record is None:
            return Changes(skipped=["unknown_pod"])
        message = _clean(str(event.get("message") or ""))
        return Changes(lines=[Line(record.source.app, f"{record.source.name} {reason}: {message}")])

    # -- gauges --------------------------------------------------------------------

    def pod_states(self) -> Iterator[PodState]:
        """The pods of managed apps now (read at scrape time)."""
        return (pod.state for pod in list(self._pods.values()))


def _pod_facts(pod: Obj, containers: list[Obj], multi: bool) -> Iterator[_Fact]:
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") != "PodScheduled":
            continue
        when = _time(condition.get("lastTransitionTime"))
        stamp = str(condition.get("lastTransitionTime", ""))
        if condition.get("status") == "True" and spec.get("nodeName"):
            yield _Fact(("scheduled",), when, f"scheduled on {spec['nodeName']}")
        elif condition.get("status") == "False" and condition.get("reason") == "Unschedulable":
            message = _clean(str(condition.get("message") or "Unschedulable"))
            yield _Fact(("unschedulable", stamp), when, f"cannot be scheduled: {message}")
    restart_policy = spec.get("restartPolicy", "Always")
    for container in containers:
        yield from _container_facts(container, restart_policy, multi)


def _container_facts(status: Obj, restart_policy: str, multi: bool) -> Iterator[_Fact]:
    name = str(status.get("name", ""))
    count = _int(status.get("restartCount"))
    prefix = f"container {name} " if multi else ""
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated")
    running, waiting = state.get("running"), state.get("waiting")
    terminated = state.get("terminated")
    # The crash before the restart first, then the start, then a crash now.
    for ended, current in ((last, False), (None, False), (terminated, True)):
        if ended is None and not current and running is not None and running.get("startedAt"):
            when = _time(running.get("startedAt"))
            yield _Fact(("started", name, str(count)), when, f"{prefix}started", name)
        if not ended:
            continue
        reason = str(ended.get("reason") or "Terminated")
        code = _int(ended.get("exitCode"))
        text = f"{prefix}{reason} (exit {code})"
        if current:
            if restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0):
                text += f", restarting in {_backoff(count)}"
        elif waiting is not None and waiting.get("reason") == "CrashLoopBackOff":
            found = _BACKOFF.search(str(waiting.get("message") or ""))
            text += f", restarting in {found.group(1) if found else _backoff(count)}"
        elif running is not None:
            text += ", restarted"
        identity = str(ended.get("containerID") or ended.get("finishedAt") or count)
        when = _time(ended.get("finishedAt"))
        yield _Fact(("terminated", name, identity), when, text, name, reason == "OOMKilled")
    if waiting is None:
        return
    reason = waiting.get("reason")
    if reason == "CrashLoopBackOff" and count >= 1:
        when = _time((last or {}).get("finishedAt"))
        noun = "restart" if count == 1 else "restarts"
        yield _Fact(
            ("crashloop", name, str(count)), when, f"{prefix}CrashLoopBackOff after {count} {noun}"
        )
    elif reason in IMAGE_PULL_FAILURES:
        message = _clean(str(waiting.get("message") or reason))
        image = str(status.get("image", ""))
        yield _Fact(("image", name, image), None, f"{prefix}image pull failed: {message}")


def _pod_state(pod: Obj, source: PodSource) -> PodState:
    labels = _str_map(_meta(pod).get("labels"))
    phase = (pod.get("status") or {}).get("phase")
    containers = []
    for status in _container_statuses(pod):
        state = status.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        ended = state.get("terminated") or (status.get("lastState") or {}).get("terminated")
        containers.append(
            ContainerState(
                labels.get("type") or str(status.get("name", "")),
                _closed(waiting, WAITING_REASONS) if waiting else None,
                _closed(ended.get("reason"), TERMINATION_REASONS) if ended else None,
            )
        )
    return PodState(
        source.app,
        source.process,
        phase if phase in PHASES else "Unknown",
        tuple(containers),
    )


def _backoff(restart_count: int) -> str:
    seconds = BACKOFF_INITIAL_SECONDS * 2 ** min(restart_count, 10)
    seconds = min(seconds, BACKOFF_MAX_SECONDS)
    return f"{seconds // 60}m{seconds % 60}s" if seconds >= 60 else f"{seconds}s"


def _is_managed(namespace: Obj) -> bool:
    return _str_map(_meta(namespace).get("labels")).get(MANAGED_BY_LABEL) == MANAGED_BY


def _meta(item: Obj) -> Obj:
    meta = item.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _str_map(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(key): str(item) for key, item in value.items()}


def _container_statuses(pod: Obj) -> list[Obj]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return [status for status in statuses if isinstance(status, Mapping)]


def _spec_containers(pod: Obj) -> list[Obj]:
    containers = (pod.get("spec") or {}).get("containers") or []
    return [container for container in containers if isinstance(container, Mapping)]


def _first_container(pod: Obj) -> str:
    containers = _spec_containers(pod)
    return str(containers[0].get("name", "")) if containers else ""


def _closed(value: object, allowed: tuple[str, ...]) -> str:
    return value if isinstance(value, str) and value in allowed else "other"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _clean(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _remember(memory: OrderedDict[str, Any], key: str, value: Any = None) -> None:
    memory[key] = value
    memory.move_to_end(key)
    if len(memory) > MAX_REMEMBERED:
        memory.popitem(last=False)
