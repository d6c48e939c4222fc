"""Which app, process type and instance a pod's lines belong to.

The same rule as the logger's routing of Fluent Bit records
(`logger.routing.Router._resolve_source`, where it is inlined in the hot
path): app `labels.app`, else the namespace; process type `labels.type`,
else the container name; instance the last `-` segment of the pod name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from logger.app_names import is_app_name
from logger.routing import DEFAULT_TAG_PROCESS


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
    app = labels.get("app") or namespace
    if not app or not is_app_name(app):
        return None
    process = labels.get("type") or container or DEFAULT_TAG_PROCESS
    instance = pod_name.rsplit("-", 1)[-1] if pod_name else ""
    return PodSource(app, process, instance)
