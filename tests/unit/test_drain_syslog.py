"""RFC 5424 encoding and RFC 6587 octet counting, from bytes."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logger.drains.sinks.syslog.encoder import (
    SHARED_FRAMES_BYTES,
    SHARED_FRAMES_LINES,
    SharedFrames,
    SyslogEncoder,
    printable_field,
    severity_for,
    split_frames,
    truncate_utf8,
)

TS = "2026-11-22T10:00:00.123456+00:00"


def stored(stream: bytes, source: str, message: str, app: str = "shop") -> bytes:
    return stream + f"{TS} {app}[{source}]: {message}".encode()


def test_stdout_line_becomes_an_info_message_with_app_procid_and_timestamp() -> None:
    encoder = SyslogEncoder("shop")
    message = encoder.message(stored(b"o", "web.x2x9z", "GET /healthz 200"))
    assert message == f"<14>1 {TS} shop shop web.x2x9z - - GET /healthz 200".encode()


@pytest.mark.parametrize(
    ("stream", "pri"), [(b"o", b"<14>"), (b"e", b"<11>"), (b"-", b"<13>"), (b"?", b"<13>")]
)
def test_stream_sets_the_severity(stream: bytes, pri: bytes) -> None:
    assert SyslogEncoder("shop").message(stored(stream, "web.1", "x")).startswith(pri + b"1 ")


def test_severity_values() -> None:
    assert (severity_for(ord("o")), severity_for(ord("e")), severity_for(ord("-"))) == (6, 3, 5)


def test_facility_and_hostname_are_configurable() -> None:
    encoder = SyslogEncoder("shop", facility=16, hostname="wf-logger")
    assert encoder.message(stored(b"e", "worker.a1", "boom")) == (
        f"<131>1 {TS} wf-logger shop worker.a1 - - boom".encode()
    )
    with pytest.raises(ValueError, match=r"syslog facility must be 0\.\.23, got 24"):
        SyslogEncoder("shop", facility=24)


def test_platform_line_uses_its_source_as_procid() -> None:
    encoder = SyslogEncoder("shop")
    assert encoder.message(stored(b"-", "controller", "scaled web to 2")) == (
        f"<13>1 {TS} shop shop controller - - scaled web to 2".encode()
    )


def test_multiline_message_and_brackets_in_message_are_kept() -> None:
    encoder = SyslogEncoder("shop")
    line = stored(b"e", "web.1", "Traceback:\n  File [x]: y\n\tdone")
    assert encoder.message(line) == (
        f"<11>1 {TS} shop shop web.1 - - Traceback:\n  File [x]: y\n\tdone".encode()
    )


def test_a_line_without_source_falls_back_to_the_drain_app() -> None:
    encoder = SyslogEncoder("shop")
    assert encoder.message(b"o" + f"{TS} no source here".encode()) == (
        f"<14>1 {TS} shop shop - - - no source here".encode()
    )


def test_header_fields_are_cut_to_rfc_lengths_and_made_printable() -> None:
    encoder = SyslogEncoder("shop")
    message = encoder.message(stored(b"o", "w eb." + "p" * 200, "m", app="a" * 60))
    fields = message.split(b" ")
    assert fields[3] == b"a" * 48
    assert fields[4] == b"w_eb." + b"p" * 123
    assert printable_field(b"", 10) == b"-"
    assert printable_field("é".encode(), 10) == b"__"


def test_frames_are_octet_counted() -> None:
    encoder = SyslogEncoder("shop")
    lines = [stored(b"o", "web.1", "one"), stored(b"o", "web.1", "two\nlines")]
    first = encoder.message(lines[0])
    second = encoder.message(lines[1])
    assert encoder.frames(lines) == b"%d %b%d %b" % (len(first), first, len(second), second)
    assert split_frames(encoder.frames(lines)) == ([first, second], b"")


def test_split_frames_keeps_an_incomplete_tail_and_rejects_garbage() -> None:
    assert split_frames(b"3 abc5 de") == ([b"abc"], b"5 de")
    with pytest.raises(ValueError, match="bad octet count b'x1' at byte 0"):
        split_frames(b"x1 a")


def test_datagrams_are_truncated_on_a_utf8_boundary_and_counted() -> None:
    encoder = SyslogEncoder("shop")
    short = stored(b"o", "web.1", "short")
    long = stored(b"o", "web.1", "é" * 400)
    datagrams, truncated = encoder.datagrams([short, long], 480)
    assert truncated == 1
    assert datagrams[0] == encoder.message(short)
    head = f"<14>1 {TS} shop shop web.1 - - ".encode()
    # 480 - len(head) is odd here, so the last 2-byte character is left out whole.
    room = 480 - len(head)
    assert datagrams[1] == head + "é".encode() * (room // 2)
    assert len(datagrams[1]) == 480 - room % 2
    datagrams[1].decode("utf-8")


def test_truncate_utf8_never_splits_a_character() -> None:
    assert truncate_utf8("aé€😀".encode(), 4) == "aé".encode()
    assert truncate_utf8("aé€😀".encode(), 6) == "aé€".encode()
    assert truncate_utf8(b"abc", 5) == b"abc"


@given(st.lists(st.text(min_size=0, max_size=300), min_size=1, max_size=20))
def test_frames_round_trip_for_any_messages(messages: list[str]) -> None:
    encoder = SyslogEncoder("shop")
    lines = [stored(b"o", "web.1", text) for text in messages]
    decoded, rest = split_frames(encoder.frames(lines))
    assert rest == b""
    assert decoded == [encoder.message(line) for line in lines]
    prefix_length = len(f"<14>1 {TS} shop shop web.1 - - ".encode())
    assert [item[prefix_length:].decode() for item in decoded] == messages


def reference_frames(encoder: SyslogEncoder, lines: list[bytes]) -> bytes:
    """RFC 6587 octet counting spelled out, message by message."""
    return b"".join(b"%d %b" % (len(m), m) for m in map(encoder.message, lines))


@given(
    st.lists(
        st.tuples(
            st.sampled_from([b"o", b"e", b"-", b"?"]),
            st.text(max_size=20),
            st.text(max_size=200),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_frames_match_the_messages_octet_counted(specs: list[tuple[bytes, str, str]]) -> None:
    encoder = SyslogEncoder("shop", facility=16, hostname="wf")
    lines = [stored(stream, source, text) for stream, source, text in specs]
    lines.append(b"o" + f"{TS} no source".encode())
    assert encoder.frames(lines) == reference_frames(encoder, lines)
    assert b"".join(map(encoder.frame, lines)) == reference_frames(encoder, lines)


def test_shared_frames_are_the_encoders_bytes_for_every_sharer() -> None:
    shared = SharedFrames(SyslogEncoder("shop"))
    shared.set_sharers(3)
    lines = [stored(b"oe-"[n % 3 : n % 3 + 1], f"web.{n % 4}", f"line {n}") for n in range(900)]
    expected = reference_frames(SyslogEncoder("shop"), lines)
    # Three drains taking different batches of the same lines, at their own pace.
    for cuts in ([0, 300, 600, 900], [0, 500, 900], [0, 1, 899, 900]):
        assert b"".join(shared.frames(lines[a:b]) for a, b in itertools.pairwise(cuts)) == expected
    assert shared.cached_lines == 900  # encoded once, then found
    # Equal lines that are other objects find the same frames.
    assert shared.frames([bytes(bytearray(line)) for line in lines[:5]]) == (
        reference_frames(SyslogEncoder("shop"), lines[:5])
    )


def test_a_single_sharer_has_no_cache() -> None:
    shared = SharedFrames(SyslogEncoder("shop"))
    lines = [stored(b"o", "web.1", f"line {n}") for n in range(50)]
    for sharers in (0, 1):
        shared.set_sharers(sharers)
        assert shared.frames(lines) == reference_frames(SyslogEncoder("shop"), lines)
        assert (shared.cached_lines, shared.cached_bytes) == (0, 0)
    shared.set_sharers(2)
    shared.frames(lines)
    assert shared.cached_lines == 50
    shared.set_sharers(1)  # the other drain was removed: the cache goes
    assert (shared.cached_lines, shared.cached_bytes) == (0, 0)


def test_the_shared_cache_stays_within_its_bounds() -> None:
    shared = SharedFrames(SyslogEncoder("shop"))
    shared.set_sharers(2)
    reference = SyslogEncoder("shop")
    small = [stored(b"o", "web.1", f"line {n}") for n in range(SHARED_FRAMES_LINES * 3 + 7)]
    for start in range(0, len(small), 500):
        chunk = small[start : start + 500]
        assert shared.frames(chunk) == shared.frames(chunk) == reference_frames(reference, chunk)
        assert shared.cached_lines <= 2 * SHARED_FRAMES_LINES
    big = [stored(b"o", "web.1", f"{n} " + "x" * 60_000) for n in range(60)]
    for start in range(0, len(big), 7):
        chunk = big[start : start + 7]
        assert shared.frames(chunk) == reference_frames(reference, chunk)
        # A generation closes at its limit, so it can pass it by one frame.
        assert shared.cached_bytes <= 2 * (SHARED_FRAMES_BYTES + 61_000)
    assert shared.cached_bytes > SHARED_FRAMES_BYTES // 2
