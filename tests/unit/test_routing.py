from __future__ import annotations

import struct

import msgspec

from logger.lines import ParsedLine
from logger.model import KubernetesMeta, PodLabels, Record
from logger.routing import Router

T0 = 1_795_341_600_123_456_789  # 2026-11-22T10:00:00.123456789Z
STAMP = "2026-11-22T10:00:00.123456+00:00"


def event_time(epoch_ns: int) -> msgspec.msgpack.Ext:
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return msgspec.msgpack.Ext(0, struct.pack(">II", seconds, nanos))


def pod_record(message: str, **meta: object) -> Record:
    labels = PodLabels(app=meta.get("app"), type=meta.get("type"))  # type: ignore[arg-type]
    return Record(
        log=message,
        stream="stdout",
        kubernetes=msgspec.Raw(
            msgspec.msgpack.encode(
                KubernetesMeta(
                    pod_name=meta.get("pod", "shop-web-7d9f8b6c5-x2x9z"),  # type: ignore[arg-type]
                    namespace_name=meta.get("namespace"),  # type: ignore[arg-type]
                    container_name=meta.get("container"),  # type: ignore[arg-type]
                    labels=labels,
                )
            )
        ),
    )


def test_app_and_process_from_labels() -> None:
    batch = Router(16384).route(
        "kube.x",
        [(event_time(T0), pod_record("GET / 200\n", app="shop", type="web", namespace="ns"))],
    )
    assert batch.lines == {"shop": [b"o" + f"{STAMP} shop[web.x2x9z]: GET / 200".encode()]}
    assert batch.accepted == 1


def test_namespace_and_container_when_labels_are_missing() -> None:
    record = pod_record("hi", namespace="shop", container="worker")
    batch = Router(16384).route("kube.x", [(event_time(T0), record)])
    assert batch.lines["shop"] == [b"o" + f"{STAMP} shop[worker.x2x9z]: hi".encode()]


def test_tag_convention_without_kubernetes_metadata() -> None:
    router = Router(16384)
    entries = [(T0 // 1_000_000_000, Record(log="one", stream="stderr"))]
    assert router.route("app.shop.worker", entries).lines == {
        "shop": [b"e2026-11-22T10:00:00.000000+00:00 shop[worker]: one"]
    }
    assert router.route("app.shop", entries).lines["shop"][0].endswith(b"shop[app]: one")


def test_unroutable_records_are_counted() -> None:
    batch = Router(16384).route("kube.var.log", [(event_time(T0), Record(log="x"))])
    assert batch.lines == {}
    assert batch.no_app == 1
    bad = Router(16384).route("app.bad[name]", [(event_time(T0), Record(log="x"))])
    assert bad.no_app == 1


def test_invalid_time_is_counted_and_skipped() -> None:
    entries = [("yesterday", Record(log="x")), (event_time(T0), Record(log="y"))]
    batch = Router(16384).route("app.shop", entries)
    assert batch.invalid_time == 1
    assert len(batch.lines["shop"]) == 1


def test_message_field_and_metadata_time_pair() -> None:
    entries = [([event_time(T0), {}], Record(message="from message"))]
    line = Router(16384).route("app.shop.web", entries).lines["shop"][0]
    assert ParsedLine.parse(line).message == "from message"
    assert ParsedLine.parse(line).stream == ""


def test_long_messages_are_split_on_character_boundaries() -> None:
    message = "é" * 10_000  # 20,000 bytes
    line_set = Router(4096).route("app.shop.web", [(event_time(T0), Record(log=message))])
    lines = line_set.lines["shop"]
    assert len(lines) == 5
    assert line_set.split == 4
    parsed = [ParsedLine.parse(line) for line in lines]
    assert "".join(p.message for p in parsed) == message
    assert all(len(p.message.encode()) <= 4096 for p in parsed)
    assert {p.time for p in parsed} == {STAMP}


def test_invalid_utf8_is_replaced_not_dropped() -> None:
    text = b"ok \xff\xfe end".decode("utf-8", "surrogateescape")
    line = Router(16384).route("app.shop", [(event_time(T0), Record(log=text))]).lines["shop"][0]
    assert line.endswith("ok \ufffd\ufffd end".encode())


def test_fields_passed_over_are_told_once_per_source() -> None:
    told: list[str] = []
    router = Router(16384, on_passed_over=told.append)
    huge = "x" * (256 * 1024)
    record = pod_record("hi", app="shop", type=huge, container="worker", pod=f"shop-{huge}")
    batch = router.route("kube.x", [(event_time(T0), record)] * 3)
    # The line keeps a short, valid head: the container, no instance.
    assert batch.lines["shop"] == [b"o" + f"{STAMP} shop[worker]: hi".encode()] * 3
    assert told == ["process_type", "instance"]
    router.route("kube.x", [(event_time(T0), record)])  # the source is cached now
    assert told == ["process_type", "instance"]
    router.route(f"app.shop.{huge}", [(T0 // 1_000_000_000, Record(log="one", stream="stderr"))])
    assert told == ["process_type", "instance", "process_type"]
    router.route("app.shop.web", [(T0 // 1_000_000_000, Record(log="ok", stream="stderr"))])
    assert told == ["process_type", "instance", "process_type"]
