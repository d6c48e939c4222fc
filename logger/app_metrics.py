"""Per-app log metrics: lines and bytes by app, process type and stream, and
lines by detected level, exported by the logger.

The logger stores hundreds of thousands of lines a second, so nothing here
touches prometheus-client per line. Each of the router's cached sources
(one per pod and container) holds the `StreamSlots` of its app and process
type, and routing adds each run of records with the same slots to one
integer in them once (`logger.routing.Router`): lines are counted as they
are routed, so a
frame the store then fails to take (it is not acked, and is resent) is
counted twice; a rare error traded for no second pass over the lines.
Lines whose message may carry a level are checked once per frame
(`add_levels`). `AppLogCollector` turns the totals
into metric families at scrape time, like the logger's `_StateCollector`.

Exported series (counters, `<component>_<name>_<unit>_total`):

    logger_app_lines_total{app,proc,stream}      lines stored; stream is stdout, stderr,
                                                 or none (the platform's own lines)
    logger_app_bytes_total{app,proc,stream}      bytes of those lines: timestamp, source
                                                 and message, as `wf logs` prints them
    logger_app_level_lines_total{app,level}      lines whose level was detected
    logger_app_label_overflow_lines_total        lines counted under app="_other"

Cardinality: at most `max_apps` apps (the first seen since start) get their
own `app` value; every later app's lines are counted under app="_other",
proc="_other" (so an overflowed app adds no process types either), and in
the overflow counter. Each app has at most `MAX_PROCS_PER_APP` process
types; later ones are counted under proc="_other".

Level detection, a bytes check on the message start:
- a leading upper-case token `ERROR`, `WARN`, `WARNING`, `INFO`, `DEBUG`,
  `FATAL`, `CRITICAL` or `TRACE`, followed by the end of the message or a
  non-letter. Upper case only: that is how logging libraries print a level,
  while `Error ...` or `info ...` at a message start is more often prose.
- a message starting with `{`: the first `"level"` or `"severity"` key with
  a string value within the first `JSON_SCAN_BYTES` bytes (no JSON parse);
  the value is matched case-insensitively.
Levels are normalised to fatal, error, warning, info, debug and trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from logger.lines import (
    SOURCE_END_LENGTH,
    STDERR,
    STDOUT,
    line_process,
    source_end,
)

OVERFLOW = "_other"
MAX_PROCS_PER_APP = 100
# How far into a JSON message the level key is looked for.
JSON_SCAN_BYTES = 512
# Stream label values, by the index routing uses (logger.route_loop._MARKERS).
STREAM_NAMES = ("stdout", "stderr", "none")
# One integer per stream (stdout, stderr, none): lines in the bits from 64 up,
# bytes (marker byte included) below, so that counting a line is one addition.
StreamSlots = list[int]
ONE_LINE = 1 << 64
_BYTES_MASK = ONE_LINE - 1
_MARKER_INDEX = {STDOUT[0]: 0, STDERR[0]: 1}
_TOKEN = re.compile(rb"(ERROR|WARNING|WARN|INFO|DEBUG|FATAL|CRITICAL|TRACE)(?![A-Za-z])")
_JSON_LEVEL = re.compile(rb'"(?:level|severity)"\s*:\s*"([A-Za-z]{1,16})"')
_LEVELS = {
    "error": "error",
    "err": "error",
    "warning": "warning",
    "warn": "warning",
    "info": "info",
    "information": "info",
    "debug": "debug",
    "fatal": "fatal",
    "critical": "fatal",
    "crit": "fatal",
    "panic": "fatal",
    "trace": "trace",
}


def detect_level(line: bytes, message_at: int) -> str | None:
    """The normalised level of a stored line whose message starts at `message_at`."""
    if line[message_at : message_at + 1] == b"{":
        found = _JSON_LEVEL.search(line, message_at, message_at + JSON_SCAN_BYTES)
        if found is None:
            return None
        return _LEVELS.get(found.group(1).decode().lower())
    token = _TOKEN.match(line, message_at)
    if token is None:
        return None
    return _LEVELS[token.group(1).decode().lower()]


def message_start(line: bytes) -> int:
    """Where the message of a stored line starts (after `app[source]: `), or -1
    for a line with no source (it has no level to detect)."""
    end = source_end(line)
    return end + SOURCE_END_LENGTH if end >= 0 else -1


class AppLogCounter:
    """Totals of stored lines per app, process type and stream, and per level."""

    def __init__(self, max_apps: int) -> None:
        self.max_apps = max_apps
        # (app, proc) -> the slots the router adds to
        self._slots: dict[tuple[str, str], StreamSlots] = {}
        self._procs: dict[str, set[str]] = {}
        # (app, level) -> lines
        self.levels: dict[tuple[str, str], int] = {}

    @property
    def app_count(self) -> int:
        """Apps with their own label value (`_other` not included)."""
        return len(self._procs)

    def slots(self, app: str, proc: str) -> StreamSlots:
        """The counters of one app and process type, within the bounds."""
        procs = self._procs.get(app)
        if procs is None:
            if len(self._procs) >= self.max_apps:
                return self._get(OVERFLOW, OVERFLOW)
            procs = self._procs[app] = set()
        if proc not in procs:
            if len(procs) >= MAX_PROCS_PER_APP:
                return self._get(app, OVERFLOW)
            procs.add(proc)
        return self._get(app, proc)

    def _get(self, app: str, proc: str) -> StreamSlots:
        slots = self._slots.get((app, proc))
        if slots is None:
            slots = self._slots[(app, proc)] = [0, 0, 0]
        return slots

    def add_levels(self, level_lines: Sequence[tuple[str, bytes]]) -> None:
        """Count the levels of stored lines, given as (app, line)."""
        levels = self.levels
        procs = self._procs
        for app, line in level_lines:
            start = message_start(line)
            level = detect_level(line, start) if start >= 0 else None
            if level is not None:
                key = (app if app in procs else OVERFLOW, level)
                levels[key] = levels.get(key, 0) + 1

    def count(self, app: str, lines: Sequence[bytes]) -> None:
        """Count one app's stored lines line by line: for the lines the
        platform writes itself, which the router never sees."""
        for line in lines:
            start = message_start(line)
            if start < 0:
                continue
            proc = line_process(line).decode("utf-8", "replace")
            self.slots(app, proc)[_MARKER_INDEX.get(line[0], 2)] += ONE_LINE + len(line)
        self.add_levels([(app, line) for line in lines])

    def totals(self) -> list[tuple[str, str, str, int, int]]:
        """(app, proc, stream, lines, bytes without the marker byte), non-zero only."""
        out = []
        for (app, proc), slots in list(self._slots.items()):
            for stream, value in zip(STREAM_NAMES, slots, strict=True):
                lines = value >> 64
                if lines:
                    out.append((app, proc, stream, lines, (value & _BYTES_MASK) - lines))
        return out

    @property
    def overflow_lines(self) -> int:
        """Lines counted under app="_other"."""
        slots = self._slots.get((OVERFLOW, OVERFLOW))
        return sum(value >> 64 for value in slots) if slots else 0


class AppLogCollector(Collector):
    """Exports an `AppLogCounter` at scrape time."""

    def __init__(self, counter: AppLogCounter) -> None:
        self._counter = counter

    def collect(self) -> Iterator[CounterMetricFamily]:
        counter = self._counter
        lines = CounterMetricFamily(
            "logger_app_lines",
            "Log lines stored, by app, process type and stream.",
            labels=("app", "proc", "stream"),
        )
        size = CounterMetricFamily(
            "logger_app_bytes",
            "Bytes of log lines stored (timestamp, source and message), "
            "by app, process type and stream.",
            labels=("app", "proc", "stream"),
        )
        for app, proc, stream, count, total in counter.totals():
            lines.add_metric((app, proc, stream), count)
            size.add_metric((app, proc, stream), total)
        yield lines
        yield size
        levels = CounterMetricFamily(
            "logger_app_level_lines",
            "Log lines by the level detected at the message start or in a JSON level field.",
            labels=("app", "level"),
        )
        # Copied first: a scrape may run in a thread while the loop counts.
        for (app, level), count in list(counter.levels.items()):
            levels.add_metric((app, level), count)
        yield levels
        yield CounterMetricFamily(
            "logger_app_label_overflow_lines",
            f"Lines of apps past the app label bound (WF_LOGGER_METRICS_MAX_APPS), "
            f"counted under app={OVERFLOW!r}.",
            counter.overflow_lines,
        )
