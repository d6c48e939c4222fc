"""What a Fluent Bit DaemonSet pipeline is made of: one frozen dataclass.

Every field has the DaemonSet's value as its default; the few that exist for
the tests (`kube_url`, `kube_meta_preload_cache_dir`, the timings) default to
what a node in a cluster needs. Values are checked here, at construction, so
a bad option fails with a message naming it instead of a Fluent Bit that
refuses to start on the node.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import TypeAlias


class ConfigError(ValueError):
    """A setting of the Fluent Bit pipeline is invalid; the message names it."""


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A Kubernetes namespace is a DNS label (RFC 1123).
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# Fluent Bit's size type: a number and an optional K/M/G unit (KB, MB, GB too).
_SIZE = re.compile(r"[0-9]+([KMG]B?)?", re.IGNORECASE)
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
_LOG_LEVELS = ("off", "error", "warn", "info", "debug", "trace")


@dataclass(frozen=True)
class LoggerAddress:
    """One logger replica's forward input."""

    host: str
    port: int = 24224

    def __post_init__(self) -> None:
        if not _HOST.fullmatch(self.host):
            raise ConfigError(f"logger host {self.host!r} is not a host name or address")
        if not 0 < self.port < 65536:
            raise ConfigError(f"logger port {self.port} is not between 1 and 65535")

    @classmethod
    def parse(cls, text: str) -> LoggerAddress:
        """`host:port`, `host` (port 24224) or `[v6 address]:port`."""
        host, separator, port = text.rpartition(":")
        if not separator or (host.count(":") and not host.startswith("[")):
            return cls(text)
        if not port.isdigit():
            raise ConfigError(f"logger address {text!r}: the port must be a number")
        return cls(host, int(port))

    @property
    def fluent_bit_host(self) -> str:
        return self.host.strip("[]")


@dataclass(frozen=True)
class EnvSecret:
    """A secret Fluent Bit reads from its own environment when it starts:
    the generated file holds `${VARIABLE}`, never the value."""

    variable: str

    def __post_init__(self) -> None:
        if not _ENV_NAME.fullmatch(self.variable):
            raise ConfigError(f"{self.variable!r} is not an environment variable name")

    @property
    def config_value(self) -> str:
        return "${" + self.variable + "}"


@dataclass(frozen=True)
class InlineSecret:
    """A secret written into the file itself, only when asked for."""

    value: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.value:
            raise ConfigError("an inlined secret cannot be empty")
        if "${" in self.value:
            raise ConfigError("an inlined secret cannot contain '${' (Fluent Bit would expand it)")

    @property
    def config_value(self) -> str:
        return self.value


Secret: TypeAlias = EnvSecret | InlineSecret

DEFAULT_SHARED_KEY = EnvSecret("FLUENT_BIT_SHARED_KEY")
DEFAULT_PASSWORD = EnvSecret("FLUENT_BIT_PASSWORD")
# Platform namespaces: their pods are not apps, their lines have no owner to read them.
PLATFORM_NAMESPACES = ("drycc", "kube-node-lease", "kube-public", "kube-system")


@dataclass(frozen=True)
class FluentBitSettings:
    """One node pipeline: tail -> kubernetes filter -> forward to the loggers."""

    # Every logger replica; Fluent Bit balances chunks over them round-robin.
    loggers: tuple[LoggerAddress, ...] = (LoggerAddress("workflow-logger"),)
    tls: bool = True
    tls_verify: bool = True
    # None: the system's CA bundle.
    tls_ca_file: str | None = None
    shared_key: Secret | None = DEFAULT_SHARED_KEY
    username: str | None = None
    # Sent with `username` only.
    password: Secret = DEFAULT_PASSWORD
    excluded_namespaces: tuple[str, ...] = PLATFORM_NAMESPACES
    log_path: str = "/var/log/containers/*.log"
    db_path: str = "/var/lib/fluent-bit/tail-containers.db"
    storage_path: str = "/var/lib/fluent-bit/storage"
    storage_total_limit_size: str = "1G"
    mem_buf_limit: str = "16M"
    metrics_listen: str = "0.0.0.0"
    metrics_port: int = 2020
    # Where the DaemonSet mounts this very file: the forward output reads its
    # `upstream_servers` (the logger replicas) from it.
    config_path: str = "/fluent-bit/etc/fluent-bit.yaml"
    kube_url: str = "https://kubernetes.default.svc:443"
    # Test-only: a folder of `<namespace>_<pod>.meta` Pod objects instead of the API server.
    kube_meta_preload_cache_dir: str | None = None
    flush_seconds: float = 1.0
    refresh_interval_seconds: int = 10
    # First retry after 1..base seconds, the wait doubling up to cap.
    scheduler_base_seconds: int = 2
    scheduler_cap_seconds: int = 30
    log_level: str = "info"

    def __post_init__(self) -> None:
        if not self.loggers:
            raise ConfigError("at least one logger address is needed")
        if len(set(self.loggers)) != len(self.loggers):
            raise ConfigError("a logger address is listed twice")
        for namespace in self.excluded_namespaces:
            if not _NAMESPACE.fullmatch(namespace):
                raise ConfigError(f"excluded namespace {namespace!r} is not a namespace name")
        if self.username is not None and not self.username:
            raise ConfigError("the username cannot be empty")
        for name in ("log_path", "db_path", "storage_path", "config_path"):
            if not posixpath.isabs(getattr(self, name)):
                raise ConfigError(f"{name} must be an absolute path")
        for name in ("tls_ca_file", "kube_meta_preload_cache_dir"):
            value = getattr(self, name)
            if value is not None and not posixpath.isabs(value):
                raise ConfigError(f"{name} must be an absolute path")
        folder, pattern = posixpath.split(self.log_path)
        if any(char in folder for char in "*?[") or not pattern:
            raise ConfigError("log_path must be a folder without wildcards and a file pattern")
        for name in ("storage_total_limit_size", "mem_buf_limit"):
            if not _SIZE.fullmatch(getattr(self, name)):
                raise ConfigError(f"{name} must be a size such as 512K, 16M or 1G")
        if not 0 < self.metrics_port < 65536:
            raise ConfigError("metrics_port must be between 1 and 65535")
        if not self.kube_url.startswith(("http://", "https://")):
            raise ConfigError("kube_url must be an http:// or https:// URL")
        if not 0 < self.flush_seconds <= 60:
            raise ConfigError("flush_seconds must be above 0 and at most 60")
        if self.refresh_interval_seconds < 1:
            raise ConfigError("refresh_interval_seconds must be at least 1")
        if not 1 <= self.scheduler_base_seconds <= self.scheduler_cap_seconds:
            raise ConfigError("scheduler_base_seconds must be at least 1 and at most the cap")
        if self.log_level not in _LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(_LOG_LEVELS)}")

    @property
    def log_folder(self) -> str:
        return posixpath.dirname(self.log_path)
