"""Property tests for the forward decoder: hostile bytes only ever raise LoggerError,
and every valid frame decodes to exactly the entries that were encoded."""

from __future__ import annotations

import contextlib
import gzip
import struct
from fractions import Fraction
from typing import Any

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger.errors import InvalidEntry, LoggerError
from logger.forward.protocol import EventFrame, FrameSplitter, decode_frame, event_time_ns
from logger.model import AnyRecord, LoggedRecord, Record
from tests.support.records import view
from tests.support.services import FIXTURES

MAX_FRAME = 64 * 1024
MAX_PAYLOAD = 256 * 1024
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CAPTURES = sorted(FIXTURES.glob("*/*.bin"))
CAPTURE_BYTES = [path.read_bytes() for path in CAPTURES]


def pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def str32(payload: bytes) -> bytes:
    """A msgpack str holding bytes, as Fluentd sends packed entries."""
    return b"\xdb" + len(payload).to_bytes(4, "big") + payload


def consume(data: bytes, step: int) -> list[EventFrame]:
    """Feed `data` in pieces of `step` bytes and decode every frame.

    A LoggerError ends the stream, as it ends a connection; any other
    exception escapes and fails the test. Checks the decoder's invariants on
    everything it does return."""
    events: list[EventFrame] = []
    splitter = FrameSplitter(max_frame_bytes=MAX_FRAME, max_read_bytes=max(step, 1))
    try:
        for start in range(0, len(data), step):
            splitter.feed(data[start : start + step])
            while (frame := splitter.next_frame()) is not None:
                assert 0 < len(frame) <= MAX_FRAME
                event = decode_frame(frame, MAX_PAYLOAD)
                if event is None:
                    assert frame == b"\xc0"
                    continue
                check_event(event)
                events.append(event)
        assert splitter.pending_bytes <= MAX_FRAME
    except LoggerError:
        pass
    return events


def check_event(event: EventFrame) -> None:
    assert isinstance(event.tag, str)
    assert event.mode in ("forward", "packed_forward", "compressed_packed_forward", "message")
    assert event.invalid_entries >= 0
    ack = event.ack()
    if event.chunk is None:
        assert ack is None
    else:
        assert ack == b"\x81\xa3ack" + event.chunk
    for raw_time, record in event.entries:
        assert isinstance(record, Record | LoggedRecord)
        # The decoder always resolves a text for the line.
        assert record.log is not None or record.message is not None
        with contextlib.suppress(InvalidEntry):
            assert event_time_ns(raw_time) >= 0


# --- (a) random bytes ---------------------------------------------------------------

PREFIXES = [
    b"",
    b"\x92\xa3tag",
    b"\x93\xa3tag",
    b"\x94\xa3tag",
    b"\x92\xa3tag\x91",
    b"\x92\xa3tag\x91\x92",
    b"\x93\xa3tag\x91\x92\xd7\x00",
    b"\x92\xa3tag\xc4",
    b"\x93\xa3tag\xd7\x00",
]


def framed(prefix: bytes, body: bytes) -> bytes:
    return prefix + body


def packed(body: bytes) -> bytes:
    return pack(["tag", body, {"compressed": "text"}])


def gzipped(body: bytes) -> bytes:
    return pack(["tag", gzip.compress(body, compresslevel=1), {"compressed": "gzip"}])


random_streams = st.one_of(
    st.binary(max_size=1024),
    st.builds(framed, st.sampled_from(PREFIXES), st.binary(max_size=512)),
    st.builds(packed, st.binary(max_size=512)),
    st.builds(gzipped, st.binary(max_size=512)),
)


@FUZZ
@given(data=random_streams, step=st.integers(1, 64))
def test_random_bytes_raise_only_logger_errors(data: bytes, step: int) -> None:
    consume(data, step)


@FUZZ
@given(data=st.binary(max_size=256))
def test_random_frames_raise_only_logger_errors(data: bytes) -> None:
    # decode_frame alone, on bytes the splitter would never hand it.
    try:
        event = decode_frame(data, MAX_PAYLOAD)
    except LoggerError:
        return
    if event is not None:
        check_event(event)


# --- (b) mutated captures ---------------------------------------------------------------


@st.composite
def mutations(draw: st.DrawFn, base: bytes) -> bytes:
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        operation = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete"]))
        if not data:
            data += draw(st.binary(min_size=1, max_size=8))
            continue
        index = draw(st.integers(0, len(data) - 1))
        if operation == "flip":
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif operation == "set":
            data[index] = draw(st.sampled_from([0x00, 0xC0, 0xC1, 0xDD, 0xDF, 0xFF, 0x7F, 0x90]))
        elif operation == "truncate":
            del data[index:]
        elif operation == "insert":
            data[index:index] = draw(st.binary(min_size=1, max_size=8))
        else:
            del data[index : index + draw(st.integers(1, 16))]
    return bytes(data)


mutated_captures = st.sampled_from(CAPTURE_BYTES).flatmap(mutations)


@FUZZ
@given(data=mutated_captures, step=st.sampled_from([1, 7, 64, 4096]))
def test_mutated_captures_raise_only_logger_errors(data: bytes, step: int) -> None:
    consume(data, step)


def inflated_payloads() -> list[bytes]:
    """The packed entries inside the gzip captures, to mutate before re-compressing."""
    payloads: list[bytes] = []
    for path in CAPTURES:
        unpacker = msgpack.Unpacker(raw=True, strict_map_key=False)
        unpacker.feed(path.read_bytes())
        for frame in unpacker:
            if len(frame) == 3 and frame[2].get(b"compressed") == b"gzip":
                payloads.append(gzip.decompress(frame[1]))
    return payloads


INFLATED = inflated_payloads()


@FUZZ
@given(payload=st.sampled_from(INFLATED).flatmap(mutations), step=st.sampled_from([1, 4096]))
def test_mutated_compressed_payloads_raise_only_logger_errors(payload: bytes, step: int) -> None:
    consume(gzipped(payload), step)


def test_capture_bases_are_present() -> None:
    assert len(CAPTURE_BYTES) == 9
    assert len(INFLATED) == 2
    # Unmutated, every capture decodes to its five entries.
    for data in CAPTURE_BYTES:
        events = consume(data, len(data))
        assert sum(len(event.entries) for event in events) == 5


# --- (c) random valid frames ----------------------------------------------------------

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(),
    st.text(max_size=12),
    st.binary(max_size=12),
)
values = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=6) | st.integers(-5, 5), children, max_size=4),
    ),
    max_leaves=12,
)
labels = st.fixed_dictionaries(
    {}, optional={"app": st.text(max_size=8), "type": st.text(max_size=8)}
)
kubernetes = st.fixed_dictionaries(
    {},
    optional={
        "pod_name": st.text(max_size=20),
        "namespace_name": st.text(max_size=10),
        "container_name": st.text(max_size=10),
        "labels": labels | values,
        "host": st.text(max_size=8),
    },
)
known_fields = st.fixed_dictionaries(
    {},
    optional={
        "log": st.text(max_size=40) | values,
        "message": st.text(max_size=40) | values,
        "stream": st.sampled_from(["stdout", "stderr"]) | values,
        "kubernetes": kubernetes | values,
    },
)
other_fields = st.dictionaries(st.text(max_size=8) | st.integers(0, 9), values, max_size=4)


def merge_record(known: dict[str, Any], other: dict[Any, Any]) -> dict[Any, Any]:
    return {**other, **known}


records = st.builds(merge_record, known_fields, other_fields)


@st.composite
def times(draw: st.DrawFn, metadata: bool = True) -> tuple[object, int]:
    """A wire time and its nanoseconds, computed without the decoder."""
    forms = ["event_time", "integer", "float"] + (["metadata"] if metadata else [])
    form = draw(st.sampled_from(forms))
    seconds = draw(st.integers(0, 2**32 - 1))
    nanos = draw(st.integers(0, 999_999_999))
    event_time = msgpack.ExtType(0, struct.pack(">II", seconds, nanos))
    if form == "event_time":
        return event_time, seconds * 10**9 + nanos
    if form == "metadata":
        return [event_time, draw(st.dictionaries(st.text(max_size=4), leaves, max_size=2))], (
            seconds * 10**9 + nanos
        )
    if form == "integer":
        return seconds, seconds * 10**9
    value = draw(st.floats(0, 1e10))
    return value, round(Fraction(value) * 10**9)


MODES = ["forward", "packed_bin", "packed_str", "packed_text", "gzip_one", "gzip_many", "message"]
DECODED_MODE = {
    "forward": "forward",
    "packed_bin": "packed_forward",
    "packed_str": "packed_forward",
    "packed_text": "packed_forward",
    "gzip_one": "compressed_packed_forward",
    "gzip_many": "compressed_packed_forward",
    "message": "message",
}


@st.composite
def frames(draw: st.DrawFn) -> tuple[bytes, str, str, list[tuple[int, dict[Any, Any]]], Any]:
    """(frame bytes, tag, mode, [(ns, record)], chunk or None)."""
    mode = draw(st.sampled_from(MODES))
    tag = draw(st.text(max_size=24))
    count = 1 if mode == "message" else draw(st.integers(0, 5))
    wire: list[list[object]] = []
    expected: list[tuple[int, dict[Any, Any]]] = []
    for _ in range(count):
        # In Message mode an array there would make the frame Forward mode.
        raw_time, ns = draw(times(metadata=mode != "message"))
        record = draw(records)
        wire.append([raw_time, record])
        expected.append((ns, record))
    options: dict[str, object] = {}
    if draw(st.booleans()):
        options["size"] = count
    chunk = draw(st.none() | st.text(max_size=30) | st.binary(max_size=16))
    if chunk is not None:
        options["chunk"] = chunk
    if draw(st.booleans()):
        options["x-unknown"] = draw(values)
    entries = b"".join(pack(entry) for entry in wire)
    if mode == "forward":
        items: list[bytes] = [pack(tag), pack(wire)]
    elif mode == "packed_bin":
        items = [pack(tag), pack(entries)]
    elif mode == "packed_str":
        items = [pack(tag), str32(entries)]
    elif mode == "packed_text":
        options["compressed"] = "text"
        items = [pack(tag), str32(entries)]
    elif mode == "gzip_one":
        options["compressed"] = "gzip"
        items = [pack(tag), pack(gzip.compress(entries, compresslevel=1))]
    elif mode == "gzip_many":
        options["compressed"] = "gzip"
        members = b"".join(gzip.compress(pack(entry), compresslevel=1) for entry in wire)
        items = [pack(tag), pack(members)]
    else:
        items = [pack(tag), pack(wire[0][0]), pack(wire[0][1])]
    nil_or_empty_options = draw(st.booleans())
    if options or nil_or_empty_options:
        items.append(pack(options))
    frame = bytes([0x90 | len(items)]) + b"".join(items)
    return frame, tag, mode, expected, chunk


def check_record(record_decoded: AnyRecord, record: dict[Any, Any]) -> None:
    decoded = view(record_decoded)
    for field in ("log", "message", "stream"):
        value = record.get(field)
        if isinstance(value, str):
            assert getattr(decoded, field) == value
        elif value is None and field != "message":
            assert getattr(decoded, field) is None
    if record.get("log") is None and record.get("message") is None:
        # Neither field: the whole record as compact JSON.
        assert decoded.log is None
        assert decoded.message is not None
        assert decoded.message.startswith("{")
        assert decoded.message.endswith("}")
    meta = record.get("kubernetes")
    if isinstance(meta, dict):
        assert decoded.kubernetes is not None
        for field in ("pod_name", "namespace_name", "container_name"):
            assert getattr(decoded.kubernetes, field) == meta.get(field)
        pod_labels = meta.get("labels")
        if isinstance(pod_labels, dict):
            assert decoded.kubernetes.labels is not None
            for field in ("app", "type"):
                value = pod_labels.get(field)
                if value is None or isinstance(value, str):
                    assert getattr(decoded.kubernetes.labels, field) == value
        else:
            assert decoded.kubernetes.labels is None
    else:
        assert decoded.kubernetes is None


@FUZZ
@given(frame=frames())
def test_valid_frames_decode_to_what_was_encoded(
    frame: tuple[bytes, str, str, list[tuple[int, dict[Any, Any]]], Any],
) -> None:
    data, tag, mode, expected, chunk = frame
    event = decode_frame(data, MAX_PAYLOAD)
    assert event is not None
    assert event.tag == tag
    assert event.mode == DECODED_MODE[mode]
    assert len(event.entries) == len(expected)
    assert event.invalid_entries == 0
    if chunk is None:
        assert event.ack() is None
    else:
        assert event.ack() == pack({"ack": chunk})
    for (raw_time, decoded), (ns, record) in zip(event.entries, expected, strict=True):
        assert abs(event_time_ns(raw_time) - ns) <= (1 if type(raw_time) is float else 0)
        check_record(decoded, record)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(frames(), min_size=1, max_size=4),
    heartbeats=st.lists(st.booleans(), min_size=4, max_size=4),
    step=st.integers(1, 512),
)
def test_valid_frames_survive_any_split(
    batch: list[tuple[bytes, str, str, list[tuple[int, dict[Any, Any]]], Any]],
    heartbeats: list[bool],
    step: int,
) -> None:
    stream = b"".join(
        (b"\xc0" if beat else b"") + frame[0]
        for frame, beat in zip(batch, heartbeats, strict=False)
    )
    events = consume(stream, step)
    assert [event.tag for event in events] == [frame[1] for frame in batch]
    assert [len(event.entries) for event in events] == [len(frame[3]) for frame in batch]
