"""Logger pipeline: the operator's view of the log path, from forward
input to rings, followers and drains (metric names: docs/operations.md,
docs/drains.md)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.common import WHEN_WRONG, Target, Unit, dashboard, graph, single

UID = "wf-logger-pipeline"


def build() -> dash.Dashboard:
    return (
        dashboard(
            UID,
            "Workflow / Logger pipeline",
            "Ingest, losses, errors, rings, followers and drains of every logger replica.",
        )
        .with_row(dash.Row("Ingest"))
        .with_panel(
            single(
                "Loggers up",
                "Logger replicas answering their scrape (1 each). "
                f"{WHEN_WRONG} a replica at 0 is down or unreachable: see the LoggerDown "
                "runbook (pod status, its last log lines, the scrape target).",
                Unit.COUNT,
                [Target("logger_up", "{{instance}}")],
                span=6,
            )
        )
        .with_panel(
            single(
                "Followers",
                "Live `wf logs -f` followers connected. "
                f"{WHEN_WRONG} followers piling up without users points at clients that "
                "never disconnect; check the follow timeout (WF_LOGGER_MAX_FOLLOW_TIMEOUT).",
                Unit.COUNT,
                [Target("logger_followers", "followers")],
                span=6,
            )
        )
        .with_panel(
            single(
                "Forward connections",
                "Forward-protocol connections open, by input. "
                f"{WHEN_WRONG} zero means no Fluent Bit reaches the logger (check the "
                "DaemonSet and its output host); a count at the limit refuses new ones.",
                Unit.COUNT,
                [Target("logger_open_connections", "{{input}}")],
                span=6,
            )
        )
        .with_panel(
            single(
                "Ring fill",
                "Bytes the rings hold as a share of WF_LOGGER_MAX_BUFFER_BYTES. "
                f"{WHEN_WRONG} near 100% whole apps' rings get evicted: raise the limit or "
                "lower the lines kept per app.",
                Unit.RATIO,
                [Target("logger_ring_fill", "{{instance}}")],
                span=6,
            )
        )
        .with_panel(
            graph(
                "Events received per second",
                "Forward events received, by input, and lines stored into rings. "
                f"{WHEN_WRONG} received without stored means lines are discarded (next row); "
                "a drop to zero means the shippers stopped sending.",
                Unit.PER_SECOND,
                [
                    Target("logger_received_rate", "received {{input}}"),
                    Target("logger_ingest_rate", "stored"),
                ],
            )
        )
        .with_panel(
            graph(
                "Bytes received per second",
                "Forward frame bytes received, by input. "
                f"{WHEN_WRONG} a jump without more events means bigger lines; compare with "
                "the top apps by log volume on the platform overview.",
                Unit.BYTES_PER_SECOND,
                [Target("logger_received_bytes_rate", "{{input}}")],
            )
        )
        .with_row(dash.Row("Losses and errors"))
        .with_panel(
            graph(
                "Discarded events by reason",
                "Events the logger could not store, by reason "
                "(invalid_entry, invalid_time, no_app, app_evicted). "
                f"{WHEN_WRONG} see the LoggerDiscardingLines runbook: `no_app` is a Fluent "
                "Bit filter problem, `app_evicted` a too-small buffer.",
                Unit.PER_SECOND,
                [Target("logger_discarded_rate", "{{reason}}")],
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Errors by stage",
                "Forward input errors by stage and type. "
                f"{WHEN_WRONG} `handshake` errors are a shared_key mismatch; `decoding` a "
                "client sending bad frames; `accept` with too_many_connections a limit hit.",
                Unit.PER_SECOND,
                [Target("logger_errors_rate", "{{stage}} {{error_type}}")],
                stacked=True,
            )
        )
        .with_row(dash.Row("Rings and followers"))
        .with_panel(
            graph(
                "Ring evictions and displaced lines",
                "Whole app rings evicted for the byte bound, and lines pushed out of full "
                "rings (expected: rings keep the newest lines). "
                f"{WHEN_WRONG} any eviction loses an app's history: raise "
                "WF_LOGGER_MAX_BUFFER_BYTES (see the LoggerRingEvictions runbook).",
                Unit.PER_SECOND,
                [
                    Target("logger_evicted_apps_rate", "apps evicted"),
                    Target("logger_ring_displaced_rate", "lines displaced"),
                ],
            )
        )
        .with_panel(
            graph(
                "Follower lines dropped",
                "Lines displaced from slow followers' queues (each told in-band). "
                f"{WHEN_WRONG} steady drops mean followers on slow links: raise "
                "WF_LOGGER_FOLLOWER_QUEUE_LINES or ask users to filter by process.",
                Unit.PER_SECOND,
                [Target("logger_follower_dropped_rate", "dropped")],
            )
        )
        .with_row(dash.Row("Drains"))
        .with_panel(
            graph(
                "Drain lines delivered",
                "Lines per second drains delivered, per app and scheme. "
                f"{WHEN_WRONG} a drain at zero while its app logs is failing: "
                "`wf logger drains list --app <app>` shows its last error.",
                Unit.PER_SECOND,
                [Target("drain_delivered_rate", "{{app}} {{scheme}}")],
                span=8,
            )
        )
        .with_panel(
            graph(
                "Drain lines dropped",
                "Lines per second drains gave up on, by reason. "
                f"{WHEN_WRONG} see the LogDrainDroppingLines runbook: the destination is "
                "down, slow or refusing the lines.",
                Unit.PER_SECOND,
                [Target("drain_dropped_rate", "{{app}} {{scheme}} {{reason}}")],
                span=8,
            )
        )
        .with_panel(
            graph(
                "Drains backing off",
                "Drains of each app waiting to retry after a failed delivery. "
                f"{WHEN_WRONG} an app with drains backing off for long: see the "
                "LogDrainBackingOff runbook.",
                Unit.COUNT,
                [Target("drain_backing_off", "{{app}}")],
                span=8,
            )
        )
    )
