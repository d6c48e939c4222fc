"""The watcher's settings: one frozen dataclass, from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from logger.env import env_float, env_path
from logger.errors import SettingsError


@dataclass(frozen=True)
class WatcherSettings:
    # On with `WF_SCHEDULER=kubernetes` (`wf serve --scheduler kubernetes`):
    # apps are namespaces then, and their pods are worth watching.
    enabled: bool = False
    # None: in-cluster config when running in a pod, else the default kubeconfig.
    kubeconfig: Path | None = None
    in_cluster: bool = False
    # The API server ends each watch after about this long; the watcher then
    # watches again from the last resourceVersion (no re-list).
    watch_timeout: float = 300.0
    # Connect and per-read timeout of a request; a watch stays silent for at
    # most the bookmark interval (about a minute), so this is above it.
    request_timeout: float = 90.0
    # Bounded exponential backoff with full jitter after a failed list or watch.
    backoff_initial: float = 0.5
    backoff_max: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WatcherSettings:
        scheduler = environ.get("WF_SCHEDULER", "").strip().lower()
        in_cluster = bool(environ.get("KUBERNETES_SERVICE_HOST")) and not environ.get(
            "WF_KUBECONFIG"
        )
        settings = cls(
            enabled=scheduler == "kubernetes",
            kubeconfig=env_path(environ, "WF_KUBECONFIG", env_path(environ, "KUBECONFIG", None)),
            in_cluster=in_cluster,
            watch_timeout=env_float(
                environ, "WF_KUBERNETES_WATCH_TIMEOUT", cls.watch_timeout, 10.0, 3600.0
            ),
            request_timeout=env_float(
                environ, "WF_KUBERNETES_WATCH_REQUEST_TIMEOUT", cls.request_timeout, 1.0
            ),
            backoff_initial=env_float(
                environ, "WF_KUBERNETES_WATCH_BACKOFF_INITIAL", cls.backoff_initial, 0.01
            ),
            backoff_max=env_float(
                environ, "WF_KUBERNETES_WATCH_BACKOFF_MAX", cls.backoff_max, 0.01
            ),
        )
        if settings.backoff_max < settings.backoff_initial:
            raise SettingsError(
                "WF_KUBERNETES_WATCH_BACKOFF_MAX must be at least "
                "WF_KUBERNETES_WATCH_BACKOFF_INITIAL"
            )
        return settings
