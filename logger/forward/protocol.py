"""Forward protocol v1 decoder: bytes in, frames out, no I/O.

Two steps, so that each is cheap and separately testable:

1. `FrameSplitter` finds where each top-level msgpack object ends in the
   byte stream (msgpack's C `Unpacker.skip`, which builds no objects) and
   hands out each complete frame's bytes, bounded by `max_frame_bytes`.
2. `decode_frame` turns one frame into an `EventFrame`. The fast path decodes
   straight into the typed `Record` structs (msgspec skips every key routing
   does not read). Anything the fast path rejects (invalid UTF-8, unusual
   types, a record without a string `log`/`message`) is decoded again by the
   general path, which validates entry by entry and counts what it skips.

All four carrier modes are recognised by the type of the frame's second
element, as the specification says: array (Forward), bin or str
(PackedForward, gzip-compressed when `compressed` says so), anything else
(Message).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import msgpack
import msgspec
from zlib_ng import zlib_ng

from logger.errors import FrameTooLarge, InvalidEntry, MalformedFrame, MalformedStream
from logger.lines import END_OF_TIME, clean_text
from logger.model import (
    NO_METADATA,
    AnyRecord,
    Entry,
    KubernetesMeta,
    LoggedRecord,
    PodLabels,
    RawTime,
    Record,
    TimeWithMetadata,
    WireTime,
)

HEARTBEAT = b"\xc0"  # msgpack nil: a TCP heartbeat, ignored
# Frame parts are handed around as views of the frame where no copy is needed.
Buffer: TypeAlias = bytes | memoryview

_RAW_ITEMS = msgspec.msgpack.Decoder(list[msgspec.Raw])
_TAG = msgspec.msgpack.Decoder(str)
_COUNT = msgspec.msgpack.Decoder(int)
_OPTIONS = msgspec.msgpack.Decoder(dict[str, msgspec.Raw])
# Entry times typed as a union, so that every wire form of the time
# (EventTime, int, float, and `[time, metadata]`) stays on the fast path.
_ENTRIES = msgspec.msgpack.Decoder(list[tuple[WireTime, LoggedRecord]])
_TIME = msgspec.msgpack.Decoder(WireTime)
_RECORD = msgspec.msgpack.Decoder(LoggedRecord)
_KUBERNETES = msgspec.msgpack.Decoder(KubernetesMeta)
_encode = msgspec.msgpack.Encoder().encode
_FAST_PATH_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)
# ValueError: bad msgpack or ext data (a Timestamp of the wrong length);
# TypeError: a map key that is itself an array or map cannot be hashed.
_GENERAL_ERRORS = (ValueError, TypeError, msgpack.OutOfData)
_EVENT_TIME = struct.Struct(">II")
_ARRAY32 = struct.Struct(">BI")
# zlib-ng's stub gives `error` as an instance; it is the exception class.
_INFLATE_ERROR = cast("type[Exception]", zlib_ng.error)


@dataclass(slots=True)
class EventFrame:
    """One decoded frame: its events, and the ack it asks for if any."""

    tag: str
    entries: Sequence[Entry]
    mode: str
    # The `chunk` option's value as its exact msgpack bytes, echoed in the ack.
    chunk: bytes | None = None
    invalid_entries: int = 0

    def ack(self) -> bytes | None:
        return ack_message(self.chunk)


def ack_message(chunk: bytes | None) -> bytes | None:
    """`{"ack": <chunk exactly as received>}`, or None when none was asked."""
    if chunk is None:
        return None
    return b"\x81\xa3ack" + chunk


class FrameSplitter:
    """Cuts a byte stream into complete top-level msgpack objects.

    The received bytes are held once, in one buffer (msgpack's `Unpacker`
    would keep a second copy of an unfinished frame). Boundaries are found by
    `_FrameScanner`, which resumes where it stopped, so each read costs what
    it adds; a complete frame is handed out as one copy and dropped from the
    buffer. `max_frame_bytes` may be raised once (after the handshake: before
    it a client gets only what a PING needs)."""

    def __init__(self, max_frame_bytes: int, max_read_bytes: int = 1 << 20) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._max_read_bytes = max_read_bytes
        self._buffer = bytearray()
        self._scanner = _FrameScanner()

    def feed(self, data: bytes) -> None:
        if len(self._buffer) + len(data) > self.max_frame_bytes + self._max_read_bytes:
            raise FrameTooLarge(f"frame exceeds the limit of {self.max_frame_bytes} bytes")
        self._buffer += data

    def next_frame(self) -> bytes | None:
        """The next complete frame's bytes, or None until more data is fed."""
        end = self._scanner.scan(self._buffer, self.max_frame_bytes)
        if end is None:
            if len(self._buffer) > self.max_frame_bytes:
                raise FrameTooLarge(
                    f"unfinished frame of {len(self._buffer)} bytes exceeds {self.max_frame_bytes}"
                )
            return None
        with memoryview(self._buffer) as view:
            frame = bytes(view[:end])
        # Deleting a prefix this large lets bytearray give the memory back.
        del self._buffer[:end]
        self._scanner = _FrameScanner()
        return frame

    @property
    def pending_bytes(self) -> int:
        """Bytes received that do not yet form a complete frame."""
        return len(self._buffer)


# A nested object that fits in this many bytes is skipped by msgpack's C
# `Unpacker.skip` in one call; larger containers are walked one level in
# Python (a str or bin by its declared length, without reading it), so a
# read never rescans more than this much of what came before.
_SCAN_WINDOW = 32 << 10
_MAX_DEPTH = 1024  # msgpack's own nesting limit
_UNBOUNDED = 2**31 - 1
# Fixed-width msgpack types: first byte -> encoded size.
_FIXED_SIZES = {
    0xC0: 1, 0xC2: 1, 0xC3: 1, 0xCA: 5, 0xCB: 9,
    0xCC: 2, 0xCD: 3, 0xCE: 5, 0xCF: 9, 0xD0: 2, 0xD1: 3, 0xD2: 5, 0xD3: 9,
    0xD4: 3, 0xD5: 4, 0xD6: 6, 0xD7: 10, 0xD8: 18,
}  # fmt: skip
# Variable-length str, bin and ext: first byte -> (length bytes, extra header bytes).
_SIZED = {
    0xC4: (1, 0), 0xC5: (2, 0), 0xC6: (4, 0),
    0xC7: (1, 1), 0xC8: (2, 1), 0xC9: (4, 1),
    0xD9: (1, 0), 0xDA: (2, 0), 0xDB: (4, 0),
}  # fmt: skip
# Containers: first byte -> (count bytes, children per count).
_CONTAINERS = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}


_SKIPS_ONE_BY_ONE = 8  # then children are skipped by the batch, sized by these


def _window_unpacker() -> msgpack.Unpacker:
    # Declared lengths are bounded by the frame limit, not by the window.
    return msgpack.Unpacker(
        max_buffer_size=_SCAN_WINDOW + 8,
        max_str_len=_UNBOUNDED,
        max_bin_len=_UNBOUNDED,
        max_array_len=_UNBOUNDED,
        max_map_len=_UNBOUNDED,
        max_ext_len=_UNBOUNDED,
    )


def _not_msgpack(error: Exception) -> MalformedStream:
    # FormatError, StackError and ExtraData are ValueErrors; none is resumable.
    return MalformedStream(f"not a msgpack stream: {error}")


class _FrameScanner:
    """Finds where one top-level msgpack object ends, resumably.

    Its state is the offset of the next object to skip and, for each
    container open around it, how many children are left; a call goes on
    from there, so bytes already scanned are not scanned again (but for
    less than one window)."""

    __slots__ = ("_complete", "_open", "_position", "_sized")

    def __init__(self) -> None:
        self._position = 0
        self._open: list[int] = []
        self._complete = False
        # The last batch skip: (depth of its container, bytes, children). The
        # next window of the same container is sized by it, with no single skips.
        self._sized: tuple[int, int, int] | None = None

    def scan(self, buffer: bytearray, limit: int) -> int | None:
        """The end of the frame at the start of `buffer`, or None for now."""
        with memoryview(buffer) as view:
            available = len(view)
            while not self._complete:
                if self._position > limit:
                    raise FrameTooLarge(f"frame declares more than {limit} bytes")
                if self._position >= available:
                    return None
                if self._skip_in_c(view, available):
                    continue
                # The object at the position is unfinished, or larger than a window.
                if available - self._position < _SCAN_WINDOW:
                    return None
                self._descend(view)
        if self._position > limit:
            raise FrameTooLarge(f"frame of {self._position} bytes exceeds {limit}")
        # A str or bin may be declared past what has arrived yet.
        return self._position if self._position <= available else None

    def _finished_one(self) -> None:
        """One object ended: count it against the container it is in."""
        while self._open:
            self._open[-1] -= 1
            if self._open[-1] > 0:
                return
            self._open.pop()
        self._complete = True

    def _skip_in_c(self, view: memoryview, available: int) -> bool:
        """Skip the whole objects that fit in one window; True if any did."""
        start = self._position
        window = view[start : min(available, start + _SCAN_WINDOW)]
        if self._sized is not None and self._sized[0] == len(self._open):
            _, used, skipped = self._sized
            if self._skip_batch(window, used, skipped):
                return True
        unpacker = _window_unpacker()
        unpacker.feed(window)
        skipped = 0
        while not self._complete and skipped < _SKIPS_ONE_BY_ONE:
            try:
                unpacker.skip()
            except msgpack.OutOfData:
                return skipped > 0
            except (ValueError, msgpack.StackError) as error:
                raise _not_msgpack(error) from None
            self._position = start + unpacker.tell()
            skipped += 1
            self._finished_one()
        if not self._complete and self._open:
            # Many small children: skip them by the batch, one C call each.
            self._skip_batch(window[self._position - start :], self._position - start, skipped)
        return True

    def _skip_batch(self, rest: memoryview, used: int, skipped: int) -> bool:
        """Skip as many of the open container's children as fit in `rest`,
        guessing their number from the size of those skipped so far (`used`
        bytes for `skipped` children); False when too few would fit."""
        # A tenth below the guess: the window's end cuts an object, so the
        # full guess would overshoot (and a failed skip is a wasted C pass).
        count = min(self._open[-1], len(rest) * skipped * 9 // (10 * max(used, 1)))
        while count >= _SKIPS_ONE_BY_ONE:
            header = _ARRAY32.pack(0xDD, count)
            unpacker = _window_unpacker()
            unpacker.feed(header)
            unpacker.feed(rest)
            try:
                unpacker.skip()
            except msgpack.OutOfData:
                count //= 2
                continue
            except (ValueError, msgpack.StackError) as error:
                raise _not_msgpack(error) from None
            advanced = unpacker.tell() - len(header)
            self._position += advanced
            self._sized = (len(self._open), advanced, count)
            self._open[-1] -= count - 1
            self._finished_one()
            return True
        return False

    def _descend(self, view: memoryview) -> None:
        """Step over the header of the large object at the position (its
        header is complete: a window's worth of bytes follows it)."""
        position = self._position
        kind = view[position]
        if kind <= 0x7F or kind >= 0xE0:  # fixint
            self._position = position + 1
        elif kind <= 0x9F or kind in _CONTAINERS:
            if kind in _CONTAINERS:
                width, per = _CONTAINERS[kind]
                count = int.from_bytes(view[position + 1 : position + 1 + width], "big")
            else:  # fixmap, fixarray
                width, per, count = 0, 2 if kind <= 0x8F else 1, kind & 0x0F
            self._position = position + 1 + width
            if count:
                if len(self._open) >= _MAX_DEPTH:
                    raise MalformedStream("not a msgpack stream: nesting exceeds 1024 levels")
                self._open.append(count * per)
                return
        elif kind <= 0xBF:  # fixstr
            self._position = position + 1 + (kind & 0x1F)
        elif kind in _SIZED:
            width, extra = _SIZED[kind]
            length = int.from_bytes(view[position + 1 : position + 1 + width], "big")
            self._position = position + 1 + width + extra + length
        elif kind in _FIXED_SIZES:
            self._position = position + _FIXED_SIZES[kind]
        else:  # 0xc1
            raise MalformedStream("not a msgpack stream: byte 0xc1 is never used")
        self._finished_one()


def decode_frame(frame: bytes, max_payload_bytes: int) -> EventFrame | None:
    """Decode one complete frame; None for a heartbeat (msgpack nil).

    Raises MalformedFrame for a frame that is not a forward-protocol array and
    FrameTooLarge when a compressed payload inflates past `max_payload_bytes`.
    """
    try:
        return _decode_frame(frame, max_payload_bytes)
    except RecursionError:
        # msgpack allows 1024 levels of nesting, but msgspec and json recurse
        # once per level and Python's limit (1000) can be reached first.
        raise MalformedFrame("a frame nests too deep") from None


class _ForwardFrame(msgspec.Struct, array_like=True, gc=False):
    """`[tag, [entry, ...], options?]`, what Fluent Bit sends by default."""

    tag: str
    entries: list[tuple[WireTime, LoggedRecord]]
    options: dict[str, msgspec.Raw] = {}


_FORWARD = msgspec.msgpack.Decoder(_ForwardFrame)
# fixarray headers of 2 and 3 elements: the shapes a Forward-mode frame has.
_FORWARD_HEADERS = (0x92, 0x93)


def _decode_frame(frame: bytes, max_payload_bytes: int) -> EventFrame | None:
    if frame == HEARTBEAT:
        return None
    if frame and frame[0] in _FORWARD_HEADERS:
        # The common case in one pass; anything else fails fast on its type
        # and takes the element-by-element path below.
        try:
            forward = _FORWARD.decode(frame)
        except _FAST_PATH_ERRORS:
            pass
        else:
            return EventFrame(forward.tag, forward.entries, "forward", _chunk(forward.options))
    try:
        items = _RAW_ITEMS.decode(frame)
    except _FAST_PATH_ERRORS:
        raise MalformedFrame("a frame must be a msgpack array") from None
    if len(items) < 2 or len(items) > 4:
        raise MalformedFrame(f"a frame has 2 to 4 elements, got {len(items)}")
    tag = _decode_tag(bytes(items[0]))
    # A view, not a copy: the entries are most of the frame.
    second = memoryview(items[1])
    kind = second[0]
    if _is_array(kind):
        options = _decode_options(items, 2)
        return _forward_frame(tag, second, options)
    if _is_str_or_bin(kind):
        options = _decode_options(items, 2)
        payload = _str_or_bin_payload(second)
        if _gzipped(options):
            payload = gunzip_bounded(payload, max_payload_bytes)
            mode = "compressed_packed_forward"
        else:
            mode = "packed_forward"
        return _packed_frame(tag, payload, options, mode)
    if len(items) < 3:
        raise MalformedFrame("a Message-mode frame needs a time and a record")
    options = _decode_options(items, 3)
    return _message_frame(tag, second, bytes(items[2]), options)


def event_time_ns(raw: RawTime) -> int:
    """Nanoseconds since the epoch from any of the wire's time forms.

    Raises InvalidEntry for anything else, and for a time a stored line cannot
    show (before 1970, from the year 10000 on, nanoseconds past a second)."""
    if type(raw) is TimeWithMetadata:  # [time, metadata], Fluent Bit >= 5.0.5
        raw = raw.time
    elif type(raw) is list and len(raw) == 2:  # the same, from the general path
        raw = raw[0]
    if isinstance(raw, msgspec.msgpack.Ext | msgpack.ExtType):
        data = bytes(raw.data)
        if raw.code != 0 or len(data) != 8:
            raise InvalidEntry(f"ext type {raw.code} of {len(data)} bytes is not an EventTime")
        seconds, nanos = _EVENT_TIME.unpack(data)
        if nanos >= 1_000_000_000:
            raise InvalidEntry(f"an EventTime of {nanos} nanoseconds")
        return int(seconds * 1_000_000_000 + nanos)
    if type(raw) is int and 0 <= raw < END_OF_TIME:
        return raw * 1_000_000_000
    if type(raw) is float and 0 <= raw < 1e11:
        # Split first: raw * 1e9 rounds to a multiple of 256 ns, turning .25 into .249999872.
        seconds = int(raw)
        return seconds * 1_000_000_000 + round((raw - seconds) * 1e9)
    raise InvalidEntry(f"not an event time: {type(raw).__name__}")


# Concatenated gzip members per payload: Fluentd appends one per buffered
# write; each member costs a fresh inflater, so their number is bounded too.
MAX_GZIP_MEMBERS = 4096
# Input handed to zlib at a time: what zlib copies into `unused_data` at the
# end of a member is at most this, so inflation stays linear in the input.
_GZIP_WINDOW = 64 << 10


def gunzip_bounded(payload: Buffer, limit: int, max_members: int = MAX_GZIP_MEMBERS) -> bytes:
    """Inflate one or more concatenated gzip members, refusing to pass `limit`
    bytes of output or `max_members` members.

    The first member is inflated in one zlib call over the whole payload, so
    the common payload (Fluent Bit sends one member) costs one inflation and
    no copy. Later members are read through a view in windows, never copied
    whole: the cost is linear in the payload and in the output, whatever the
    members' sizes."""
    with memoryview(payload) as data:
        if not len(data):
            return b""
        first, position = _inflate_first(data, limit)
        if position >= len(data):
            return first
        out = bytearray(first)
        members = 1
        while position < len(data):
            members += 1
            if members > max_members:
                raise FrameTooLarge(f"gzip payload has more than {max_members} members")
            position = _inflate_member(data, position, out, limit)
    return bytes(out)


def _inflate_first(data: memoryview, limit: int) -> tuple[bytes, int]:
    """The first member inflated, and where the next one starts. zlib copies
    what follows the member into `unused_data` once: linear in the payload."""
    inflater = zlib_ng.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data, limit + 1)
    except _INFLATE_ERROR as error:
        raise MalformedFrame(f"gzip payload is corrupt: {error}") from None
    if len(out) > limit:
        raise FrameTooLarge(f"gzip payload inflates past the limit of {limit} bytes")
    if not inflater.eof:
        raise MalformedFrame("gzip payload is truncated")
    return out, len(data) - len(inflater.unused_data)


def _inflate_member(data: memoryview, position: int, out: bytearray, limit: int) -> int:
    """Inflate the member at `position` into `out`; where the next one starts."""
    inflater = zlib_ng.decompressobj(wbits=31)
    window = 256  # grows while the member goes on: small members copy little
    while True:
        piece = data[position : position + window]
        try:
            out += inflater.decompress(piece, limit - len(out) + 1)
        except _INFLATE_ERROR as error:
            raise MalformedFrame(f"gzip payload is corrupt: {error}") from None
        if len(out) > limit:
            raise FrameTooLarge(f"gzip payload inflates past the limit of {limit} bytes")
        if inflater.eof:
            return position + len(piece) - len(inflater.unused_data)
        position += len(piece)
        if position >= len(data):
            raise MalformedFrame("gzip payload is truncated")
        window = min(window * 2, _GZIP_WINDOW)


# --- frame modes -------------------------------------------------------------


def _forward_frame(tag: str, entries_bytes: Buffer, options: dict[str, msgspec.Raw]) -> EventFrame:
    chunk = _chunk(options)
    try:
        return EventFrame(tag, _ENTRIES.decode(entries_bytes), "forward", chunk)
    except _FAST_PATH_ERRORS:
        pass
    objects = _unpack_general(entries_bytes)
    if not isinstance(objects, list):
        raise MalformedFrame("Forward-mode entries must be an array")
    valid, invalid = _entries_from_objects(objects)
    return EventFrame(tag, valid, "forward", chunk, invalid)


def _packed_frame(
    tag: str, payload: Buffer, options: dict[str, msgspec.Raw], mode: str
) -> EventFrame:
    chunk = _chunk(options)
    # An array header in front turns the entry stream into one array. The
    # `size` option (the entry count, as Fluent Bit and Fluentd send it) spares
    # counting the entries first: msgspec accepts the array only when it holds
    # exactly that many entries and nothing follows, so a wrong size costs a
    # second decode, never a different result.
    size = _option_count(options)
    if size is not None:
        try:
            return EventFrame(
                tag, _ENTRIES.decode(_ARRAY32.pack(0xDD, size) + payload), mode, chunk
            )
        except _FAST_PATH_ERRORS:
            pass
    count = _count_objects(payload)
    if count != size:
        try:
            return EventFrame(
                tag, _ENTRIES.decode(_ARRAY32.pack(0xDD, count) + payload), mode, chunk
            )
        except _FAST_PATH_ERRORS:
            pass
    unpacker = _general_unpacker(len(payload))
    unpacker.feed(payload)
    try:
        objects = list(unpacker)
    except _GENERAL_ERRORS as error:
        raise MalformedFrame(f"undecodable packed entries: {error}") from None
    valid, invalid = _entries_from_objects(objects)
    return EventFrame(tag, valid, mode, chunk, invalid)


def _message_frame(
    tag: str, time_bytes: Buffer, record_bytes: bytes, options: dict[str, msgspec.Raw]
) -> EventFrame:
    chunk = _chunk(options)
    time: RawTime
    try:
        time = _TIME.decode(time_bytes)
    except _FAST_PATH_ERRORS:
        time = _unpack_general(time_bytes)
    record: AnyRecord
    try:
        record = _RECORD.decode(record_bytes)
    except _FAST_PATH_ERRORS:
        try:
            record = record_from_object(_unpack_general(record_bytes))
        except InvalidEntry:
            return EventFrame(tag, [], "message", chunk, 1)
    return EventFrame(tag, [(time, record)], "message", chunk)


# --- the general path --------------------------------------------------------


def record_from_object(obj: object) -> Record:
    """A `Record` from a generally decoded map, with `message` resolved."""
    if not isinstance(obj, dict):
        raise InvalidEntry(f"a record must be a map, got {type(obj).__name__}")
    log = _as_text(obj.get("log"))
    message = _as_text(obj.get("message"))
    if log is None and message is None:
        message = _compact_json(obj)
    meta = kubernetes_from_object(obj.get("kubernetes"))
    return Record(
        log=log,
        message=message,
        stream=_as_text(obj.get("stream")),
        kubernetes=NO_METADATA if meta is None else msgspec.Raw(_encode(meta)),
    )


def _entries_from_objects(objects: list[Any]) -> tuple[list[Entry], int]:
    valid: list[Entry] = []
    invalid = 0
    for item in objects:
        if not isinstance(item, list | tuple) or len(item) != 2:
            invalid += 1
            continue
        try:
            valid.append((item[0], record_from_object(item[1])))
        except InvalidEntry:
            invalid += 1
    return valid, invalid


def decode_kubernetes(encoded: bytes) -> KubernetesMeta | None:
    """The metadata routing reads from a record's encoded `kubernetes` map."""
    try:
        return _KUBERNETES.decode(encoded)
    except _FAST_PATH_ERRORS:
        pass
    try:
        return kubernetes_from_object(_unpack_general(encoded))
    except MalformedFrame:
        return None


def kubernetes_from_object(obj: object) -> KubernetesMeta | None:
    if not isinstance(obj, dict):
        return None
    labels = obj.get("labels")
    pod_labels = None
    if isinstance(labels, dict):
        pod_labels = PodLabels(
            app=_as_clean_text(labels.get("app")), type=_as_clean_text(labels.get("type"))
        )
    return KubernetesMeta(
        pod_name=_as_clean_text(obj.get("pod_name")),
        namespace_name=_as_clean_text(obj.get("namespace_name")),
        container_name=_as_clean_text(obj.get("container_name")),
        labels=pod_labels,
    )


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return _compact_json(value)


def _as_clean_text(value: object) -> str | None:
    """Text that encodes as UTF-8: undecodable input bytes become U+FFFD."""
    text = _as_text(value)
    return None if text is None else clean_text(text)


def _compact_json(value: object) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError):
        return repr(value)


def _json_default(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return repr(value)


def _general_unpacker(size: int) -> msgpack.Unpacker:
    # Strings that are not valid UTF-8 keep their bytes as lone surrogates;
    # the buffer fits the data, whatever the frame limit is.
    return msgpack.Unpacker(
        raw=False,
        unicode_errors="surrogateescape",
        strict_map_key=False,
        max_buffer_size=max(size, 1),
    )


def _unpack_general(data: Buffer) -> Any:
    unpacker = _general_unpacker(len(data))
    unpacker.feed(data)
    try:
        return unpacker.unpack()
    except _GENERAL_ERRORS as error:
        raise MalformedFrame(f"undecodable element: {error}") from None


def _count_objects(payload: Buffer) -> int:
    unpacker = msgpack.Unpacker(max_buffer_size=max(len(payload), 1))
    unpacker.feed(payload)
    count = 0
    try:
        while True:
            unpacker.skip()
            count += 1
    except msgpack.OutOfData:
        if unpacker.tell() != len(payload):
            raise MalformedFrame("packed entries end in an unfinished entry") from None
        return count
    except (ValueError, msgpack.StackError) as error:
        raise MalformedFrame(f"packed entries are not msgpack: {error}") from None


# --- small element decoders ----------------------------------------------------


def _decode_tag(data: bytes) -> str:
    try:
        return _TAG.decode(data)
    except _FAST_PATH_ERRORS:
        value = _unpack_general(data)
        if isinstance(value, str):
            return value
        raise MalformedFrame("a frame's tag must be a string") from None


def _decode_options(items: list[msgspec.Raw], index: int) -> dict[str, msgspec.Raw]:
    if len(items) <= index:
        return {}
    if len(items) > index + 1:
        raise MalformedFrame("a frame has elements after its options")
    return options_map(bytes(items[index]))


def options_chunk(encoded: bytes) -> bytes | None:
    """The `chunk` to ack from a Forward-mode frame's encoded options map, as
    the typed decode reads it; raises MalformedFrame where that decode fails."""
    try:
        return _chunk(_OPTIONS.decode(encoded))
    except _FAST_PATH_ERRORS:
        raise MalformedFrame("options the typed decode does not take") from None


def packed_options(encoded: bytes) -> tuple[bytes | None, bool]:
    """The `chunk` to ack, and whether the payload is gzip, from a
    PackedForward frame's encoded options, as the decoder reads them;
    raises MalformedFrame where the decoder would."""
    options = options_map(encoded)
    return _chunk(options), _gzipped(options)


def _gzipped(options: dict[str, msgspec.Raw]) -> bool:
    """Whether `compressed` says gzip (else plain entries: absent or "text")."""
    compressed = _option_text(options, "compressed")
    if compressed == "gzip":
        return True
    if compressed in (None, "text"):
        return False
    raise MalformedFrame(f"unknown compression {compressed!r}")


def options_map(encoded: bytes) -> dict[str, msgspec.Raw]:
    """A frame's encoded options as the general path reads them: nil is none."""
    if encoded == HEARTBEAT:
        return {}
    try:
        return _OPTIONS.decode(encoded)
    except _FAST_PATH_ERRORS:
        raise MalformedFrame("a frame's options must be a map with string keys") from None


def _chunk(options: dict[str, msgspec.Raw]) -> bytes | None:
    raw = options.get("chunk")
    if raw is None:
        return None
    chunk = bytes(raw)
    return None if chunk == HEARTBEAT else chunk  # `chunk: nil` asks for no ack


def _option_count(options: dict[str, msgspec.Raw]) -> int | None:
    """The `size` option when it is a count an array header can hold, else None."""
    raw = options.get("size")
    if raw is None:
        return None
    try:
        size = _COUNT.decode(raw)
    except _FAST_PATH_ERRORS:
        return None
    return size if 0 <= size < 1 << 32 else None


def _option_text(options: dict[str, msgspec.Raw], name: str) -> str | None:
    raw = options.get(name)
    if raw is None:
        return None
    value = _unpack_general(bytes(raw))
    return value if isinstance(value, str) else None


def _is_array(kind: int) -> bool:
    return 0x90 <= kind <= 0x9F or kind in (0xDC, 0xDD)


def _is_str_or_bin(kind: int) -> bool:
    return 0xA0 <= kind <= 0xBF or kind in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB)


def _str_or_bin_payload(encoded: Buffer) -> Buffer:
    """The content of an encoded msgpack str or bin, as raw bytes.

    Fluentd sends packed entries as a str whose bytes are not UTF-8, so they
    must never be decoded as text."""
    kind = encoded[0]
    if 0xA0 <= kind <= 0xBF:
        return encoded[1:]
    header = {0xC4: 2, 0xD9: 2, 0xC5: 3, 0xDA: 3, 0xC6: 5, 0xDB: 5}[kind]
    return encoded[header:]
