"""Per-app log metrics: counted by the router and for platform lines,
levels detected from the message start, and the app label bound."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from logger.app import build_components
from logger.app_metrics import OVERFLOW, AppLogCollector, AppLogCounter, detect_level
from logger.config import LoggerSettings
from logger.forward.protocol import EventFrame
from logger.lines import platform_line
from logger.model import Record
from logger.routing import Router
from tests.unit.test_routing import T0, event_time, pod_record

HEAD = "o2026-11-22T10:00:00.123456+00:00 shop[web.x2x9z]: "


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ("ERROR db down", "error"),
        ("ERROR: db down", "error"),
        ("ERROR", "error"),
        ("WARN slow", "warning"),
        ("WARNING slow", "warning"),
        ("INFO started", "info"),
        ("DEBUG x=1", "debug"),
        ("FATAL out of memory", "fatal"),
        ("CRITICAL disk", "fatal"),
        ("TRACE enter", "trace"),
        ("ERRORS were made", None),  # a longer word, not the token
        ("INFORMATION desk", None),
        ("Error handling is hard", None),  # prose: upper case only
        ("error db down", None),
        ("GET /healthz 200", None),
        ("", None),
        ('{"level":"error","msg":"db down"}', "error"),
        ('{"msg":"x", "severity": "WARNING"}', "warning"),
        ('{"ts":1,"level":"Info"}', "info"),
        ('{"level":"verbose"}', None),
        ('{"msg":"level: error"}', None),
        ('{"level": 3}', None),
    ],
)
def test_detect_level(message: str, level: str | None) -> None:
    line = (HEAD + message).encode()
    assert detect_level(line, len(HEAD)) == level


def test_json_level_past_the_scan_limit_is_not_seen() -> None:
    message = '{"msg":"' + "x" * 600 + '","level":"error"}'
    assert detect_level((HEAD + message).encode(), len(HEAD)) is None


def exposition(counter: AppLogCounter) -> list[str]:
    registry = CollectorRegistry()
    registry.register(AppLogCollector(counter))
    text = generate_latest(registry).decode()
    return sorted(line for line in text.splitlines() if line and not line.startswith("#"))


def test_router_counts_lines_bytes_and_levels_per_process_and_stream() -> None:
    counter = AppLogCounter(10)
    router = Router(16384, counter)
    web_a = pod_record("GET / 200", app="shop", type="web", pod="shop-web-1-aaaaa")
    web_b = pod_record("ERROR boom", app="shop", type="web", pod="shop-web-1-bbbbb")
    err = Record(log="WARN on stderr\n", stream="stderr", kubernetes=web_a.kubernetes)
    worker = pod_record("INFO job", app="shop", type="worker", pod="shop-worker-1-ccccc")
    batch = router.route("kube.x", [(event_time(T0), r) for r in (web_a, web_b, err, worker)])
    counter.add_levels(batch.level_lines)
    # Each line: timestamp (32) + space + `shop[web.aaaaa]: ` (17) + message.
    assert exposition(counter) == sorted(
        [
            'logger_app_lines_total{app="shop",proc="web",stream="stdout"} 2.0',
            f'logger_app_bytes_total{{app="shop",proc="web",stream="stdout"}} {50 + 9 + 50 + 10}.0',
            'logger_app_lines_total{app="shop",proc="web",stream="stderr"} 1.0',
            f'logger_app_bytes_total{{app="shop",proc="web",stream="stderr"}} {50 + 14}.0',
            'logger_app_lines_total{app="shop",proc="worker",stream="stdout"} 1.0',
            f'logger_app_bytes_total{{app="shop",proc="worker",stream="stdout"}} {53 + 8}.0',
            'logger_app_level_lines_total{app="shop",level="error"} 1.0',
            'logger_app_level_lines_total{app="shop",level="warning"} 1.0',
            'logger_app_level_lines_total{app="shop",level="info"} 1.0',
            "logger_app_label_overflow_lines_total 0.0",
        ]
    )
    assert sum(map(len, batch.lines["shop"])) - 4 == 119 + 64 + 61


def test_split_lines_count_each_piece() -> None:
    counter = AppLogCounter(10)
    router = Router(64, counter)
    batch = router.route("app.shop.web", [(event_time(T0), Record(log="x" * 150))])  # no stream
    assert len(batch.lines["shop"]) == 3
    assert counter.totals() == [("shop", "web", "none", 3, sum(map(len, batch.lines["shop"])) - 3)]


async def test_ingest_counts_routed_and_platform_lines_once() -> None:
    components = build_components(LoggerSettings(metrics_max_apps=5))
    ingestor = components.ingestor
    frame = EventFrame(
        "app.shop.web", [(event_time(T0), Record(log="ERROR a", stream="stdout"))], "forward"
    )
    assert await ingestor.ingest(frame, "forward", 100) == 1
    await ingestor.store_lines("shop", [platform_line("shop", "controller", "INFO hi", T0)])
    text = generate_latest(components.telemetry.registry).decode()
    assert 'logger_app_lines_total{app="shop",proc="web",stream="stdout"} 1.0' in text
    assert 'logger_app_lines_total{app="shop",proc="controller",stream="none"} 1.0' in text
    assert 'logger_app_level_lines_total{app="shop",level="error"} 1.0' in text
    assert 'logger_app_level_lines_total{app="shop",level="info"} 1.0' in text


def test_ten_thousand_apps_stay_within_the_label_bound() -> None:
    counter = AppLogCounter(1000)
    router = Router(16384, counter)
    for start in range(0, 10_000, 500):
        entries = [(event_time(T0), Record(log="ERROR x")) for _ in range(2)]
        for n in range(start, start + 500):
            batch = router.route(f"app.app{n:05d}.web", entries)
            counter.add_levels(batch.level_lines)
    lines = exposition(counter)
    apps = {line.split('app="', 1)[1].split('"', 1)[0] for line in lines if 'app="' in line}
    assert len(apps) == 1001  # the bound, and the overflow value
    assert OVERFLOW in apps
    assert "app00999" in apps
    assert "app01000" not in apps
    assert counter.app_count == 1000
    assert "logger_app_label_overflow_lines_total 18000.0" in lines
    assert (
        f'logger_app_lines_total{{app="{OVERFLOW}",proc="{OVERFLOW}",stream="none"}} 18000.0'
        in lines
    )
    assert f'logger_app_level_lines_total{{app="{OVERFLOW}",level="error"}} 18000.0' in lines
    assert 'logger_app_lines_total{app="app00000",proc="web",stream="none"} 2.0' in lines


def test_process_types_per_app_are_bounded() -> None:
    counter = AppLogCounter(10)
    for n in range(105):
        slots = counter.slots("shop", f"p{n}")
        slots[0] += (1 << 64) + 10  # stdout
    procs = {proc for _app, proc, *_ in counter.totals()}
    assert len(procs) == 101
    assert ("shop", OVERFLOW, "stdout", 5, 45) in counter.totals()


def test_router_counts_runs_of_records_as_line_by_line_counting_does() -> None:
    # Runs of one source, sources that share an app's slots, alternating apps,
    # both streams and unroutable records in between: the router adds each
    # run to the slots once, and the totals are those of counting every line.
    routed = AppLogCounter(10)
    router = Router(16384, routed)
    shop_a = pod_record("GET /a", app="shop", type="web", pod="shop-web-1-aaaaa")
    shop_b = pod_record("GET /b", app="shop", type="web", pod="shop-web-1-bbbbb")
    cart = pod_record("GET /c", app="cart", type="web", pod="cart-web-1-ccccc")
    shop_err = Record(log="oops", stream="stderr", kubernetes=shop_a.kubernetes)
    orphan = Record(log="nobody's")
    records = [shop_a, shop_a, shop_b, shop_err, shop_a, cart, orphan, cart, shop_b, shop_err]
    batch = router.route("kube.x", [(event_time(T0), record) for record in records * 3])
    assert batch.no_app == 3
    counted = AppLogCounter(10)
    for app, lines in batch.lines.items():
        counted.count(app, lines)
    assert sorted(routed.totals()) == sorted(counted.totals())
    assert sorted(routed.totals()) == [
        ("cart", "web", "stdout", 6, sum(map(len, batch.lines["cart"])) - 6),
        ("shop", "web", "stderr", 6, 6 * (50 + 4)),
        ("shop", "web", "stdout", 15, 15 * (50 + 6)),
    ]
