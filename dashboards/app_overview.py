"""App overview: one app, chosen by the `app` variable — what an app
developer looks at first (resources, restarts, logs, drains)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.common import WHEN_WRONG, Target, Unit, app_variable, dashboard, graph

UID = "wf-app-overview"


def build() -> dash.Dashboard:
    return (
        dashboard(
            UID,
            "Workflow / App overview",
            "Resources, restarts, logs and drains of one app (its namespace).",
        )
        .with_variable(app_variable())
        .with_row(dash.Row("Resources"))
        .with_panel(
            graph(
                "CPU by container",
                "CPU used by each container (cores), with its limit dashed as `limit ...`. "
                f"{WHEN_WRONG} usage pinned at the limit means throttling: scale the process "
                "type out (`wf scale`) or raise its CPU limit (`wf limits set`).",
                Unit.CORES,
                [
                    Target("apps_cpu_usage", "{{pod}} {{container}}", per_app=True),
                    Target("apps_cpu_limit", "limit {{pod}} {{container}}", per_app=True),
                ],
            )
        )
        .with_panel(
            graph(
                "Memory by container",
                "Working-set memory of each container, with its limit. "
                f"{WHEN_WRONG} a container near its limit is OOM-killed next (see Restarts): "
                "raise its memory limit or find the leak in the app's logs.",
                Unit.BYTES,
                [
                    Target("apps_memory_usage", "{{pod}} {{container}}", per_app=True),
                    Target("apps_memory_limit", "limit {{pod}} {{container}}", per_app=True),
                ],
            )
        )
        .with_panel(
            graph(
                "Network received",
                "Bytes per second each pod receives. "
                f"{WHEN_WRONG} a drop to zero with traffic expected means the router or "
                "service no longer reaches the pods: check `wf ps` and the app's routes.",
                Unit.BYTES_PER_SECOND,
                [Target("apps_network_receive", "{{pod}}", per_app=True)],
                span=8,
            )
        )
        .with_panel(
            graph(
                "Network sent",
                "Bytes per second each pod sends. "
                f"{WHEN_WRONG} an unexpected surge is usually a retry loop against a "
                "dependency: read the app's error lines below.",
                Unit.BYTES_PER_SECOND,
                [Target("apps_network_transmit", "{{pod}}", per_app=True)],
                span=8,
            )
        )
        .with_panel(
            graph(
                "Container restarts",
                "Container restarts per interval. "
                f"{WHEN_WRONG} any restart means a crash, an OOM kill or a failed probe: "
                "`wf logs -a <app>` around the time, and `kubectl describe pod` for the reason.",
                Unit.COUNT,
                [Target("apps_restarts", "{{pod}} {{container}}", per_app=True)],
                span=8,
            )
        )
        .with_row(dash.Row("Lifecycle"))
        .with_panel(
            graph(
                "Pods by process type and phase",
                "Pods of each process type by phase, as the Kubernetes watcher sees them "
                f"(`wf serve --scheduler kubernetes`). {WHEN_WRONG} pods stuck in `Pending` "
                "cannot be scheduled or pull their image: `wf logs -a <app>` has the "
                "platform's `kubernetes` lines saying why.",
                Unit.COUNT,
                [Target("apps_pods_by_phase", "{{proc}} {{phase}}", per_app=True)],
                span=8,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "OOM kills and crash loops",
                "Containers OOM-killed per interval, and process types with a container in "
                f"CrashLoopBackOff. {WHEN_WRONG} OOM kills: raise the memory limit or fix the "
                "leak (Memory by container); a crash loop: the app's last lines before each "
                "restart say why it exits.",
                Unit.COUNT,
                [
                    Target("apps_oom_kills", "OOM kills {{proc}}", per_app=True),
                    Target("apps_crash_looping", "crash looping {{proc}}", per_app=True),
                ],
                span=8,
            )
        )
        .with_panel(
            graph(
                "Last termination reasons",
                "Containers by why their last run ended (OOMKilled, Error, Completed, ...), "
                f"with the restarts the watcher saw. {WHEN_WRONG} `Error` means a non-zero exit: "
                "the app's own lines before it explain; `OOMKilled` means the memory limit.",
                Unit.COUNT,
                [
                    Target("apps_last_terminated", "{{proc}} {{reason}}", per_app=True),
                    Target("apps_watched_restarts", "restarts {{proc}}", per_app=True),
                ],
                span=8,
            )
        )
        .with_row(dash.Row("Logs"))
        .with_panel(
            graph(
                "Log lines per second by process and stream",
                "Lines the logger stored for this app, by process type and stream. "
                f"{WHEN_WRONG} a process that stops logging may be stuck or gone (`wf ps`); "
                "a sudden flood often comes with errors (next panel).",
                Unit.PER_SECOND,
                [Target("app_log_lines_rate", "{{proc}} {{stream}}", per_app=True)],
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Error lines per second",
                "Lines whose detected level is error or fatal. "
                f"{WHEN_WRONG} a spike after a release points at the release: "
                "`wf logs -a <app>` for the messages, `wf releases rollback` if needed.",
                Unit.PER_SECOND,
                [Target("app_error_lines_rate", "error and fatal", per_app=True)],
            )
        )
        .with_panel(
            graph(
                "Log lines per second by level",
                "Lines per second by the level detected at the message start (ERROR, "
                "WARN, INFO..., or a JSON `level` key); lines without one are not counted. "
                f"{WHEN_WRONG} warnings rising ahead of errors are the early sign: read them "
                "with `wf logs -a <app>`.",
                Unit.PER_SECOND,
                [Target("app_level_lines_rate", "{{level}}", per_app=True)],
                span=24,
            )
        )
        .with_row(dash.Row("Drains"))
        .with_panel(
            graph(
                "Drain lines delivered",
                "Lines per second each of the app's drains delivered. "
                f"{WHEN_WRONG} a drain at zero while the app logs is failing: "
                "`wf drains list -a <app>` shows its state and last error.",
                Unit.PER_SECOND,
                [Target("app_drain_delivered_rate", "{{drain_id}} {{scheme}}", per_app=True)],
                span=8,
            )
        )
        .with_panel(
            graph(
                "Drain lines dropped",
                "Lines per second a drain gave up on, by reason. "
                f"{WHEN_WRONG} `buffer_overflow` means the destination is too slow or down; "
                "`http_<status>` means it refuses the lines: fix the destination or its URL.",
                Unit.PER_SECOND,
                [Target("app_drain_dropped_rate", "{{drain_id}} {{reason}}", per_app=True)],
                span=8,
            )
        )
        .with_panel(
            graph(
                "Drains backing off",
                "Drains whose last delivery failed and that are waiting to retry. "
                f"{WHEN_WRONG} above zero for minutes: `wf drains list -a <app>` for the last "
                "error (DNS, TLS, refused connection, HTTP status).",
                Unit.COUNT,
                [Target("app_drain_backing_off", "{{drain_id}}", per_app=True)],
                span=8,
            )
        )
    )
