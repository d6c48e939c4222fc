"""The stored and served form of a log line.

A buffered line is one `bytes` object: a stream marker byte followed by the
line exactly as `wf logs` prints it,

    2026-11-22T10:00:00.123456+00:00 shop[web.x2x9z]: GET /healthz 200

so that storage costs the line's own bytes plus one, and every other field
(time, app, process, instance, stream) is parsed back only when a reader
asks for it (`format=json`, `proc=` filters).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

STDOUT = b"o"
STDERR = b"e"
NO_STREAM = b"-"

_STREAM_NAMES = {STDOUT[0]: "stdout", STDERR[0]: "stderr", NO_STREAM[0]: ""}

# "2026-11-22T10:00:00.123456+00:00" is always 32 characters.
TIMESTAMP_LENGTH = 32


def format_timestamp(epoch_ns: int) -> str:
    """RFC 3339 UTC with microseconds, the contract's fixed-width form."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos // 1000:06d}+00:00"


def normalize_timestamp(text: str) -> str:
    """Any RFC 3339 time as the contract's form, for string comparison.

    Raises ValueError with a readable message for anything else."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"RFC 3339 time needs an offset or Z: {text!r}")
    epoch = moment.astimezone(dt.UTC)
    return f"{epoch:%Y-%m-%dT%H:%M:%S}.{epoch.microsecond:06d}+00:00"


def source_label(app: str, process: str, instance: str) -> str:
    """`shop[web.x2x9z]: ` or, with no instance, `shop[controller]: `."""
    if instance:
        return f"{app}[{process}.{instance}]: "
    return f"{app}[{process}]: "


def clean_text(text: str) -> str:
    """Text that encodes as UTF-8: bytes that were not valid UTF-8 on the wire
    (decoded with surrogateescape, so they arrive as lone surrogates) become U+FFFD."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def encode_text(text: str) -> bytes:
    """UTF-8, with bytes that were not valid UTF-8 on the wire shown as U+FFFD."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return clean_text(text).encode()


def platform_line(app: str, source: str, message: str, epoch_ns: int) -> bytes:
    """A stored line written by the platform itself, e.g. `shop[logger]: ...`."""
    text = f"{format_timestamp(epoch_ns)} {app}[{source}]: {message}"
    return NO_STREAM + encode_text(text)


def split_message(message: bytes, limit: int) -> list[bytes]:
    """Cut a message into pieces of at most `limit` bytes on UTF-8 boundaries."""
    pieces: list[bytes] = []
    start = 0
    while len(message) - start > limit:
        end = start + limit
        # Step back over continuation bytes (0b10xxxxxx) so no character is cut.
        while end > start + 1 and message[end] & 0xC0 == 0x80:
            end -= 1
        pieces.append(message[start:end])
        start = end
    pieces.append(message[start:])
    return pieces


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """A stored line taken apart, for JSON output and filters."""

    time: str
    app: str
    process: str
    instance: str
    stream: str
    message: str

    @classmethod
    def parse(cls, stored: bytes) -> ParsedLine:
        text = stored[1:].decode("utf-8", "replace")
        stream = _STREAM_NAMES.get(stored[0], "")
        time = text[:TIMESTAMP_LENGTH]
        open_at = text.find("[", TIMESTAMP_LENGTH + 1)
        close_at = text.find("]: ", open_at + 1)
        if open_at < 0 or close_at < 0:
            return cls(time, "", "", "", stream, text[TIMESTAMP_LENGTH + 1 :])
        app = text[TIMESTAMP_LENGTH + 1 : open_at]
        process, _, instance = text[open_at + 1 : close_at].rpartition(".")
        if not process:
            process, instance = instance, ""
        return cls(time, app, process, instance, stream, text[close_at + 3 :])


def line_text(stored: bytes) -> bytes:
    """The printable line, without its stream marker."""
    return stored[1:]


def line_time(stored: bytes) -> bytes:
    """The line's timestamp bytes (ASCII, fixed width, sorts as time)."""
    return stored[1 : 1 + TIMESTAMP_LENGTH]


def line_process(stored: bytes) -> bytes:
    """The `process.instance` (or source) part of a stored line."""
    open_at = stored.find(b"[", TIMESTAMP_LENGTH + 2)
    close_at = stored.find(b"]: ", open_at + 1)
    if open_at < 0 or close_at < 0:
        return b""
    return stored[open_at + 1 : close_at]
