"""The chart rendered offline by the Helm v4 library (helm-python-sdk: no
helm binary), as Kubernetes objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python
import yaml

from chartgen.assets import CHART

PROFILES = CHART / "profiles"
PROFILE_NAMES = ["defaults", *sorted(path.stem for path in PROFILES.glob("*.yaml"))]
# Profiles given together (`-f a.yaml -f b.yaml`), as docs/install.md shows.
COMBINED = "replicas-redis-quickwit+tls-cert-manager"
NAMESPACE = "workflow"
KUBE_VERSION = "v1.30.0"

Obj = dict[str, Any]


def merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Values files merged as Helm merges several -f files."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def profile_values(name: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for part in name.split("+"):
        if part != "defaults":
            values = merged(values, yaml.safe_load((PROFILES / f"{part}.yaml").read_text()))
    return values


class StrictLoader(yaml.SafeLoader):
    """Refuses a key given twice in one mapping, as the API server's YAML
    decoder does (PyYAML would keep the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(key, deep=deep) for key, _ in node.value]
        twice = {key for key in keys if keys.count(key) > 1}
        if twice:
            raise yaml.constructor.ConstructorError(
                None, None, f"keys given twice: {sorted(twice)}", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


def render(values: dict[str, Any] | None = None) -> list[Obj]:
    chart = helm_python.Chart.load(CHART)
    manifests = chart.render(values or {}, name="wf", namespace=NAMESPACE, is_install=True)
    objects: list[Obj] = []
    for _, text in sorted(manifests.items()):
        objects.extend(doc for doc in yaml.load_all(text, Loader=StrictLoader) if doc)
    return objects


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise AssertionError(
        f"no {kind} {name} in {[(o['kind'], o['metadata']['name']) for o in objects]}"
    )


def pod_specs(objects: list[Obj]) -> dict[str, Obj]:
    """Every workload's pod spec, by `Kind/name`."""
    return {
        f"{obj['kind']}/{obj['metadata']['name']}": obj["spec"]["template"]["spec"]
        for obj in objects
        if obj["kind"] in ("Deployment", "DaemonSet", "StatefulSet", "Job")
    }


def chart_file(relative: str) -> Path:
    return CHART / relative
