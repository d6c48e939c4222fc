"""`wf metrics`: an app's CPU, memory and network per process type, now and
as a chart over a window, in the terminal.

    $ wf metrics -a shop --since 1h
    === shop web: 2 pods, last 1h (every 60s)
    CPU        0.50 cores  ▁▂▂▃▅▅▆▇███▇▇▆▅
    Memory    100.0 MiB    ▆▆▆▆▇▇▇▇▇▇▇▇███
    Net in     12.5 KiB/s  ▃▃▂▂▁▁▂▃▅▇█▇▅▃▂
    Net out     3.1 KiB/s  ▂▂▂▂▁▁▂▂▃▅█▆▄▂▂

Current means the latest point; the charts are scaled from 0 to the
window's highest value, summed over the process type's pods.

With no VictoriaMetrics on the controller it says so, and shows instead the
app's log rates from the logger's own per-app counters (the last 10 minutes
by default: WF_LOGGER_RATES_INTERVAL x WF_LOGGER_RATES_POINTS):

    $ wf metrics -a shop
    metrics are not configured (no VictoriaMetrics): showing the log rates the logger counts
    === shop log lines per second, last 600s (every 5s)
    web          12.40 lines/s  ▁▂▂▃▅▅▆▇███▇▇▆▅
    stderr        0.20 lines/s  ▁▁▁▁▁▁▁▁▁█▁▁▁▁▁
    error         0.20 lines/s  ▁▁▁▁▁▁▁▁▁█▁▁▁▁▁
"""

from __future__ import annotations

import re
import time
from typing import Any

import click

from controller.cli.client import (
    Connection,
    app_option,
    app_path,
    connect,
    connection_options,
    error_text,
    print_json,
    resolve_app,
)

BLOCKS = "▁▂▃▄▅▆▇█"
# Points per chart: a terminal line's worth.
CHART_POINTS = 60
MIN_EVERY = 15
_SINCE = re.compile(r"([0-9]+)(s|m|h|d)")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_POD = re.compile(r'\bpod="([^"]*)"')
# How the controller's 503 starts when WF_VICTORIAMETRICS_URL is not set
# (controller.api.metrics.NOT_CONFIGURED).
NOT_CONFIGURED = "metrics are not configured"
FALLBACK_NOTICE = (
    "metrics are not configured (no VictoriaMetrics): showing the log rates the logger counts"
)


@click.command()
@app_option
@click.option("--proc", default=None, help="One process type (default: every one running).")
@click.option("--since", default="1h", show_default=True, help="The window: 30m, 6h, 1d...")
@click.option("--json", "as_json", is_flag=True, help="Print the usage series as JSON.")
@connection_options
def metrics(
    app: str | None,
    proc: str | None,
    since: str,
    as_json: bool,
    controller_url: str | None,
    token: str | None,
) -> None:
    """Show an app's CPU, memory and network use per process type."""
    name = resolve_app(app)
    window = parse_since(since)
    connection = connect(controller_url, token)
    current = connection.request("GET", app_path(name, "/metrics"), allow=(503,))
    if current.status_code == 503:
        if NOT_CONFIGURED not in current.text:
            raise click.ClickException(error_text(current))
        log_rates(connection, name, proc, as_json)
        return
    ptypes = [proc] if proc else process_types_of(name, current.text)
    stop = int(time.time())
    every = max(MIN_EVERY, -(-window // CHART_POINTS))
    params = {"start": str(stop - window), "stop": str(stop), "every": f"{every}s"}
    usage = {
        ptype: connection.request(
            "GET", app_path(name, f"/metrics/{ptype}/status"), params=params
        ).json()
        for ptype in ptypes
    }
    if as_json:
        print_json({"app": name, "since": since, "every": every, "processes": usage})
        return
    if not usage:
        click.echo(f"No metrics for {name} yet: no pods were seen in the last few minutes")
        return
    for ptype, status in usage.items():
        click.echo("\n".join(render(name, ptype, status, since, every)))


def parse_since(since: str) -> int:
    found = _SINCE.fullmatch(since.strip())
    if found is None:
        raise click.BadParameter(
            f"{since!r}: use a duration like 30m, 6h or 1d", param_hint="--since"
        )
    return int(found.group(1)) * _SECONDS[found.group(2)]


def log_rates(connection: Connection, app: str, proc: str | None, as_json: bool) -> None:
    """The fallback: lines per second by process, stderr and error-level lines."""
    click.echo(FALLBACK_NOTICE, err=True)
    rates = connection.request("GET", app_path(app, "/logs/rates")).json()
    if as_json:
        print_json({"app": app, "source": "logger", "rates": rates})
        return
    click.echo("\n".join(render_rates(app, rates, proc)))


def render_rates(app: str, rates: dict[str, Any], proc: str | None) -> list[str]:
    times = rates["times"]
    window = round(times[-1] - times[0] + rates["interval"]) if times else 0
    out = [f"=== {app} log lines per second, last {window}s (every {rates['interval']:g}s)"]
    rows = [(name, values) for name, values in sorted(rates["procs"].items())]
    if proc:
        rows = [(name, values) for name, values in rows if name == proc]
    rows.append(("stderr", rates["streams"].get("stderr", [])))
    rows.append(("error", rates["levels"].get("error", [])))
    if not times:
        out.append("(no lines yet)")
        return out
    for label, values in rows:
        now = f"{values[-1]:.2f}" if values else "-"
        out.append(f"{label:<10} {now:>8} lines/s  {sparkline(values)}")
    return out


def process_types_of(app: str, text: str) -> list[str]:
    """The process types of the app's pods, from its current metrics."""
    pods = set(_POD.findall(text))
    return sorted({ptype for pod in pods if (ptype := pod_process_type(app, pod))})


def pod_process_type(app: str, pod: str) -> str | None:
    """`shop-web-5d8f7c9b4-x2x9z` -> `web` (Deployment pods: `<app>-<ptype>-<hash>-<id>`)."""
    if not pod.startswith(app + "-"):
        return None
    parts = pod[len(app) + 1 :].split("-")
    return "-".join(parts[:-2]) or None


def render(app: str, ptype: str, status: dict[str, Any], since: str, every: int) -> list[str]:
    usage = status["usage"]
    pods = set(usage["cpus"]) | set(usage["memory"])
    rows = [
        ("CPU", summed(usage["cpus"]), 1.0, "cores", 2),
        ("Memory", summed(usage["memory"]), float(1 << 20), "MiB", 1),
        ("Net in", summed(usage["networks"]["receive"]), 1024.0, "KiB/s", 1),
        ("Net out", summed(usage["networks"]["transmit"]), 1024.0, "KiB/s", 1),
    ]
    plural = "pod" if len(pods) == 1 else "pods"
    out = [f"=== {app} {ptype}: {len(pods)} {plural}, last {since} (every {every}s)"]
    for label, values, scale, unit, digits in rows:
        now = f"{values[-1] / scale:.{digits}f}" if values else "-"
        out.append(f"{label:<8} {now:>8} {unit:<6} {sparkline(values)}")
    return out


def summed(series: dict[str, list[list[float]]]) -> list[float]:
    """Each timestamp's sum over the pods, in time order."""
    totals: dict[float, float] = {}
    for points in series.values():
        for ts, value in points:
            totals[ts] = totals.get(ts, 0.0) + value
    return [totals[ts] for ts in sorted(totals)]


def sparkline(values: list[float]) -> str:
    """One block character per value, from 0 up to the highest value."""
    if not values:
        return "(no data)"
    top = max(values)
    if top <= 0:
        return BLOCKS[0] * len(values)
    last = len(BLOCKS) - 1
    return "".join(BLOCKS[max(0, min(last, round(v / top * last)))] for v in values)
