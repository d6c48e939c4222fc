"""DrainRegistry: validation, limits, persistence, and delivery routing."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from logger.drains.errors import (
    DrainLimitReached,
    DrainStateFileError,
    DuplicateDrain,
    InvalidAppName,
    InvalidDrainUrl,
)
from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.lines import format_timestamp
from tests.support.services import free_port

T0 = 1_795_000_000_000_000_000
SECRET = "hunter2-pass"


def settings_for(tmp_path: Path, **changes: object) -> DrainSettings:
    base = DrainSettings(
        state_file=tmp_path / "state" / "drains.json",
        per_app=3,
        retry_base=0.05,
        retry_max=0.5,
        connect_timeout=0.5,
        flush_timeout=0.0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def dead_url(scheme: str = "syslog+tcp") -> str:
    return f"{scheme}://127.0.0.1:{free_port()}"


def files_in(path: Path) -> list[str]:
    return sorted(os.listdir(path))


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[DrainRegistry]:
    drains = DrainRegistry(settings_for(tmp_path), CollectorRegistry(), clock=lambda: T0)
    await drains.start()
    yield drains
    await drains.close()


async def test_add_list_remove(registry: DrainRegistry) -> None:
    first = await registry.add("shop", "syslog+tls://logs.example.com:6514")
    second = await registry.add("shop", dead_url())
    await registry.add("blog", dead_url())
    assert first.app == "shop"
    assert first.url == "syslog+tls://logs.example.com:6514"
    assert first.scheme == "syslog+tls"
    assert first.created_at == format_timestamp(T0)
    assert len(first.id) == 8
    assert [view.id for view in registry.list("shop")] == [first.id, second.id]
    assert registry.get("shop", first.id) == registry.list("shop")[0]
    assert registry.get("blog", first.id) is None
    assert await registry.remove("blog", first.id) is False
    assert await registry.remove("shop", first.id) is True
    assert await registry.remove("shop", first.id) is False
    assert [view.id for view in registry.list("shop")] == [second.id]
    assert await registry.remove_app("shop") == 1
    assert registry.list("shop") == []
    assert len(registry.list("blog")) == 1


async def test_per_app_limit_and_duplicates(registry: DrainRegistry) -> None:
    for port in (7001, 7002, 7003):
        await registry.add("shop", f"syslog://127.0.0.1:{port}")
    with pytest.raises(DrainLimitReached) as caught:
        await registry.add("shop", "syslog://127.0.0.1:7004")
    assert str(caught.value) == "shop already has 3 drains, the limit (WF_DRAINS_PER_APP=3)"
    await registry.add("other", "syslog://127.0.0.1:7001")  # the limit is per app
    with pytest.raises(DuplicateDrain) as duplicate:
        await registry.add("other", "syslog+tcp://127.0.0.1:7001")
    assert str(duplicate.value) == "other already has a drain to syslog+tcp://127.0.0.1:7001"


async def test_bad_requests_are_refused_and_nothing_is_kept(registry: DrainRegistry) -> None:
    with pytest.raises(InvalidAppName) as bad_app:
        await registry.add("Shop App!", "syslog://127.0.0.1:7001")
    assert str(bad_app.value) == (
        "'Shop App!' is not a valid app name: use 1 to 63 lowercase letters, digits and "
        "'-', starting and ending with a letter or digit (a DNS-1123 label)"
    )
    with pytest.raises(InvalidDrainUrl):
        await registry.add("shop", "gopher://127.0.0.1:70")
    assert registry.list("shop") == []


async def test_drains_survive_a_restart_with_their_ids(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    first = DrainRegistry(settings, CollectorRegistry(), clock=lambda: T0)
    await first.start()
    added = [
        await first.add("shop", f"https://user:{SECRET}@sink.example.com/in?token=tok-{SECRET}"),
        await first.add("shop", "syslog+udp://127.0.0.1:5514"),
    ]
    await first.close()
    assert settings.state_file is not None
    assert stat.S_IMODE(settings.state_file.stat().st_mode) == 0o600
    saved = json.loads(settings.state_file.read_text())
    assert saved["version"] == 1
    assert [entry["url"] for entry in saved["drains"]] == [
        f"https://user:{SECRET}@sink.example.com/in?token=tok-{SECRET}",
        "syslog+udp://127.0.0.1:5514",
    ]
    assert all(entry["token"].startswith("d.") for entry in saved["drains"])

    second = DrainRegistry(settings, CollectorRegistry(), clock=lambda: T0 + 1)
    await second.start()
    try:
        reloaded = second.list("shop")
        assert [(view.id, view.url, view.created_at) for view in reloaded] == [
            (view.id, view.url, view.created_at) for view in added
        ]
        assert reloaded[0].url == "https://***@sink.example.com/in?token=***"
    finally:
        await second.close()


async def test_an_entry_that_no_longer_validates_is_skipped_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path)
    assert settings.state_file is not None
    settings.state_file.parent.mkdir()
    bad = {"id": "bad00001", "app": "shop", "url": f"ftp://u:{SECRET}@x", "token": "d.1"}
    settings.state_file.write_text(json.dumps({"version": 1, "drains": [bad]}))
    drains = DrainRegistry(settings, CollectorRegistry())
    with caplog.at_level(logging.WARNING, logger="logger.drains"):
        await drains.start()
    try:
        assert drains.list("shop") == []
        assert "skipping drain 'bad00001' in the state file: unsupported drain URL scheme" in (
            caplog.text
        )
        assert SECRET not in caplog.text
        await drains.add("shop", "syslog://127.0.0.1:7001")
        saved = json.loads(settings.state_file.read_text())
        assert [entry["id"] for entry in saved["drains"]][1:] == ["bad00001"]
    finally:
        await drains.close()


async def test_a_corrupt_state_file_fails_the_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    assert settings.state_file is not None
    settings.state_file.parent.mkdir()
    settings.state_file.write_text("{not json")
    drains = DrainRegistry(settings, CollectorRegistry())
    with pytest.raises(DrainStateFileError) as caught:
        await drains.start()
    assert str(caught.value) == f"{settings.state_file} is not a drains state file (version 1)"


async def test_a_failed_write_refuses_the_add(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = settings_for(tmp_path, state_file=blocker / "drains.json")
    drains = DrainRegistry(settings, CollectorRegistry())
    try:
        with pytest.raises(DrainStateFileError) as caught:
            await drains.add("shop", "syslog://127.0.0.1:7001")
        assert str(caught.value).startswith(f"cannot write {blocker / 'drains.json'}: ")
        assert drains.list("shop") == []
    finally:
        await drains.close()


async def test_memory_only_when_there_is_no_state_file(tmp_path: Path) -> None:
    drains = DrainRegistry(settings_for(tmp_path, state_file=None), CollectorRegistry())
    await drains.start()
    await drains.add("shop", "syslog://127.0.0.1:7001")
    await drains.close()
    assert files_in(tmp_path) == []


async def test_deliver_reaches_only_the_apps_drains(tmp_path: Path) -> None:
    # Not started: lines stay in the buffers where they can be counted.
    drains = DrainRegistry(settings_for(tmp_path), CollectorRegistry())
    shop = [await drains.add("shop", dead_url()), await drains.add("shop", dead_url("https"))]
    blog = await drains.add("blog", dead_url())
    drains.deliver("shop", 0, [b"o1", b"o2"])
    drains.deliver("nobody", 0, [b"o3"])
    assert [view.buffered_lines for view in drains.list("shop")] == [2, 2]
    assert drains.list("blog")[0].buffered_lines == 0
    assert {view.id for view in drains.list("shop")} == {view.id for view in shop}
    assert blog.app == "blog"
    await drains.close()


async def test_metrics_carry_no_url_and_go_away_with_the_drain(tmp_path: Path) -> None:
    metrics = CollectorRegistry()
    drains = DrainRegistry(settings_for(tmp_path), metrics)
    view = await drains.add("shop", f"https://u:{SECRET}@sink.example.com/in")
    labels = {"drain_id": view.id, "app": "shop", "scheme": "https"}
    assert metrics.get_sample_value("logger_drain_buffer_capacity_lines", labels) == 10_000
    assert metrics.get_sample_value("logger_drain_state", {**labels, "state": "idle"}) == 1
    assert SECRET.encode() not in generate_latest(metrics)
    assert b"sink.example.com" not in generate_latest(metrics)
    assert await drains.remove("shop", view.id)
    assert metrics.get_sample_value("logger_drain_buffer_capacity_lines", labels) is None
    assert metrics.get_sample_value("logger_drain_state", {**labels, "state": "closed"}) is None
    await drains.close()
    # Closing takes the families off the registry, so a new one can use it.
    DrainRegistry(settings_for(tmp_path), metrics)


async def test_an_apps_frame_sending_drains_share_one_encoder(tmp_path: Path) -> None:
    drains = DrainRegistry(settings_for(tmp_path, per_app=6), CollectorRegistry())
    tcp = await drains.add("shop", dead_url())
    await drains.add("shop", dead_url("syslog+udp"))  # datagrams: not framed
    await drains.add("shop", dead_url("https") + "/in?format=ndjson")  # JSON: not framed
    shared = drains.shared_frames("shop")
    assert shared is not None
    assert shared.sharers == 1  # one drain alone: no cache
    logplex = await drains.add("shop", dead_url("https") + "/in")
    tls = await drains.add("shop", dead_url("syslog+tls"))
    assert drains.shared_frames("shop") is shared
    assert shared.sharers == 3
    await drains.add("blog", dead_url())
    assert drains.shared_frames("blog") is not shared
    assert await drains.remove("shop", tcp.id)
    assert await drains.remove("shop", logplex.id)
    assert shared.sharers == 1
    assert await drains.remove("shop", tls.id)
    assert drains.shared_frames("shop") is None  # forgotten with its last sharer
    assert await drains.remove_app("blog") == 1
    assert drains.shared_frames("blog") is None
    await drains.close()
