"""From decoded records to stored lines, grouped by app.

App: `kubernetes.labels.app`, else `kubernetes.namespace_name`, else the tag
convention `app.<name>[.<proc>]`. Process type: `kubernetes.labels.type`,
else the container name; instance: the last segment of the pod name.

This loop runs once per ingested record, so it keeps per-record work to a
few attribute reads and one string format: the source label (`shop[web.x2x9z]: `)
is cached per pod and container, the timestamp's seconds part per second.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from logger.errors import InvalidEntry
from logger.forward.protocol import event_time_ns
from logger.lines import encode_text, source_label, split_message, stream_marker
from logger.model import Entry

TAG_PREFIX = "app."
DEFAULT_TAG_PROCESS = "app"
_SOURCE_CACHE_LIMIT = 65_536
# Cached for records that have no app, so they are not resolved again.
_NO_APP = ("", "")
# App names become URL path segments and line prefixes: no brackets, spaces or slashes.
APP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


@dataclass(slots=True)
class RoutedBatch:
    """One frame's lines per app, and what could not be routed."""

    lines: dict[str, list[bytes]] = field(default_factory=dict)
    accepted: int = 0
    invalid_time: int = 0
    no_app: int = 0
    split: int = 0


class Router:
    """Turns entries into stored lines (see `logger.lines`)."""

    def __init__(self, max_line_bytes: int) -> None:
        self._max_line_bytes = max_line_bytes
        self._sources: dict[tuple[str | None, ...], tuple[str, str]] = {}
        self._second = -1
        self._second_text = ""

    def route(self, tag: str, entries: list[Entry]) -> RoutedBatch:
        batch = RoutedBatch()
        by_app = batch.lines
        sources = self._sources
        for raw_time, record in entries:
            try:
                epoch_ns = event_time_ns(raw_time)
            except InvalidEntry:
                batch.invalid_time += 1
                continue
            meta = record.kubernetes
            if meta is None:
                key: tuple[str | None, ...] = (tag,)
            else:
                labels = meta.labels
                if labels is None:
                    key = (meta.pod_name, meta.container_name, meta.namespace_name, None, None, tag)
                else:
                    key = (
                        meta.pod_name,
                        meta.container_name,
                        meta.namespace_name,
                        labels.app,
                        labels.type,
                        tag,
                    )
            source = sources.get(key)
            if source is None:
                source = self._resolve_source(key, tag, meta is not None)
            if source is _NO_APP:
                batch.no_app += 1
                continue
            app, label = source
            message = record.log if record.log is not None else record.message
            if message and message[-1] == "\n":
                message = message[:-2] if message.endswith("\r\n") else message[:-1]
            seconds, nanos = divmod(epoch_ns, 1_000_000_000)
            if seconds != self._second:
                self._second = seconds
                self._second_text = (
                    f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%dT%H:%M:%S}"
                )
            line = f"{self._second_text}.{nanos // 1000:06d}+00:00 {label}{message}"
            encoded = stream_marker(record.stream) + encode_text(line)
            lines = by_app.get(app)
            if lines is None:
                lines = by_app[app] = []
            if len(encoded) - len(label) > self._max_line_bytes + 34:
                pieces = self._split(encoded, label)
                batch.split += len(pieces) - 1
                lines.extend(pieces)
            else:
                lines.append(encoded)
            batch.accepted += 1
        return batch

    def _split(self, encoded: bytes, label: str) -> list[bytes]:
        # marker (1) + timestamp (32) + space (1) + label, then the message.
        head_length = 34 + len(label.encode())
        head = encoded[:head_length]
        return [
            head + piece for piece in split_message(encoded[head_length:], self._max_line_bytes)
        ]

    def _resolve_source(
        self, key: tuple[str | None, ...], tag: str, has_meta: bool
    ) -> tuple[str, str]:
        source: tuple[str, str]
        if has_meta:
            pod_name, container, namespace, app_label, type_label, _ = key
            app = app_label or namespace
            if app and APP_NAME.fullmatch(app):
                process = type_label or container or DEFAULT_TAG_PROCESS
                instance = pod_name.rsplit("-", 1)[-1] if pod_name else ""
                source = (app, source_label(app, process, instance))
            else:
                source = _source_from_tag(tag)
        else:
            source = _source_from_tag(tag)
        if len(self._sources) >= _SOURCE_CACHE_LIMIT:
            self._sources.clear()  # pods come and go; start over rather than grow
        self._sources[key] = source
        return source


def _source_from_tag(tag: str) -> tuple[str, str]:
    """`app.shop.web` -> shop[web]; `app.shop` -> shop[app]; anything else: no app."""
    if not tag.startswith(TAG_PREFIX):
        return _NO_APP
    app, _, process = tag[len(TAG_PREFIX) :].partition(".")
    if not APP_NAME.fullmatch(app):
        return _NO_APP
    return app, source_label(app, process or DEFAULT_TAG_PROCESS, "")
