"""Settings every drain shares, read once at start from the environment.

The sinks' own settings are theirs (`sinks.syslog.settings`,
`sinks.http.settings`) and sit in `DrainSettings.syslog` and `.http`; what
is here serves every sink: the registry's limits, the state file, buffer
and batch sizes, retry pacing, timeouts, TLS trust, the global drain memory
bound and the destination policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from foundation.env import state_dir
from foundation.settings import (
    FilePath,
    Integer,
    Seconds,
    Setting,
    Size,
    declarations,
    declared,
    from_environ,
)
from logger.drains.destinations import (
    ALLOW_VARIABLE,
    DEFAULT_DENY_HOSTS,
    DestinationPolicy,
    HostList,
    HostListKind,
)
from logger.drains.sinks.http.settings import HttpSinkSettings
from logger.drains.sinks.syslog.settings import SyslogSinkSettings
from logger.errors import SettingsError

_OFF = frozenset({"none", "off", "-"})


def _pem_file(variable: str, path: Path | None) -> None:
    if path is not None and not path.is_file():
        raise SettingsError(f"{variable} must name a PEM file, {path} is not a file")


@dataclass(frozen=True)
class DrainSettings:
    """Drains' limits, batching, retry pacing, timeouts, TLS trust, memory and policy.

    `state_file` None keeps drains in memory only (`WF_DRAINS_STATE_FILE=none`);
    built from the environment, it defaults to the user's state directory."""

    state_file: Path | None = declared(
        Setting(
            "WF_DRAINS_STATE_FILE",
            FilePath(off=_OFF),
            None,
            "Drains state file; none keeps drains in memory only.",
            flag="--drains-state-file",
            default_from=lambda environ: state_dir(environ) / "drains.json",
            shown_default="$XDG_STATE_HOME/workflow/drains.json",
        )
    )
    per_app: int = declared(Setting("WF_DRAINS_PER_APP", Integer(1), 6, "Drains one app may have."))
    buffer_lines: int = declared(
        Setting(
            "WF_DRAIN_BUFFER_LINES",
            Integer(1),
            10_000,
            "Lines buffered per drain before the oldest are dropped.",
        )
    )
    batch_lines: int = declared(
        Setting("WF_DRAIN_BATCH_LINES", Integer(1), 500, "Most lines in one batch.")
    )
    batch_bytes: int = declared(
        Setting("WF_DRAIN_BATCH_BYTES", Size(1024), 1 << 20, "Most bytes in one batch.")
    )
    retry_base: float = declared(
        Setting(
            "WF_DRAIN_RETRY_BASE",
            Seconds(0.001),
            0.5,
            "First retry delay, seconds; doubled per failure.",
        )
    )
    retry_max: float = declared(
        Setting(
            "WF_DRAIN_RETRY_MAX",
            Seconds(0.001),
            30.0,
            "Longest retry delay, seconds (not below WF_DRAIN_RETRY_BASE).",
        )
    )
    connect_timeout: float = declared(
        Setting("WF_DRAIN_CONNECT_TIMEOUT", Seconds(0.01), 10.0, "Seconds to connect.")
    )
    send_timeout: float = declared(
        Setting("WF_DRAIN_SEND_TIMEOUT", Seconds(0.01), 30.0, "Seconds to send one batch.")
    )
    flush_timeout: float = declared(
        Setting(
            "WF_DRAIN_FLUSH_TIMEOUT",
            Seconds(),
            2.0,
            "Seconds a closing drain may spend sending what it holds.",
        )
    )
    ca_file: Path | None = declared(
        Setting(
            "WF_DRAIN_CA_FILE",
            FilePath(),
            None,
            "PEM file of the CAs TLS drains trust; unset: the system's.",
            check=_pem_file,
        )
    )
    max_buffer_bytes: int = declared(
        Setting(
            "WF_DRAINS_MAX_BUFFER_BYTES",
            Size(1 << 16),
            64 << 20,
            "Bound on the lines all drains buffer together; past it the fullest drain drops.",
        )
    )
    allow_destinations: HostList = declared(
        Setting(
            ALLOW_VARIABLE,
            HostListKind(),
            HostList(),
            "CIDRs and host names drains may reach although not public (loopback, private).",
        )
    )
    deny_hosts: HostList = declared(
        Setting(
            "WF_DRAINS_DENY_HOSTS",
            HostListKind(networks=False),
            HostList.parse(",".join(DEFAULT_DENY_HOSTS), "", networks=False),
            "Host names drains may not reach (the platform's own services); *.domain for a domain.",
        )
    )
    checkpoint_interval: float = declared(
        Setting(
            "WF_DRAINS_CHECKPOINT_INTERVAL",
            Seconds(0.1),
            5.0,
            "Seconds between writes of what drains hold, reported after a crash.",
        )
    )
    # With Redis: how soon a missed change of the shared set is noticed, and
    # how fresh the other replicas' state in the API is.
    sync_interval: float = declared(
        Setting(
            "WF_DRAINS_SYNC_INTERVAL",
            Seconds(0.1),
            2.0,
            "With Redis: seconds between checks of the shared drain set and reports "
            "of this replica's drain state.",
        )
    )
    syslog: SyslogSinkSettings = field(default_factory=SyslogSinkSettings)
    http: HttpSinkSettings = field(default_factory=HttpSinkSettings)

    # The sinks' own settings, read by from_env into `syslog` and `http`.
    ALSO_READS: ClassVar[tuple[Setting[Any], ...]] = (
        *(setting for _, setting in declarations(SyslogSinkSettings)),
        *(setting for _, setting in declarations(HttpSinkSettings)),
    )

    def __post_init__(self) -> None:
        if self.retry_max < self.retry_base:
            raise SettingsError(
                f"WF_DRAIN_RETRY_MAX ({self.retry_max}) must not be below "
                f"WF_DRAIN_RETRY_BASE ({self.retry_base})"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DrainSettings:
        return from_environ(
            cls,
            environ,
            syslog=SyslogSinkSettings.from_env(environ),
            http=HttpSinkSettings.from_env(environ),
        )

    def destination_policy(self) -> DestinationPolicy:
        """The policy every sink connects through (logger.drains.destinations)."""
        return DestinationPolicy(
            self.allow_destinations, self.deny_hosts, resolve_timeout=self.connect_timeout
        )
