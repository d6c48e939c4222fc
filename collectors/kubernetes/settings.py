"""The watcher's settings, declared once (foundation.settings).

Whether it runs and how it reaches the API server are the controller's
settings (`WF_SCHEDULER`, `WF_KUBECONFIG`): one declaration each, read by both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from controller.settings import (
    KUBECONFIG,
    KUBERNETES_CONFIG,
    SCHEDULER,
    SchedulerKind,
    runs_in_cluster,
)
from foundation.errors import SettingsError
from foundation.settings import Seconds, Setting, declared, from_environ


@dataclass(frozen=True)
class WatcherSettings:
    # On with `WF_SCHEDULER=kubernetes` (`wf serve --scheduler kubernetes`):
    # apps are namespaces then, and their pods are worth watching.
    enabled: bool = False
    # None: in-cluster config when running in a pod, else the default kubeconfig.
    kubeconfig: Path | None = None
    in_cluster: bool = False
    watch_timeout: float = declared(
        Setting(
            "WF_KUBERNETES_WATCH_TIMEOUT",
            Seconds(10.0, 3600.0),
            300.0,
            "The API server ends each watch after about this long; the watcher then "
            "watches again from the last resourceVersion (no re-list).",
        )
    )
    request_timeout: float = declared(
        Setting(
            "WF_KUBERNETES_WATCH_REQUEST_TIMEOUT",
            Seconds(1.0),
            90.0,
            "Connect and per-read timeout of a watch request; above the bookmark "
            "interval (about a minute), the longest a watch stays silent.",
        )
    )
    backoff_initial: float = declared(
        Setting(
            "WF_KUBERNETES_WATCH_BACKOFF_INITIAL",
            Seconds(0.01),
            0.5,
            "First pause after a failed list or watch (exponential, full jitter).",
        )
    )
    backoff_max: float = declared(
        Setting(
            "WF_KUBERNETES_WATCH_BACKOFF_MAX",
            Seconds(0.01),
            30.0,
            "Longest pause between a failed list or watch and the next try.",
        )
    )

    ALSO_READS: ClassVar[tuple[Setting[Any], ...]] = (SCHEDULER, KUBERNETES_CONFIG, KUBECONFIG)

    def __post_init__(self) -> None:
        if self.backoff_max < self.backoff_initial:
            raise SettingsError(
                "WF_KUBERNETES_WATCH_BACKOFF_MAX must be at least "
                "WF_KUBERNETES_WATCH_BACKOFF_INITIAL"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WatcherSettings:
        return from_environ(
            cls,
            environ,
            enabled=SCHEDULER.read(environ) is SchedulerKind.KUBERNETES,
            kubeconfig=KUBERNETES_CONFIG.read(environ),
            in_cluster=runs_in_cluster(environ),
        )
