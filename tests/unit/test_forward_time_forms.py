"""Every wire form of an entry's time decodes on the typed fast path, in every
carrier mode, and routes to the same line as the plain EventTime form."""

from __future__ import annotations

import gzip
import struct

import msgpack
import msgspec
import pytest

from logger.forward.protocol import decode_frame, event_time_ns
from logger.lines import line_time
from logger.model import LoggedRecord, TimeWithMetadata
from logger.routing import Router

SECONDS = 1_795_341_600  # 2026-11-22T10:00:00Z
NANOS = 123_456_789
EVENT_TIME = msgpack.ExtType(0, struct.pack(">II", SECONDS, NANOS))
RECORD = {"log": "GET / 200\n", "stream": "stdout", "kubernetes": {"labels": {"app": "shop"}}}
LIMIT = 1 << 20


def pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def frames(time: object) -> dict[str, bytes]:
    """One two-entry frame in each carrier mode (one entry for Message mode)."""
    entries = [[time, RECORD], [time, RECORD]]
    packed = b"".join(pack(entry) for entry in entries)
    return {
        "forward": pack(["t", entries, {"chunk": "c1"}]),
        "packed_forward": pack(["t", packed]),
        "compressed_packed_forward": pack(["t", gzip.compress(packed), {"compressed": "gzip"}]),
        "message": pack(["t", time, RECORD]),
    }


TIMES = {
    "event_time": EVENT_TIME,
    "integer": SECONDS,
    "float": SECONDS + 0.5,
    "event_time+{}": [EVENT_TIME, {}],
    "integer+{}": [SECONDS, {}],
    "float+{}": [SECONDS + 0.5, {}],
    "event_time+metadata": [EVENT_TIME, {"trace_id": "abc", "n": 1}],
}


# `[tag, [time, metadata], record]` has an array second element: the
# specification makes that a Forward-mode frame, so Message mode has no pair.
CASES = [
    (mode, form)
    for mode in frames(0)
    for form, time in TIMES.items()
    if not (mode == "message" and isinstance(time, list))
]


@pytest.mark.parametrize(("mode", "form"), CASES)
def test_every_time_form_takes_the_fast_path(mode: str, form: str) -> None:
    time = TIMES[form]
    event = decode_frame(frames(time)[mode], LIMIT)
    assert event is not None
    assert event.mode == mode
    # The fast path's typed records, not the general path's.
    assert all(type(record) is LoggedRecord for _, record in event.entries)
    raw = event.entries[0][0]
    if isinstance(time, list):
        assert type(raw) is TimeWithMetadata
        # The metadata is kept as its exact bytes, never built into a dict.
        assert bytes(raw.metadata) == pack(time[1])
    plain = time[0] if isinstance(time, list) else time
    expected = event_time_ns(plain if not isinstance(plain, msgpack.ExtType) else EVENT_TIME)
    assert [event_time_ns(raw) for raw, _ in event.entries] == [expected] * len(event.entries)


@pytest.mark.parametrize("form", list(TIMES))
def test_every_time_form_routes_like_the_plain_event_time(form: str) -> None:
    plain = TIMES["event_time"] if "event" in form else SECONDS
    reference = decode_frame(frames(plain)["forward"], LIMIT)
    event = decode_frame(frames(TIMES[form])["forward"], LIMIT)
    assert event is not None
    assert reference is not None
    lines = Router(16384).route(event.tag, event.entries).lines["shop"]
    if "float" in form:
        assert {line_time(line)[-13:] for line in lines} == {b".500000+00:00"}
    else:
        assert lines == Router(16384).route(reference.tag, reference.entries).lines["shop"]


@pytest.mark.parametrize(
    "time",
    [
        [EVENT_TIME],
        [EVENT_TIME, {}, {}],
        [[EVENT_TIME, {}], {}],
        ["yesterday", {}],
        msgpack.Timestamp(SECONDS, NANOS),
        [msgpack.Timestamp(SECONDS, NANOS), {}],
    ],
    ids=repr,
)
def test_pairs_the_rule_refuses_are_invalid_times_as_before(time: object) -> None:
    event = decode_frame(frames(time)["forward"], LIMIT)
    assert event is not None
    batch = Router(16384).route(event.tag, event.entries)
    assert batch.invalid_time == 2
    assert batch.lines == {}


def test_metadata_map_of_any_content_is_not_an_error() -> None:
    time = [EVENT_TIME, {"nested": {"deep": [1, 2, {"x": None}]}, "bin": b"\xff"}]
    event = decode_frame(frames(time)["forward"], LIMIT)
    assert event is not None
    raw = event.entries[0][0]
    assert type(raw) is TimeWithMetadata
    assert msgspec.msgpack.decode(raw.metadata) == time[1]
    assert Router(16384).route(event.tag, event.entries).accepted == 2
