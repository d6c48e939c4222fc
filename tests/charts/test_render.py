"""Every profile renders through the Helm v4 library, every object is valid
against the Kubernetes schemas (strict: no unknown field), and `helm lint`
is clean."""

from __future__ import annotations

import helm_python
import kubernetes_validate
import pytest
import yaml

from chartgen.assets import CHART, ROOT
from tests.charts.chart import (
    COMBINED,
    KUBE_VERSION,
    PROFILE_NAMES,
    StrictLoader,
    find,
    profile_values,
    render,
)

# Kinds of CRDs (VictoriaMetrics operator, cert-manager): kubernetes-validate
# carries only the built-in schemas, so these are checked by their own tests.
CRD_KINDS = {"VMRule", "VMServiceScrape", "Certificate"}
SCHEMA_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]


@pytest.mark.parametrize("profile", [*PROFILE_NAMES, COMBINED])
def test_every_object_is_valid_kubernetes(profile: str) -> None:
    skipped: set[str] = set()
    objects = render(profile_values(profile))
    assert len(objects) > 10
    for obj in objects:
        for version in SCHEMA_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                skipped.add(obj["kind"])
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} ({version}): {error}")
    assert skipped <= CRD_KINDS


def test_a_strict_validation_can_fail() -> None:
    """So that the test above can fail: an unknown field is refused."""
    deployment = find(render(), "Deployment", "workflow-logger")
    deployment["spec"]["template"]["spec"]["containers"][0]["envFrm"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.30.0", strict=True)


@pytest.mark.parametrize("profile", [*PROFILE_NAMES, COMBINED])
def test_helm_lint_is_clean(profile: str) -> None:
    report = helm_python.lint(
        CHART, profile_values(profile), strict=True, kube_version=KUBE_VERSION
    )
    assert report["errors"] == []
    # Severity 1 is "info" (Chart.yaml has no icon); warnings and errors fail.
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_helm_lint_reports_a_value_of_the_wrong_type() -> None:
    """So that the lint test can fail. (Helm's lint mode turns a template's
    `fail` into a log line, so the chart's own checks are tested by render.)"""
    report = helm_python.lint(CHART, {"logger": {"replicas": "x"}}, kube_version=KUBE_VERSION)
    assert any("/logger/replicas" in error for error in report["errors"])


def test_profiles_install_what_they_promise() -> None:
    replicas = render(profile_values("replicas-redis-quickwit"))
    logger = find(replicas, "Deployment", "workflow-logger")
    assert logger["spec"]["replicas"] == 3
    find(replicas, "StatefulSet", "workflow-redis")
    env = {e["name"]: e for e in logger["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["WF_QUICKWIT_URL"]["value"].startswith("http://quickwit")
    assert env["WF_REDIS_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "workflow-redis",
        "key": "url",
    }
    assert not [o for o in replicas if o["kind"] == "PersistentVolumeClaim"]

    single = render(profile_values("single-node"))
    assert find(single, "Deployment", "workflow-logger")["spec"]["replicas"] == 1
    find(single, "PersistentVolumeClaim", "workflow-logger-history")
    assert not [o for o in single if o["kind"] == "StatefulSet"]

    tls = render(profile_values("tls-cert-manager"))
    certificate = find(tls, "Certificate", "workflow-logger")
    assert certificate["spec"]["secretName"] == "workflow-logger-tls"
    assert "workflow-logger.workflow.svc" in certificate["spec"]["dnsNames"]
    assert certificate["spec"]["issuerRef"]["name"] == "workflow-ca"


def test_the_migrations_run_as_a_hook_before_install_and_upgrade() -> None:
    job = find(render(), "Job", "workflow-controller-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]


def test_a_key_given_twice_is_refused() -> None:
    """render() reads the manifests as the API server would: no key twice."""
    with pytest.raises(yaml.constructor.ConstructorError, match="given twice"):
        yaml.load("labels:\n  a: x\n  a: y\n", Loader=StrictLoader)


def test_profiles_combine() -> None:
    objects = render(profile_values(COMBINED))
    assert find(objects, "Deployment", "workflow-logger")["spec"]["replicas"] == 3
    find(objects, "Certificate", "workflow-logger")


def test_the_install_docs_describe_every_profile() -> None:
    text = (ROOT / "docs" / "install.md").read_text()
    for profile in PROFILE_NAMES[1:]:
        assert f"| `{profile}.yaml`" in text, profile
