"""The logger's settings: one frozen dataclass per component, from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from logger.drains.settings import DrainSettings
from logger.env import env_bytes, env_float, env_int, env_str
from logger.forward.settings import ForwardSettings
from logger.store.memory import StoreSettings
from logger.store.redis_settings import RedisSettings


@dataclass(frozen=True)
class ApiSettings:
    # The logs and drains API has no authentication of its own (the controller
    # is the authenticated front), so it listens on loopback unless told to.
    host: str = "127.0.0.1"
    port: int = 8088
    default_lines: int = 100
    # A follow ends after `timeout` seconds, never more than this.
    max_follow_timeout: float = 3600.0
    # Lines queued for one follower before the oldest are displaced.
    follower_queue_lines: int = 10_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ApiSettings:
        return cls(
            host=env_str(environ, "WF_LOGGER_HOST", cls.host),
            port=env_int(environ, "WF_LOGGER_PORT", cls.port, 0, 65535),
            default_lines=env_int(environ, "WF_LOGGER_DEFAULT_LINES", cls.default_lines, 1),
            max_follow_timeout=env_float(
                environ, "WF_LOGGER_MAX_FOLLOW_TIMEOUT", cls.max_follow_timeout, 1.0
            ),
            follower_queue_lines=env_int(
                environ, "WF_LOGGER_FOLLOWER_QUEUE_LINES", cls.follower_queue_lines, 1
            ),
        )


def store_settings_from_env(environ: Mapping[str, str]) -> StoreSettings:
    return StoreSettings(
        lines_per_app=env_int(environ, "WF_LOGGER_LINES_PER_APP", StoreSettings.lines_per_app, 1),
        max_bytes=env_bytes(
            environ, "WF_LOGGER_MAX_BUFFER_BYTES", StoreSettings.max_bytes, 1 << 16
        ),
    )


@dataclass(frozen=True)
class LoggerSettings:
    forward: ForwardSettings = field(default_factory=ForwardSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    drains: DrainSettings = field(default_factory=DrainSettings)
    # Set (WF_REDIS_URL): the rings live in Redis, shared by every replica.
    redis: RedisSettings = field(default_factory=RedisSettings)
    # Longer messages are split into several lines, never dropped.
    max_line_bytes: int = 16 << 10
    # Apps with their own `app` label value in the per-app log metrics; the
    # lines of later apps are counted under app="_other".
    metrics_max_apps: int = 1000

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LoggerSettings:
        return cls(
            forward=ForwardSettings.from_env(environ),
            store=store_settings_from_env(environ),
            api=ApiSettings.from_env(environ),
            drains=DrainSettings.from_env(environ),
            redis=RedisSettings.from_env(environ),
            max_line_bytes=env_bytes(environ, "WF_LOGGER_MAX_LINE_BYTES", cls.max_line_bytes, 64),
            metrics_max_apps=env_int(
                environ, "WF_LOGGER_METRICS_MAX_APPS", cls.metrics_max_apps, 0, 1_000_000
            ),
        )
