"""The stored and served form of a log line: the one owner of its layout.

A buffered line is one `bytes` object: a stream marker byte followed by the
line exactly as `wf logs` prints it,

    o2026-11-22T10:00:00.123456+00:00 shop[web.x2x9z]: GET /healthz 200
    ^ marker (1)                      ^ HEAD_LENGTH: the source starts here
     ^ timestamp (TIMESTAMP_LENGTH)

so that storage costs the line's own bytes plus one, and every other field
(time, app, process, instance, stream, message) is parsed back only when a
reader asks for it (`format=json`, `proc=` filters, drains, metrics).

Writers build lines with `build_line` (routing, per record) or
`platform_line`; readers take them apart with the accessors below. Nothing
else in the code base knows an offset into a stored line. The source ends
at the first `]: ` after the timestamp, and the app at the first `[` in the
source: an app name never contains either (see `logger.app_names`).

The accessors on the hot paths (routing, the syslog encoder, store reads)
are `operator` callables, C calls with no Python frame; the others are
plain functions. None of them allocates anything but the field it returns.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter, methodcaller
from typing import Final

STDOUT = b"o"
STDERR = b"e"
NO_STREAM = b"-"

_STREAM_NAMES = {STDOUT[0]: "stdout", STDERR[0]: "stderr", NO_STREAM[0]: ""}

# "2026-11-22T10:00:00.123456+00:00" is always 32 characters.
TIMESTAMP_LENGTH = 32
# 10000-01-01T00:00:00Z in seconds: the first time four year digits cannot show.
END_OF_TIME = 253_402_300_800
# The marker, the timestamp and one space: where `app[source]: ` starts.
HEAD_LENGTH = 1 + TIMESTAMP_LENGTH + 1
# What ends the source, `]: `; the message follows it.
SOURCE_END = b"]: "
SOURCE_END_LENGTH = len(SOURCE_END)

_line_bytes: Callable[[bytes], bytes] = itemgetter(slice(1, None))
# What a terminal would act on rather than show: C0 controls but tab, and DEL.
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# A line break in a message is shown as a break and this indent, so a
# continuation never starts where a line's timestamp does.
CONTINUATION = b"\n    "


def _shown(control: re.Match[bytes]) -> bytes:
    char = control.group()
    return CONTINUATION if char == b"\n" else b"\\x%02x" % char[0]


def line_text(stored: bytes) -> bytes:
    """The printable line, without its stream marker: one line of text that
    no message can make look like another line (see "Multi-line messages" in
    docs/api.md); JSON output keeps the message as it was sent."""
    return shown(_line_bytes(stored))


def shown(text: bytes) -> bytes:
    """Printed text as a reader sees it: line breaks as a break and an indent,
    other control characters as `\\xNN` (no copy when there are none)."""
    if _CONTROL.search(text) is None:  # the common case: no copy
        return text
    return _CONTROL.sub(_shown, text)


line_time: Callable[[bytes], bytes] = itemgetter(slice(1, 1 + TIMESTAMP_LENGTH))
"""The line's timestamp bytes (ASCII, fixed width, sorts as time)."""
source_end: Callable[[bytes], int] = methodcaller("find", SOURCE_END, HEAD_LENGTH)
"""Where the `]: ` that ends the source is, or -1 for a line with no source."""


def stream_name(stored: bytes) -> str:
    """`stdout`, `stderr`, or "" for the platform's own lines."""
    return _STREAM_NAMES.get(stored[0], "")


def message_start(stored: bytes) -> int:
    """Where the message starts: after `app[source]: `, or right after the
    timestamp's space for a line with no source."""
    end = source_end(stored)
    return end + SOURCE_END_LENGTH if end >= 0 else HEAD_LENGTH


def line_message(stored: bytes) -> memoryview:
    """The message, as a view into the stored line (no copy)."""
    return memoryview(stored)[message_start(stored) :]


def line_source(stored: bytes) -> bytes:
    """`app[process.instance` (the source without its closing bracket), or b""."""
    end = source_end(stored)
    return stored[HEAD_LENGTH:end] if end >= 0 else b""


def _source_bounds(stored: bytes) -> tuple[int, int]:
    """(where the `[` after the app is, where the `]: ` is); -1 for a missing one."""
    end = source_end(stored)
    if end < 0:
        return -1, -1
    return stored.find(b"[", HEAD_LENGTH, end), end


def line_app(stored: bytes) -> bytes:
    """The app name, or b"" for a line with no source."""
    open_at, end = _source_bounds(stored)
    if end < 0:
        return b""
    return stored[HEAD_LENGTH : open_at if open_at >= 0 else end]


def line_process_instance(stored: bytes) -> bytes:
    """`process.instance` (or the platform source, e.g. `controller`), or b""."""
    open_at, end = _source_bounds(stored)
    return stored[open_at + 1 : end] if open_at >= 0 else b""


def split_process(process_instance: bytes) -> tuple[bytes, bytes]:
    """`web.x2x9z` -> (web, x2x9z); `controller` -> (controller, b"")."""
    process, _, instance = process_instance.rpartition(b".")
    return (process, instance) if process else (instance, b"")


def line_process(stored: bytes) -> bytes:
    """The process type (or platform source) of a stored line."""
    return split_process(line_process_instance(stored))[0]


def line_instance(stored: bytes) -> bytes:
    """The instance (the pod name's last segment), or b"" when there is none."""
    return split_process(line_process_instance(stored))[1]


def line_time_us(stored: bytes) -> int:
    """The line's time in microseconds since the epoch, read field by field
    from the fixed-width timestamp; 0 when it is unreadable."""
    try:
        day = _day_seconds(stored[1:11])
        clock = int(stored[12:14]) * 3600 + int(stored[15:17]) * 60 + int(stored[18:20])
        return (day + clock) * 1_000_000 + int(stored[21:27])
    except ValueError:
        return timestamp_us(line_time(stored).decode("ascii", "replace"))


@functools.lru_cache(maxsize=64)
def _day_seconds(date: bytes) -> int:
    return int(dt.datetime.fromisoformat(date.decode() + "T00:00:00+00:00").timestamp())


def timestamp_us(rfc3339: str) -> int:
    """Microseconds since the epoch of an RFC 3339 time; 0 if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(rfc3339)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        return 0
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


# -- writing ------------------------------------------------------------------


def second_text(seconds: int) -> str:
    """The timestamp up to its microseconds, `2026-11-22T10:00:00.`; writers
    cache it per second."""
    return f"{dt.datetime.fromtimestamp(seconds, dt.UTC):%Y-%m-%dT%H:%M:%S}."


# "000" to "999": the microseconds are written as two of these, with no
# number formatted and no string made per line.
_THREE_DIGITS: Final = tuple(f"{n:03d}" for n in range(1000))


def build_line(marker: str, second: str, nanos: int, source: str, message: str) -> bytes:
    """A stored line: marker, timestamp (`second` from `second_text`, then the
    microseconds of `nanos`), space, `source` (from `source_label`), message."""
    micros = nanos // 1000
    digits = _THREE_DIGITS
    line = (
        f"{marker}{second}{digits[micros // 1000]}{digits[micros % 1000]}+00:00 {source}{message}"
    )
    try:
        return line.encode()
    except UnicodeEncodeError:
        return encode_text(line)


# The same digits as bytes, for lines built from a frame's bytes.
_THREE_DIGIT_BYTES: Final = tuple(digits.encode() for digits in _THREE_DIGITS)


def build_wire_line(
    marker: bytes, second: bytes, nanos: int, source: bytes, message: bytes
) -> bytes:
    """`build_line` from bytes: the message as valid UTF-8 from the wire, the
    other parts encoded once (all of them ASCII), so the line is the same.
    One `%` of bytes: compiled, that is one allocation and one copy of each."""
    micros = nanos // 1000
    digits = _THREE_DIGIT_BYTES
    return b"%b%b%b%b+00:00 %b%b" % (
        marker,
        second,
        digits[micros // 1000],
        digits[micros % 1000],
        source,
        message,
    )


def format_timestamp(epoch_ns: int) -> str:
    """RFC 3339 UTC with microseconds, the contract's fixed-width form."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return f"{second_text(seconds)}{nanos // 1000:06d}+00:00"


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


# Process types and instances follow the Kubernetes rule for the names they
# come from (container names, the pod name's last segment): a DNS-1123 label.
# So they never hold `.`, `[`, `]`, a space or a control character, which
# keeps the source label parseable and one line, and a `/metrics` label short.
SOURCE_PART = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")


def is_source_part(text: str) -> bool:
    """Whether `text` may stand as a process type or instance in a source label."""
    return SOURCE_PART.fullmatch(text) is not None


def source_label(app: str, process: str, instance: str) -> str:
    """`shop[web.x2x9z]: ` or, with no instance, `shop[controller]: `."""
    if instance:
        return f"{app}[{process}.{instance}]: "
    return f"{app}[{process}]: "


def printed_line(time: str, app: str, process: str, instance: str, message: str) -> str:
    """The line as `wf logs` prints it, from its fields (a JSON line's `time`,
    `app`, `proc`, `instance`, `message`), shown as `line_text` shows a stored
    line; a line with no app is time and message."""
    text = f"{time} {source_label(app, process, instance)}{message}" if app else f"{time} {message}"
    return shown(encode_text(text)).decode("utf-8", "replace")


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


def platform_line(
    app: str, source: str, message: str, epoch_ns: int, stream: bytes = NO_STREAM
) -> bytes:
    """A stored line written by the platform itself, e.g. `shop[logger]: ...`;
    `stream` is NO_STREAM unless the line must read as an error (STDERR)."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return build_line(stream.decode(), second_text(seconds), nanos, f"{app}[{source}]: ", message)


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


def split_line(stored: bytes, limit: int) -> list[bytes]:
    """A stored line as lines of the same head (marker, time, source) whose
    messages are at most `limit` bytes, cut on UTF-8 boundaries."""
    at = message_start(stored)
    head = stored[:at]
    return [head + piece for piece in split_message(stored[at:], limit)]


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
        open_at, end = _source_bounds(stored)
        time = line_time(stored).decode("ascii", "replace")
        stream = stream_name(stored)
        if end < 0:
            return cls(time, "", "", "", stream, _text(stored[HEAD_LENGTH:]))
        app_end = open_at if open_at >= 0 else end
        process, instance = split_process(stored[open_at + 1 : end] if open_at >= 0 else b"")
        return cls(
            time=time,
            app=_text(stored[HEAD_LENGTH:app_end]),
            process=_text(process),
            instance=_text(instance),
            stream=stream,
            message=_text(stored[end + SOURCE_END_LENGTH :]),
        )


# The JSON form of a line, one name per field, for every NDJSON writer: the
# logs API's `format=json` (with `seq` in front) and NDJSON drains.
JSON_FIELDS = ("time", "app", "proc", "instance", "stream", "message")


def line_record(stored: bytes) -> dict[str, str]:
    """A stored line as its JSON object, with the JSON_FIELDS names."""
    parsed = ParsedLine.parse(stored)
    return {
        "time": parsed.time,
        "app": parsed.app,
        "proc": parsed.process,
        "instance": parsed.instance,
        "stream": parsed.stream,
        "message": parsed.message,
    }


def _text(field: bytes) -> str:
    return field.decode("utf-8", "replace")


def printed_parts(line: str) -> tuple[str, str, str, str] | None:
    """A printed line (as `wf logs` shows it, no marker) as (time, source up to
    and with `]:`, process type, the rest from the space before the message),
    or None when it has no source."""
    start = HEAD_LENGTH - 1
    close_at = line.find("]: ", start)
    open_at = line.find("[", start, close_at)
    if close_at < 0 or open_at < 0:
        return None
    process = line[open_at + 1 : close_at].rpartition(".")
    return (
        line[:TIMESTAMP_LENGTH],
        line[start : close_at + 2],
        process[0] or process[2],
        line[close_at + 2 :],
    )
