"""A drain as the cluster sees it: per-replica reports merged and summed."""

from __future__ import annotations

from typing import Any

from logger.drains.cluster_view import merged


def view(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "d1",
        "app": "shop",
        "url": "syslog://logs.example.com:514",
        "state": "connected",
        "last_error": None,
        "last_error_at": None,
        "delivered_lines": 10,
        "delivered_bytes": 1000,
        "dropped_lines": 1,
        "dropped": {"buffer_overflow": 1},
        "retries": 0,
        "buffered_lines": 2,
    }
    return {**base, **changes}


def test_counters_are_summed_and_every_replica_is_listed() -> None:
    other = view(
        delivered_lines=5,
        delivered_bytes=500,
        dropped_lines=3,
        dropped={"buffer_overflow": 1, "http_400": 2},
        retries=4,
        buffered_lines=0,
    )
    shown = merged(view(), "a", {"b": other})
    assert [row["replica"] for row in shown["replicas"]] == ["a", "b"]
    assert shown["delivered_lines"] == 15
    assert shown["delivered_bytes"] == 1500
    assert shown["dropped_lines"] == 4
    assert shown["dropped"] == {"buffer_overflow": 2, "http_400": 2}
    assert shown["retries"] == 4
    assert shown["buffered_lines"] == 2
    assert shown["url"] == "syslog://logs.example.com:514"


def test_the_most_alarming_state_and_the_latest_error_are_shown() -> None:
    failing = view(
        state="backing_off",
        last_error="connection refused",
        last_error_at="2026-12-01T10:00:02+00:00",
    )
    older = view(state="idle", last_error="timed out", last_error_at="2026-12-01T10:00:01+00:00")
    shown = merged(view(), "a", {"b": failing, "c": older})
    assert shown["state"] == "backing_off"
    assert shown["last_error"] == "connection refused"
    assert merged(view(state="idle"), "a", {})["state"] == "idle"
