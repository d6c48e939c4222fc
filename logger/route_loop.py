"""From decoded records to stored lines, grouped by app: the routing loop.

App: `kubernetes.labels.app`, else `kubernetes.namespace_name`, else the tag
convention `app.<name>[.<proc>]`; the name must follow the one app-name rule
(`logger.app_names`), and a record whose only app name breaks it is counted
as unroutable with its own reason (`invalid_app_name`, not `no_app`).
Process type: `kubernetes.labels.type`, else the container name, else `app`;
instance: the last segment of the pod name. Both must be DNS-1123 labels
(`logger.lines.is_source_part`): a candidate that is not one is passed over
for the next (a process type falls back to `app`, an instance to none), so no
record can put a long or forged source into its lines or a `/metrics` label.

A time a stored line cannot show (`logger.forward.protocol.event_time_ns`)
makes its record an invalid entry, counted as `invalid_time` and skipped;
the rest of the frame is routed.

This loop runs once per ingested record, so it keeps per-record work to a
few attribute reads and one string format: the source label (`shop[web.x2x9z]: `)
is cached per pod and container, the timestamp's seconds part per second.

This module is also compiled with mypyc, under another name, when the
package is installed (see `logger.routing`, which chooses): it must stay
plain, strictly typed Python that means the same compiled or not.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from msgspec import Raw
from msgspec.msgpack import Ext

from logger.app_metrics import ONE_LINE, AppLogCounter, StreamSlots
from logger.app_names import is_app_name
from logger.errors import FatalError, InvalidEntry, MalformedFrame
from logger.forward.protocol import (
    decode_kubernetes,
    event_time_ns,
    gunzip_bounded,
    options_chunk,
    packed_options,
)
from logger.lines import (
    HEAD_LENGTH,
    NO_STREAM,
    STDERR,
    STDOUT,
    build_line,
    build_wire_line,
    is_source_part,
    second_text,
    source_label,
    split_line,
)
from logger.model import Entry, PodLabels, TimeWithMetadata
from logger.wire_reader import (
    EVENT_TIME_CODE,
    FIXARRAY_2,
    FIXARRAY_3,
    FIXEXT8,
    NIL,
    container_count,
    container_start,
    is_ascii_span,
    payload_length,
    payload_start,
    same_bytes,
    skip,
    str_length,
    str_start,
    uint,
)

TAG_PREFIX = "app."
DEFAULT_TAG_PROCESS = "app"
_SOURCE_CACHE_LIMIT = 65_536
_NO_SLOTS: StreamSlots = [0, 0, 0]
# What a record's metadata (or tag) resolves to: app, source label, the
# app's counter slots, and the label as bytes (for the wire path).
Source: TypeAlias = tuple[str, str, StreamSlots, bytes]
# Cached for records that have no app, or only an invalid app name, so they
# are not resolved again (both have app "", one truth test in the loop; the
# label tells them apart: values, not identities, mean the same compiled).
_NO_APP: Source = ("", "", _NO_SLOTS, b"")
_INVALID_APP: Source = ("", "invalid", [0, 0, 0], b"")
_NO_LABELS = PodLabels()
# The stream marker byte in front of each stored line (see logger.lines), by
# the stream's index in logger.app_metrics.StreamSlots.
_MARKERS = (STDOUT.decode(), STDERR.decode(), NO_STREAM.decode())
_MARKER_BYTES = (STDOUT, STDERR, NO_STREAM)
# Record fields the wire path reads (bits of a mask that catches a repeat).
_LOG: Final = 1
_STREAM: Final = 2
_MESSAGE: Final = 4
_KUBERNETES: Final = 8
# First characters of a message that may start with a level token or be
# JSON with a level field (logger.app_metrics.detect_level decides).
_LEVEL_FIRST = frozenset("EWIDFCT{")
_LEVEL_FIRST_BYTES = frozenset(ord(first) for first in _LEVEL_FIRST)  # the wire path's
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


class _PayloadFailed(Exception):
    """A gzip payload's own error, carried past the wire path's refusals."""

    def __init__(self, error: FatalError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(slots=True)
class WireFrame:
    """A frame routed from its bytes (`Router.route_wire`):
    its entry count, the `chunk` option to ack (None: no ack asked) and lines."""

    entries: int
    chunk: bytes | None
    batch: RoutedBatch


class Router:
    """Turns entries into stored lines (see `logger.lines`), and counts them
    per app, process type and stream into `app_logs`: each cached source
    holds its counter slots, and a run of records with the same slots is
    added to them once, when the run ends."""

    def __init__(
        self,
        max_line_bytes: int,
        app_logs: AppLogCounter | None = None,
        on_passed_over: Callable[[str], None] | None = None,
    ) -> None:
        self._max_line_bytes = max_line_bytes
        self._app_logs = app_logs if app_logs is not None else AppLogCounter(0)
        # Told the field ("process_type", "instance") each time a source is
        # resolved with a candidate that breaks the source-part rule: once per
        # source resolved (sources are cached), not per record.
        self._on_passed_over = on_passed_over
        # Encoded Kubernetes metadata (bytes) or a tag (str) -> its Source.
        self._sources: dict[bytes | str, Source] = {}
        self._second = -1
        self._second_text = ""
        # The wire path's own cache: the second as bytes.
        self._wire_second = -1
        self._wire_second_text = b""

    def route(self, tag: str, entries: Sequence[Entry]) -> RoutedBatch:
        batch = RoutedBatch()
        by_app = batch.lines
        level_lines = batch.level_lines
        max_line_bytes = self._max_line_bytes
        # Locals: read once per record, they cost less than attributes and
        # globals (compiled too: a compiled module reads imported names from
        # its globals dict).
        second, prefix = self._second, self._second_text
        markers, level_first = _MARKERS, _LEVEL_FIRST
        time_pair, event_time, unpack_time = TimeWithMetadata, Ext, _EVENT_TIME.unpack
        # What the previous record resolved to: records of one pod come in runs,
        # so their metadata bytes are compared with the last ones, not copied.
        last_meta: Raw | None = None
        app, label, slots, _ = _NO_APP
        lines: list[bytes] = []
        # Lines and bytes routed to `slots` since they were last added to it.
        counts = _RunCounts()
        for raw_time, record in entries:
            if type(raw_time) is time_pair:
                raw_time = raw_time.time  # the metadata is not read
            if type(raw_time) is event_time and raw_time.code == 0:
                try:
                    seconds, nanos = unpack_time(raw_time.data)  # the common case, inline
                except struct.error:
                    batch.invalid_time += 1
                    continue
                if nanos >= 1_000_000_000:
                    batch.invalid_time += 1
                    continue
            else:
                try:
                    seconds, nanos = divmod(event_time_ns(raw_time), 1_000_000_000)
                except InvalidEntry:
                    batch.invalid_time += 1
                    continue
            meta = record.kubernetes
            if meta != last_meta:
                found = self._source(bytes(meta) if meta else tag, tag)
                if found[2] is not slots:  # the run of `slots` ends
                    counts.add_to(slots)
                    counts = _RunCounts()
                app, label, slots, _ = found
                last_meta = meta
                if app:
                    lines = _lines_of(by_app, app)
            if not app:
                batch.no_app += 1
                if label:
                    batch.invalid_app_name += 1
                continue
            log = record.log
            message = log if log is not None else record.message or ""
            if message[-1:] == "\n":
                message = message[:-2] if message[-2:-1] == "\r" else message[:-1]
            if seconds != second:
                # Both or neither: the cache is shared with the next frame.
                prefix = second_text(seconds)
                second = seconds
                self._second, self._second_text = second, prefix
            name = record.stream
            stream = 0 if name == "stdout" else 1 if name == "stderr" else 2
            # By name, not a local alias: compiled, that is a native call.
            encoded = build_line(markers[stream], prefix, nanos, label, message)
            counts.count(stream, _append_line(lines, encoded, len(label), max_line_bytes, batch))
            if message[:1] in level_first:
                level_lines.append((app, encoded))
        counts.add_to(slots)
        batch.accepted = len(entries) - batch.invalid_time - batch.no_app
        return batch

    def route_wire(self, frame: bytes, max_payload_bytes: int) -> WireFrame | None:
        """Route a Forward, PackedForward or CompressedPackedForward (gzip)
        frame from its bytes, as decoding it and `route` would. None, and
        nothing counted, for a frame whose entries are not all `[time, record]`
        with an EventTime time (bare or `[time, metadata]`) and a record the
        typed decode takes (`log` a string, `message` a string or nil, `stream`
        "stdout", "stderr" or nil, no field twice, valid UTF-8): that frame is
        the decoder's (logger.forward.protocol), errors and all. A gzip
        payload that cannot be inflated raises what the decoder would raise
        for it (it would fail the same way, after the same checks), so that
        a bad payload is inflated once, not twice."""
        try:
            return self._route_wire(frame, max_payload_bytes)
        except _PayloadFailed as failed:
            raise failed.error from None
        except (IndexError, UnicodeDecodeError, MalformedFrame):
            return None

    def _route_wire(self, frame: bytes, max_payload_bytes: int) -> WireFrame | None:
        header = frame[0]
        if header != FIXARRAY_2 and header != FIXARRAY_3:
            return None
        start = str_start(frame, 1)
        if start < 0:
            return None
        end = start + str_length(frame, 1)
        tag = frame[start:end].decode()
        # Forward mode: `count` entries from `pos`, options after them.
        # PackedForward: entries from `pos` to `stop`, options known first.
        chunk: bytes | None = None
        pos = container_start(frame, end, False)
        count = stop = -1
        if pos >= 0:
            count = container_count(frame, end)
        else:
            pos = payload_start(frame, end)
            if pos < 0:
                return None
            stop = pos + payload_length(frame, end)
            gzipped = False
            if header == FIXARRAY_3:
                chunk, gzipped = packed_options(frame[stop:])
            elif stop != len(frame):
                return None
            if gzipped:  # the entries are in the inflated payload
                try:
                    frame = gunzip_bounded(frame[pos:stop], max_payload_bytes)
                except FatalError as error:
                    raise _PayloadFailed(error) from None
                pos, stop = 0, len(frame)
        entries = 0
        batch = RoutedBatch()
        by_app = batch.lines
        level_lines = batch.level_lines
        max_line_bytes = self._max_line_bytes
        second, prefix = self._wire_second, self._wire_second_text
        markers, level_first = _MARKER_BYTES, _LEVEL_FIRST_BYTES
        # Counts are added once the whole frame is taken: a frame refused
        # half-way is routed again by the decoder's path.
        pending: list[tuple[StreamSlots, _RunCounts]] = []
        last_meta: bytes | None = None
        app, label, slots, source = _NO_APP
        lines: list[bytes] = []
        counts = _RunCounts()
        while entries < count if count >= 0 else pos < stop:
            entries += 1
            # [time, record] or [[time, metadata], record], in any array
            # header (Fluent Bit 4 writes array 32 ones).
            pos = _pair_start(frame, pos)
            if pos < 0:
                return None
            paired = frame[pos] != FIXEXT8
            if paired:
                pos = _pair_start(frame, pos)
                if pos < 0:
                    return None
            if frame[pos] != FIXEXT8 or frame[pos + 1] != EVENT_TIME_CODE:
                return None
            seconds = uint(frame, pos + 2, 4)
            nanos = uint(frame, pos + 6, 4)
            pos += 10
            if paired:
                pos = skip(frame, pos)  # the metadata is not read
                if pos < 0:
                    return None
            # The record: a map whose fields are read where they are.
            fields = container_count(frame, pos)
            pos = container_start(frame, pos, True)
            if pos < 0:
                return None
            seen = 0
            log_start = log_end = meta_start = meta_end = -1
            stream = 2
            meta_is_last = False
            for _ in range(fields):
                key = str_start(frame, pos)
                if key < 0:
                    return None
                size = str_length(frame, pos)
                pos = key + size
                field = _field(frame, key, size)
                if field & seen:
                    return None
                seen |= field
                if field == _LOG:
                    log_start = str_start(frame, pos)
                    if log_start < 0:
                        return None
                    log_end = log_start + str_length(frame, pos)
                    pos = log_end
                elif field == _STREAM:
                    stream, pos = _stream_at(frame, pos)
                    if stream < 0:
                        return None
                elif field == _KUBERNETES:
                    meta_start = pos
                    # Compiled, a slice and `==` are native (a memcmp);
                    # `startswith(prefix, start)` parses its arguments.
                    if last_meta and frame[pos : pos + len(last_meta)] == last_meta:
                        meta_is_last = True  # msgpack values are prefix-free
                        pos += len(last_meta)
                    else:
                        pos = skip(frame, pos)
                    meta_end = pos
                elif field == _MESSAGE and frame[pos] != NIL:
                    text = str_start(frame, pos)
                    if text < 0:
                        return None
                    end = text + str_length(frame, pos)
                    frame[text:end].decode()  # a typed decode takes valid text only
                    pos = end
                else:
                    if field == 0 and not is_ascii_span(frame, key, key + size):
                        return None
                    pos = skip(frame, pos)
                if pos < 0:
                    return None
            if log_start < 0:
                return None  # the typed decode needs `log`
            message_end = log_end
            if message_end > log_start and frame[message_end - 1] == 10:  # "\n"
                message_end -= 1
                if message_end > log_start and frame[message_end - 1] == 13:  # "\r"
                    message_end -= 1
            message = frame[log_start:message_end]
            if not message.isascii():
                frame[log_start:log_end].decode()
            if nanos >= 1_000_000_000:
                batch.invalid_time += 1
                continue
            if not meta_is_last and (meta_start >= 0 or last_meta != b""):
                # The run of the previous record's metadata (or of none) ends.
                meta = frame[meta_start:meta_end] if meta_start >= 0 else b""
                found = self._source(meta if meta else tag, tag)
                if found[2] is not slots:
                    pending.append((slots, counts))
                    counts = _RunCounts()
                app, label, slots, source = found
                last_meta = meta
                if app:
                    lines = _lines_of(by_app, app)
            if not app:
                batch.no_app += 1
                if label:
                    batch.invalid_app_name += 1
                continue
            if seconds != second:
                prefix = second_text(seconds).encode()
                second = seconds
                self._wire_second, self._wire_second_text = second, prefix
            encoded = build_wire_line(markers[stream], prefix, nanos, source, message)
            counts.count(stream, _append_line(lines, encoded, len(source), max_line_bytes, batch))
            if message and message[0] in level_first:
                level_lines.append((app, encoded))
        if count < 0:
            if pos != stop:
                return None  # the last entry runs past the payload
        elif header == FIXARRAY_3:
            chunk = options_chunk(frame[pos:])
        elif pos != len(frame):
            return None
        pending.append((slots, counts))
        for run_slots, run_counts in pending:
            run_counts.add_to(run_slots)
        batch.accepted = entries - batch.invalid_time - batch.no_app
        return WireFrame(entries, chunk, batch)

    def _source(self, key: bytes | str, tag: str) -> Source:
        """The source of records with this metadata (or tag), cached."""
        found = self._sources.get(key)
        return found if found is not None else self._resolve_source(key, tag)

    def _resolve_source(self, key: bytes | str, tag: str) -> Source:
        meta = decode_kubernetes(key) if isinstance(key, bytes) else None
        invalid = False
        if meta is not None:
            labels = meta.labels or _NO_LABELS
            found = pod_source(
                labels.app, meta.namespace_name, labels.type, meta.container_name, meta.pod_name
            )
            if found is not None:
                app, process, instance = found
                if self._on_passed_over is not None:
                    self._tell_passed_over(labels.type, meta.container_name, meta.pod_name)
                slots = self._app_logs.slots(app, process)
                return self._cached(key, _source(app, source_label(app, process, instance), slots))
            invalid = bool(labels.app or meta.namespace_name)
        source = _source_from_tag(tag, self._app_logs)
        if source[0] and self._on_passed_over is not None:
            process = tag[len(TAG_PREFIX) :].partition(".")[2]
            if process and not is_source_part(process):
                self._on_passed_over("process_type")
        if isinstance(key, bytes) and source[0]:
            return source  # depends on the tag too: not cached under the metadata
        return self._cached(key, _INVALID_APP if invalid else source)

    def _tell_passed_over(
        self, type_label: str | None, container: str | None, pod_name: str | None
    ) -> None:
        tell = self._on_passed_over
        assert tell is not None
        if (type_label and not is_source_part(type_label)) or (
            not type_label and container and not is_source_part(container)
        ):
            tell("process_type")
        if pod_name and not is_source_part(pod_name.rsplit("-", 1)[-1]):
            tell("instance")

    def _cached(self, key: bytes | str, source: Source) -> Source:
        if len(self._sources) >= _SOURCE_CACHE_LIMIT:
            self._sources.clear()  # pods come and go; start over rather than grow
        self._sources[key] = source
        return source


def _source(app: str, label: str, slots: StreamSlots) -> Source:
    return app, label, slots, label.encode()


def _lines_of(by_app: dict[str, list[bytes]], app: str) -> list[bytes]:
    found = by_app.get(app)
    if found is None:
        found = by_app[app] = []
    return found


def _append_line(
    lines: list[bytes], encoded: bytes, source_length: int, max_line_bytes: int, batch: RoutedBatch
) -> tuple[int, int]:
    """Append a stored line to `lines`, split into lines of the same head when
    its message passes `max_line_bytes`; (lines, bytes) appended."""
    if len(encoded) - source_length > max_line_bytes + HEAD_LENGTH:
        pieces = split_line(encoded, max_line_bytes)
        batch.split += len(pieces) - 1
        lines.extend(pieces)
        return len(pieces), sum(map(len, pieces))
    lines.append(encoded)
    return 1, len(encoded)


class _RunCounts:
    """Lines and bytes per stream (stdout, stderr, none) routed in a run of
    one source's records: small integers, so a run costs no big-integer
    addition per record; `add_to` adds them to the source's counter slots
    (one big integer per stream: lines from bit 64 up, bytes below) once."""

    def __init__(self) -> None:
        self.out_lines = self.out_bytes = 0
        self.err_lines = self.err_bytes = 0
        self.none_lines = self.none_bytes = 0

    def count(self, stream: int, added: tuple[int, int]) -> None:
        lines, size = added
        if stream == 0:
            self.out_lines += lines
            self.out_bytes += size
        elif stream == 1:
            self.err_lines += lines
            self.err_bytes += size
        else:
            self.none_lines += lines
            self.none_bytes += size

    def add_to(self, slots: StreamSlots) -> None:
        if self.out_lines:
            slots[0] += ONE_LINE * self.out_lines + self.out_bytes
        if self.err_lines:
            slots[1] += ONE_LINE * self.err_lines + self.err_bytes
        if self.none_lines:
            slots[2] += ONE_LINE * self.none_lines + self.none_bytes


def _field(frame: bytes, key: int, size: int) -> int:
    """Which field the record key at `key` (`size` bytes) is, 0 for any other."""
    if size == 3 and same_bytes(frame, key, b"log"):
        return _LOG
    if size == 6 and same_bytes(frame, key, b"stream"):
        return _STREAM
    if size == 10 and same_bytes(frame, key, b"kubernetes"):
        return _KUBERNETES
    if size == 7 and same_bytes(frame, key, b"message"):
        return _MESSAGE
    return 0


def _pair_start(frame: bytes, pos: int) -> int:
    """Where the items of the two-item array at `pos` start, or -1."""
    start = container_start(frame, pos, False)
    return start if start >= 0 and container_count(frame, pos) == 2 else -1


def _stream_at(frame: bytes, pos: int) -> tuple[int, int]:
    """(stream index, end) of a `stream` value: nil, "stdout" or "stderr"
    as a fixstr, which the typed decode takes; (-1, pos) for anything else."""
    kind = frame[pos]
    if kind == NIL:
        return 2, pos + 1
    if kind == 0xA6:
        if same_bytes(frame, pos + 1, b"stdout"):
            return 0, pos + 7
        if same_bytes(frame, pos + 1, b"stderr"):
            return 1, pos + 7
    return -1, pos


def pod_source(
    app_label: str | None,
    namespace: str | None,
    type_label: str | None,
    container: str | None,
    pod_name: str | None,
) -> tuple[str, str, str] | None:
    """(app, process type, instance) of a pod's lines, or None when it has no
    valid app: the app is the `app` label, else the namespace; the process type
    the `type` label, else the container name (each only when it is a valid
    source part, else `app`); the instance the pod name's last `-` segment
    (none when that is not a valid source part). The one rule for records and
    for the Kubernetes watcher's lifecycle lines."""
    app = app_label or namespace
    if not app or not is_app_name(app):
        return None
    process = _process_type(type_label, container)
    instance = pod_name.rsplit("-", 1)[-1] if pod_name else ""
    return app, process, instance if is_source_part(instance) else ""


def _source_from_tag(tag: str, app_logs: AppLogCounter) -> Source:
    """`app.shop.web` -> shop[web]; `app.shop` -> shop[app]; anything else: no app."""
    if not tag.startswith(TAG_PREFIX):
        return _NO_APP
    app, _, process = tag[len(TAG_PREFIX) :].partition(".")
    if not app:
        return _NO_APP
    if not is_app_name(app):
        return _INVALID_APP
    process = _process_type(process, None)
    return _source(app, source_label(app, process, ""), app_logs.slots(app, process))


def _process_type(first: str | None, second: str | None) -> str:
    """The first candidate that is a valid process type, else `app`."""
    if first and is_source_part(first):
        return first
    if second and is_source_part(second):
        return second
    return DEFAULT_TAG_PROCESS
