"""Settings of the Redis store (several logger replicas sharing their rings)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from logger.env import env_float, env_str
from logger.errors import SettingsError


@dataclass(frozen=True)
class RedisSettings:
    # Unset: the embedded memory store. `redis://[user:password@]host:port/db`
    # or `rediss://` for TLS: every replica pointed at one Redis shares its rings.
    url: str | None = None
    # An app's ring (and its sequence number) expires after this many seconds
    # without a new line; 0 keeps idle rings until they are deleted.
    ring_ttl: float = 86_400.0
    # A command not answered in this time fails (the frame is not acked).
    command_timeout: float = 2.0
    connect_timeout: float = 2.0
    # How often an idle replica checks that Redis answers (readiness, recovery).
    health_interval: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RedisSettings:
        url = env_str(environ, "WF_REDIS_URL", "").strip() or None
        if url is not None and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
            raise SettingsError("WF_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        return cls(
            url=url,
            ring_ttl=env_float(environ, "WF_REDIS_RING_TTL", cls.ring_ttl, 0.0),
            command_timeout=env_float(
                environ, "WF_REDIS_COMMAND_TIMEOUT", cls.command_timeout, 0.01
            ),
            connect_timeout=env_float(
                environ, "WF_REDIS_CONNECT_TIMEOUT", cls.connect_timeout, 0.01
            ),
            health_interval=env_float(
                environ, "WF_REDIS_HEALTH_INTERVAL", cls.health_interval, 0.05
            ),
        )

    @property
    def location(self) -> str:
        """Where Redis is, for messages: host and port, never the credentials."""
        if self.url is None:
            return "(none)"
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return parts.path
        return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"
