"""A drain as the whole cluster sees it: every replica's state, and the sums.

Each replica delivers the lines it ingested, so a drain's counters are per
replica; the API shows them per replica (`replicas`) and summed at the top
level. Counters are those of the live processes (a replica that restarts
starts again from zero, like its Prometheus counters).
"""

from __future__ import annotations

from typing import Any

from logger.drains.state import DrainState

# What a replica reports of each drain (and the sums are made of).
REPORTED = (
    "state",
    "last_error",
    "last_error_at",
    "delivered_lines",
    "delivered_bytes",
    "dropped_lines",
    "dropped",
    "retries",
    "buffered_lines",
)
_SUMMED = ("delivered_lines", "delivered_bytes", "dropped_lines", "retries", "buffered_lines")
# The state shown for the cluster: the most alarming any replica is in.
_SEVERITY = {
    DrainState.BACKING_OFF.value: 3,
    DrainState.CONNECTED.value: 2,
    DrainState.IDLE.value: 1,
    DrainState.CLOSED.value: 0,
}


def reported(view: dict[str, Any]) -> dict[str, Any]:
    """The part of a drain's view a replica reports to the others."""
    return {field: view[field] for field in REPORTED}


def merged(view: dict[str, Any], replica: str, others: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`view` (this replica's) with every replica's report under `replicas`
    and the counters summed over them."""
    per_replica = {replica: reported(view), **others}
    shown = dict(view)
    shown["replicas"] = [{"replica": name, **state} for name, state in sorted(per_replica.items())]
    for field in _SUMMED:
        shown[field] = sum(int(state.get(field) or 0) for state in per_replica.values())
    dropped: dict[str, int] = {}
    for state in per_replica.values():
        for reason, lines in dict(state.get("dropped") or {}).items():
            dropped[str(reason)] = dropped.get(str(reason), 0) + int(lines)
    shown["dropped"] = dropped
    shown["state"] = max(
        (str(state.get("state")) for state in per_replica.values()),
        key=lambda value: _SEVERITY.get(value, 0),
    )
    failing = [state for state in per_replica.values() if state.get("last_error_at")]
    if failing:
        latest = max(failing, key=lambda state: str(state["last_error_at"]))
        shown["last_error"], shown["last_error_at"] = latest["last_error"], latest["last_error_at"]
    return shown
