"""Login attempt limiting: a sliding window of failures per username and
per client address, bounded in memory."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

# Keys tracked at once; the least recently failed are forgotten first.
MAX_KEYS = 10_000


class LoginLimiter:
    def __init__(
        self,
        attempts: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._attempts = attempts
        self._window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, *keys: str) -> int:
        """Seconds until another attempt is allowed for all keys; 0: now."""
        now = self._clock()
        wait = 0.0
        for key in keys:
            failures = self._prune(key, now)
            if failures is not None and len(failures) >= self._attempts:
                wait = max(wait, failures[0] + self._window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        now = self._clock()
        for key in keys:
            failures = self._failures.pop(key, None) or deque()
            failures.append(now)
            while len(failures) > self._attempts:
                failures.popleft()
            self._failures[key] = failures
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures
