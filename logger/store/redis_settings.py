"""Settings of the Redis store (several logger replicas sharing their rings).

`REDIS_URL` is the one declaration of `WF_REDIS_URL`: the logger's store and
the controller's shared login limits read it (one Redis serves both).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from foundation.errors import SettingsError
from foundation.settings import (
    Choice,
    Integer,
    Kind,
    Seconds,
    Setting,
    declared,
    from_environ,
)


class RedisUrl(Kind["str | None"]):
    """A redis://, rediss:// or unix:// URL. Never shown in an error: it may
    hold a password."""

    type_name = "url"

    def parse(self, raw: str, variable: str) -> str | None:
        value = raw.strip()
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(f"{variable} must be a redis://, rediss:// or unix:// URL")
        return value

    def bounds(self) -> str:
        return "redis://, rediss:// or unix://"


class AppendCalls(StrEnum):
    """How a frame's lines reach Redis; acks wait for its reply either way."""

    AUTO = "auto"
    """`frame` on a standalone Redis (`INFO cluster` says `cluster_enabled:0`),
    `app` on a Cluster or when Redis does not say."""
    FRAME = "frame"
    """One function call for every app of a frame: keys of many hash slots,
    so a standalone Redis (or Valkey) only."""
    APP = "app"
    """One function call per app (its keys in one hash slot), pipelined:
    what Redis Cluster needs."""


REDIS_URL: Setting[str | None] = Setting(
    "WF_REDIS_URL",
    RedisUrl(),
    None,
    "Redis shared by replicas: the logger's rings and the controller's login limits; "
    "unset: in this process.",
    flag="--redis-url",
)


@dataclass(frozen=True)
class RedisSettings:
    # Unset: the embedded memory store. Every replica pointed at one Redis shares its rings.
    url: str | None = declared(REDIS_URL)
    # Idle rings expire; 0 keeps them until they are deleted.
    ring_ttl: float = declared(
        Setting(
            "WF_REDIS_RING_TTL",
            Seconds(0.0),
            86_400.0,
            "Seconds an app's ring (and its sequence number) lives in Redis without "
            "a new line; 0: until deleted.",
        )
    )
    # A command not answered in this time fails (the frame is not acked).
    command_timeout: float = declared(
        Setting(
            "WF_REDIS_COMMAND_TIMEOUT",
            Seconds(0.01),
            2.0,
            "Seconds a Redis command may take; slower fails and the frame is not acked.",
        )
    )
    connect_timeout: float = declared(
        Setting(
            "WF_REDIS_CONNECT_TIMEOUT",
            Seconds(0.01),
            2.0,
            "Seconds to connect to Redis.",
        )
    )
    # How often an idle replica checks that Redis answers (readiness, recovery).
    health_interval: float = declared(
        Setting(
            "WF_REDIS_HEALTH_INTERVAL",
            Seconds(0.05),
            1.0,
            "Seconds between two checks that Redis answers (readiness, recovery).",
        )
    )

    # Commands past this many at once wait for a connection (up to the command timeout).
    max_connections: int = declared(
        Setting(
            "WF_REDIS_MAX_CONNECTIONS",
            Integer(2, 10_000),
            64,
            "Connections to Redis per logger process (one is the feed's subscription); "
            "more commands at once wait for one, up to WF_REDIS_COMMAND_TIMEOUT.",
        )
    )
    # A frame in one call on a standalone Redis; one call per app on a Cluster.
    append_calls: AppendCalls = declared(
        Setting(
            "WF_REDIS_APPEND_CALLS",
            Choice(AppendCalls),
            AppendCalls.AUTO,
            "Function calls per frame: frame (one, standalone Redis only), app (one per "
            "app, Cluster safe), auto (frame unless INFO cluster says cluster_enabled:1).",
        )
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RedisSettings:
        return from_environ(cls, environ)

    @property
    def location(self) -> str:
        """Where Redis is, for messages: host and port, never the credentials."""
        if self.url is None:
            return "(none)"
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return parts.path
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
