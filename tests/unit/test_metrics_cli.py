"""`wf metrics` rendering: sums over pods, sparklines, process types from pod names."""

from __future__ import annotations

import click
import pytest

from controller.cli.metrics import parse_since, pod_process_type, render, sparkline, summed


def test_sparkline_scales_from_zero_to_the_top() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([0.0, 0.0]) == "▁▁"
    assert sparkline([]) == "(no data)"
    assert sparkline([5, 5]) == "██"


def test_summed_adds_pods_per_timestamp() -> None:
    assert summed({"a": [[60, 1.0], [120, 2.0]], "b": [[120, 0.5], [60, 0.25]]}) == [1.25, 2.5]


@pytest.mark.parametrize(
    ("pod", "ptype"),
    [
        ("shop-web-5d8f7c9b4-x2x9z", "web"),
        ("shop-api-v2-5d8f7c9b4-x2x9z", "api-v2"),
        ("shop-5d8f7c9b4-x2x9z", None),
        ("blog-web-1-a", None),
    ],
)
def test_process_type_from_pod_name(pod: str, ptype: str | None) -> None:
    assert pod_process_type("shop", pod) == ptype


def test_render() -> None:
    status = {
        "usage": {
            "cpus": {"p": [[0, 0.0], [60, 0.5]]},
            "memory": {"p": [[0, 1048576.0], [60, 2097152.0]]},
            "networks": {"receive": {"p": [[0, 0.0], [60, 1536.0]]}, "transmit": {}},
        }
    }
    assert render("shop", "web", status, "1h", 60) == [
        "=== shop web: 1 pod, last 1h (every 60s)",
        "CPU          0.50 cores  ▁█",
        "Memory        2.0 MiB    ▅█",  # half the top: 3.5 of 7 steps, rounded to even
        "Net in        1.5 KiB/s  ▁█",
        "Net out         - KiB/s  (no data)",
    ]


def test_since() -> None:
    assert parse_since("90m") == 5400
    with pytest.raises(click.BadParameter, match="use a duration like 30m, 6h or 1d"):
        parse_since("soon")
