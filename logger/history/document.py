"""A stored line as a history document: the fields both backends index.

app, proc, instance, stream, level   raw terms (exact match, never tokenized)
timestamp                            the line's time (Quickwit's timestamp field)
time_us                              the same in microseconds: exact time bounds
seq                                  the line's sequence number in its app
message                              text, tokenized for search
line                                 the stored line itself, returned as is
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from logger.lines import TIMESTAMP_LENGTH, ParsedLine
from metrics.app_logs import detect_level

# Message starts that may carry a level (detect_level decides), as routing has it.
_LEVEL_FIRST = frozenset(b"EWIDFCT{"[i : i + 1] for i in range(8))
_STREAMS = {ord("o"): "stdout", ord("e"): "stderr", ord("-"): ""}

FIELDS = ("app", "proc", "instance", "stream", "level", "timestamp", "time_us", "seq", "message")


@dataclass(frozen=True, slots=True)
class HistoryDoc:
    app: str
    proc: str
    instance: str
    stream: str
    level: str
    time_us: int
    seq: int
    message: str
    line: bytes

    @classmethod
    def from_stored(cls, app: str, seq: int, stored: bytes) -> HistoryDoc:
        """Taken apart from the bytes (the hot path of indexing: no full decode)."""
        open_at = stored.find(b"[", TIMESTAMP_LENGTH + 2)
        close_at = stored.find(b"]: ", open_at + 1)
        if open_at < 0 or close_at < 0:
            parsed = ParsedLine.parse(stored)
            return cls(app, "", "", parsed.stream, "", time_us(parsed.time), seq,
                       parsed.message, stored)  # fmt: skip
        process, dot, instance = stored[open_at + 1 : close_at].rpartition(b".")
        if not dot:
            process, instance = instance, b""
        start = close_at + 3
        level = detect_level(stored, start) if stored[start : start + 1] in _LEVEL_FIRST else None
        return cls(
            app=app,
            proc=process.decode("utf-8", "replace"),
            instance=instance.decode("utf-8", "replace"),
            stream=_STREAMS.get(stored[0], ""),
            level=level or "",
            time_us=_stored_time_us(stored),
            seq=seq,
            message=stored[start:].decode("utf-8", "replace"),
            line=stored,
        )

    def to_json(self) -> dict[str, object]:
        """The document as Quickwit ingests it (the line travels as text)."""
        return {
            "app": self.app,
            "proc": self.proc,
            "instance": self.instance,
            "stream": self.stream,
            "level": self.level,
            "timestamp": self.time_us // 1_000_000,
            "time_us": self.time_us,
            "seq": self.seq,
            "message": self.message,
            "line": self.line.decode("utf-8", "replace"),
        }


def _stored_time_us(stored: bytes) -> int:
    """The fixed-width UTC time of a stored line (`2026-11-22T10:00:00.123456+00:00`
    after the marker byte) in microseconds, read field by field."""
    try:
        day = _day_seconds(stored[1:11])
        clock = int(stored[12:14]) * 3600 + int(stored[15:17]) * 60 + int(stored[18:20])
        return (day + clock) * 1_000_000 + int(stored[21:27])
    except ValueError:
        return time_us(stored[1 : 1 + TIMESTAMP_LENGTH].decode("ascii", "replace"))


@functools.lru_cache(maxsize=64)
def _day_seconds(date: bytes) -> int:
    return int(dt.datetime.fromisoformat(date.decode() + "T00:00:00+00:00").timestamp())


def time_us(rfc3339: str) -> int:
    """Microseconds since the epoch of a contract-form time; 0 if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(rfc3339)
    except ValueError:
        return 0
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
