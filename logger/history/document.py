"""A stored line as a history document: the fields both backends index.

app, proc, instance, stream, level   raw terms (exact match, never tokenized)
timestamp                            the line's time (Quickwit's timestamp field)
time_us                              the same in microseconds: exact time bounds
seq                                  the line's sequence number in its app
message                              text, tokenized for search
line                                 the stored line itself, returned as is
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from logger.app_metrics import detect_level
from logger.history.backend import Run
from logger.lines import (
    HEAD_LENGTH,
    SOURCE_END,
    SOURCE_END_LENGTH,
    line_process_instance,
    line_time_us,
    message_start,
    source_end,
    split_process,
    stream_name,
)

# Message starts that may carry a level (detect_level decides), as routing has it.
_LEVEL_FIRST = frozenset(b"EWIDFCT{"[i : i + 1] for i in range(8))

# A timestamp's whole second, `2026-11-22T10:00:00` (after the stream marker).
_WHOLE_SECOND = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_SECOND = slice(1, 20)
_MICROS = slice(21, 27)
_STREAMS = {b"o"[0]: "stdout", b"e"[0]: "stderr"}

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
        """Taken apart from the bytes with `logger.lines`' accessors (the hot
        path of indexing: no full decode)."""
        process, instance = split_process(line_process_instance(stored))
        start = message_start(stored)
        level = None
        if source_end(stored) >= 0 and stored[start : start + 1] in _LEVEL_FIRST:
            level = detect_level(stored, start)
        return cls(
            app=app,
            proc=process.decode("utf-8", "replace"),
            instance=instance.decode("utf-8", "replace"),
            stream=stream_name(stored),
            level=level or "",
            time_us=line_time_us(stored),
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


IndexFields = dict[str, str | int | bytes]


def index_fields(runs: Iterable[Run]) -> Iterator[IndexFields]:
    """The fields of every line of a batch, as `HistoryDoc.from_stored` takes
    them apart, in one pass: the embedded writer's hot path.

    A batch holds few sources (`app[process.instance]`) and seconds, and
    many lines of each: a source is split and decoded once, a second read
    once (`line_time_us`), and per line only the microseconds and the
    message are. The values are what `tantivy.Document.from_dict` takes."""
    names: dict[bytes, tuple[str, str]] = {}
    seconds: dict[bytes, int] = {}  # a whole second -> its time in us
    level_first, streams = _LEVEL_FIRST, _STREAMS
    for app, first_seq, lines in runs:
        for seq, stored in enumerate(lines, first_seq):
            end = stored.find(SOURCE_END, HEAD_LENGTH)
            if end >= 0:
                start = end + SOURCE_END_LENGTH
                source = stored[HEAD_LENGTH:end]
                found = names.get(source)
                if found is None:
                    found = names[source] = _process_names(source)
                process, instance = found
                level = ""
                if stored[start : start + 1] in level_first:
                    level = detect_level(stored, start) or ""
            else:
                start, process, instance, level = HEAD_LENGTH, "", "", ""
            yield {
                "app": app,
                "proc": process,
                "instance": instance,
                "stream": streams.get(stored[0], ""),
                "level": level,
                "time_us": _time_us(stored, seconds),
                "seq": seq,
                "message": stored[start:].decode("utf-8", "replace"),
                "line": stored,
            }


def _process_names(source: bytes) -> tuple[str, str]:
    """`app[web.x2x9z` -> (web, x2x9z); a source with no `[` has neither."""
    open_at = source.find(b"[")
    if open_at < 0:
        return "", ""
    process, instance = split_process(source[open_at + 1 :])
    return process.decode("utf-8", "replace"), instance.decode("utf-8", "replace")


def _time_us(stored: bytes, seconds: dict[bytes, int]) -> int:
    """`line_time_us(stored)`, its whole second read once in `seconds`.

    Only a second of digits in place is kept: `line_time_us` then reads it
    field by field (or raises), and adds the microseconds as read here."""
    second, micros = stored[_SECOND], stored[_MICROS]
    base = seconds.get(second)
    if base is not None and micros.isdigit():
        return base + int(micros)
    time_us = line_time_us(stored)
    if base is None and micros.isdigit() and _WHOLE_SECOND.fullmatch(second):
        seconds[second] = time_us - int(micros)
    return time_us
