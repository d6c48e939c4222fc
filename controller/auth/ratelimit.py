"""Attempt limits for the unauthenticated endpoints (login, register), on the
`limits` library: its memory storage in one process, Redis (WF_REDIS_URL)
when several replicas must share one count.

Every attempt is counted *before* its work is done: `hit` is one atomic
test-and-increment (a lock per key in memory, a Lua script in Redis), so
parallel requests cannot slip past the limit while earlier ones are still
verifying a password, and no request costs an argon2 hash once its key is
over the limit.

Login counts per (username, client address), so an attacker's failures hold
back only the attacker's address, never the real user elsewhere; a success
clears that count. A second, longer tier (4x the attempts over 16 windows)
is the backoff: a client that keeps failing waits longer each round. A limit
per address bounds one address spraying many usernames. Register counts per
address.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool

from controller.errors import ServiceUnavailable, TooManyRequests
from controller.settings import ControllerSettings

# Prefix of the limiter's keys in a Redis shared with the logger.
REDIS_PREFIX = "wf-controller-limits"
# The backoff tier: this many times the attempts over this many windows.
BACKOFF_ATTEMPTS = 4
BACKOFF_WINDOWS = 16


def per_window(attempts: int, window: float) -> RateLimitItem:
    return RateLimitItemPerSecond(attempts, max(1, math.ceil(window)))


@dataclass(frozen=True)
class Limit:
    """One limit and the key it counts under."""

    item: RateLimitItem
    key: tuple[str, ...]


class AttemptLimiter:
    def __init__(self, settings: ControllerSettings) -> None:
        self._settings = settings
        self._pool: ConnectionPool | None = None
        storage: Storage
        if settings.redis_url:
            # Our own pool, so that close() can release its connections.
            self._pool = ConnectionPool.from_url(settings.redis_url)
            storage = RedisStorage(
                "async+" + settings.redis_url
                if not settings.redis_url.startswith("unix")
                else "async+redis+" + settings.redis_url,
                implementation="redispy",
                key_prefix=REDIS_PREFIX,
                wrap_exceptions=True,
                # Passed through to redis.asyncio.Redis (typed narrower by limits).
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
        else:
            storage = MemoryStorage()
        self._strategy = MovingWindowRateLimiter(storage)
        self._user_pair = per_window(settings.login_attempts, settings.login_window)
        self._user_backoff = per_window(
            settings.login_attempts * BACKOFF_ATTEMPTS, settings.login_window * BACKOFF_WINDOWS
        )
        self._login_address = per_window(settings.login_address_attempts, settings.login_window)
        self._register = per_window(settings.register_attempts, settings.register_window)

    def login_limits(self, username: str, address: str) -> tuple[Limit, ...]:
        address_limit = Limit(self._login_address, ("login-address", address))
        return (address_limit, *self._pair(username, address))

    def _pair(self, username: str, address: str) -> tuple[Limit, ...]:
        pair = ("login", username.lower(), address)
        return (Limit(self._user_pair, pair), Limit(self._user_backoff, pair))

    def register_limits(self, address: str) -> tuple[Limit, ...]:
        return (Limit(self._register, ("register", address)),)

    async def attempt(self, limits: tuple[Limit, ...], what: str) -> None:
        """Count one attempt against every limit; TooManyRequests (with the
        seconds to wait) when one is spent."""
        try:
            for limit in limits:
                if not await self._strategy.hit(limit.item, *limit.key):
                    stats = await self._strategy.get_window_stats(limit.item, *limit.key)
                    wait = max(1, math.ceil(stats.reset_time - time.time()))
                    raise TooManyRequests(f"too many {what}: try again in {wait}s", wait)
        except StorageError:
            # Closed rather than open: without its count the limit would be gone.
            raise ServiceUnavailable(
                f"the rate limit store (Redis) is unreachable: {what} paused"
            ) from None

    async def login_succeeded(self, username: str, address: str) -> None:
        """Clear the (username, address) counts: the password was proved.
        The address's own count stays."""
        try:
            for limit in self._pair(username, address):
                await self._strategy.clear(limit.item, *limit.key)
        except StorageError:
            pass  # the count expires by itself; the login already succeeded

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
