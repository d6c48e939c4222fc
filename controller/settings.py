"""The controller's settings: one frozen dataclass, built from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

from controller.errors import SettingsError
from foundation.env import state_dir
from foundation.settings import (
    Choice,
    FilePath,
    HttpUrl,
    Integer,
    Seconds,
    Secret,
    Setting,
    Text,
    declared,
    from_environ,
)
from logger.config import MAX_FOLLOW_TIMEOUT
from logger.forward.settings import SHARED_KEY
from logger.store.redis_settings import REDIS_URL
from metrics.settings import MetricsSettings


class Registration(StrEnum):
    """Who may use `POST /v2/auth/register`."""

    ENABLED = "enabled"
    """Anyone; the first user becomes an admin."""
    ADMIN_ONLY = "admin_only"
    """The first user (who becomes an admin), then only admins register others."""
    DISABLED = "disabled"
    """Nobody: users already exist, or are created by an admin with admin_only."""


class CookieSecurity(StrEnum):
    """When the console's session cookie is marked `Secure` (sent over TLS only)."""

    REQUEST = "request"
    """When the request itself came over TLS (the controller terminates TLS)."""
    FORWARDED = "forwarded"
    """Also when it carries `X-Forwarded-Proto: https`: only behind a proxy that
    terminates TLS and sets that header, with the controller reachable only through it."""
    ALWAYS = "always"
    """Always: the console is only ever reached over TLS."""


class SchedulerKind(StrEnum):
    KUBERNETES = "kubernetes"
    """Each app is a namespace in a Kubernetes cluster."""
    NONE = "none"
    """No cluster: apps are records only (the embedded default)."""


def _async_database_url(variable: str, url: str) -> None:
    # Only async drivers work with the async engine; say so at start.
    scheme = url.split("://", 1)[0]
    if scheme not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise SettingsError(
            f"{variable} must start with sqlite+aiosqlite:// or postgresql+asyncpg://, "
            f"got a {scheme!r} URL"
        )


def _fernet_keys(variable: str, value: str) -> None:
    # Checked at start, so a mistyped key fails there and not at the first drain.
    from cryptography.fernet import Fernet

    for number, key in enumerate(value.split(","), start=1):
        try:
            Fernet(key.strip())
        except ValueError:
            raise SettingsError(
                f"{variable}: key {number} is not a Fernet key (32 bytes, url-safe base64; "
                "make one with cryptography's Fernet.generate_key())"
            ) from None


SECRET_KEY: Setting[str] = Setting(
    "WF_SECRET_KEY",
    Secret(),
    "",
    "Fernet keys (comma-separated, the first encrypts) for drain credentials at rest; "
    "unset: a key file made on first start (WF_SECRET_KEY_FILE).",
    check=_fernet_keys,
)

# Kubernetes' own variable, read when WF_KUBECONFIG is not set.
KUBECONFIG: Setting[Path | None] = Setting(
    "KUBECONFIG", FilePath(), None, "Kubeconfig file, when WF_KUBECONFIG is not set."
)
# Read by the controller and by the Kubernetes watcher (collectors/kubernetes).
SCHEDULER: Setting[SchedulerKind] = Setting(
    "WF_SCHEDULER",
    Choice(SchedulerKind),
    SchedulerKind.NONE,
    "Where apps run: kubernetes (a namespace each) or none (records only).",
    flag="--scheduler",
)
KUBERNETES_CONFIG: Setting[Path | None] = Setting(
    "WF_KUBECONFIG",
    FilePath(),
    None,
    "Kubeconfig file; unset: in-cluster config in a pod, else KUBECONFIG or the default.",
    default_from=KUBECONFIG.read,
)


def runs_in_cluster(environ: Mapping[str, str]) -> bool:
    """True in a pod (it gets KUBERNETES_SERVICE_HOST) unless WF_KUBECONFIG says otherwise."""
    return bool(environ.get("KUBERNETES_SERVICE_HOST")) and not environ.get("WF_KUBECONFIG")


@dataclass(frozen=True)
class ControllerSettings:
    host: str = declared(
        Setting(
            "WF_CONTROLLER_HOST",
            Text(),
            "0.0.0.0",
            "Address the controller listens on.",
            flag="--controller-host",
        )
    )
    port: int = declared(
        Setting(
            "WF_CONTROLLER_PORT",
            Integer(0, 65535),
            8000,
            "Port of the controller API.",
            flag="--controller-port",
        )
    )
    database_url: str = declared(
        Setting(
            "WF_DATABASE_URL",
            Text(),
            "sqlite+aiosqlite:///wf-controller.db",
            "Controller database: sqlite+aiosqlite:// or postgresql+asyncpg://.",
            flag="--database-url",
            check=_async_database_url,
            default_from=lambda environ: (
                f"sqlite+aiosqlite:///{state_dir(environ) / 'controller.db'}"
            ),
            shown_default="SQLite in $XDG_STATE_HOME/workflow/controller.db",
        )
    )
    scheduler: SchedulerKind = declared(SCHEDULER)
    # None: in-cluster config when running in a pod, else the default kubeconfig.
    kubeconfig: Path | None = declared(KUBERNETES_CONFIG)
    # Not a setting: true in a pod (KUBERNETES_SERVICE_HOST) without WF_KUBECONFIG.
    in_cluster: bool = False
    # How long destroying an app waits for its namespace to go.
    namespace_delete_timeout: float = declared(
        Setting(
            "WF_NAMESPACE_DELETE_TIMEOUT",
            Seconds(0.1),
            120.0,
            "Seconds destroying an app waits for its namespace to go.",
        )
    )
    kubernetes_request_timeout: float = declared(
        Setting(
            "WF_KUBERNETES_REQUEST_TIMEOUT",
            Seconds(0.1),
            10.0,
            "Seconds per Kubernetes API request.",
        )
    )
    logger_url: str = declared(
        Setting(
            "WF_LOGGER_URL",
            Text(rstrip="/"),
            "http://127.0.0.1:8088",
            "The logger's logs and drains API.",
        )
    )
    # Where platform lines go when the logger runs in another process.
    forward_url: str = declared(
        Setting(
            "WF_FORWARD_URL",
            Text(),
            "tcp://127.0.0.1:24224",
            "The logger's forward input, for platform lines (tcp:// or tls://).",
        )
    )
    forward_shared_key: str | None = field(default=None, repr=False)
    forward_ca_file: Path | None = declared(
        Setting(
            "WF_FORWARD_CA_FILE",
            FilePath(),
            None,
            "PEM file of the CAs a tls:// forward URL is checked against.",
        )
    )
    logger_timeout: float = declared(
        Setting("WF_LOGGER_TIMEOUT", Seconds(0.1), 10.0, "Seconds per request to the logger.")
    )
    registration: Registration = declared(
        Setting(
            "WF_REGISTRATION",
            Choice(Registration),
            Registration.ENABLED,
            "Who may register: enabled (anyone), admin_only, disabled.",
        )
    )
    # 0: tokens never expire (until revoked).
    token_ttl: float = declared(
        Setting(
            "WF_TOKEN_TTL",
            Seconds(0.0),
            30 * 24 * 3600.0,
            "Seconds a token lives; 0: until revoked.",
        )
    )
    login_attempts: int = declared(
        Setting(
            "WF_LOGIN_ATTEMPTS",
            Integer(1),
            5,
            "Login attempts per username and client address within WF_LOGIN_WINDOW "
            "(four times as many within 16 windows); a success starts again.",
        )
    )
    login_window: float = declared(
        Setting("WF_LOGIN_WINDOW", Seconds(1.0), 60.0, "Seconds the login limit counts over.")
    )
    login_address_attempts: int = declared(
        Setting(
            "WF_LOGIN_ADDRESS_ATTEMPTS",
            Integer(1),
            30,
            "Login attempts per client address (any username) within WF_LOGIN_WINDOW.",
        )
    )
    register_attempts: int = declared(
        Setting(
            "WF_REGISTER_ATTEMPTS",
            Integer(1),
            10,
            "Registrations tried per client address within WF_REGISTER_WINDOW.",
        )
    )
    register_window: float = declared(
        Setting(
            "WF_REGISTER_WINDOW",
            Seconds(1.0),
            600.0,
            "Seconds the registration limit counts over.",
        )
    )
    redis_url: str | None = declared(REDIS_URL)
    # Fernet keys for drain credentials at rest (WF_SECRET_KEY, read by from_env:
    # a field of its own so that it stays out of repr).
    secret_key: str = field(default="", repr=False)
    secret_key_file: Path | None = declared(
        Setting(
            "WF_SECRET_KEY_FILE",
            FilePath(),
            None,
            "Key file used when WF_SECRET_KEY is unset (made, mode 0600, on first start).",
            default_from=lambda environ: state_dir(environ) / "controller-secret.key",
            shown_default="$XDG_STATE_HOME/workflow/controller-secret.key",
        )
    )
    password_memory_kib: int = declared(
        Setting(
            "WF_PASSWORD_MEMORY_KIB",
            Integer(8192),
            65536,
            "Argon2id memory cost of a password hash, KiB.",
        )
    )
    password_time_cost: int = declared(
        Setting(
            "WF_PASSWORD_TIME_COST",
            Integer(1, 20),
            3,
            "Argon2id passes over that memory.",
        )
    )
    max_body_bytes: int = declared(
        Setting(
            "WF_CONTROLLER_MAX_BODY_BYTES",
            Integer(1024),
            64 << 10,
            "Largest request body, bytes.",
        )
    )
    max_follow_timeout: float = declared(MAX_FOLLOW_TIMEOUT)
    # A follow outlives the request that checked its access: checked again.
    follow_access_interval: float = declared(
        Setting(
            "WF_CONTROLLER_FOLLOW_ACCESS_INTERVAL",
            Seconds(0.1),
            5.0,
            "Seconds between two checks that a log stream's user may still read the app"
            " (token or session not revoked, still a collaborator).",
        )
    )
    follow_send_timeout: float = declared(
        Setting(
            "WF_CONTROLLER_FOLLOW_SEND_TIMEOUT",
            Seconds(0.1),
            10.0,
            "Longest wait for a log stream's client to take one frame; one that does"
            " not read is disconnected.",
        )
    )
    # The web console's session cookie: a token like `wf login`'s, shorter-lived.
    console_session_ttl: float = declared(
        Setting(
            "WF_CONSOLE_SESSION_TTL",
            Seconds(60.0),
            12 * 3600.0,
            "Seconds a web console session (its cookie and token) lives.",
        )
    )
    console_secure_cookie: CookieSecurity = declared(
        Setting(
            "WF_CONSOLE_SECURE_COOKIE",
            Choice(CookieSecurity),
            CookieSecurity.REQUEST,
            "When the session cookie is Secure: request (TLS here), forwarded "
            "(also X-Forwarded-Proto: https from a trusted proxy), always.",
        )
    )
    # VictoriaMetrics for the metrics endpoints; None: they answer 503.
    victoriametrics_url: str | None = declared(
        Setting(
            "WF_VICTORIAMETRICS_URL",
            HttpUrl(),
            None,
            "VictoriaMetrics for the metrics endpoints; unset: they answer 503.",
        )
    )
    # Per attempt; connection errors are retried `victoriametrics_retries` times.
    victoriametrics_timeout: float = declared(
        Setting(
            "WF_VICTORIAMETRICS_TIMEOUT",
            Seconds(0.1),
            10.0,
            "Seconds per VictoriaMetrics request attempt.",
        )
    )
    victoriametrics_retries: int = declared(
        Setting(
            "WF_VICTORIAMETRICS_RETRIES",
            Integer(0, 10),
            2,
            "Retries of a VictoriaMetrics request after a connection error.",
        )
    )
    # How long GET /v2/apps/{id}/metrics answers from its cache.
    metrics_cache_ttl: float = declared(
        Setting(
            "WF_METRICS_CACHE_TTL",
            Seconds(),
            10.0,
            "Seconds GET /v2/apps/{id}/metrics answers from its cache.",
        )
    )
    # The latest sample within this many seconds is an app's current value.
    metrics_current_window: float = declared(
        Setting(
            "WF_METRICS_CURRENT_WINDOW",
            Seconds(1.0),
            300.0,
            "Seconds within which the latest sample is an app's current value.",
        )
    )
    # Bounds on GET /v2/apps/{id}/metrics/{ptype}/status.
    metrics_max_window: float = declared(
        Setting(
            "WF_METRICS_MAX_WINDOW",
            Seconds(60.0),
            7 * 24 * 3600.0,
            "Longest window of GET /v2/apps/{id}/metrics/{ptype}/status, seconds.",
        )
    )
    metrics_max_points: int = declared(
        Setting(
            "WF_METRICS_MAX_POINTS",
            Integer(2, 100_000),
            1000,
            "Most points per series of GET /v2/apps/{id}/metrics/{ptype}/status.",
        )
    )
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    ALSO_READS: ClassVar[tuple[Setting[Any], ...]] = (SHARED_KEY, SECRET_KEY, KUBECONFIG)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ControllerSettings:
        return from_environ(
            cls,
            environ,
            in_cluster=runs_in_cluster(environ),
            forward_shared_key=SHARED_KEY.read(environ) or None,
            secret_key=SECRET_KEY.read(environ),
            metrics=MetricsSettings.from_env(environ),
        )
