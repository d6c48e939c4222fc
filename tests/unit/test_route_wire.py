"""The wire path (`Router.route_wire`): a Forward, PackedForward or gzip
CompressedPackedForward frame routed from its bytes gives exactly what
decoding it and `Router.route` give (lines, counts, the ack's chunk, the
per-app log counters), in both twins; a frame it does not take is left whole
to the decoder, with nothing counted; a gzip payload that cannot be inflated
fails as the decoder fails it; and the frames real clients send are taken."""

from __future__ import annotations

import asyncio
import gzip
import struct
from pathlib import Path
from types import ModuleType
from typing import TypeAlias

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger import route_loop as pure_loop
from logger import routing
from logger.app import build_components
from logger.app_metrics import AppLogCounter
from logger.config import LoggerSettings
from logger.errors import FatalError, FrameTooLarge, MalformedFrame
from logger.forward.protocol import FrameSplitter, decode_frame
from tests.unit.test_routing_twins import compiled_modules

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1 << 20
SECONDS = 1_795_341_600
BATCH_FIELDS = (
    "lines", "level_lines", "accepted", "invalid_time", "no_app", "invalid_app_name", "split"
)  # fmt: skip


def pack(obj: object) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def str_of(data: bytes) -> bytes:
    """A msgpack str holding any bytes (valid UTF-8 or not)."""
    if len(data) < 32:
        return bytes([0xA0 | len(data)]) + data
    if len(data) < 256:
        return b"\xd9" + bytes([len(data)]) + data
    return b"\xda" + struct.pack(">H", len(data)) + data


def map_of(pairs: list[tuple[bytes, bytes]]) -> bytes:
    head = (
        bytes([0x80 | len(pairs)]) if len(pairs) < 16 else b"\xde" + struct.pack(">H", len(pairs))
    )
    return head + b"".join(key + value for key, value in pairs)


def array_of(items: list[bytes]) -> bytes:
    count = len(items)
    head = bytes([0x90 | count]) if count < 16 else b"\xdc" + struct.pack(">H", count)
    return head + b"".join(items)


def event_time(seconds: int, nanos: int) -> bytes:
    return pack(msgpack.ExtType(0, struct.pack(">II", seconds, nanos)))


# --- what a frame may hold -----------------------------------------------------------

names = st.sampled_from(["shop", "web", "Web", "a.b", "x]: y", "-x", "w" * 64, "", "日本"])
maybe_names = st.none() | names


@st.composite
def pod_metadata(draw: st.DrawFn) -> bytes:
    meta: dict[str, object] = {}
    for key in ("pod_name", "namespace_name", "container_name"):
        if draw(st.booleans()):
            meta[key] = draw(names.map(lambda name: f"p-{name}") if key == "pod_name" else names)
    if draw(st.booleans()):
        meta["labels"] = {key: draw(maybe_names) for key in ("app", "type") if draw(st.booleans())}
    return pack(meta)


texts = st.text(max_size=120) | st.sampled_from(["ERROR x", '{"level":"warn"}', "a\r\n", "\n", ""])
clean_texts = texts.map(lambda text: str_of(text.encode("utf-8", "surrogatepass")))
# Times the wire path takes: EventTime, bare or as `[time, metadata]`.
clean_times = st.one_of(
    st.builds(event_time, st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.builds(event_time, st.just(SECONDS), st.integers(0, 999_999_999)),
    st.builds(
        lambda time, meta: b"\xdd\x00\x00\x00\x02" + time + meta,
        st.builds(event_time, st.just(SECONDS), st.integers(0, 10**9)),
        st.just(b"\x80"),
    ),
    st.builds(
        lambda time, meta: b"\x92" + time + meta,
        st.builds(event_time, st.just(SECONDS), st.integers(0, 10**9)),
        st.sampled_from([b"\x80", pack({"k": [1, {"x": None}]})]),
    ),
)
# ... and forms it leaves to the decoder.
other_times = st.sampled_from(
    [
        pack(SECONDS),
        pack(1.5),
        pack(msgpack.ExtType(3, b"\x00" * 8)),
        b"\xc7\x08\x00" + struct.pack(">II", SECONDS, 0),  # ext 8 of eight bytes
        pack("yesterday"),
        pack([SECONDS]),
        b"\x92" + pack(SECONDS) + b"\x80",
    ]
)
clean_streams = st.sampled_from([pack("stdout"), pack("stderr"), pack(None)])
other_streams = st.sampled_from(
    [pack("other"), pack(1), b"\xd9\x06stdout", str_of(b"\xff"), pack(b"stdout")]
)
other_texts = st.sampled_from(
    [pack(None), pack(3), pack(b"bytes"), str_of(b"bad \xff utf-8"), str_of(b"\xed\xa0\x80")]
)
clean_extras = st.sampled_from(
    [
        (pack("time"), pack("2026-11-22T10:00:00Z")),
        (pack("tag"), pack([1, {"a": b"b"}, 2.5, None, True])),
        (pack("kubernetes_x"), pack({})),
    ]
)
other_extras = st.sampled_from(
    [
        (pack(1), pack(2)),
        (str_of(b"\xff"), pack(1)),
        (pack("日本"), pack(1)),
        (pack("deep"), b"\x91" * 70 + b"\xc0"),
        (pack("bad"), b"\xc1"),
    ]
)


@st.composite
def records(draw: st.DrawFn, metas: list[bytes], clean: bool) -> bytes:
    fields: list[tuple[bytes, bytes]] = [(pack("log"), draw(clean_texts))]
    if draw(st.booleans()):
        fields.append((pack("stream"), draw(clean_streams)))
    if draw(st.booleans()):
        fields.append((pack("kubernetes"), draw(st.sampled_from([*metas, pack(None)]))))
    if draw(st.booleans()):
        fields.append((pack("message"), draw(clean_texts | st.just(pack(None)))))
    fields.extend(draw(st.lists(clean_extras, max_size=2, unique=True)))
    if not clean and draw(st.integers(0, 3)) == 0:
        spoil = draw(st.integers(0, 5))
        if spoil == 0:
            fields.pop(0)  # no `log`
        elif spoil == 1:
            fields[0] = (pack("log"), draw(other_texts))
        elif spoil == 2:
            fields.append((pack("stream"), draw(other_streams)))
        elif spoil == 3:
            fields.append((pack("message"), draw(other_texts)))
        elif spoil == 4:
            fields.append(draw(other_extras))
        else:
            fields.append(draw(st.sampled_from(fields)))  # a field twice
    return map_of(draw(st.permutations(fields)))


@st.composite
def forward_frames(draw: st.DrawFn, clean: bool = False) -> bytes:
    metas = draw(st.lists(pod_metadata(), min_size=1, max_size=3))
    entries = []
    for _ in range(draw(st.integers(0, 12))):
        time = draw(clean_times if clean or draw(st.integers(0, 5)) else other_times)
        # Any array header of two items (Fluent Bit 4 writes array 32 ones).
        pair = draw(st.sampled_from([b"\x92", b"\xdc\x00\x02", b"\xdd\x00\x00\x00\x02"]))
        entries.append(pair + time + draw(records(metas, clean)))
    tag = str_of(draw(st.sampled_from(["kube.x", "app.shop", "app.shop.web", "app.Bad"])).encode())
    if not clean and draw(st.integers(0, 9)) == 0:
        tag = str_of(b"app.\xff")
    chunk: dict[str, object] = draw(
        st.sampled_from([{}, {"chunk": "c1"}, {"chunk": None, "size": 2}])
    )
    carrier = draw(st.sampled_from(["forward", "packed", "gzip"]))
    if carrier == "forward":
        body = array_of(entries)
    else:
        payload = b"".join(entries)
        if carrier == "gzip":
            payload = gzip.compress(payload)
            chunk = {**chunk, "compressed": "gzip"}
        body = pack(payload) if draw(st.booleans()) else str_of(payload)  # bin, or str (Fluentd)
        if not clean and draw(st.integers(0, 5)) == 0:
            body = pack(payload[:-1] if carrier == "packed" else payload[:-3])  # cut short
    options = None if not chunk and draw(st.booleans()) else pack(chunk)
    if not clean and draw(st.integers(0, 4)) == 0:
        spoiled = [pack(None), pack({1: 2}), pack([]), pack({"compressed": "zstd"})]
        options = draw(st.sampled_from(spoiled))
    items = [tag, body] + ([] if options is None else [options])
    return array_of(items)


# --- the same result, or nothing -------------------------------------------------------


# Per frame: entries, chunk, then the batch's fields; and the log counters.
Routed: TypeAlias = tuple[list[tuple[object, ...]] | None, list[tuple[str, str, str, int, int]]]


def twins() -> list[ModuleType]:
    modules = [pure_loop]
    if routing.IMPLEMENTATION == "compiled":
        modules.append(compiled_modules()[0])
    return modules


def routed_by_decoder(module: ModuleType, frames: list[bytes], limit: int) -> Routed:
    counter = AppLogCounter(3)
    router = module.Router(limit, counter)
    results = []
    for frame in frames:
        event = decode_frame(frame, LIMIT)
        assert event is not None
        assert event.invalid_entries == 0
        batch = router.route(event.tag, event.entries)
        results.append(
            (len(event.entries), event.chunk, *(getattr(batch, name) for name in BATCH_FIELDS))
        )
    return results, counter.totals()


def routed_from_wire(module: ModuleType, frames: list[bytes], limit: int) -> Routed:
    counter = AppLogCounter(3)
    router = module.Router(limit, counter)
    results = []
    for frame in frames:
        wire = router.route_wire(frame, LIMIT)
        if wire is None:
            return None, counter.totals()
        batch = wire.batch
        results.append((wire.entries, wire.chunk, *(getattr(batch, name) for name in BATCH_FIELDS)))
    return results, counter.totals()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=forward_frames(), limit=st.sampled_from([16, 16384]))
def test_a_frame_is_routed_as_the_decoder_routes_it_or_left_to_it(frame: bytes, limit: int) -> None:
    for module in twins():
        failed: FatalError | None = None
        try:
            taken, totals = routed_from_wire(module, [frame], limit)
        except FatalError as error:  # a payload that cannot be inflated
            failed = error
        if failed is not None:
            with pytest.raises(type(failed)) as refused:
                decode_frame(frame, LIMIT)
            assert str(refused.value) == str(failed)
            continue
        if taken is None:
            assert totals == []  # nothing counted: the decoder's path counts it
            continue
        try:
            expected = routed_by_decoder(module, [frame], limit)
        except MalformedFrame as error:
            raise AssertionError(f"taken from the wire, refused by the decoder: {error}") from None
        assert (taken, totals) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=st.lists(forward_frames(clean=True), min_size=1, max_size=3))
def test_every_typed_frame_is_taken_and_routed_alike(frames: list[bytes]) -> None:
    for module in twins():
        taken = routed_from_wire(module, frames, 64)
        assert taken[0] is not None
        assert taken == routed_by_decoder(module, frames, 64)


def capture_frames(name: str) -> list[bytes]:
    splitter = FrameSplitter(LIMIT)
    splitter.feed((ROOT / "tests" / "fixtures" / name).read_bytes())
    frames = []
    while (frame := splitter.next_frame()) is not None:
        frames.append(frame)
    return frames


@pytest.mark.parametrize(
    "capture",
    [
        "fluent-bit-5.1.1/fb-forward-default.bin",
        "fluent-bit-5.1.1/fb-forward-ack.bin",
        "fluent-bit-5.1.1/fb-forward-no-metadata.bin",
        "fluent-bit-5.1.1/fb-compressed-gzip.bin",
        "fluentd-1.18.0/fd-packed.bin",
        "fluentd-1.18.0/fd-gzip.bin",
        "fluentd-1.18.0/fd-ack.bin",
    ],
)
def test_what_the_peers_send_is_taken_from_the_wire(capture: str) -> None:
    frames = [frame for frame in capture_frames(capture) if frame != b"\xc0"]
    assert frames
    for module in twins():
        taken = routed_from_wire(module, frames, 16384)
        assert taken[0] is not None
        assert taken == routed_by_decoder(module, frames, 16384)


@pytest.mark.parametrize(
    "capture",
    ["fluent-bit-5.1.1/fb-forward-time-integer.bin", "fluent-bit-5.1.1/fb-message-dynamic-tag.bin"],
)
def test_other_forms_are_left_to_the_decoder(capture: str) -> None:
    for module in twins():
        router = module.Router(16384)
        assert all(router.route_wire(frame, LIMIT) is None for frame in capture_frames(capture))


def test_ingest_takes_frames_from_the_wire_only_when_compiled() -> None:
    components = build_components(LoggerSettings())
    [frame] = [f for f in capture_frames("fluent-bit-5.1.1/fb-forward-ack.bin") if f != b"\xc0"][:1]
    wire = asyncio.run(components.ingestor.ingest_wire(frame, "forward", LIMIT))
    if routing.IMPLEMENTATION == "compiled":
        assert wire is not None
        assert wire.chunk is not None
        assert wire.batch.accepted == wire.entries > 0
    else:
        assert wire is None  # interpreted, the decoder's typed path is the faster


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (gzip.compress(b"\x00" * 5000), FrameTooLarge),  # inflates past the limit
        (gzip.compress(b"\x00" * 100)[:-9], MalformedFrame),  # truncated
        (b"\x1f\x8b not gzip", MalformedFrame),
    ],
)
def test_a_payload_that_cannot_be_inflated_fails_as_the_decoder_fails_it(
    payload: bytes, error: type[FatalError]
) -> None:
    frame = pack(["app.shop", payload, {"compressed": "gzip"}])
    with pytest.raises(error) as expected:
        decode_frame(frame, 4096)
    for module in twins():
        with pytest.raises(error) as raised:
            module.Router(16384).route_wire(frame, 4096)
        assert str(raised.value) == str(expected.value)


def test_an_entry_that_runs_past_its_payload_is_left_to_the_decoder() -> None:
    # The last value is cut off, so reading on takes the options map as that
    # value: the entry would end past the payload.
    entry = pack([msgpack.ExtType(0, struct.pack(">II", SECONDS, 0)), {"log": "x", "n": 5}])
    frame = pack(["app.shop", entry[:-1], {"chunk": "c1"}])
    for module in twins():
        assert module.Router(16384).route_wire(frame, LIMIT) is None
