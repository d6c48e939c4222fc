"""Syslog drains against a real rsyslogd: TCP, TLS and UDP inputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from logger.drains.settings import DrainSettings
from logger.drains.state import DrainState
from logger.lines import format_timestamp
from tests.integration.drain_sinks import stored_line
from tests.integration.rsyslog import Record, Rsyslog, poll_until
from tests.support.drains import quick_settings, running

T0 = 1_795_000_000_123_456_000
PROCESSES = [("web.x2x9z", b"o", 6), ("worker.a1b2c", b"e", 3), ("controller", b"-", 5)]
MULTILINE = "Traceback (most recent call last):\n  File \"app.py\", line 3\n\tValueError: 'x'"


def settings_for(tmp_path: Path, ca_file: Path | None) -> DrainSettings:
    return quick_settings(tmp_path, ca_file, batch_lines=100)


def interleaved(count: int) -> tuple[list[bytes], dict[str, list[tuple[str, str, int]]]]:
    """`count` lines per process, interleaved; and per process the expected
    (timestamp, message, severity) in order."""
    lines: list[bytes] = []
    expected: dict[str, list[tuple[str, str, int]]] = {proc: [] for proc, _, _ in PROCESSES}
    for number in range(count):
        for index, (proc, stream, severity) in enumerate(PROCESSES):
            epoch = T0 + (number * len(PROCESSES) + index) * 1000
            message = MULTILINE if number == count // 2 else f"{proc} line {number:05d}"
            lines.append(stored_line("shop", proc, message, epoch, stream))
            expected[proc].append((format_timestamp(epoch), message, severity))
    return lines, expected


def check(records: list[Record], expected: dict[str, list[tuple[str, str, int]]]) -> None:
    for proc, want in expected.items():
        got = [(r.timestamp, r.msg, r.severity) for r in records if r.procid == proc]
        assert got == want, f"{proc}: {len(got)} records, first difference at " + str(
            next((i for i, (a, b) in enumerate(zip(got, want, strict=False)) if a != b), None)
        )
    assert {(r.app, r.hostname, r.facility, r.msgid) for r in records} == {("shop", "shop", 1, "-")}
    assert len(records) == sum(len(want) for want in expected.values())


async def test_tcp_every_line_once_in_order_with_app_procid_and_time(
    tmp_path: Path, rsyslog: Rsyslog
) -> None:
    lines, expected = interleaved(400)
    async with running(settings_for(tmp_path, None)) as (registry, metrics):
        view = await registry.add("shop", f"syslog+tcp://127.0.0.1:{rsyslog.tcp_port}")
        for start in range(0, len(lines), 37):
            registry.deliver("shop", 0, lines[start : start + 37])
        drain = registry.drain(view.id)
        assert drain is not None
        assert await drain.wait_idle(10)
        records = await rsyslog.wait_for(len(lines))
        check([r for r in records if r.input == "tcp"], expected)
        labels = {"drain_id": view.id, "app": "shop", "scheme": "syslog+tcp"}
        assert metrics.get_sample_value("logger_drain_delivered_lines_total", labels) == 1200
        assert registry.list("shop")[0].state == "connected"
        assert registry.list("shop")[0].dropped_lines == 0


async def test_tls_with_the_ca_file(tmp_path: Path, rsyslog: Rsyslog, ca_file: Path) -> None:
    lines, expected = interleaved(50)
    async with running(settings_for(tmp_path, ca_file)) as (registry, _):
        view = await registry.add("shop", f"syslog+tls://127.0.0.1:{rsyslog.tls_port}")
        registry.deliver("shop", 0, lines)
        drain = registry.drain(view.id)
        assert drain is not None
        assert await drain.wait_idle(10)
        records = await rsyslog.wait_for(len(lines))
        check([r for r in records if r.input == "tls"], expected)


async def test_udp_one_datagram_per_line_truncated_to_the_limit(
    tmp_path: Path, rsyslog: Rsyslog
) -> None:
    settings = replace(settings_for(tmp_path, None), udp_max_bytes=600)
    long_message = "é" * 1000
    lines = [
        stored_line("shop", "web.1", f"udp line {number}", T0 + number * 1000)
        for number in range(20)
    ]
    lines.append(stored_line("shop", "web.1", long_message, T0 + 10**9, b"e"))
    async with running(settings) as (registry, metrics):
        view = await registry.add("shop", f"syslog+udp://127.0.0.1:{rsyslog.udp_port}")
        registry.deliver("shop", 0, lines)
        drain = registry.drain(view.id)
        assert drain is not None
        assert await drain.wait_idle(10)
        records = await rsyslog.wait_for(len(lines))
        assert [r.msg for r in records[:20]] == [f"udp line {n}" for n in range(20)]
        header = f"<11>1 {format_timestamp(T0 + 10**9)} shop shop web.1 - - "
        room = 600 - len(header.encode())
        assert records[20].msg == "é" * (room // 2)
        assert (records[20].severity, records[20].procid) == (3, "web.1")
        labels = {"drain_id": view.id, "app": "shop", "scheme": "syslog+udp"}
        assert metrics.get_sample_value("logger_drain_truncated_lines_total", labels) == 1


async def test_rsyslog_down_at_start_then_up(tmp_path: Path, stopped_rsyslog: Rsyslog) -> None:
    lines, expected = interleaved(100)
    port = stopped_rsyslog.tcp_port
    async with running(settings_for(tmp_path, None)) as (registry, _):
        view = await registry.add("shop", f"syslog://127.0.0.1:{port}")
        registry.deliver("shop", 0, lines)
        drain = registry.drain(view.id)
        assert drain is not None
        assert await poll_until(lambda: drain.state is DrainState.BACKING_OFF, 5)
        assert drain.last_error == f"connection to 127.0.0.1:{port} refused"
        await stopped_rsyslog.start()
        assert await drain.wait_idle(10)
        check(await stopped_rsyslog.wait_for(len(lines)), expected)
        assert drain.state is DrainState.CONNECTED


async def test_rsyslog_restart_between_batches_loses_nothing(
    tmp_path: Path, rsyslog: Rsyslog
) -> None:
    lines, expected = interleaved(100)
    half = len(lines) // 2
    async with running(settings_for(tmp_path, None)) as (registry, _):
        view = await registry.add("shop", f"syslog://127.0.0.1:{rsyslog.tcp_port}")
        drain = registry.drain(view.id)
        assert drain is not None
        registry.deliver("shop", 0, lines[:half])
        assert await drain.wait_idle(10)
        assert len(await rsyslog.wait_for(half)) == half
        await rsyslog.stop()
        registry.deliver("shop", 0, lines[half:])
        assert await poll_until(lambda: drain.state is DrainState.BACKING_OFF, 5)
        await rsyslog.start()
        assert await drain.wait_idle(10)
        check(await rsyslog.wait_for(len(lines)), expected)
        assert drain.dropped == {}


async def test_bad_certificate_is_a_clear_error(tmp_path: Path, rsyslog: Rsyslog) -> None:
    # No CA file: the test CA is not trusted.
    async with running(settings_for(tmp_path, None)) as (registry, _):
        view = await registry.add("shop", f"syslog+tls://127.0.0.1:{rsyslog.tls_port}")
        registry.deliver("shop", 0, [stored_line("shop", "web.1", "hello", T0)])
        drain = registry.drain(view.id)
        assert drain is not None
        assert await poll_until(lambda: drain.last_error is not None, 5)
        shown = registry.list("shop")[0]
        assert shown.state == "backing_off"
        assert shown.last_error == (
            f"TLS certificate verification failed for 127.0.0.1:{rsyslog.tls_port}: "
            "unable to get local issuer certificate"
        )
    assert rsyslog.records() == []


async def test_unresolvable_host(tmp_path: Path) -> None:
    async with running(settings_for(tmp_path, None)) as (registry, metrics):
        view = await registry.add("shop", "syslog+tls://drain-sink.invalid:6514")
        registry.deliver("shop", 0, [stored_line("shop", "web.1", "hello", T0)])
        drain = registry.drain(view.id)
        assert drain is not None
        assert await poll_until(lambda: drain.retries >= 2, 5)
        assert drain.state is DrainState.BACKING_OFF
        assert drain.last_error is not None
        assert drain.last_error.startswith("cannot resolve host drain-sink.invalid: ")
        labels = {"drain_id": view.id, "app": "shop", "scheme": "syslog+tls", "kind": "dns"}
        retries = metrics.get_sample_value("logger_drain_retries_total", labels)
        assert retries == drain.retries
