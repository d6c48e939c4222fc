"""Alert rules: the logger pipeline, and apps as Drycc ships them.

Each expression composes catalog queries (dashboards.queries) or recorded
series with a threshold; no selector is written here. Every alert carries
severity, `for`, summary, description and a runbook link to its section of
docs/runbooks.md (anchor: the alert name in lower case).
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.queries import query
from dashboards.rules.recording import APP_ERROR_LINES_1H, APP_ERROR_LINES_5M, CONTAINER_CPU

# Where runbook links point; operators publishing the docs elsewhere pass
# their own base to dashboards.rules.render.files().
RUNBOOK_BASE = "docs/runbooks.md"
# An app whose error lines exceed this many per second and this multiple of
# its last hour's rate is spiking (both: a quiet app going from 0 to 0.1/s
# is not worth a page).
ERROR_SPIKE_MIN_PER_SECOND = 1
ERROR_SPIKE_FACTOR = 3
# Share of a limit (CPU, memory) or of a volume at which apps are warned.
USAGE_THRESHOLD = 0.8
# A crash-looping container runs between back-offs: look for the waiting
# state within this window, for CRASH_LOOP_FOR.
CRASH_LOOP_WINDOW = "5m"
CRASH_LOOP_FOR = "10m"
# An OOM kill alerts for this long after it happened.
OOM_WINDOW = "10m"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    duration: str
    severity: str
    summary: str
    description: str

    def anchor(self) -> str:
        return self.name.lower()


def logger_alerts() -> list[Alert]:
    return [
        Alert(
            "LoggerDown",
            f"{query('logger_up')} == 0",
            "5m",
            "critical",
            "Logger {{ $labels.instance }} is down",
            "VictoriaMetrics cannot scrape the logger at {{ $labels.instance }}: "
            "log lines from Fluent Bit, `wf logs` and drains on it are failing.",
        ),
        Alert(
            "LoggerAbsent",
            f"absent({query('logger_up')})",
            "15m",
            "critical",
            "No logger is being scraped",
            "No scrape target of the logger job exists: the logger is not deployed, "
            "or its scrape configuration is gone. Nothing watches the log pipeline.",
        ),
        Alert(
            "LoggerIngestErrors",
            f"{query('logger_errors_rate')} > 0",
            "15m",
            "warning",
            "Logger forward input errors: {{ $labels.stage }} {{ $labels.error_type }}",
            "The logger's forward input has counted {{ $value | humanize }} "
            "{{ $labels.error_type }} errors per second at stage {{ $labels.stage }} "
            "for 15 minutes; the clients involved are losing or resending lines.",
        ),
        Alert(
            "LoggerDiscardingLines",
            f"{query('logger_discarded_rate')} > 0",
            "15m",
            "warning",
            "Logger is discarding lines: {{ $labels.reason }}",
            "The logger discards {{ $value | humanize }} events per second with reason "
            "{{ $labels.reason }}; those lines never reach `wf logs` nor drains.",
        ),
        Alert(
            "LogDrainBackingOff",
            f"{query('drain_backing_off')} > 0",
            "15m",
            "warning",
            "Drains of app {{ $labels.app }} have been failing for 15 minutes",
            "{{ $value }} drain(s) of app {{ $labels.app }} have been backing off after "
            "failed deliveries for 15 minutes; their buffers fill and then drop lines.",
        ),
        Alert(
            "LogDrainDroppingLines",
            f"{query('drain_dropped_rate')} > 0",
            "5m",
            "warning",
            "A {{ $labels.scheme }} drain of app {{ $labels.app }} is dropping lines",
            "Drains of app {{ $labels.app }} drop {{ $value | humanize }} lines per second "
            "({{ $labels.reason }}): the destination loses those lines for good.",
        ),
        Alert(
            "LoggerRingEvictions",
            f"{query('logger_evicted_apps_rate')} > 0",
            "15m",
            "warning",
            "Logger is evicting whole apps' rings",
            "The logger's buffer is at its byte bound and evicts whole apps' recent "
            "lines ({{ $value | humanize }} apps per second): `wf logs` shows gaps.",
        ),
    ]


def app_alerts() -> list[Alert]:
    cpu_limit = query("apps_cpu_limit")
    memory = query("apps_memory_usage")
    memory_limit = query("apps_memory_limit")
    errors_5m, errors_1h = APP_ERROR_LINES_5M.record, APP_ERROR_LINES_1H.record
    return [
        Alert(
            "AppCPUHigh",
            f"{CONTAINER_CPU.record} / {cpu_limit} > {USAGE_THRESHOLD}",
            "15m",
            "warning",
            "{{ $labels.namespace }}/{{ $labels.pod }} uses over 80% of its CPU limit",
            "Container {{ $labels.container }} of pod {{ $labels.pod }} (app "
            "{{ $labels.namespace }}) uses {{ $value | humanizePercentage }} of its CPU "
            "limit and is being throttled.",
        ),
        Alert(
            "AppMemoryHigh",
            f"{memory} / {memory_limit} > {USAGE_THRESHOLD}",
            "15m",
            "warning",
            "{{ $labels.namespace }}/{{ $labels.pod }} uses over 80% of its memory limit",
            "Container {{ $labels.container }} of pod {{ $labels.pod }} (app "
            "{{ $labels.namespace }}) uses {{ $value | humanizePercentage }} of its memory "
            "limit; at 100% it is OOM-killed.",
        ),
        Alert(
            "AppContainerRestarts",
            f"{query('apps_restarts', window='30m')} > 0",
            "1m",
            "warning",
            "{{ $labels.namespace }}/{{ $labels.pod }} restarted in the last 30 minutes",
            "Container {{ $labels.container }} of pod {{ $labels.pod }} (app "
            "{{ $labels.namespace }}) restarted {{ $value | humanize }} time(s) in the "
            "last 30 minutes.",
        ),
        Alert(
            "AppPodNotHealthy",
            f"{query('apps_pods_unhealthy')} > 0",
            "15m",
            "warning",
            "{{ $labels.namespace }}/{{ $labels.pod }} is {{ $labels.phase }}",
            "Pod {{ $labels.pod }} of app {{ $labels.namespace }} has been in phase "
            "{{ $labels.phase }} for 15 minutes.",
        ),
        Alert(
            "AppVolumeFull",
            f"{query('apps_volume_used_ratio')} > {USAGE_THRESHOLD}",
            "5m",
            "warning",
            "Volume {{ $labels.persistentvolumeclaim }} of {{ $labels.namespace }} is over "
            "80% full",
            "Persistent volume claim {{ $labels.persistentvolumeclaim }} of app "
            "{{ $labels.namespace }} is {{ $value | humanizePercentage }} full.",
        ),
        Alert(
            "AppPodCrashLooping",
            f"{query('apps_crash_looping', window=CRASH_LOOP_WINDOW)} >= 1",
            CRASH_LOOP_FOR,
            "warning",
            "{{ $labels.proc }} of app {{ $labels.app }} is crash looping",
            "Containers of process type {{ $labels.proc }} of app {{ $labels.app }} have "
            "been in CrashLoopBackOff for 10 minutes; they exit soon after starting and "
            "Kubernetes waits longer before each restart (up to 5 minutes).",
        ),
        Alert(
            "AppOOMKilled",
            f"{query('apps_oom_kills', window=OOM_WINDOW)} > 0",
            "0m",
            "warning",
            "{{ $labels.proc }} of app {{ $labels.app }} was OOM-killed",
            "A container of process type {{ $labels.proc }} of app {{ $labels.app }} was "
            "killed in the last 10 minutes for going over its memory limit; it restarts "
            "and may be killed again.",
        ),
        Alert(
            "AppErrorLinesSpiking",
            f"{errors_5m} > {ERROR_SPIKE_MIN_PER_SECOND} "
            f"and {errors_5m} > {ERROR_SPIKE_FACTOR} * {errors_1h}",
            "5m",
            "warning",
            "App {{ $labels.app }} logs errors at over 3 times its usual rate",
            "App {{ $labels.app }} logs {{ $value | humanize }} error lines per second, "
            "over 3 times its rate of the last hour.",
        ),
    ]
