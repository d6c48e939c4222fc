"""STAND-IN for the Kubernetes API server: namespaces, pods and events.

Not Kubernetes. There is no API server on the machines the tests run on, so
this aiohttp server implements the few core/v1 endpoints the controller and
the Kubernetes watcher call, with the shapes the Kubernetes API reference gives
(https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/namespace-v1/,
.../workload-resources/pod-v1/, .../cluster-resources/event-v1/ and the
`Status` kind in .../common-definitions/status/):

    GET    /api/v1/namespaces           -> 200 NamespaceList (or ?watch=1)
    POST   /api/v1/namespaces           -> 201 Namespace | 409 Status(AlreadyExists)
                                           | 422 Status(Invalid)
    GET    /api/v1/namespaces/{name}    -> 200 Namespace | 404 Status(NotFound)
    DELETE /api/v1/namespaces/{name}    -> 200 Namespace (status.phase Terminating)
                                           | 404 Status(NotFound)
    GET    /api/v1/pods, /api/v1/namespaces/{ns}/pods       -> PodList (or ?watch=1)
    GET    /api/v1/events, /api/v1/namespaces/{ns}/events   -> EventList (or ?watch=1)

Lists and watches follow `tests.standins.kubernetes_watch` (resourceVersion,
BOOKMARK, 410 Expired). Pods and events are scripted by the tests
(`pods.put`, `pods.delete`, `events.put`); `tests/fixtures/kubernetes/` holds
a Pod and an Event as a real API server returns them, and the stand-in's
test checks its objects have their shape.

A deleted namespace stays readable with `status.phase: Terminating` for
`terminating_seconds` and then answers 404, as a real one does while its
finalizers run. The real `kubernetes` client talks to it unchanged.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.standins.kubernetes_watch import Collection, ResourceVersions

DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def status(code: int, reason: str, message: str, name: str | None = None) -> web.Response:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if name is not None:
        body["details"] = {"name": name, "kind": "namespaces"}
    return web.json_response(body, status=code)


class KubernetesStandIn:
    def __init__(
        self, terminating_seconds: float = 0.5, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.terminating_seconds = terminating_seconds
        self._clock = clock
        self.versions = ResourceVersions()
        self.namespace_objects = Collection("namespaces", "Namespace", self.versions)
        self.pods = Collection("pods", "Pod", self.versions)
        self.events = Collection("events", "Event", self.versions)
        # When each deleted namespace disappears.
        self._gone_at: dict[str, float] = {}
        self.requests: list[tuple[str, str]] = []
        self.app = web.Application(middlewares=[self._record])
        self.app.router.add_get("/api/v1/namespaces", self.list_namespaces)
        self.app.router.add_post("/api/v1/namespaces", self.create_namespace)
        self.app.router.add_get("/api/v1/namespaces/{name}", self.read_namespace)
        self.app.router.add_delete("/api/v1/namespaces/{name}", self.delete_namespace)
        for collection in (self.pods, self.events):
            self.app.router.add_get(f"/api/v1/{collection.resource}", self._lister(collection))
            self.app.router.add_get(
                f"/api/v1/namespaces/{{namespace}}/{collection.resource}",
                self._lister(collection),
            )

    @property
    def namespaces(self) -> dict[str, dict[str, Any]]:
        """The namespaces now, by name (the stored objects themselves)."""
        return {name: obj for (_, name), obj in self.namespace_objects.objects.items()}

    def _lister(self, collection: Collection) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await collection.handle(request, request.match_info.get("namespace", ""))

        return handle

    def add_foreign(self, name: str, labels: dict[str, str] | None = None) -> None:
        """A namespace someone else made (not through the controller)."""
        self.namespace_objects.put(self._namespace(name, labels or {}))

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        response: web.StreamResponse = await handler(request)
        return response

    def _expire(self) -> None:
        now = self._clock()
        for name, gone_at in list(self._gone_at.items()):
            if now >= gone_at:
                del self._gone_at[name]
                self.namespace_objects.delete("", name)

    def _namespace(self, name: str, labels: dict[str, str]) -> dict[str, Any]:
        return {
            "metadata": {
                "name": name,
                "uid": str(uuid.uuid4()),
                "resourceVersion": "1",
                "creationTimestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "labels": {"kubernetes.io/metadata.name": name, **labels},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }

    async def list_namespaces(self, request: web.Request) -> web.StreamResponse:
        self._expire()
        return await self.namespace_objects.handle(request)

    async def create_namespace(self, request: web.Request) -> web.Response:
        self._expire()
        body = await request.json()
        metadata = body.get("metadata") or {}
        name = metadata.get("name", "")
        if body.get("kind") not in (None, "Namespace") or not DNS_LABEL.fullmatch(name):
            return status(422, "Invalid", f'Namespace "{name}" is invalid', name)
        if name in self.namespaces:
            return status(409, "AlreadyExists", f'namespaces "{name}" already exists', name)
        namespace = self.namespace_objects.put(
            self._namespace(name, dict(metadata.get("labels") or {}))
        )
        return web.json_response(self.namespace_objects.full(namespace), status=201)

    async def read_namespace(self, request: web.Request) -> web.Response:
        self._expire()
        name = request.match_info["name"]
        if name not in self.namespaces:
            return status(404, "NotFound", f'namespaces "{name}" not found', name)
        return web.json_response(self.namespace_objects.full(self.namespaces[name]))

    async def delete_namespace(self, request: web.Request) -> web.Response:
        self._expire()
        name = request.match_info["name"]
        namespace = self.namespaces.get(name)
        if namespace is None:
            return status(404, "NotFound", f'namespaces "{name}" not found', name)
        if name not in self._gone_at:
            namespace["status"] = {"phase": "Terminating"}
            namespace["metadata"]["deletionTimestamp"] = time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime()
            )
            self._gone_at[name] = self._clock() + self.terminating_seconds
            self.namespace_objects.put(namespace)
        return web.json_response(self.namespace_objects.full(namespace))
