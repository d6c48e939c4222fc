"""The stored line has one owner: what `logger.lines` builds, its accessors
read back, field by field, and so do the readers built on them (JSON
rendering, the syslog encoder, the per-app metrics, `wf logs` colours)."""

from __future__ import annotations

import pytest

from logger import lines
from logger.drains.syslog import SyslogEncoder
from logger.lines import (
    HEAD_LENGTH,
    NO_STREAM,
    STDERR,
    STDOUT,
    ParsedLine,
    build_line,
    format_timestamp,
    line_app,
    line_instance,
    line_message,
    line_process,
    line_process_instance,
    line_source,
    line_text,
    line_time,
    platform_line,
    printed_parts,
    second_text,
    source_label,
    split_line,
    stream_name,
)
from logger.model import Record
from logger.routing import Router
from tests.unit.test_routing import T0, event_time, pod_record

STAMP = "2026-11-22T10:00:00.123456+00:00"

CASES = [
    # (marker, app, process, instance, message)
    (STDOUT, "shop", "web", "x2x9z", "GET /healthz 200"),
    (STDERR, "shop", "worker", "", "no instance"),
    (NO_STREAM, "shop", "controller", "", "app created"),
    (STDOUT, "café-app", "wëb", "ü1", "naïve → ünïcode 日本語 🚀"),
    (STDOUT, "a", "p", "i", ""),
    (STDOUT, "shop", "web", "x", "a message with ]: and [brackets] inside"),
]


def _build(marker: bytes, app: str, process: str, instance: str, message: str) -> bytes:
    seconds, nanos = divmod(T0, 1_000_000_000)
    label = source_label(app, process, instance)
    return build_line(marker.decode(), second_text(seconds), nanos, label, message)


@pytest.mark.parametrize(("marker", "app", "process", "instance", "message"), CASES)
def test_accessors_round_trip_every_field(
    marker: bytes, app: str, process: str, instance: str, message: str
) -> None:
    stored = _build(marker, app, process, instance, message)
    assert line_time(stored) == STAMP.encode()
    assert line_app(stored) == app.encode()
    assert line_process(stored) == process.encode()
    assert line_instance(stored) == instance.encode()
    bracket = f"{process}.{instance}" if instance else process
    assert line_process_instance(stored) == bracket.encode()
    assert line_source(stored) == f"{app}[{bracket}".encode()
    assert bytes(line_message(stored)) == message.encode()
    assert stream_name(stored) == {STDOUT: "stdout", STDERR: "stderr", NO_STREAM: ""}[marker]
    assert line_text(stored) == f"{STAMP} {app}[{bracket}]: {message}".encode()
    assert ParsedLine.parse(stored) == ParsedLine(
        STAMP, app, process, instance, stream_name(stored), message
    )
    printed = printed_parts(line_text(stored).decode())
    assert printed == (STAMP, f"{app}[{bracket}]:", process, f" {message}")


def test_message_is_a_view_not_a_copy() -> None:
    stored = _build(STDOUT, "shop", "web", "x", "hello")
    view = line_message(stored)
    assert isinstance(view, memoryview)
    assert view.obj is stored


def test_a_line_with_no_source_reads_as_message_only() -> None:
    stored = b"o" + f"{STAMP} no source here".encode()
    assert line_app(stored) == b""
    assert line_process(stored) == b""
    assert bytes(line_message(stored)) == b"no source here"
    assert ParsedLine.parse(stored).message == "no source here"
    assert printed_parts(line_text(stored).decode()) is None


def test_platform_lines_and_routed_lines_share_the_layout() -> None:
    routed = Router(16384).route(
        "kube.x", [(event_time(T0), pod_record("hello", app="shop", type="web"))]
    )
    stored = routed.lines["shop"][0]
    written = platform_line("shop", "web.x2x9z", "hello", T0, STDOUT)
    assert stored == written
    assert platform_line("shop", "logger", "m", T0)[:1] == NO_STREAM
    assert format_timestamp(T0) == STAMP
    assert len(STAMP) == lines.TIMESTAMP_LENGTH == HEAD_LENGTH - 2


# WF_LOGGER_MAX_LINE_BYTES is at least 64; below 4 a character could not fit.
@pytest.mark.parametrize("limit", [4, 5, 7, 64])
@pytest.mark.parametrize("instance_pod", ["shop-web-7d9f8b6c5-x2x9z", ""])
def test_every_piece_of_a_split_line_parses_back_to_the_same_head(
    limit: int, instance_pod: str
) -> None:
    message = "aé日🚀" * 20  # 1, 2, 3 and 4 byte characters
    record = pod_record(message, app="shop", type="wëb", pod=instance_pod or None)
    batch = Router(limit).route("kube.x", [(event_time(T0), record)])
    pieces = batch.lines["shop"]
    assert len(pieces) > 1
    assert batch.split == len(pieces) - 1
    heads = {bytes(stored[: len(stored) - len(line_message(stored))]) for stored in pieces}
    assert len(heads) == 1
    expected = ParsedLine.parse(_build(STDOUT, "shop", "wëb", "x2x9z" if instance_pod else "", ""))
    for stored in pieces:
        parsed = ParsedLine.parse(stored)
        assert (parsed.time, parsed.app, parsed.process, parsed.instance, parsed.stream) == (
            expected.time,
            expected.app,
            expected.process,
            expected.instance,
            expected.stream,
        )
        # At most `limit` bytes of message, never a character cut.
        assert len(line_message(stored)) <= limit
        bytes(line_message(stored)).decode()
    assert "".join(ParsedLine.parse(piece).message for piece in pieces) == message


def test_split_line_exactly_at_the_limit_is_one_piece() -> None:
    stored = _build(STDOUT, "shop", "web", "x", "x" * 100)
    assert split_line(stored, 100) == [stored]
    assert [len(line_message(piece)) for piece in split_line(stored, 99)] == [99, 1]
    router = Router(100)
    at_limit = router.route("app.shop.web", [(event_time(T0), Record(log="y" * 100))])
    assert at_limit.split == 0
    over = router.route("app.shop.web", [(event_time(T0), Record(log="y" * 101))])
    assert over.split == 1


def test_the_syslog_encoder_reads_the_same_fields() -> None:
    stored = _build(STDERR, "shop", "web", "x2x9z", "boom ]: still message")
    assert SyslogEncoder("shop").message(stored) == (
        f"<11>1 {STAMP} shop shop web.x2x9z - - boom ]: still message".encode()
    )
