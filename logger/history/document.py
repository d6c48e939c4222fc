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
from dataclasses import dataclass

from logger.lines import ParsedLine
from metrics.app_logs import detect_level, message_start

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
        parsed = ParsedLine.parse(stored)
        start = message_start(stored)
        level = (detect_level(stored, start) if start >= 0 else None) or ""
        return cls(
            app=app,
            proc=parsed.process,
            instance=parsed.instance,
            stream=parsed.stream,
            level=level,
            time_us=time_us(parsed.time),
            seq=seq,
            message=parsed.message,
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


def time_us(rfc3339: str) -> int:
    """Microseconds since the epoch of a contract-form time; 0 if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(rfc3339)
    except ValueError:
        return 0
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
