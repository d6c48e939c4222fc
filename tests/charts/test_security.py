"""Hardening of every workload, secrets only from Secrets, the settings the
chart sets are declared ones, and the NetworkPolicies' peers."""

from __future__ import annotations

import pytest

from controller.settings_catalog import all_settings
from tests.charts.chart import PROFILE_NAMES, Obj, find, pod_specs, profile_values, render

SECRET_VARIABLES = {
    "WF_FORWARD_SHARED_KEY",
    "WF_DATABASE_URL",
    "WF_SECRET_KEY",
    "WF_REDIS_URL",
    "FLUENT_BIT_SHARED_KEY",
    "REDIS_PASSWORD",
    "REDISCLI_AUTH",
}
# Needs the API: the controller (namespaces), Fluent Bit (its kubernetes
# filter), and the logger when the watcher runs in it.
API_CLIENTS = {"Deployment/workflow-controller", "DaemonSet/workflow-fluent-bit"}
ROOT_WORKLOADS = {"DaemonSet/workflow-fluent-bit"}  # the kubelet's log files are root's


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_container_is_hardened_and_bounded(profile: str) -> None:
    values = profile_values(profile)
    clients = set(API_CLIENTS)
    if values.get("watcher", {}).get("enabled", True):
        clients.add("Deployment/workflow-logger")
    for workload, spec in pod_specs(render(values)).items():
        assert spec["automountServiceAccountToken"] is (workload in clients), workload
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, workload
            assert context["readOnlyRootFilesystem"] is True, workload
            assert context["capabilities"] == {"drop": ["ALL"]}, workload
            assert set(container["resources"]) == {"requests", "limits"}, workload
            non_root = context.get("runAsNonRoot", spec["securityContext"].get("runAsNonRoot"))
            assert non_root is (workload not in ROOT_WORKLOADS), workload
            if not workload.startswith("Job/"):
                assert "livenessProbe" in container, workload
                assert "readinessProbe" in container, workload


def test_the_wf_services_are_probed_on_healthz_and_readyz() -> None:
    specs = pod_specs(render())
    for workload in ("Deployment/workflow-logger", "Deployment/workflow-controller"):
        container = specs[workload]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def environment(objects: list[Obj]) -> list[tuple[str, dict[str, object]]]:
    return [
        (workload, variable)
        for workload, spec in pod_specs(objects).items()
        for container in spec["containers"]
        for variable in container.get("env", [])
    ]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_secrets_come_from_secrets_only(profile: str) -> None:
    objects = render(profile_values(profile))
    seen = set()
    for workload, variable in environment(objects):
        if variable["name"] in SECRET_VARIABLES:
            seen.add(variable["name"])
            assert "value" not in variable, (workload, variable)
            assert "secretKeyRef" in variable["valueFrom"], (workload, variable)  # type: ignore[operator]
    assert {"WF_FORWARD_SHARED_KEY", "WF_DATABASE_URL", "WF_SECRET_KEY"} <= seen
    assert not [o for o in objects if o["kind"] == "Secret"]


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_the_wf_containers_set_declared_settings_only(profile: str) -> None:
    declared = {setting.variable for setting, _ in all_settings()}
    specs = pod_specs(render(profile_values(profile)))
    for workload, spec in specs.items():
        if not spec["containers"][0]["image"].startswith("ghcr.io/workflow-observability/wf"):
            continue
        for variable in spec["containers"][0]["env"]:
            name = variable["name"]
            assert name in declared or name == "XDG_STATE_HOME", (workload, name)


def peers(rule: Obj) -> list[str]:
    return [peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for peer in rule["from"]]


def test_the_logs_api_is_open_to_the_controller_and_forward_to_fluent_bit_and_it() -> None:
    policy = find(render(), "NetworkPolicy", "workflow-logger")
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    by_port = {rule["ports"][0]["port"]: rule for rule in policy["spec"]["ingress"]}
    assert set(by_port) == {"forward", "api"}
    assert peers(by_port["api"]) == ["workflow-controller"]
    # The controller writes its platform lines over the forward protocol too.
    assert peers(by_port["forward"]) == ["workflow-fluent-bit", "workflow-controller"]


def test_the_controller_runs_alone_and_sends_platform_lines_to_the_logger() -> None:
    deployment = find(render(), "Deployment", "workflow-controller")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["serve", "--no-logger"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["WF_FORWARD_URL"] == "tls://workflow-logger:24224"
    assert env["WF_FORWARD_CA_FILE"] == "/etc/workflow/forward-tls/ca.crt"
    assert env["WF_LOGGER_URL"] == "http://workflow-logger-api:8088"
    assert "WF_HISTORY" not in env


@pytest.mark.parametrize("profile", PROFILE_NAMES)
def test_every_service_is_cluster_internal(profile: str) -> None:
    services = [o for o in render(profile_values(profile)) if o["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} >= {
        "workflow-logger",
        "workflow-logger-api",
        "workflow-controller",
    }
    assert {s["spec"]["type"] for s in services} == {"ClusterIP"}


def test_redis_is_the_loggers_alone() -> None:
    objects = render(profile_values("replicas-redis-quickwit"))
    users = {workload for workload, v in environment(objects) if v["name"] == "WF_REDIS_URL"}
    assert users == {"Deployment/workflow-logger"}
    policy = find(objects, "NetworkPolicy", "workflow-redis")
    assert peers(policy["spec"]["ingress"][0]) == ["workflow-logger"]


def test_the_watcher_runs_in_the_logger_with_its_rbac() -> None:
    objects = render()
    logger = pod_specs(objects)["Deployment/workflow-logger"]
    env = {v["name"]: v.get("value") for v in logger["containers"][0]["env"]}
    assert env["WF_SCHEDULER"] == "kubernetes"
    binding = find(objects, "ClusterRoleBinding", "workflow-workflow-watcher")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "workflow-logger", "namespace": "workflow"}
    ]
    rules = find(objects, "ClusterRole", "workflow-workflow-watcher")["rules"]
    assert rules == [
        {
            "apiGroups": [""],
            "resources": ["namespaces", "pods", "events"],
            "verbs": ["get", "list", "watch"],
        }
    ]

    without = render({"watcher": {"enabled": False}})
    logger = pod_specs(without)["Deployment/workflow-logger"]
    env = {v["name"]: v.get("value") for v in logger["containers"][0]["env"]}
    assert env["WF_SCHEDULER"] == "none"
    assert not [o for o in without if o["metadata"]["name"] == "workflow-workflow-watcher"]


def test_pod_disruption_budgets_cover_the_services() -> None:
    objects = render(profile_values("replicas-redis-quickwit"))
    budgets = {o["metadata"]["name"] for o in objects if o["kind"] == "PodDisruptionBudget"}
    assert budgets == {"workflow-logger", "workflow-controller"}
