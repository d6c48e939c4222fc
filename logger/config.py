"""The logger's settings: one frozen dataclass per component, from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from foundation.settings import Integer, Seconds, Setting, Size, Text, declared, from_environ
from logger.drains.settings import DrainSettings
from logger.forward.settings import ForwardSettings
from logger.history.settings import HistorySettings
from logger.store.memory import StoreSettings
from logger.store.redis_settings import RedisSettings

# Read by the logger (its follows) and the controller (the follows it relays):
# declared here, once, used by both.
MAX_FOLLOW_TIMEOUT: Setting[float] = Setting(
    "WF_LOGGER_MAX_FOLLOW_TIMEOUT",
    Seconds(1.0),
    3600.0,
    "Longest follow, seconds; a follow ends after its `timeout`, never later.",
    flag="--max-follow-timeout",
)


@dataclass(frozen=True)
class ApiSettings:
    # The logs and drains API has no authentication of its own (the controller
    # is the authenticated front), so it listens on loopback unless told to.
    host: str = declared(
        Setting(
            "WF_LOGGER_HOST",
            Text(),
            "127.0.0.1",
            "Address the logs and drains API listens on.",
            flag="--host",
        )
    )
    port: int = declared(
        Setting(
            "WF_LOGGER_PORT", Integer(0, 65535), 8088, "Port of the logs API.", flag="--http-port"
        )
    )
    default_lines: int = declared(
        Setting(
            "WF_LOGGER_DEFAULT_LINES",
            Integer(1),
            100,
            "Lines a read returns when it does not ask for a number.",
        )
    )
    max_follow_timeout: float = declared(MAX_FOLLOW_TIMEOUT)
    # Lines queued for one follower before the oldest are displaced.
    follower_queue_lines: int = declared(
        Setting(
            "WF_LOGGER_FOLLOWER_QUEUE_LINES",
            Integer(1),
            10_000,
            "Lines queued per follower before the oldest are dropped.",
            flag="--follower-queue-lines",
        )
    )
    # All followers together: a follower's queue shares its batches with the
    # others, but each one that does not read keeps them alive.
    followers_max_bytes: int = declared(
        Setting(
            "WF_LOGGER_FOLLOWERS_MAX_BYTES",
            Size(1 << 10),
            64 << 20,
            "Bytes queued for all followers together; past it the follower holding"
            " the most loses its oldest lines.",
        )
    )
    follow_write_timeout: float = declared(
        Setting(
            "WF_LOGGER_FOLLOW_WRITE_TIMEOUT",
            Seconds(0.1),
            10.0,
            "Longest wait for a follower to take one write; a client that does not"
            " read is disconnected.",
        )
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ApiSettings:
        return from_environ(cls, environ)


def store_settings_from_env(environ: Mapping[str, str]) -> StoreSettings:
    return StoreSettings.from_env(environ)


@dataclass(frozen=True)
class LoggerSettings:
    forward: ForwardSettings = field(default_factory=ForwardSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    drains: DrainSettings = field(default_factory=DrainSettings)
    # Set (WF_REDIS_URL): the rings live in Redis, shared by every replica.
    redis: RedisSettings = field(default_factory=RedisSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    # Longer messages are split into several lines, never dropped.
    max_line_bytes: int = declared(
        Setting(
            "WF_LOGGER_MAX_LINE_BYTES",
            Size(64),
            16 << 10,
            "Longer messages are split into several lines, never dropped.",
            flag="--max-line-bytes",
        )
    )
    # Apps with their own `app` label value in the per-app log metrics; the
    # lines of later apps are counted under app="_other".
    metrics_max_apps: int = declared(
        Setting(
            "WF_LOGGER_METRICS_MAX_APPS",
            Integer(0, 1_000_000),
            1000,
            'Apps with their own `app` label in the per-app log metrics; later ones: "_other".',
        )
    )
    # GET /rates/{app}: the per-app counters sampled every interval, the last points kept.
    rates_interval: float = declared(
        Setting(
            "WF_LOGGER_RATES_INTERVAL",
            Seconds(0.1),
            5.0,
            "Seconds between two samples of the per-app log counters (GET /rates/{app}).",
        )
    )
    rates_points: int = declared(
        Setting(
            "WF_LOGGER_RATES_POINTS",
            Integer(1, 10_000),
            120,
            "Rates kept per app for GET /rates/{app} (120 at 5 s: the last 10 minutes).",
        )
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LoggerSettings:
        return from_environ(
            cls,
            environ,
            forward=ForwardSettings.from_env(environ),
            store=StoreSettings.from_env(environ),
            api=ApiSettings.from_env(environ),
            drains=DrainSettings.from_env(environ),
            redis=RedisSettings.from_env(environ),
            history=HistorySettings.from_env(environ),
        )
