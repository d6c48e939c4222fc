"""Which app, process type and instance a pod's lines belong to.

The logger's routing rule itself (`logger.route_loop.pod_source`), applied
to a pod object: app `labels.app`, else the namespace; process type
`labels.type`, else the container name; instance the last `-` segment of
the pod name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from logger.route_loop import pod_source as routed_source


@dataclass(frozen=True, slots=True)
class PodSource:
    app: str
    process: str
    instance: str

    @property
    def name(self) -> str:
        """`web.x2x9z`, as the routing writes it in `shop[web.x2x9z]`."""
        return f"{self.process}.{self.instance}" if self.instance else self.process


def pod_source(
    namespace: str, pod_name: str, labels: Mapping[str, str], container: str
) -> PodSource | None:
    """The pod's source as routing derives it, or None when it has no valid app."""
    found = routed_source(labels.get("app"), namespace, labels.get("type"), container, pod_name)
    return None if found is None else PodSource(*found)
