"""Platform overview: every app at a glance, for operators."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.common import WHEN_WRONG, Target, Unit, dashboard, graph, single
from dashboards.rules.recording import APP_LOG_BYTES, top

UID = "wf-platform-overview"


def build() -> dash.Dashboard:
    return (
        dashboard(
            UID,
            "Workflow / Platform overview",
            "Apps, pods by phase and the apps logging the most.",
        )
        .with_panel(
            single(
                "Apps",
                "Apps (namespaces) with pods, as kube-state-metrics reports them. "
                f"{WHEN_WRONG} a sudden fall means kube-state-metrics stopped reporting or "
                "namespaces were deleted: check its pod and the controller's audit lines.",
                Unit.COUNT,
                [Target("platform_apps", "apps")],
                span=6,
            )
        )
        .with_panel(
            graph(
                "Pods by phase",
                "Pods in each phase across all apps. "
                f"{WHEN_WRONG} Pending that stays means no room to schedule (node capacity, "
                "quotas); Failed or Unknown: see the AppPodNotHealthy runbook.",
                Unit.COUNT,
                [Target("platform_pods_by_phase", "{{phase}}")],
                span=18,
                stacked=True,
            )
        )
        .with_panel(
            graph(
                "Top apps by log volume",
                "The ten apps whose lines take the most bytes per second. "
                f"{WHEN_WRONG} one app dominating evicts other apps' rings: ask its owner to "
                "log less, or raise WF_LOGGER_MAX_BUFFER_BYTES.",
                Unit.BYTES_PER_SECOND,
                [Target("", "{{app}}", expr=top(10, APP_LOG_BYTES))],
                span=24,
            )
        )
    )
