"""The forward-protocol decoder, from bytes: real captures, hand-built frames, limits."""

from __future__ import annotations

import datetime
import gzip
import json
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgpack
import msgspec
import pytest

from logger.errors import FrameTooLarge, InvalidEntry, MalformedFrame, MalformedStream
from logger.forward.protocol import (
    EventFrame,
    FrameSplitter,
    decode_frame,
    event_time_ns,
    gunzip_bounded,
    record_from_object,
)
from logger.model import KubernetesMeta, PodLabels, Record, TimeWithMetadata
from tests.support.records import RecordView, view
from tests.support.services import FIXTURES

if TYPE_CHECKING:
    from collections.abc import Callable

MIB = 1 << 20
LIMIT = MIB

# --- real captures ---------------------------------------------------------------

FLUENT_BIT_FILES = sorted((FIXTURES / "fluent-bit-5.1.1").glob("*.bin"))
FLUENTD_FILES = sorted((FIXTURES / "fluentd-1.18.0").glob("*.bin"))
CAPTURES = FLUENT_BIT_FILES + FLUENTD_FILES

CAPTURED_LOG = "2026-11-22T10:00:00Z INFO GET /healthz 200 1ms"
CAPTURED_KUBERNETES = KubernetesMeta(
    pod_name="shop-web-7d9f8b6c5-x2x9z",
    namespace_name="shop",
    container_name="shop-web",
    labels=PodLabels(app="shop", type="web"),
)
CAPTURE_DAY = datetime.date(2026, 11, 22)


@dataclass(frozen=True)
class Capture:
    """What one capture file must decode to."""

    mode: str
    tag: str
    frames: int
    # "metadata" for `[EventTime, {}]`, "event_time" for a bare EventTime, "integer".
    time_form: str
    chunk: str | None = None


EXPECTED: dict[str, Capture] = {
    "fb-compressed-gzip.bin": Capture("compressed_packed_forward", "dummy.0", 1, "metadata"),
    "fb-forward-ack.bin": Capture(
        "forward", "dummy.0", 1, "metadata", chunk="F4PNAA+rx1urr9uBqs313g=="
    ),
    "fb-forward-default.bin": Capture("forward", "dummy.0", 1, "metadata"),
    "fb-forward-no-metadata.bin": Capture("forward", "dummy.0", 1, "event_time"),
    "fb-forward-time-integer.bin": Capture("forward", "dummy.0", 1, "integer"),
    "fb-message-dynamic-tag.bin": Capture("message", "shop", 5, "event_time"),
    "fd-ack.bin": Capture(
        "packed_forward", "dummy.0", 1, "event_time", chunk="Zg3/9l0RDE3CBTowp99sgQ==\n"
    ),
    "fd-gzip.bin": Capture("compressed_packed_forward", "dummy.0", 1, "event_time"),
    "fd-packed.bin": Capture("packed_forward", "dummy.0", 1, "event_time"),
}


def split_whole(data: bytes, max_frame_bytes: int = LIMIT) -> list[bytes]:
    splitter = FrameSplitter(max_frame_bytes)
    splitter.feed(data)
    frames = drain(splitter)
    assert splitter.pending_bytes == 0
    return frames


def split_bytewise(data: bytes, max_frame_bytes: int = LIMIT) -> list[bytes]:
    splitter = FrameSplitter(max_frame_bytes)
    frames: list[bytes] = []
    for index in range(len(data)):
        splitter.feed(data[index : index + 1])
        frames += drain(splitter)
    assert splitter.pending_bytes == 0
    return frames


def drain(splitter: FrameSplitter) -> list[bytes]:
    frames: list[bytes] = []
    while (frame := splitter.next_frame()) is not None:
        frames.append(frame)
    return frames


def decode(frame: bytes, max_payload_bytes: int = LIMIT) -> EventFrame:
    event = decode_frame(frame, max_payload_bytes)
    assert event is not None
    return event


def time_form(raw: object) -> str:
    if isinstance(raw, TimeWithMetadata):  # the fast path's form of the pair
        raw = [raw.time, msgspec.msgpack.decode(raw.metadata)]
    if isinstance(raw, list):
        assert len(raw) == 2
        assert raw[1] == {}
        assert isinstance(raw[0], msgspec.msgpack.Ext | msgpack.ExtType)
        return "metadata"
    if isinstance(raw, msgspec.msgpack.Ext | msgpack.ExtType):
        return "event_time"
    assert type(raw) is int
    return "integer"


def test_capture_globs_find_every_file() -> None:
    assert len(FLUENT_BIT_FILES) == 6
    assert len(FLUENTD_FILES) == 3
    assert {path.name for path in CAPTURES} == set(EXPECTED)


@pytest.mark.parametrize("feed", [split_whole, split_bytewise], ids=["whole", "bytewise"])
@pytest.mark.parametrize("path", CAPTURES, ids=[path.name for path in CAPTURES])
def test_capture_decodes_to_five_records(path: Path, feed: Callable[[bytes], list[bytes]]) -> None:
    expected = EXPECTED[path.name]
    data = path.read_bytes()
    frames = feed(data)

    assert len(frames) == expected.frames
    assert b"".join(frames) == data
    events = [decode(frame) for frame in frames]
    entries = [entry for event in events for entry in event.entries]
    assert len(entries) == 5
    for event in events:
        assert event.mode == expected.mode
        assert event.tag == expected.tag
        assert event.invalid_entries == 0
    for raw_time, record in entries:
        assert view(record) == RecordView(
            log=CAPTURED_LOG, message=None, stream="stdout", kubernetes=CAPTURED_KUBERNETES
        )
        assert time_form(raw_time) == expected.time_form
    times = [event_time_ns(raw_time) for raw_time, _ in entries]
    assert times == sorted(times)
    for ns in times:
        moment = datetime.datetime.fromtimestamp(ns / 1e9, datetime.UTC)
        assert moment.date() == CAPTURE_DAY
        if expected.time_form == "integer":
            assert ns % 1_000_000_000 == 0


@pytest.mark.parametrize("path", CAPTURES, ids=[path.name for path in CAPTURES])
def test_capture_ack_echoes_chunk_byte_exact(path: Path) -> None:
    expected = EXPECTED[path.name]
    for frame in split_whole(path.read_bytes()):
        event = decode(frame)
        # The chunk as the client sent it, read independently of the decoder.
        sent = msgpack.unpackb(frame, raw=True, strict_map_key=False)
        options = sent[-1] if isinstance(sent[-1], dict) else {}
        if expected.chunk is None:
            assert b"chunk" not in options
            assert event.chunk is None
            assert event.ack() is None
            continue
        assert options[b"chunk"] == expected.chunk.encode()
        ack = event.ack()
        assert ack is not None
        assert ack == msgpack.packb({"ack": expected.chunk})
        assert msgpack.unpackb(ack) == {"ack": expected.chunk}


def test_fluentd_chunk_keeps_its_trailing_newline() -> None:
    (frame,) = split_whole((FIXTURES / "fluentd-1.18.0" / "fd-ack.bin").read_bytes())
    ack = decode(frame).ack()
    assert ack is not None
    assert msgpack.unpackb(ack)["ack"].endswith("\n")
    assert ack.endswith(b"==\n")


# --- hand-built frames -------------------------------------------------------------

SECONDS = 1_795_364_624
NANOS = 123_456_789
EVENT_TIME_NS = SECONDS * 1_000_000_000 + NANOS
EVENT_TIME_DATA = struct.pack(">II", SECONDS, NANOS)
EVENT_TIME = msgpack.ExtType(0, EVENT_TIME_DATA)
FIXEXT8_TIME = b"\xd7\x00" + EVENT_TIME_DATA
EXT8_TIME = b"\xc7\x08\x00" + EVENT_TIME_DATA

APP_RECORD: dict[str, Any] = {
    "log": "GET / 200",
    "stream": "stderr",
    "time": "ignored",
    "kubernetes": {
        "pod_name": "shop-web-1-abcde",
        "namespace_name": "shop",
        "container_name": "shop-web",
        "host": "node-1",
        "labels": {"app": "shop", "type": "web", "version": "v1"},
    },
}
APP_DECODED = RecordView(
    log="GET / 200",
    stream="stderr",
    kubernetes=KubernetesMeta(
        pod_name="shop-web-1-abcde",
        namespace_name="shop",
        container_name="shop-web",
        labels=PodLabels(app="shop", type="web"),
    ),
)
PLAIN_RECORD: dict[str, Any] = {"log": "second line"}
PLAIN_DECODED = RecordView(log="second line")


def pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def packed_entries(*entries: object) -> bytes:
    return b"".join(pack(entry) for entry in entries)


def str_header(length: int, kind: int) -> bytes:
    """A msgpack str or bin header of the given (possibly non-minimal) kind."""
    if kind == 0xA0:
        assert length < 32
        return bytes([0xA0 | length])
    size = {0xC4: 1, 0xD9: 1, 0xC5: 2, 0xDA: 2, 0xC6: 4, 0xDB: 4}[kind]
    return bytes([kind]) + length.to_bytes(size, "big")


def array_frame(*elements: bytes) -> bytes:
    assert len(elements) < 16
    return bytes([0x90 | len(elements)]) + b"".join(elements)


def entries_of(event: EventFrame) -> list[tuple[int, RecordView]]:
    return [(event_time_ns(raw), view(record)) for raw, record in event.entries]


def test_forward_mode() -> None:
    frame = pack(["app.shop", [[EVENT_TIME, APP_RECORD], [SECONDS, PLAIN_RECORD]]])
    event = decode(frame)
    assert event.tag == "app.shop"
    assert event.mode == "forward"
    assert entries_of(event) == [
        (EVENT_TIME_NS, APP_DECODED),
        (SECONDS * 1_000_000_000, PLAIN_DECODED),
    ]
    assert event.invalid_entries == 0
    assert event.chunk is None
    assert event.ack() is None


def test_forward_mode_with_nil_options() -> None:
    event = decode(pack(["t", [[SECONDS, PLAIN_RECORD]], None]))
    assert event.mode == "forward"
    assert entries_of(event) == [(SECONDS * 1_000_000_000, PLAIN_DECODED)]


def test_forward_mode_with_no_entries() -> None:
    event = decode(pack(["t", []]))
    assert (event.mode, event.entries, event.invalid_entries) == ("forward", [], 0)


def test_message_mode() -> None:
    event = decode(pack(["app.shop", EVENT_TIME, APP_RECORD]))
    assert event.mode == "message"
    assert event.tag == "app.shop"
    assert entries_of(event) == [(EVENT_TIME_NS, APP_DECODED)]
    assert event.invalid_entries == 0
    assert event.ack() is None


def test_message_mode_with_options() -> None:
    event = decode(pack(["t", SECONDS, PLAIN_RECORD, {"chunk": "abc", "size": 1}]))
    assert event.mode == "message"
    assert entries_of(event) == [(SECONDS * 1_000_000_000, PLAIN_DECODED)]
    assert event.ack() == pack({"ack": "abc"})


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (0xC4, "bin8"),
        (0xC5, "bin16"),
        (0xC6, "bin32"),
        (0xA0, "fixstr"),
        (0xD9, "str8"),
        (0xDA, "str16"),
        (0xDB, "str32"),
    ],
)
def test_packed_forward_payload_as_bin_or_str(kind: int, name: str) -> None:
    if kind == 0xA0:
        payload = packed_entries([SECONDS, {"log": "a"}], [SECONDS, {"log": "b"}])
        expected = [RecordView(log="a"), RecordView(log="b")]
    else:
        payload = packed_entries([EVENT_TIME, APP_RECORD], [SECONDS, PLAIN_RECORD])
        expected = [APP_DECODED, PLAIN_DECODED]
    frame = array_frame(pack("tag.x"), str_header(len(payload), kind) + payload)
    event = decode(frame)
    assert event.mode == "packed_forward", name
    assert event.tag == "tag.x"
    assert [view(record) for _, record in event.entries] == expected
    assert event.invalid_entries == 0


def test_packed_forward_payload_is_not_utf8_text() -> None:
    # Fluentd sends a str whose bytes are packed entries: EventTime bytes are not UTF-8.
    payload = packed_entries([EVENT_TIME, APP_RECORD])
    with pytest.raises(UnicodeDecodeError):
        payload.decode()
    event = decode(array_frame(pack("t"), str_header(len(payload), 0xDB) + payload))
    assert entries_of(event) == [(EVENT_TIME_NS, APP_DECODED)]


def test_packed_forward_with_empty_payload() -> None:
    event = decode(pack(["t", b""]))
    assert (event.mode, event.entries, event.invalid_entries) == ("packed_forward", [], 0)


def test_compressed_packed_forward_one_member() -> None:
    payload = gzip.compress(packed_entries([EVENT_TIME, APP_RECORD], [SECONDS, PLAIN_RECORD]))
    event = decode(pack(["t", payload, {"compressed": "gzip", "size": 2}]))
    assert event.mode == "compressed_packed_forward"
    assert entries_of(event) == [
        (EVENT_TIME_NS, APP_DECODED),
        (SECONDS * 1_000_000_000, PLAIN_DECODED),
    ]


def test_compressed_packed_forward_several_members() -> None:
    members = [
        gzip.compress(pack([SECONDS + index, {"log": f"line {index}"}])) for index in range(3)
    ]
    # A member may also hold several entries.
    members.append(gzip.compress(packed_entries([SECONDS, {"log": "x"}], [SECONDS, {"log": "y"}])))
    event = decode(pack(["t", b"".join(members), {"compressed": "gzip"}]))
    assert event.mode == "compressed_packed_forward"
    assert [record.log for _, record in event.entries] == ["line 0", "line 1", "line 2", "x", "y"]
    assert [event_time_ns(raw) // 1_000_000_000 for raw, _ in event.entries] == [
        SECONDS,
        SECONDS + 1,
        SECONDS + 2,
        SECONDS,
        SECONDS,
    ]


def test_compressed_payload_as_str() -> None:
    payload = gzip.compress(packed_entries([SECONDS, PLAIN_RECORD]))
    frame = array_frame(
        pack("t"), str_header(len(payload), 0xDB) + payload, pack({"compressed": "gzip"})
    )
    event = decode(frame)
    assert event.mode == "compressed_packed_forward"
    assert [view(record) for _, record in event.entries] == [PLAIN_DECODED]


def test_compressed_text_means_uncompressed() -> None:
    payload = packed_entries([SECONDS, PLAIN_RECORD])
    event = decode(pack(["t", payload, {"compressed": "text", "size": 1}]))
    assert event.mode == "packed_forward"
    assert [view(record) for _, record in event.entries] == [PLAIN_DECODED]


def test_unknown_compression_is_malformed() -> None:
    with pytest.raises(MalformedFrame, match="zstd"):
        decode_frame(pack(["t", b"\x00", {"compressed": "zstd"}]), LIMIT)


@pytest.mark.parametrize("encoded_time", [FIXEXT8_TIME, EXT8_TIME], ids=["fixext8", "ext8"])
@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message", "metadata"])
def test_event_time_encodings(encoded_time: bytes, mode: str) -> None:
    record = pack(PLAIN_RECORD)
    if mode == "forward":
        frame = array_frame(pack("t"), b"\x91\x92" + encoded_time + record)
    elif mode == "packed_forward":
        payload = b"\x92" + encoded_time + record
        frame = array_frame(pack("t"), str_header(len(payload), 0xC4) + payload)
    elif mode == "message":
        frame = array_frame(pack("t"), encoded_time, record)
    else:
        frame = array_frame(pack("t"), b"\x91\x92\x92" + encoded_time + b"\x80" + record)
    event = decode(frame)
    assert entries_of(event) == [(EVENT_TIME_NS, PLAIN_DECODED)]


def test_integer_time() -> None:
    event = decode(pack(["t", [[SECONDS, PLAIN_RECORD], [0, PLAIN_RECORD]]]))
    assert [raw for raw, _ in event.entries] == [SECONDS, 0]
    assert [ns for ns, _ in entries_of(event)] == [SECONDS * 1_000_000_000, 0]


@pytest.mark.parametrize(
    ("seconds", "expected_ns"),
    [
        (1_795_364_624.5, 1_795_364_624_500_000_000),
        # Exactly representable as a float, so exactly this many nanoseconds.
        (1_700_000_000.25, 1_700_000_000_250_000_000),
        (0.0, 0),
        (1.5, 1_500_000_000),
    ],
)
def test_float_time(seconds: float, expected_ns: int) -> None:
    event = decode(pack(["t", seconds, PLAIN_RECORD]))
    ((raw, _),) = event.entries
    assert type(raw) is float
    assert event_time_ns(raw) == expected_ns
    forward = decode(pack(["t", [[seconds, PLAIN_RECORD]]]))
    assert entries_of(forward) == [(expected_ns, PLAIN_DECODED)]


def test_time_with_metadata() -> None:
    event = decode(pack(["t", [[[EVENT_TIME, {}], APP_RECORD], [[SECONDS, {"k": 1}], {}]]]))
    assert [ns for ns, _ in entries_of(event)] == [EVENT_TIME_NS, SECONDS * 1_000_000_000]
    assert event.entries[1][0][1] == {"k": 1}


def test_event_time_from_both_ext_types() -> None:
    assert event_time_ns(msgpack.ExtType(0, EVENT_TIME_DATA)) == EVENT_TIME_NS
    assert event_time_ns(msgspec.msgpack.Ext(0, EVENT_TIME_DATA)) == EVENT_TIME_NS
    assert event_time_ns([msgspec.msgpack.Ext(0, EVENT_TIME_DATA), {}]) == EVENT_TIME_NS
    assert event_time_ns(msgpack.ExtType(0, struct.pack(">II", 0xFFFFFFFF, 999_999_999))) == (
        0xFFFFFFFF * 1_000_000_000 + 999_999_999
    )


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-22T10:00:00Z",
        b"\x00" * 8,
        None,
        True,
        False,
        -1,
        -0.5,
        float("nan"),
        float("inf"),
        1e12,
        {"seconds": 1},
        [],
        [SECONDS],
        [SECONDS, {}, {}],
        [[SECONDS, {}], {}],
        msgpack.ExtType(1, EVENT_TIME_DATA),
        msgpack.ExtType(0, EVENT_TIME_DATA[:4]),
        msgspec.msgpack.Ext(0, EVENT_TIME_DATA + b"\x00"),
        msgpack.Timestamp(SECONDS, NANOS),
    ],
    ids=repr,
)
def test_invalid_time_raises_invalid_entry(raw: object) -> None:
    with pytest.raises(InvalidEntry):
        event_time_ns(raw)


def test_invalid_time_in_a_frame_is_kept_raw_for_the_caller() -> None:
    event = decode(pack(["t", [["yesterday", PLAIN_RECORD], [SECONDS, PLAIN_RECORD]]]))
    assert [raw for raw, _ in event.entries] == ["yesterday", SECONDS]
    with pytest.raises(InvalidEntry):
        event_time_ns(event.entries[0][0])


# --- options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunk",
    [
        pack("p8xlnHdyT0uGJZ8fR5c0Jw=="),
        pack("ends in a newline==\n"),
        pack(b"\x00\xffbinary chunk"),
        b"\xd9\x05hello",  # a non-minimal str8 header is echoed as it came
        b"\xc6\x00\x00\x00\x02\xfe\xff",  # bin32 of 2 bytes
    ],
    ids=["str", "str-newline", "bin", "str8-non-minimal", "bin32-non-minimal"],
)
@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message"])
def test_chunk_is_echoed_exactly(chunk: bytes, mode: str) -> None:
    options = b"\x82" + pack("size") + pack(1) + pack("chunk") + chunk
    if mode == "forward":
        frame = array_frame(pack("t"), pack([[SECONDS, PLAIN_RECORD]]), options)
    elif mode == "packed_forward":
        frame = array_frame(pack("t"), pack(pack([SECONDS, PLAIN_RECORD])), options)
    else:
        frame = array_frame(pack("t"), pack(SECONDS), pack(PLAIN_RECORD), options)
    event = decode(frame)
    assert event.mode == mode
    assert event.chunk == chunk
    ack = event.ack()
    assert ack == b"\x81\xa3ack" + chunk
    value = msgpack.unpackb(chunk, raw=False)
    assert msgpack.unpackb(ack) == {"ack": value}
    if chunk[0] not in (0xD9, 0xC6):  # minimal encodings round-trip through packb
        assert ack == pack({"ack": value})
    assert [view(record) for _, record in event.entries] == [PLAIN_DECODED]


def test_size_option_is_accepted_and_does_not_limit_entries() -> None:
    entries = [[SECONDS, {"log": str(index)}] for index in range(3)]
    event = decode(pack(["t", entries, {"size": 3}]))
    assert [record.log for _, record in event.entries] == ["0", "1", "2"]
    mismatched = decode(pack(["t", entries, {"size": 1}]))
    assert len(mismatched.entries) == 3


def test_unknown_options_are_ignored() -> None:
    options = {
        "fluent_signal": 0,
        "x-vendor": {"nested": [1, 2, {"a": None}]},
        "compressed": "text",
        "size": 1,
    }
    payload = packed_entries([SECONDS, PLAIN_RECORD])
    event = decode(pack(["t", payload, options]))
    assert event.mode == "packed_forward"
    assert event.chunk is None
    assert [view(record) for _, record in event.entries] == [PLAIN_DECODED]
    forward = decode(pack(["t", [[SECONDS, PLAIN_RECORD]], options]))
    assert (forward.mode, forward.chunk, len(forward.entries)) == ("forward", None, 1)


# --- heartbeat ----------------------------------------------------------------------


def test_heartbeat_is_none() -> None:
    assert decode_frame(b"\xc0", LIMIT) is None


def test_heartbeats_between_frames_are_split_out() -> None:
    frame = pack(["t", [[SECONDS, PLAIN_RECORD]]])
    stream = b"\xc0" + frame + b"\xc0\xc0" + frame
    frames = split_whole(stream)
    assert frames == [b"\xc0", frame, b"\xc0", b"\xc0", frame]
    assert split_bytewise(stream) == frames
    decoded = [decode_frame(item, LIMIT) for item in frames]
    assert [event is None for event in decoded] == [True, False, True, True, False]


# --- records --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message"])
def test_record_without_log_or_message_becomes_compact_json(mode: str) -> None:
    record = {"level": "info", "n": 1, "ok": True, "tags": ["a", "é"], "none": None}
    if mode == "forward":
        frame = pack(["t", [[SECONDS, record]]])
    elif mode == "packed_forward":
        frame = pack(["t", pack([SECONDS, record])])
    else:
        frame = pack(["t", SECONDS, record])
    event = decode(frame)
    ((_, decoded),) = event.entries
    assert decoded == Record(
        log=None,
        message='{"level":"info","n":1,"ok":true,"tags":["a","é"],"none":null}',
    )
    assert json.loads(decoded.message or "") == record


def test_empty_record_becomes_empty_json_object() -> None:
    event = decode(pack(["t", [[SECONDS, {}]]]))
    assert [record for _, record in event.entries] == [Record(message="{}")]


def test_record_with_bytes_and_odd_keys_becomes_json() -> None:
    obj = {1: "int key", "data": b"caf\xc3\xa9", "bad": b"\xff"}
    record = record_from_object(obj)
    assert record.log is None
    assert record.message == '{"1":"int key","data":"café","bad":"\ufffd"}'


@pytest.mark.parametrize("mode", ["forward", "message"])
def test_message_used_when_log_absent(mode: str) -> None:
    record = {"message": "hello from message", "stream": "stdout"}
    frame = pack(["t", [[SECONDS, record]]] if mode == "forward" else ["t", SECONDS, record])
    ((_, decoded),) = decode(frame).entries
    assert decoded == Record(log=None, message="hello from message", stream="stdout")


def test_log_and_message_both_kept() -> None:
    ((_, decoded),) = decode(pack(["t", [[SECONDS, {"log": "L", "message": "M"}]]])).entries
    assert (decoded.log, decoded.message) == ("L", "M")


def test_non_string_fields_are_rendered_as_text() -> None:
    record = {
        "log": b"caf\xc3\xa9 bytes",
        "message": 42,
        "stream": ["x"],
        "kubernetes": {
            "pod_name": "p",
            "namespace_name": 7,
            "labels": {"app": b"shop", "type": None},
        },
    }
    ((_, decoded),) = decode(pack(["t", [[SECONDS, record]]])).entries
    assert view(decoded) == RecordView(
        log="café bytes",
        message="42",
        stream='["x"]',
        kubernetes=KubernetesMeta(
            pod_name="p", namespace_name="7", labels=PodLabels(app="shop", type=None)
        ),
    )


def test_kubernetes_that_is_not_a_map_is_dropped() -> None:
    ((_, decoded),) = decode(pack(["t", [[SECONDS, {"log": "x", "kubernetes": "k"}]]])).entries
    assert view(decoded) == RecordView(log="x", kubernetes=None)
    ((_, labels),) = decode(
        pack(["t", [[SECONDS, {"log": "x", "kubernetes": {"labels": [1], "pod_name": "p"}}]]])
    ).entries
    assert view(labels).kubernetes == KubernetesMeta(pod_name="p", labels=None)


@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message"])
def test_invalid_utf8_in_log_is_surrogate_escaped(mode: str) -> None:
    bad_log = b"\xa6bad \xff\xfe"  # fixstr of 6 bytes, not UTF-8
    record = b"\x82" + pack("log") + bad_log + pack("stream") + pack("stdout")
    good = pack([SECONDS, {"log": "fine"}])
    if mode == "forward":
        frame = array_frame(pack("t"), b"\x92" + b"\x92" + pack(SECONDS) + record + good)
        expected = ["bad \udcff\udcfe", "fine"]
    elif mode == "packed_forward":
        payload = b"\x92" + pack(SECONDS) + record + good
        frame = array_frame(pack("t"), str_header(len(payload), 0xC4) + payload)
        expected = ["bad \udcff\udcfe", "fine"]
    else:
        frame = array_frame(pack("t"), pack(SECONDS), record)
        expected = ["bad \udcff\udcfe"]
    event = decode(frame)
    assert [record.log for _, record in event.entries] == expected
    assert event.entries[0][1].stream == "stdout"
    assert event.invalid_entries == 0
    # The original bytes are recoverable.
    assert (event.entries[0][1].log or "").encode("utf-8", "surrogateescape") == b"bad \xff\xfe"


def test_invalid_utf8_tag_is_surrogate_escaped() -> None:
    frame = array_frame(b"\xa2\xff\xfe", pack([[SECONDS, PLAIN_RECORD]]))
    assert decode(frame).tag == "\udcff\udcfe"


@pytest.mark.parametrize("mode", ["forward", "packed_forward"])
def test_invalid_entries_are_counted_and_the_rest_survive(mode: str) -> None:
    entries: list[object] = [
        [SECONDS, {"log": "first"}],
        [SECONDS, "not a map"],
        [SECONDS, [1, 2]],
        [SECONDS],
        [SECONDS, {"log": "x"}, "extra"],
        7,
        [SECONDS + 1, {"log": "last"}],
    ]
    frame = pack(["t", entries]) if mode == "forward" else pack(["t", packed_entries(*entries)])
    event = decode(frame)
    assert event.mode == mode
    assert [(raw, record.log) for raw, record in event.entries] == [
        (SECONDS, "first"),
        (SECONDS + 1, "last"),
    ]
    assert event.invalid_entries == 5


def test_message_mode_record_not_a_map_is_counted() -> None:
    event = decode(pack(["t", SECONDS, "just text", {"chunk": "c1"}]))
    assert (event.mode, event.entries, event.invalid_entries) == ("message", [], 1)
    assert event.ack() == pack({"ack": "c1"})


def test_record_from_object_rejects_non_maps() -> None:
    for value in ("text", 1, None, [("log", "x")], b"bytes"):
        with pytest.raises(InvalidEntry):
            record_from_object(value)


# --- limits ---------------------------------------------------------------------------


def test_frame_at_the_limit_is_accepted() -> None:
    frame = pack(["t", [[SECONDS, {"log": "x" * 100}]]])
    assert split_whole(frame, max_frame_bytes=len(frame)) == [frame]
    assert split_bytewise(frame, max_frame_bytes=len(frame)) == [frame]


def test_complete_frame_over_the_limit_is_too_large() -> None:
    frame = pack(["t", [[SECONDS, {"log": "x" * 100}]]])
    splitter = FrameSplitter(max_frame_bytes=len(frame) - 1)
    splitter.feed(frame)
    with pytest.raises(FrameTooLarge):
        splitter.next_frame()


def test_unfinished_frame_over_the_limit_is_too_large() -> None:
    splitter = FrameSplitter(max_frame_bytes=100)
    header = b"\x92\xa1t\xc6" + (1000).to_bytes(4, "big")  # a 1000-byte bin
    splitter.feed(header + b"\x00" * 90)
    assert splitter.next_frame() is None
    assert splitter.pending_bytes == len(header) + 90
    splitter.feed(b"\x00" * 10)
    with pytest.raises(FrameTooLarge):
        splitter.next_frame()


def test_unfinished_frame_fed_bytewise_stops_at_the_limit() -> None:
    splitter = FrameSplitter(max_frame_bytes=100)
    data = b"\xdd" + (10**6).to_bytes(4, "big") + b"\xc0" * 200  # array of a million nils
    fed = 0
    with pytest.raises(FrameTooLarge):  # noqa: PT012
        for byte in data:
            splitter.feed(bytes([byte]))
            fed += 1
            splitter.next_frame()
    assert fed == 101


def test_feeding_past_the_buffer_is_too_large() -> None:
    splitter = FrameSplitter(max_frame_bytes=100, max_read_bytes=100)
    splitter.feed(b"\x92\xa1t\xc6" + (1000).to_bytes(4, "big"))
    with pytest.raises(FrameTooLarge):
        splitter.feed(b"\x00" * 300)


@pytest.mark.parametrize("read", [1000, 4096, 70_000, 1 << 20])
def test_entries_whose_size_changes_mid_frame_are_split_exactly(read: int) -> None:
    """Windows after the first are sized by the batch before them: a run of
    small entries, then large ones, then small again must not fool it."""
    sizes = [20] * 3000 + [40_000] * 3 + [3000] * 40 + [5] * 5000
    frame = pack(["t", [[SECONDS, {"log": "x" * size}] for size in sizes]])
    stream = frame + frame[:100]
    splitter = FrameSplitter(max_frame_bytes=LIMIT)
    found = []
    for start in range(0, len(stream), read):
        splitter.feed(stream[start : start + read])
        found += drain(splitter)
    assert found == [frame]
    assert splitter.pending_bytes == 100


def test_frames_after_a_large_one_are_still_split() -> None:
    small = pack(["t", [[SECONDS, PLAIN_RECORD]]])
    big = pack(["t", [[SECONDS, {"log": "y" * 5000}]]])
    splitter = FrameSplitter(max_frame_bytes=len(big))
    for _ in range(3):
        splitter.feed(small + big)
    assert drain(splitter) == [small, big] * 3
    assert splitter.pending_bytes == 0


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    return compressor.compress(bytes(50 * MIB)) + compressor.flush()


def test_gzip_bomb_is_refused_quickly(gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < 100_000
    frame = pack(["t", gzip_bomb, {"compressed": "gzip"}])
    started = time.perf_counter()
    with pytest.raises(FrameTooLarge):
        decode_frame(frame, MIB)
    assert time.perf_counter() - started < 1.0


def test_gzip_bomb_split_across_members_is_refused() -> None:
    member = gzip.compress(bytes(MIB // 2 + 1))
    with pytest.raises(FrameTooLarge):
        gunzip_bounded(member * 2, MIB)
    assert gunzip_bounded(member, MIB) == bytes(MIB // 2 + 1)


def test_gunzip_bounded_limit_is_inclusive() -> None:
    data = b"a" * 1000
    assert gunzip_bounded(gzip.compress(data), 1000) == data
    with pytest.raises(FrameTooLarge):
        gunzip_bounded(gzip.compress(data), 999)
    two = gzip.compress(data[:400]) + gzip.compress(data[400:])
    assert gunzip_bounded(two, 1000) == data
    with pytest.raises(FrameTooLarge):
        gunzip_bounded(two, 999)
    assert gunzip_bounded(b"", 0) == b""


def _corrupt_crc(member: bytes) -> bytes:
    return member[:-8] + bytes([member[-8] ^ 0xFF]) + member[-7:]


@pytest.mark.parametrize(
    "payload",
    [
        gzip.compress(b"x" * 100)[:-4],  # truncated trailer
        gzip.compress(b"x" * 100)[:12],  # truncated deflate data
        gzip.compress(b"x" * 100)[:5],  # truncated header
        b"\x1f\x8b",
        b"not gzip at all",
        _corrupt_crc(gzip.compress(b"x" * 100)),
        gzip.compress(b"x" * 100) + b"trailing garbage",
        gzip.compress(b"x" * 100) + gzip.compress(b"y")[:-1],
        zlib.compress(b"x" * 100),  # zlib, not gzip
    ],
    ids=[
        "no-trailer",
        "cut-deflate",
        "cut-header",
        "magic-only",
        "not-gzip",
        "bad-crc",
        "trailing-garbage",
        "second-member-cut",
        "zlib",
    ],
)
def test_corrupt_gzip_is_malformed(payload: bytes) -> None:
    with pytest.raises(MalformedFrame):
        gunzip_bounded(payload, MIB)
    with pytest.raises(MalformedFrame):
        decode_frame(pack(["t", payload, {"compressed": "gzip"}]), MIB)


def test_byte_c1_is_a_malformed_stream() -> None:
    splitter = FrameSplitter(LIMIT)
    splitter.feed(b"\xc1")
    with pytest.raises(MalformedStream):
        splitter.next_frame()


def test_byte_c1_after_a_good_frame() -> None:
    frame = pack(["t", [[SECONDS, PLAIN_RECORD]]])
    splitter = FrameSplitter(LIMIT)
    splitter.feed(frame + b"\xc1" + frame)
    assert splitter.next_frame() == frame
    with pytest.raises(MalformedStream):
        splitter.next_frame()


def test_byte_c1_inside_a_frame() -> None:
    splitter = FrameSplitter(LIMIT)
    splitter.feed(b"\x92\xa1t\x91\x92\x01\xc1")
    with pytest.raises(MalformedStream):
        splitter.next_frame()


def test_nesting_past_msgpack_limit_is_a_malformed_stream() -> None:
    splitter = FrameSplitter(LIMIT)
    splitter.feed(b"\x91" * 2000 + b"\x01")
    with pytest.raises(MalformedStream):
        splitter.next_frame()


@pytest.mark.parametrize(
    "obj",
    [0, 1, -1, 1.5, "text", b"bin", True, {"tag": "t"}, {}, msgpack.ExtType(0, b"x" * 8)],
    ids=repr,
)
def test_top_level_non_array_is_malformed(obj: object) -> None:
    frame = pack(obj)
    assert split_whole(frame) == [frame]
    with pytest.raises(MalformedFrame):
        decode_frame(frame, LIMIT)


@pytest.mark.parametrize(
    "obj",
    [[], ["t"], ["t", [], {}, None, None], ["t", 1], ["t", None], ["t", {}]],
    ids=repr,
)
def test_array_of_the_wrong_shape_is_malformed(obj: object) -> None:
    with pytest.raises(MalformedFrame):
        decode_frame(pack(obj), LIMIT)


@pytest.mark.parametrize("tag", [1, None, True, b"bin-tag", ["t"], {"t": 1}, 1.5], ids=repr)
@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message"])
def test_non_string_tag_is_malformed(tag: object, mode: str) -> None:
    if mode == "forward":
        frame = pack([tag, [[SECONDS, PLAIN_RECORD]]])
    elif mode == "packed_forward":
        frame = pack([tag, pack([SECONDS, PLAIN_RECORD])])
    else:
        frame = pack([tag, SECONDS, PLAIN_RECORD])
    with pytest.raises(MalformedFrame):
        decode_frame(frame, LIMIT)


@pytest.mark.parametrize(
    "options",
    [pack("opts"), pack(1), pack([1]), pack({1: "int key"}), pack({b"bin": 1})],
    ids=["str", "int", "array", "int-key", "bin-key"],
)
@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message"])
def test_options_that_are_not_a_string_keyed_map_are_malformed(options: bytes, mode: str) -> None:
    if mode == "forward":
        frame = array_frame(pack("t"), pack([[SECONDS, PLAIN_RECORD]]), options)
    elif mode == "packed_forward":
        frame = array_frame(pack("t"), pack(pack([SECONDS, PLAIN_RECORD])), options)
    else:
        frame = array_frame(pack("t"), pack(SECONDS), pack(PLAIN_RECORD), options)
    with pytest.raises(MalformedFrame):
        decode_frame(frame, LIMIT)


def test_packed_entries_ending_mid_entry_are_malformed() -> None:
    payload = packed_entries([SECONDS, PLAIN_RECORD])
    with pytest.raises(MalformedFrame):
        decode_frame(pack(["t", payload[:-1]]), LIMIT)
    with pytest.raises(MalformedFrame):
        decode_frame(pack(["t", payload + b"\xc1"]), LIMIT)


def test_decode_frame_rejects_bytes_that_are_not_one_msgpack_object() -> None:
    for frame in (b"", b"\xc1", b"\x92\xa1t", pack(["t", []]) + b"\x01"):
        with pytest.raises(MalformedFrame):
            decode_frame(frame, LIMIT)


# --- found by fuzzing: inputs that once escaped as non-LoggerError exceptions ----------

ARRAY_KEY_MAP = b"\x82" + pack("log") + pack("x") + b"\x91\x01" + pack(1)  # {"log": "x", [1]: 1}
MAP_KEY_MAP = b"\x81\x81\x01\x01\x01"  # {{1: 1}: 1}
BAD_TIMESTAMP = b"\xc7\x05\xff12345"  # ext -1 (msgpack Timestamp) of an impossible length


@pytest.mark.parametrize("record", [ARRAY_KEY_MAP, MAP_KEY_MAP], ids=["array-key", "map-key"])
@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message"])
def test_unhashable_map_key_is_malformed(record: bytes, mode: str) -> None:
    if mode == "forward":
        frame = array_frame(pack("t"), b"\x91\x92" + pack(SECONDS) + record)
    elif mode == "packed_forward":
        payload = b"\x92" + pack(SECONDS) + record
        frame = array_frame(pack("t"), str_header(len(payload), 0xC4) + payload)
    else:
        frame = array_frame(pack("t"), pack(SECONDS), record)
    with pytest.raises(MalformedFrame):
        decode_frame(frame, LIMIT)


def test_unhashable_key_in_an_option_value_is_malformed() -> None:
    frame = array_frame(pack("t"), pack(b""), b"\x81" + pack("compressed") + MAP_KEY_MAP)
    with pytest.raises(MalformedFrame):
        decode_frame(frame, LIMIT)


@pytest.mark.parametrize("mode", ["forward", "packed_forward", "message"])
def test_bad_msgpack_timestamp_is_malformed(mode: str) -> None:
    record = pack({"log": "x"})
    if mode == "forward":
        frame = array_frame(pack("t"), b"\x91\x92" + BAD_TIMESTAMP + record)
    elif mode == "packed_forward":
        payload = b"\x92" + BAD_TIMESTAMP + record
        frame = array_frame(pack("t"), str_header(len(payload), 0xC4) + payload)
    else:
        frame = array_frame(pack("t"), BAD_TIMESTAMP, record)
    with pytest.raises(MalformedFrame):
        decode_frame(frame, LIMIT)


@pytest.mark.parametrize("mode", ["forward", "packed_forward"])
@pytest.mark.parametrize("with_log", [True, False], ids=["log", "no-log"])
def test_nesting_near_msgpack_limit_is_malformed_or_decoded(mode: str, with_log: bool) -> None:
    # msgpack allows 1024 levels; Python's recursion limit (1000) can be hit first.
    nested = b"\x91" * 1015 + b"\x01"
    record = b"\x82" + pack("log") + pack("x") + pack("k") + nested
    if not with_log:
        record = b"\x81" + pack("k") + nested
    if mode == "forward":
        frame = array_frame(pack("t"), b"\x91\x92" + pack(SECONDS) + record)
    else:
        payload = b"\x92" + pack(SECONDS) + record
        frame = array_frame(pack("t"), str_header(len(payload), 0xC5) + payload)
    assert split_whole(frame) == [frame]
    outcome: EventFrame | str | None
    try:
        outcome = decode_frame(frame, LIMIT)
    except MalformedFrame as error:
        outcome = str(error)
    if isinstance(outcome, str):  # Python 3.11: C code shares the recursion limit
        assert outcome == "a frame nests too deep"
    else:
        assert outcome is not None
        ((_, decoded),) = outcome.entries
        if with_log:
            assert decoded.log == "x"
        else:
            assert decoded.message == '{"k":' + "[" * 1015 + "1" + "]" * 1015 + "}"


def test_any_stream_name_is_kept_on_either_path() -> None:
    # stdout and stderr decode on the typed path; another name makes the frame
    # take the general path, which keeps it as sent.
    records = [{"log": "a", "stream": "stdout"}, {"log": "b", "stream": "stderr"}, {"log": "c"}]
    typed = decode_frame(pack(["t", [[1, record] for record in records]]), MIB)
    assert typed is not None
    assert [record.stream for _, record in typed.entries] == ["stdout", "stderr", None]
    assert type(typed.entries[0][1]).__name__ == "LoggedRecord"
    mixed = decode_frame(
        pack(["t", [[1, record] for record in [*records, {"log": "d", "stream": "journal"}]]]), MIB
    )
    assert mixed is not None
    assert [record.stream for _, record in mixed.entries] == ["stdout", "stderr", None, "journal"]
    assert [record.log for _, record in mixed.entries] == ["a", "b", "c", "d"]
