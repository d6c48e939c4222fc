"""The controller's settings: one frozen dataclass, built from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

from controller.errors import SettingsError
from logger.env import env_float, env_int, env_path, env_str, state_dir
from logger.errors import SettingsError as LoggerSettingsError
from metrics.settings import MetricsSettings

E = TypeVar("E", bound=StrEnum)


class Registration(StrEnum):
    """Who may use `POST /v2/auth/register`."""

    ENABLED = "enabled"
    """Anyone; the first user becomes an admin."""
    ADMIN_ONLY = "admin_only"
    """The first user (who becomes an admin), then only admins register others."""
    DISABLED = "disabled"
    """Nobody: users already exist, or are created by an admin with admin_only."""


class SchedulerKind(StrEnum):
    KUBERNETES = "kubernetes"
    """Each app is a namespace in a Kubernetes cluster."""
    NONE = "none"
    """No cluster: apps are records only (the embedded default)."""


@dataclass(frozen=True)
class ControllerSettings:
    host: str = "0.0.0.0"
    port: int = 8000
    database_url: str = "sqlite+aiosqlite:///wf-controller.db"
    scheduler: SchedulerKind = SchedulerKind.NONE
    # None: in-cluster config when running in a pod, else the default kubeconfig.
    kubeconfig: Path | None = None
    in_cluster: bool = False
    # How long destroying an app waits for its namespace to go.
    namespace_delete_timeout: float = 120.0
    kubernetes_request_timeout: float = 10.0
    logger_url: str = "http://127.0.0.1:8088"
    # Where platform lines go when the logger runs in another process.
    forward_url: str = "tcp://127.0.0.1:24224"
    forward_shared_key: str | None = None
    forward_ca_file: Path | None = None
    logger_timeout: float = 10.0
    registration: Registration = Registration.ENABLED
    # 0: tokens never expire (until revoked).
    token_ttl: float = 30 * 24 * 3600.0
    login_attempts: int = 5
    login_window: float = 60.0
    password_memory_kib: int = 65536
    password_time_cost: int = 3
    max_body_bytes: int = 64 << 10
    max_follow_timeout: float = 3600.0
    # VictoriaMetrics for the metrics endpoints; None: they answer 503.
    victoriametrics_url: str | None = None
    # Per attempt; connection errors are retried `victoriametrics_retries` times.
    victoriametrics_timeout: float = 10.0
    victoriametrics_retries: int = 2
    # How long GET /v2/apps/{id}/metrics answers from its cache.
    metrics_cache_ttl: float = 10.0
    # The latest sample within this many seconds is an app's current value.
    metrics_current_window: float = 300.0
    # Bounds on GET /v2/apps/{id}/metrics/{ptype}/status.
    metrics_max_window: float = 7 * 24 * 3600.0
    metrics_max_points: int = 1000
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ControllerSettings:
        try:
            return cls._from_env(environ)
        except LoggerSettingsError as error:
            raise SettingsError(str(error)) from None

    @classmethod
    def _from_env(cls, environ: Mapping[str, str]) -> ControllerSettings:
        # A pod gets KUBERNETES_SERVICE_HOST; outside one, kubeconfig is used.
        in_cluster = bool(environ.get("KUBERNETES_SERVICE_HOST")) and not environ.get(
            "WF_KUBECONFIG"
        )
        shared_key = environ.get("WF_FORWARD_SHARED_KEY") or None
        return cls(
            host=env_str(environ, "WF_CONTROLLER_HOST", cls.host),
            port=env_int(environ, "WF_CONTROLLER_PORT", cls.port, 0, 65535),
            database_url=_database_url(
                env_str(
                    environ,
                    "WF_DATABASE_URL",
                    f"sqlite+aiosqlite:///{state_dir(environ) / 'controller.db'}",
                )
            ),
            scheduler=_enum(environ, "WF_SCHEDULER", SchedulerKind, cls.scheduler),
            kubeconfig=env_path(environ, "WF_KUBECONFIG", env_path(environ, "KUBECONFIG", None)),
            in_cluster=in_cluster,
            namespace_delete_timeout=env_float(
                environ, "WF_NAMESPACE_DELETE_TIMEOUT", cls.namespace_delete_timeout, 0.1
            ),
            kubernetes_request_timeout=env_float(
                environ, "WF_KUBERNETES_REQUEST_TIMEOUT", cls.kubernetes_request_timeout, 0.1
            ),
            logger_url=env_str(environ, "WF_LOGGER_URL", cls.logger_url).rstrip("/"),
            forward_url=env_str(environ, "WF_FORWARD_URL", cls.forward_url),
            forward_shared_key=shared_key,
            forward_ca_file=env_path(environ, "WF_FORWARD_CA_FILE", None),
            logger_timeout=env_float(environ, "WF_LOGGER_TIMEOUT", cls.logger_timeout, 0.1),
            registration=_enum(environ, "WF_REGISTRATION", Registration, cls.registration),
            token_ttl=env_float(environ, "WF_TOKEN_TTL", cls.token_ttl, 0.0),
            login_attempts=env_int(environ, "WF_LOGIN_ATTEMPTS", cls.login_attempts, 1),
            login_window=env_float(environ, "WF_LOGIN_WINDOW", cls.login_window, 1.0),
            password_memory_kib=env_int(
                environ, "WF_PASSWORD_MEMORY_KIB", cls.password_memory_kib, 8192
            ),
            password_time_cost=env_int(
                environ, "WF_PASSWORD_TIME_COST", cls.password_time_cost, 1, 20
            ),
            max_body_bytes=env_int(
                environ, "WF_CONTROLLER_MAX_BODY_BYTES", cls.max_body_bytes, 1024
            ),
            max_follow_timeout=env_float(
                environ, "WF_LOGGER_MAX_FOLLOW_TIMEOUT", cls.max_follow_timeout, 1.0
            ),
            victoriametrics_url=_http_url(environ, "WF_VICTORIAMETRICS_URL"),
            victoriametrics_timeout=env_float(
                environ, "WF_VICTORIAMETRICS_TIMEOUT", cls.victoriametrics_timeout, 0.1
            ),
            victoriametrics_retries=env_int(
                environ, "WF_VICTORIAMETRICS_RETRIES", cls.victoriametrics_retries, 0, 10
            ),
            metrics_cache_ttl=env_float(environ, "WF_METRICS_CACHE_TTL", cls.metrics_cache_ttl),
            metrics_current_window=env_float(
                environ, "WF_METRICS_CURRENT_WINDOW", cls.metrics_current_window, 1.0
            ),
            metrics_max_window=env_float(
                environ, "WF_METRICS_MAX_WINDOW", cls.metrics_max_window, 60.0
            ),
            metrics_max_points=env_int(
                environ, "WF_METRICS_MAX_POINTS", cls.metrics_max_points, 2, 100_000
            ),
            metrics=MetricsSettings.from_env(environ),
        )


def _database_url(url: str) -> str:
    # Only async drivers work with the async engine; say so at start.
    scheme = url.split("://", 1)[0]
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise SettingsError(
            "WF_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
            f"got a {scheme!r} URL"
        )
    return url


def _http_url(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        # The value is not shown: it may hold credentials.
        raise SettingsError(f"{name} must be an http:// or https:// URL")
    return raw.rstrip("/")


def _enum(environ: Mapping[str, str], name: str, kind: type[E], default: E) -> E:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise SettingsError(f"{name} must be one of {allowed}, got {raw!r}") from None
