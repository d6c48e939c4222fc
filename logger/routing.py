"""From decoded records to stored lines, grouped by app.

App: `kubernetes.labels.app`, else `kubernetes.namespace_name`, else the tag
convention `app.<name>[.<proc>]`; the name must follow the one app-name rule
(`logger.app_names`), and a record whose only app name breaks it is counted
as unroutable with its own reason (`invalid_app_name`, not `no_app`).
Process type: `kubernetes.labels.type`, else the container name; instance:
the last segment of the pod name.

This loop runs once per ingested record, so it keeps per-record work to a
few attribute reads and one string format: the source label (`shop[web.x2x9z]: `)
is cached per pod and container, the timestamp's seconds part per second.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from msgspec.msgpack import Ext

from logger.app_metrics import ONE_LINE, AppLogCounter, StreamSlots
from logger.app_names import is_app_name
from logger.errors import InvalidEntry
from logger.forward.protocol import decode_kubernetes, event_time_ns
from logger.lines import (
    HEAD_LENGTH,
    NO_STREAM,
    STDERR,
    STDOUT,
    build_line,
    second_text,
    source_label,
    split_line,
)
from logger.model import Entry, PodLabels

TAG_PREFIX = "app."
DEFAULT_TAG_PROCESS = "app"
_SOURCE_CACHE_LIMIT = 65_536
_NO_SLOTS: StreamSlots = [0, 0, 0]
# Cached for records that have no app, or only an invalid app name, so they
# are not resolved again (both have app "", one truth test in the loop).
_NO_APP = ("", "", _NO_SLOTS)
_INVALID_APP = ("", "", [0, 0, 0])
_NO_LABELS = PodLabels()
# The stream marker byte in front of each stored line (see logger.lines), by
# the stream's index in logger.app_metrics.StreamSlots.
_MARKERS = (STDOUT.decode(), STDERR.decode(), NO_STREAM.decode())
_STREAM_INDEX: dict[str | None, int] = {"stdout": 0, "stderr": 1}
# First characters of a message that may start with a level token or be
# JSON with a level field (logger.app_metrics.detect_level decides).
_LEVEL_FIRST = frozenset("EWIDFCT{")
_EVENT_TIME = struct.Struct(">II")


@dataclass(slots=True)
class RoutedBatch:
    """One frame's lines per app, and what could not be routed.

    `level_lines` holds (app, line) for the lines whose message may carry a
    level, for `AppLogCounter.add_levels` once they are stored. `no_app`
    counts every record that could not be routed, `invalid_app_name` those of
    them whose app name breaks the rule.
    """

    lines: dict[str, list[bytes]] = field(default_factory=dict)
    level_lines: list[tuple[str, bytes]] = field(default_factory=list)
    accepted: int = 0
    invalid_time: int = 0
    no_app: int = 0
    invalid_app_name: int = 0
    split: int = 0


class Router:
    """Turns entries into stored lines (see `logger.lines`), and counts them
    per app, process type and stream into `app_logs`: each cached source
    holds its counter slots, so counting costs one addition per record."""

    def __init__(self, max_line_bytes: int, app_logs: AppLogCounter | None = None) -> None:
        self._max_line_bytes = max_line_bytes
        self._app_logs = app_logs if app_logs is not None else AppLogCounter(0)
        # Encoded Kubernetes metadata (bytes) or a tag (str) -> (app, label, slots).
        self._sources: dict[bytes | str, tuple[str, str, StreamSlots]] = {}
        self._second = -1
        self._second_text = ""

    def route(self, tag: str, entries: Sequence[Entry]) -> RoutedBatch:
        batch = RoutedBatch()
        by_app = batch.lines
        level_lines = batch.level_lines
        sources = self._sources
        max_line_bytes = self._max_line_bytes
        split_above = max_line_bytes + HEAD_LENGTH  # + marker, timestamp and space
        # Locals: read once per record, they cost less than attributes and globals.
        second, prefix = self._second, self._second_text
        markers, indexes, level_first, one_line = _MARKERS, _STREAM_INDEX, _LEVEL_FIRST, ONE_LINE
        build, format_second = build_line, second_text
        for raw_time, record in entries:
            if type(raw_time) is Ext and raw_time.code == 0:
                try:
                    seconds, nanos = _EVENT_TIME.unpack(raw_time.data)  # the common case, inline
                except struct.error:
                    batch.invalid_time += 1
                    continue
            else:
                try:
                    seconds, nanos = divmod(event_time_ns(raw_time), 1_000_000_000)
                except InvalidEntry:
                    batch.invalid_time += 1
                    continue
            meta = record.kubernetes
            key: bytes | str = bytes(meta) if meta else tag
            source = sources.get(key)
            if source is None:
                source = self._resolve_source(key, tag)
            app, label, slots = source
            if not app:
                batch.no_app += 1
                if source is _INVALID_APP:
                    batch.invalid_app_name += 1
                continue
            message = record.log if record.log is not None else record.message or ""
            if message[-1:] == "\n":
                message = message[:-2] if message[-2:-1] == "\r" else message[:-1]
            if seconds != second:
                second = self._second = seconds
                prefix = self._second_text = format_second(seconds)
            stream = indexes.get(record.stream, 2)
            encoded = build(markers[stream], prefix, nanos, label, message)
            lines = by_app.get(app)
            if lines is None:
                lines = by_app[app] = []
            if len(encoded) - len(label) > split_above:
                pieces = split_line(encoded, max_line_bytes)
                batch.split += len(pieces) - 1
                lines.extend(pieces)
                slots[stream] += one_line * len(pieces) + sum(map(len, pieces))
            else:
                lines.append(encoded)
                slots[stream] += one_line + len(encoded)  # one line and its bytes
            if message[:1] in level_first:
                level_lines.append((app, encoded))
        batch.accepted = len(entries) - batch.invalid_time - batch.no_app
        return batch

    def _resolve_source(self, key: bytes | str, tag: str) -> tuple[str, str, StreamSlots]:
        source = _NO_APP
        meta = decode_kubernetes(key) if isinstance(key, bytes) else None
        invalid = False
        if meta is not None:
            labels = meta.labels or _NO_LABELS
            app = labels.app or meta.namespace_name
            if app and is_app_name(app):
                process = labels.type or meta.container_name or DEFAULT_TAG_PROCESS
                instance = meta.pod_name.rsplit("-", 1)[-1] if meta.pod_name else ""
                slots = self._app_logs.slots(app, process)
                source = (app, source_label(app, process, instance), slots)
            invalid = bool(app) and source is _NO_APP
        if source is _NO_APP:
            source = _source_from_tag(tag, self._app_logs)
            if isinstance(key, bytes) and source[0]:
                return source  # depends on the tag too: not cached under the metadata
            if invalid:
                source = _INVALID_APP
        if len(self._sources) >= _SOURCE_CACHE_LIMIT:
            self._sources.clear()  # pods come and go; start over rather than grow
        self._sources[key] = source
        return source


def _source_from_tag(tag: str, app_logs: AppLogCounter) -> tuple[str, str, StreamSlots]:
    """`app.shop.web` -> shop[web]; `app.shop` -> shop[app]; anything else: no app."""
    if not tag.startswith(TAG_PREFIX):
        return _NO_APP
    app, _, process = tag[len(TAG_PREFIX) :].partition(".")
    if not app:
        return _NO_APP
    if not is_app_name(app):
        return _INVALID_APP
    process = process or DEFAULT_TAG_PROCESS
    return app, source_label(app, process, ""), app_logs.slots(app, process)
