"""One resource, listed then watched, in a thread of its own (the client is synchronous).

The protocol, as the API reference's "Efficient detection of changes" has it:
list (in pages), then watch from the list's `resourceVersion` with
`allowWatchBookmarks`; every event and `BOOKMARK` moves the resourceVersion
on. A watch that ends (its `timeoutSeconds`, a dropped connection) resumes
from the last resourceVersion: nothing is lost and nothing replayed. An
`ERROR` event with a 410 `Status` (`Expired`: the version is older than the
server keeps) or a 410 answer starts over with a full list; the state
machine turns that list into only what changed. Failures back off
exponentially with full jitter, up to `backoff_max`.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kubernetes.client.rest import ApiException
from kubernetes.watch.watch import iter_resp_lines

from collectors.kubernetes.metrics import WatcherMetrics
from collectors.kubernetes.settings import WatcherSettings

log = logging.getLogger("collectors.kubernetes")
LIST_PAGE_SIZE = 500
# A watch that ends sooner than this, without an error, is retried with backoff.
MIN_WATCH_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class Listed:
    resource: str
    items: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Changed:
    resource: str
    kind: str
    obj: dict[str, Any]


Message = Listed | Changed


class Expired(Exception):
    """The resourceVersion is too old (410 Gone): list again."""


class WatchFailed(Exception):
    """The watch ended with an `ERROR` event other than 410."""


class ResourceStream:
    """`list_call` is a `CoreV1Api.list_*` method; `sink` takes each message
    (from this thread, in order)."""

    def __init__(
        self,
        resource: str,
        list_call: Callable[..., Any],
        settings: WatcherSettings,
        sink: Callable[[Message], None],
        metrics: WatcherMetrics,
        label_selector: str = "",
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.resource = resource
        self._list_call = list_call
        self._settings = settings
        self._sink = sink
        self._metrics = metrics
        self._selector = {"label_selector": label_selector} if label_selector else {}
        self._jitter = jitter
        self._stopped = threading.Event()
        self._response: Any = None
        self._lock = threading.Lock()
        self.resource_version: str | None = None

    def run(self) -> None:
        """Until `stop()`: list, watch, and start over as the protocol says."""
        failures = 0
        reason = "start"
        while not self._stopped.is_set():
            try:
                if self.resource_version is None:
                    self._list(reason)
                    failures = 0
                opened = time.monotonic()
                self._watch(self.resource_version or "")
                if time.monotonic() - opened < MIN_WATCH_SECONDS:
                    # Ended at once without an error (a proxy closing it): not in a hot loop.
                    failures = self._failed("closed_early", failures)
                else:
                    failures = 0  # the server ended the watch: resume from where it was
            except Expired:
                self.resource_version, reason = None, "expired"
            except ApiException as error:
                if error.status == 410:
                    self.resource_version, reason = None, "expired"
                    continue
                failures = self._failed(f"http_{error.status}", failures)
                reason = "error"
            except Exception as error:  # connection refused, reset, read timeout, bad JSON
                if self._stopped.is_set():
                    break
                failures = self._failed(type(error).__name__, failures)
                reason = "error"

    def stop(self) -> None:
        """Ends `run()` soon: unblocks a read in progress."""
        self._stopped.set()
        with self._lock:
            response = self._response
        if response is not None:
            response.shutdown()

    def _failed(self, error_type: str, failures: int) -> int:
        self._metrics.errors.labels(resource=self.resource, error_type=error_type).inc()
        ceiling = min(self._settings.backoff_max, self._settings.backoff_initial * 2**failures)
        delay = self._jitter(0.0, ceiling)
        log.warning("watching %s failed (%s); retrying in %.1fs", self.resource, error_type, delay)
        self._stopped.wait(delay)
        return min(failures + 1, 32)

    def _list(self, reason: str) -> None:
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = json.loads(
                self._open(limit=LIST_PAGE_SIZE, _continue=token or None).data or b"{}"
            )
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            token = metadata.get("continue") or ""
            if not token:
                break
        self._metrics.relists.labels(resource=self.resource, reason=reason).inc()
        self._sink(Listed(self.resource, items))
        self.resource_version = str(metadata.get("resourceVersion") or "")

    def _watch(self, resource_version: str) -> None:
        response = self._open(
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=int(self._settings.watch_timeout),
        )
        with self._lock:
            self._response = response
        try:
            for kind, obj in _events(response):
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Expired(obj.get("message", ""))
                    raise WatchFailed(f"{obj.get('code')} {obj.get('reason')}")
                if kind != "BOOKMARK":
                    self._sink(Changed(self.resource, kind, obj))
                if version:
                    self.resource_version = str(version)
        finally:
            with self._lock:
                self._response = None
            response.release_conn()

    def _open(self, **params: Any) -> Any:
        arguments = {key: value for key, value in params.items() if value is not None}
        return self._list_call(
            **self._selector,
            **arguments,
            _preload_content=False,
            _request_timeout=(self._settings.request_timeout, self._settings.request_timeout),
        )


def _events(response: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    for line in iter_resp_lines(response):
        if not line:
            continue
        event = json.loads(line)
        obj = event.get("object")
        if isinstance(event, dict) and isinstance(obj, dict):
            yield str(event.get("type", "")), obj
