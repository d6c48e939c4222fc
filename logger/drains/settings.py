"""Settings of the drains subsystem, read once at start from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from logger.env import env_bytes, env_float, env_int, env_path, env_str, state_dir
from logger.errors import SettingsError

# RFC 5426 section 3.2: senders SHOULD keep datagrams within what the path
# carries without fragmentation; 2048 is the size receivers MUST accept.
DEFAULT_UDP_MAX_BYTES = 2048
# The smallest size RFC 5424 (6.1) requires every receiver to accept.
MIN_UDP_MAX_BYTES = 480
# The largest UDP payload over IPv4.
MAX_UDP_MAX_BYTES = 65507
_OFF = {"none", "off", "-"}


@dataclass(frozen=True)
class DrainSettings:
    """Drains' limits, batching, retry pacing, timeouts and TLS trust.

    `state_file` None keeps drains in memory only (`WF_DRAINS_STATE_FILE=none`);
    built from the environment, it defaults to the user's state directory."""

    state_file: Path | None = None
    per_app: int = 6
    buffer_lines: int = 10_000
    batch_lines: int = 500
    batch_bytes: int = 1 << 20
    batch_interval: float = 0.5
    retry_base: float = 0.5
    retry_max: float = 30.0
    connect_timeout: float = 10.0
    send_timeout: float = 30.0
    flush_timeout: float = 2.0
    ca_file: Path | None = None
    udp_max_bytes: int = DEFAULT_UDP_MAX_BYTES
    syslog_hostname: str = ""
    syslog_facility: int = 1
    # Seconds a TCP or TLS syslog drain waits for a fuller batch: a busy drain
    # sends a few milliseconds of lines per write instead of each offer's.
    syslog_linger: float = 0.005

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
        state_raw = environ.get("WF_DRAINS_STATE_FILE", "").strip()
        state_file = (
            None
            if state_raw.lower() in _OFF
            else env_path(environ, "WF_DRAINS_STATE_FILE", state_dir(environ) / "drains.json")
        )
        ca_file = env_path(environ, "WF_DRAIN_CA_FILE", None)
        if ca_file is not None and not ca_file.is_file():
            raise SettingsError(f"WF_DRAIN_CA_FILE must name a PEM file, {ca_file} is not a file")
        return cls(
            state_file=state_file,
            per_app=env_int(environ, "WF_DRAINS_PER_APP", cls.per_app, minimum=1),
            buffer_lines=env_int(environ, "WF_DRAIN_BUFFER_LINES", cls.buffer_lines, minimum=1),
            batch_lines=env_int(environ, "WF_DRAIN_BATCH_LINES", cls.batch_lines, minimum=1),
            batch_bytes=env_bytes(environ, "WF_DRAIN_BATCH_BYTES", cls.batch_bytes, minimum=1024),
            batch_interval=env_float(environ, "WF_DRAIN_BATCH_INTERVAL", cls.batch_interval),
            retry_base=env_float(environ, "WF_DRAIN_RETRY_BASE", cls.retry_base, minimum=0.001),
            retry_max=env_float(environ, "WF_DRAIN_RETRY_MAX", cls.retry_max, minimum=0.001),
            connect_timeout=env_float(
                environ, "WF_DRAIN_CONNECT_TIMEOUT", cls.connect_timeout, minimum=0.01
            ),
            send_timeout=env_float(
                environ, "WF_DRAIN_SEND_TIMEOUT", cls.send_timeout, minimum=0.01
            ),
            flush_timeout=env_float(environ, "WF_DRAIN_FLUSH_TIMEOUT", cls.flush_timeout),
            ca_file=ca_file,
            udp_max_bytes=env_int(
                environ,
                "WF_DRAIN_UDP_MAX_BYTES",
                cls.udp_max_bytes,
                minimum=MIN_UDP_MAX_BYTES,
                maximum=MAX_UDP_MAX_BYTES,
            ),
            syslog_hostname=env_str(environ, "WF_DRAIN_SYSLOG_HOSTNAME", "").strip(),
            syslog_facility=env_int(
                environ, "WF_DRAIN_SYSLOG_FACILITY", cls.syslog_facility, maximum=23
            ),
            syslog_linger=env_float(
                environ, "WF_DRAIN_SYSLOG_LINGER", cls.syslog_linger, maximum=1.0
            ),
        )


def _printable_ascii(text: str) -> bool:
    return 0 < len(text) <= 255 and all(33 <= ord(char) <= 126 for char in text)
