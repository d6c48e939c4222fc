"""STAND-IN part: list and watch of a collection, as the Kubernetes API server does it.

Not Kubernetes. Written from the API reference's "API concepts" page
(https://kubernetes.io/docs/reference/using-api/api-concepts/): "Efficient
detection of changes", "Watch bookmarks", "Resource versions" and the 410
handling there:

- a list answers `{kind: <Kind>List, apiVersion, metadata: {resourceVersion}, items}`,
  items without kind and apiVersion, as the API server sends them;
- `?watch=1` answers 200 with a chunked stream of JSON lines
  `{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...}`, starting
  after the `resourceVersion` given (or with synthetic ADDED events of every
  object when none or "0" is given), ending after `timeoutSeconds`;
- a `resourceVersion` older than the kept history (`compact()`) gets one
  `ERROR` event with a `Status` of code 410, reason `Expired`, then the end;
- `allowWatchBookmarks=true` watches get `BOOKMARK` events (`bookmark()`)
  whose object holds only kind, apiVersion and `metadata.resourceVersion`;
- `labelSelector` and `fieldSelector` with `key=value` and `key!=value` terms.

Every change takes the next integer of one shared resourceVersion counter
(the API server's is etcd's revision; clients must treat it as opaque).
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Obj = dict[str, Any]


@dataclass
class _Watch:
    resource: str
    matches: Callable[[Obj], bool]
    bookmarks: bool
    queue: asyncio.Queue[tuple[str, Obj] | None] = field(default_factory=asyncio.Queue)


class ResourceVersions:
    """The counter every collection of the stand-in shares."""

    def __init__(self) -> None:
        self.value = 1

    def next(self) -> str:
        self.value += 1
        return str(self.value)


class Collection:
    """One resource (`pods`, `events`, `namespaces`): objects, history, watches."""

    def __init__(self, resource: str, kind: str, versions: ResourceVersions) -> None:
        self.resource = resource
        self.kind = kind
        self._versions = versions
        self.objects: dict[tuple[str, str], Obj] = {}
        self._history: list[tuple[int, str, Obj]] = []
        # Watches from a resourceVersion below this get 410 Expired.
        self._oldest = 0
        self._watches: list[_Watch] = []
        self.watch_requests = 0
        self.list_requests = 0
        # Seconds after which the server ends every watch, whatever the client
        # asked (0: at once, as a proxy cutting idle streams might).
        self.watch_limit: float | None = None

    # -- changes (what the tests script) --------------------------------------------

    def put(self, obj: Obj) -> Obj:
        """Create or replace an object; ADDED or MODIFIED to the watches."""
        obj = {key: value for key, value in obj.items() if key not in ("kind", "apiVersion")}
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        meta["resourceVersion"] = self._versions.next()
        kind = "MODIFIED" if key in self.objects else "ADDED"
        self.objects[key] = copy.deepcopy(obj)
        self._emit(kind, obj)
        return obj

    def delete(self, namespace: str, name: str) -> Obj | None:
        obj = self.objects.pop((namespace, name), None)
        if obj is not None:
            obj["metadata"]["resourceVersion"] = self._versions.next()
            self._emit("DELETED", obj)
        return obj

    def compact(self) -> None:
        """Forget the history: a watch from any version seen so far gets 410."""
        self._history.clear()
        self._oldest = self._versions.value + 1

    def drop_watches(self) -> None:
        """Cut every open watch connection, as a restarted API server would."""
        for watch in self._watches:
            watch.queue.put_nowait(None)

    def bookmark(self) -> None:
        """A BOOKMARK to every watch that allowed them, at the current version."""
        version = str(self._versions.value)
        for watch in self._watches:
            if watch.bookmarks:
                mark: Obj = {
                    "kind": self.kind,
                    "apiVersion": "v1",
                    "metadata": {"resourceVersion": version},
                }
                watch.queue.put_nowait(("BOOKMARK", mark))

    def _emit(self, kind: str, obj: Obj) -> None:
        snapshot = self.full(obj)
        self._history.append((int(obj["metadata"]["resourceVersion"]), kind, snapshot))
        for watch in self._watches:
            if watch.matches(snapshot):
                watch.queue.put_nowait((kind, snapshot))

    def full(self, obj: Obj) -> Obj:
        return {"kind": self.kind, "apiVersion": "v1", **copy.deepcopy(obj)}

    # -- the HTTP side --------------------------------------------------------------

    async def handle(self, request: web.Request, namespace: str = "") -> web.StreamResponse:
        matches = _selector(request, namespace)
        if _flag(request.query.get("watch")):
            return await self._watch(request, matches)
        self.list_requests += 1
        items = [copy.deepcopy(obj) for obj in self.objects.values() if matches(self.full(obj))]
        return web.json_response(
            {
                "kind": f"{self.kind}List",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": str(self._versions.value)},
                "items": items,
            }
        )

    async def _watch(
        self, request: web.Request, matches: Callable[[Obj], bool]
    ) -> web.StreamResponse:
        self.watch_requests += 1
        version = request.query.get("resourceVersion", "")
        timeout = float(request.query.get("timeoutSeconds", "1800"))
        if self.watch_limit is not None:
            timeout = min(timeout, self.watch_limit)
        bookmarks = _flag(request.query.get("allowWatchBookmarks"))
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if version not in ("", "0") and int(version) < self._oldest:
            await _send(response, "ERROR", expired(version, self._oldest))
            await response.write_eof()
            return response
        watch = _Watch(self.resource, matches, bookmarks)
        for kind, obj in self._start(version, matches):
            watch.queue.put_nowait((kind, obj))
        self._watches.append(watch)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(watch.queue.get(), remaining)
                except TimeoutError:
                    break
                if item is None:  # dropped: no clean end of the chunked body
                    if request.transport is not None:
                        request.transport.abort()
                    return response
                await _send(response, *item)
        finally:
            self._watches.remove(watch)
        await response.write_eof()
        return response

    def _start(self, version: str, matches: Callable[[Obj], bool]) -> Iterator[tuple[str, Obj]]:
        if version in ("", "0"):
            for obj in self.objects.values():
                full = self.full(obj)
                if matches(full):
                    yield "ADDED", full
            return
        for number, kind, obj in self._history:
            if number > int(version) and matches(obj):
                yield kind, obj


def _flag(value: str | None) -> bool:
    """A boolean query parameter, as the API server's strconv.ParseBool reads it."""
    return value in ("1", "t", "T", "true", "TRUE", "True")


def expired(version: str, oldest: int) -> Obj:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: {version} ({oldest})",
        "reason": "Expired",
        "code": 410,
    }


async def _send(response: web.StreamResponse, kind: str, obj: Obj) -> None:
    await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")


def _selector(request: web.Request, namespace: str) -> Callable[[Obj], bool]:
    terms: list[tuple[str, str, bool, bool]] = []  # (key, value, equal, is_label)
    for parameter, is_label in (("labelSelector", True), ("fieldSelector", False)):
        for term in filter(None, request.query.get(parameter, "").split(",")):
            equal = "!=" not in term
            key, value = term.split("!=" if not equal else "=", 1)
            terms.append((key.rstrip("="), value, equal, is_label))
    if namespace:
        terms.append(("metadata.namespace", namespace, True, False))

    def matches(obj: Obj) -> bool:
        for key, value, equal, is_label in terms:
            labels = obj["metadata"].get("labels") or {}
            actual = labels.get(key) if is_label else _field(obj, key)
            if (actual == value) != equal:
                return False
        return True

    return matches


def _field(obj: Obj, path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
