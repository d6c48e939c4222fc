"""`wf metrics` rendering: sums over pods, sparklines, process types from pod names."""

from __future__ import annotations

import click
import pytest

from controller.cli.metrics import (
    NOT_CONFIGURED,
    parse_since,
    pod_process_type,
    render,
    render_rates,
    sparkline,
    summed,
)


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


def test_render_log_rates_for_the_fallback() -> None:
    rates = {
        "interval": 5.0,
        "times": [100.0, 105.0, 110.0],
        "procs": {"web": [0.0, 2.0, 4.0], "worker": [1.0, 1.0, 1.0]},
        "streams": {"stdout": [1.0, 3.0, 5.0], "stderr": [0.0, 0.0, 0.0]},
        "levels": {},
    }
    assert render_rates("shop", rates, None) == [
        "=== shop log lines per second, last 15s (every 5s)",
        "web            4.00 lines/s  ▁▅█",
        "worker         1.00 lines/s  ███",
        "stderr         0.00 lines/s  ▁▁▁",
        "error             - lines/s  (no data)",
    ]
    assert render_rates("shop", rates, "worker")[1].startswith("worker ")
    assert len(render_rates("shop", rates, "worker")) == 4
    assert render_rates("shop", {**rates, "times": []}, None)[1] == "(no lines yet)"


def test_the_fallback_recognises_the_controllers_answer() -> None:
    from controller.api.metrics import NOT_CONFIGURED as ANSWER

    assert ANSWER.startswith(NOT_CONFIGURED)
