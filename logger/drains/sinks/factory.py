"""The sink factory: the one place that maps a drain URL to its sink."""

from __future__ import annotations

from logger.drains.base import Sink
from logger.drains.destinations import DestinationPolicy
from logger.drains.settings import DrainSettings
from logger.drains.sinks.http.transport import HttpSink
from logger.drains.sinks.syslog.encoder import SharedFrames
from logger.drains.sinks.syslog.tcp import TcpSyslogSink
from logger.drains.sinks.syslog.udp import UdpSyslogSink
from logger.drains.telemetry import DrainMetrics
from logger.drains.url import DrainUrl, HttpFormat


def sends_frames(url: DrainUrl) -> bool:
    """Whether the drain sends octet-counted RFC 5424 frames (TCP, TLS, Logplex)."""
    if url.transport == "http":
        return url.http_format is HttpFormat.LOGPLEX
    return url.transport != "udp"


def make_sink(
    url: DrainUrl,
    app: str,
    settings: DrainSettings,
    token: str,
    metrics: DrainMetrics,
    policy: DestinationPolicy,
    frames: SharedFrames | None = None,
) -> Sink:
    """The sink for a URL's scheme; `frames` is shared with the app's other
    drains that send frames (None: the sink encodes on its own)."""
    if url.transport == "http":
        return HttpSink(url, app, settings, token, frames, policy)
    if url.transport == "udp":
        return UdpSyslogSink(url, app, settings, metrics, policy)
    return TcpSyslogSink(url, app, settings, frames, policy)
