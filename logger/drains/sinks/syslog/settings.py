"""Settings of the syslog sink (TCP, TLS and UDP), declared once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from foundation.settings import Integer, Seconds, Setting, Text, declared, from_environ
from logger.errors import SettingsError

# RFC 5426 section 3.2: senders SHOULD keep datagrams within what the path
# carries without fragmentation; 2048 is the size receivers MUST accept.
DEFAULT_UDP_MAX_BYTES = 2048
# The smallest size RFC 5424 (6.1) requires every receiver to accept.
MIN_UDP_MAX_BYTES = 480
# The largest UDP payload over IPv4.
MAX_UDP_MAX_BYTES = 65507
# Syslog has no acknowledgement and its usual failure is a server restart:
# ten retries paced by WF_DRAIN_RETRY_BASE..MAX (0.5 s doubling to 30 s) span
# about three minutes, enough for a restart, after which the batch is dropped
# and counted rather than retried forever (Logplex retries an HTTP frame twice).
DEFAULT_SYSLOG_RETRIES = 10


@dataclass(frozen=True)
class SyslogSinkSettings:
    """Message fields, batching and delivery checks of syslog drains."""

    udp_max_bytes: int = declared(
        Setting(
            "WF_DRAIN_UDP_MAX_BYTES",
            Integer(MIN_UDP_MAX_BYTES, MAX_UDP_MAX_BYTES),
            DEFAULT_UDP_MAX_BYTES,
            "Largest UDP syslog datagram; longer messages are truncated.",
        )
    )
    hostname: str = declared(
        Setting(
            "WF_DRAIN_SYSLOG_HOSTNAME",
            Text(),
            "",
            "HOSTNAME field of syslog messages; unset: the app name.",
        )
    )
    facility: int = declared(
        Setting("WF_DRAIN_SYSLOG_FACILITY", Integer(0, 23), 1, "Syslog facility (1: user).")
    )
    # Seconds a TCP or TLS syslog drain waits for a fuller batch: a busy drain
    # sends a few milliseconds of lines per write instead of each offer's.
    linger: float = declared(
        Setting(
            "WF_DRAIN_SYSLOG_LINGER",
            Seconds(0.0, 1.0),
            0.005,
            "Seconds a TCP or TLS syslog drain waits for a fuller batch.",
        )
    )
    retries: int = declared(
        Setting(
            "WF_DRAIN_SYSLOG_RETRIES",
            Integer(0, 1000),
            DEFAULT_SYSLOG_RETRIES,
            "Retries of one syslog batch before it is dropped (retries_exhausted).",
        )
    )
    # TCP and TLS: how long an idle drain watches the connection after its
    # last write before counting that write delivered (a peer that closed or
    # reset it within this time did not take it).
    confirm_wait: float = declared(
        Setting(
            "WF_DRAIN_SYSLOG_CONFIRM_WAIT",
            Seconds(0.0, 10.0),
            0.2,
            "Seconds an idle TCP/TLS syslog drain watches for a close before counting delivered.",
        )
    )

    def __post_init__(self) -> None:
        if self.hostname and not _printable_ascii(self.hostname):
            raise SettingsError(
                "WF_DRAIN_SYSLOG_HOSTNAME must be 1 to 255 printable ASCII characters "
                f"without spaces, got {self.hostname!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SyslogSinkSettings:
        return from_environ(cls, environ)


def _printable_ascii(text: str) -> bool:
    return 0 < len(text) <= 255 and all(33 <= ord(char) <= 126 for char in text)
