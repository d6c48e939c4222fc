"""Settings of the drains subsystem, read once at start from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from foundation.env import state_dir
from foundation.settings import (
    FilePath,
    Integer,
    Seconds,
    Setting,
    Size,
    Text,
    declared,
    from_environ,
)
from logger.errors import SettingsError

# RFC 5426 section 3.2: senders SHOULD keep datagrams within what the path
# carries without fragmentation; 2048 is the size receivers MUST accept.
DEFAULT_UDP_MAX_BYTES = 2048
# The smallest size RFC 5424 (6.1) requires every receiver to accept.
MIN_UDP_MAX_BYTES = 480
# The largest UDP payload over IPv4.
MAX_UDP_MAX_BYTES = 65507
_OFF = frozenset({"none", "off", "-"})


def _pem_file(variable: str, path: Path | None) -> None:
    if path is not None and not path.is_file():
        raise SettingsError(f"{variable} must name a PEM file, {path} is not a file")


@dataclass(frozen=True)
class DrainSettings:
    """Drains' limits, batching, retry pacing, timeouts and TLS trust.

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
    batch_interval: float = declared(
        Setting(
            "WF_DRAIN_BATCH_INTERVAL",
            Seconds(),
            0.5,
            "Seconds an HTTP drain waits for a fuller batch.",
        )
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
    udp_max_bytes: int = declared(
        Setting(
            "WF_DRAIN_UDP_MAX_BYTES",
            Integer(MIN_UDP_MAX_BYTES, MAX_UDP_MAX_BYTES),
            DEFAULT_UDP_MAX_BYTES,
            "Largest UDP syslog datagram; longer messages are truncated.",
        )
    )
    syslog_hostname: str = declared(
        Setting(
            "WF_DRAIN_SYSLOG_HOSTNAME",
            Text(),
            "",
            "HOSTNAME field of syslog messages; unset: the app name.",
        )
    )
    syslog_facility: int = declared(
        Setting("WF_DRAIN_SYSLOG_FACILITY", Integer(0, 23), 1, "Syslog facility (1: user).")
    )
    # Seconds a TCP or TLS syslog drain waits for a fuller batch: a busy drain
    # sends a few milliseconds of lines per write instead of each offer's.
    syslog_linger: float = declared(
        Setting(
            "WF_DRAIN_SYSLOG_LINGER",
            Seconds(0.0, 1.0),
            0.005,
            "Seconds a TCP or TLS syslog drain waits for a fuller batch.",
        )
    )

    def __post_init__(self) -> None:
        if self.retry_max < self.retry_base:
            raise SettingsError(
                f"WF_DRAIN_RETRY_MAX ({self.retry_max}) must not be below "
                f"WF_DRAIN_RETRY_BASE ({self.retry_base})"
            )
        if self.syslog_hostname and not _printable_ascii(self.syslog_hostname):
            raise SettingsError(
                "WF_DRAIN_SYSLOG_HOSTNAME must be 1 to 255 printable ASCII characters "
                f"without spaces, got {self.syslog_hostname!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DrainSettings:
        return from_environ(cls, environ)


def _printable_ascii(text: str) -> bool:
    return 0 < len(text) <= 255 and all(33 <= ord(char) <= 126 for char in text)
