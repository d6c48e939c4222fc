"""The watcher's state machine, from recorded and scripted API objects: the
lines of each transition, none twice, none from before the watcher started."""

from __future__ import annotations

import datetime as dt

import msgspec

from collectors.kubernetes.identity import pod_source
from collectors.kubernetes.lifecycle import Changes, LifecycleMachine, Line
from logger.model import KubernetesMeta, PodLabels, Record
from logger.routing import Router
from tests.collectors.pods import PodScript, fixture, managed_namespace, warning_event

T0 = dt.datetime(2026, 11, 22, 9, 59, tzinfo=dt.UTC)


def machine(started_at: dt.datetime = T0, *namespaces: str) -> LifecycleMachine:
    lifecycle = LifecycleMachine(started_at)
    lifecycle.namespaces_listed([managed_namespace(name) for name in namespaces or ("shop",)])
    return lifecycle


def messages(changes: Changes) -> list[str]:
    assert {line.app for line in changes.lines} <= {"shop", "cart"}
    return [line.message for line in changes.lines]


def test_the_recorded_pod_says_where_it_runs_and_why_it_restarts() -> None:
    lifecycle = machine()
    changes = lifecycle.pods_listed([fixture("pod.json")])
    assert changes.lines == [
        Line("shop", "web.x2x9z scheduled on node-1"),
        Line("shop", "web.x2x9z OOMKilled (exit 137), restarting in 40s"),
        Line("shop", "web.x2x9z CrashLoopBackOff after 2 restarts"),
    ]
    assert changes.oom_kills == [("shop", "web")]
    # Created after the watcher started: its restarts count from zero.
    assert changes.restarts == [("shop", "web", 2)]
    assert changes.processes == [("shop", "web")]
    states = list(lifecycle.pod_states())
    assert [(state.app, state.process, state.phase) for state in states] == [
        ("shop", "web", "Running")
    ]
    assert states[0].containers[0].waiting == "CrashLoopBackOff"
    assert states[0].containers[0].last_terminated == "OOMKilled"


def test_a_relist_of_the_same_state_writes_nothing() -> None:
    lifecycle = machine()
    pod = fixture("pod.json")
    assert lifecycle.pods_listed([pod]).lines
    again = lifecycle.pods_listed([pod])
    assert again == Changes()
    assert lifecycle.pod_changed("MODIFIED", pod) == Changes()


def test_a_restarted_watcher_writes_nothing_the_objects_say_happened_before() -> None:
    lifecycle = machine(dt.datetime(2026, 11, 22, 10, 5, 0, 400_000, tzinfo=dt.UTC))
    changes = lifecycle.pods_listed([fixture("pod.json")])
    # Restarts are a baseline, lines were written before; the counters start at 0.
    assert changes == Changes(processes=[("shop", "web")])
    pod = fixture("pod.json")
    status = pod["status"]["containerStatuses"][0]
    status["restartCount"] = 3
    status["lastState"] = {}
    status["state"] = {"running": {"startedAt": "2026-11-22T10:05:00Z"}}  # same second
    assert messages(lifecycle.pod_changed("MODIFIED", pod)) == ["web.x2x9z started"]


def test_a_whole_life_in_order() -> None:
    start = T0 + dt.timedelta(minutes=1)
    script = PodScript("shop", "web", "x2x9z", start)
    lifecycle = machine()
    seen: list[str] = []
    oom = restarts = 0
    states = [
        script.snapshot(),
        script.scheduled(),
        script.creating(),
        script.running(),
        script.terminated("OOMKilled", 137),
        script.back_off(),
        script.restarted(),
        script.terminated("OOMKilled", 137),
        script.back_off(),
        script.restarted(),
        script.terminated("Error", 1),
        script.back_off(),
    ]
    for state in states:
        changes = lifecycle.pod_changed("MODIFIED", state)
        seen += messages(changes)
        oom += len(changes.oom_kills)
        restarts += sum(count for _, _, count in changes.restarts)
    seen += messages(lifecycle.pod_changed("MODIFIED", script.deleting()))
    seen += messages(lifecycle.pod_changed("DELETED", script.deleting()))
    assert seen == [
        "web.x2x9z scheduled on node-1",
        "web.x2x9z started",
        "web.x2x9z OOMKilled (exit 137), restarting in 10s",
        "web.x2x9z started",
        "web.x2x9z OOMKilled (exit 137), restarting in 20s",
        "web.x2x9z CrashLoopBackOff after 1 restart",
        "web.x2x9z started",
        "web.x2x9z Error (exit 1), restarting in 40s",
        "web.x2x9z CrashLoopBackOff after 2 restarts",
        "web.x2x9z deleted",
    ]
    assert (oom, restarts) == (2, 2)
    assert list(lifecycle.pod_states()) == []
    # Every state again, as a re-list would give them: nothing new.
    for state in states:
        assert lifecycle.pod_changed("MODIFIED", state).lines == []


def test_a_crash_seen_only_after_the_restart_says_so() -> None:
    script = PodScript("shop", "web", "x2x9z", T0 + dt.timedelta(minutes=1))
    lifecycle = machine()
    lifecycle.pod_changed("ADDED", script.scheduled())
    lifecycle.pod_changed("MODIFIED", script.running())
    script.terminated("OOMKilled", 137)
    script.back_off()
    changes = lifecycle.pod_changed("MODIFIED", script.restarted())  # two states missed
    assert messages(changes) == ["web.x2x9z OOMKilled (exit 137), restarted", "web.x2x9z started"]
    assert changes.oom_kills == [("shop", "web")]
    assert changes.restarts == [("shop", "web", 1)]


def test_image_pull_failure_and_unschedulable_once_each() -> None:
    script = PodScript("shop", "worker", "a1b2c", T0 + dt.timedelta(minutes=1))
    lifecycle = machine()
    lines = messages(
        lifecycle.pod_changed("ADDED", script.unschedulable("0/3 nodes are available"))
    )
    lifecycle.pod_changed("MODIFIED", script.scheduled())
    pull = 'failed to pull and unpack image "registry.example.com/shop/web:v7": not found'
    for reason in ("ErrImagePull", "ImagePullBackOff", "ErrImagePull"):
        lines += messages(lifecycle.pod_changed("MODIFIED", script.image_pull_failed(reason, pull)))
    assert lines == [
        "worker.a1b2c cannot be scheduled: 0/3 nodes are available",
        f"worker.a1b2c image pull failed: {pull}",
    ]
    [state] = lifecycle.pod_states()
    assert (state.phase, state.containers[0].waiting) == ("Pending", "ErrImagePull")


def test_a_pod_missing_from_a_relist_was_deleted() -> None:
    lifecycle = machine()
    gone = PodScript("shop", "web", "aaaaa", T0).scheduled()
    kept = PodScript("shop", "web", "bbbbb", T0).scheduled()
    lifecycle.pods_listed([gone, kept])
    assert messages(lifecycle.pods_listed([kept])) == ["web.aaaaa deleted"]
    assert lifecycle.pod_changed("DELETED", gone) == Changes()  # told once
    assert lifecycle.pod_changed("MODIFIED", gone) == Changes()  # a late copy


def test_pods_of_unmanaged_namespaces_are_kept_aside_until_theirs_is_managed() -> None:
    lifecycle = LifecycleMachine(T0)
    pod = PodScript("cart", "web", "ccccc", T0).scheduled()
    other = PodScript("kube-system", "dns", "ddddd", T0).scheduled()
    assert lifecycle.pods_listed([pod, other]) == Changes()
    changes = lifecycle.namespace_changed("ADDED", managed_namespace("cart"))
    assert changes.lines == [Line("cart", "web.ccccc scheduled on node-1")]
    foreign = managed_namespace("kube-system")
    foreign["metadata"]["labels"] = {}
    assert lifecycle.namespace_changed("ADDED", foreign) == Changes()


def test_warning_events_once_per_count() -> None:
    lifecycle = machine()
    pod = fixture("pod.json")
    lifecycle.pods_listed([pod])
    event = fixture("event.json")
    expected = (
        'web.x2x9z Unhealthy: Readiness probe failed: Get "http://10.244.1.17:5000/healthz": '
        "dial tcp 10.244.1.17:5000: connect: connection refused"
    )
    assert messages(lifecycle.events_listed([event])) == [expected]
    assert lifecycle.event_changed("MODIFIED", event) == Changes()
    event["count"] = 6
    assert messages(lifecycle.event_changed("MODIFIED", event)) == [expected]
    normal = warning_event(pod, "Pulled", "Successfully pulled image", 1, T0)
    normal["type"] = "Normal"
    assert lifecycle.event_changed("ADDED", normal) == Changes()
    stray = warning_event(PodScript("shop", "web", "zzzzz", T0).pod, "Unhealthy", "x", 1, T0)
    assert lifecycle.event_changed("ADDED", stray).skipped == ["unknown_pod"]


def test_a_sidecar_is_named_and_counted_under_its_container() -> None:
    lifecycle = machine()
    pod = fixture("pod.json")
    pod["metadata"]["labels"].pop("type")
    sidecar = {**pod["spec"]["containers"][0], "name": "proxy"}
    pod["spec"]["containers"].append(sidecar)
    status = pod["status"]["containerStatuses"][0]
    pod["status"]["containerStatuses"].append(
        {**status, "name": "proxy", "restartCount": 0, "lastState": {},
         "state": {"running": {"startedAt": "2026-11-22T10:00:02Z"}}}
    )  # fmt: skip
    changes = lifecycle.pods_listed([pod])
    assert messages(changes) == [
        "shop-web.x2x9z scheduled on node-1",
        "shop-web.x2x9z container shop-web OOMKilled (exit 137), restarting in 40s",
        "shop-web.x2x9z container shop-web CrashLoopBackOff after 2 restarts",
        "shop-web.x2x9z container proxy started",
    ]
    assert changes.oom_kills == [("shop", "shop-web")]
    [state] = lifecycle.pod_states()
    assert [container.process for container in state.containers] == ["shop-web", "proxy"]


def test_bad_objects_are_counted_not_fatal() -> None:
    lifecycle = machine()
    assert lifecycle.pod_changed("ADDED", {"metadata": {"name": 3}}).skipped == ["invalid_object"]
    pod = fixture("pod.json")
    pod["metadata"]["labels"]["app"] = "not an app/name"
    assert lifecycle.pod_changed("ADDED", pod).skipped == ["no_app"]
    pod = fixture("pod.json")
    pod["status"]["conditions"] = "none"
    assert lifecycle.pod_changed("ADDED", pod).skipped == ["invalid_object"]
    # Odd values in a usable object: it is used, they count as absent.
    pod = fixture("pod.json")
    pod["status"]["containerStatuses"][0]["restartCount"] = "many"
    pod["metadata"]["creationTimestamp"] = "yesterday"
    changes = lifecycle.pod_changed("ADDED", pod)
    assert changes.skipped == []
    assert "web.x2x9z CrashLoopBackOff after 2 restarts" not in messages(changes)
    assert "web.x2x9z scheduled on node-1" in messages(changes)


def test_the_source_is_the_routing_rule() -> None:
    """The same app, process type and instance as the logger's routing gives
    a Fluent Bit record of the same pod."""
    router = Router(16 << 10)
    cases = [
        ("shop", "shop-web-6c9f8d7b5d-x2x9z", {"app": "shop", "type": "web"}, "shop-web"),
        ("shop", "shop-web-6c9f8d7b5d-x2x9z", {}, "shop-web"),
        ("cart", "single", {"type": "worker"}, "c"),
    ]
    for namespace, pod_name, labels, container in cases:
        meta = KubernetesMeta(
            namespace_name=namespace,
            pod_name=pod_name,
            container_name=container,
            labels=PodLabels(app=labels.get("app"), type=labels.get("type")),
        )
        source = pod_source(namespace, pod_name, labels, container)
        assert source is not None
        record = Record(log="hello", kubernetes=msgspec.Raw(msgspec.msgpack.encode(meta)))
        [line] = router.route("kube.var.log", [(1_800_000_000, record)]).lines[source.app]
        assert line.decode().endswith(f" {source.app}[{source.name}]: hello")
