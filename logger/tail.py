"""Live tails: every follower of an app gets each new batch of its lines.

A follower's queue is bounded by lines (`max_queued_lines`). A follower that
falls behind is not disconnected: its oldest batches are displaced, the
loss is counted, and the next time it reads it first gets one line saying
how many lines were dropped since when. Publishing costs one deque append
per follower; the batch's list of lines is shared, never copied.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from logger.lines import format_timestamp, platform_line

DROP_SOURCE = "logger"


class Batch:
    """One stored batch of an app's lines, shared by all its followers."""

    __slots__ = ("_rendered", "first_seq", "lines")

    def __init__(self, first_seq: int, lines: list[bytes]) -> None:
        self.first_seq = first_seq
        self.lines = lines
        self._rendered: dict[str, bytes] = {}

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self.lines) - 1

    def rendered(self, form: str, render: Callable[[Batch], bytes]) -> bytes:
        """The whole batch in one output form, rendered once for every
        follower that wants it that way."""
        text = self._rendered.get(form)
        if text is None:
            text = self._rendered[form] = render(self)
        return text


class Follower:
    """One reader of one app's live lines."""

    def __init__(self, app: str, max_queued_lines: int, on_drop: Callable[[int], None]) -> None:
        self.app = app
        self._max_queued_lines = max_queued_lines
        self._batches: deque[Batch] = deque()
        self._queued_lines = 0
        self._wakeup = asyncio.Event()
        self._dropped = 0
        self._dropped_since_ns = 0
        self._on_drop = on_drop

    def push(self, batch: Batch) -> None:
        self._batches.append(batch)
        self._queued_lines += len(batch.lines)
        while self._queued_lines > self._max_queued_lines and len(self._batches) > 1:
            self._displace(self._batches.popleft())
        if self._queued_lines > self._max_queued_lines:
            # One batch larger than the whole queue: keep its newest lines.
            only = self._batches.popleft()
            excess = self._queued_lines - self._max_queued_lines
            self._displace(Batch(only.first_seq, only.lines[:excess]))
            self._batches.append(Batch(only.first_seq + excess, only.lines[excess:]))
            self._queued_lines = len(self._batches[0].lines)
        self._wakeup.set()

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for lines; True when some are queued."""
        if not self._batches and not self._dropped:
            self._wakeup.clear()
            try:
                async with asyncio.timeout(timeout):  # no task per wait, unlike wait_for
                    await self._wakeup.wait()
            except TimeoutError:
                return False
        return True

    def take(self) -> tuple[bytes | None, list[Batch]]:
        """The drop notice (if lines were displaced) and every queued batch."""
        notice = None
        if self._dropped:
            notice = platform_line(
                self.app,
                DROP_SOURCE,
                f"{self._dropped} lines dropped since "
                f"{format_timestamp(self._dropped_since_ns)} (reader too slow)",
                time.time_ns(),
            )
            self._dropped = 0
        batches = list(self._batches)
        self._batches.clear()
        self._queued_lines = 0
        return notice, batches

    def _displace(self, batch: Batch) -> None:
        self._queued_lines -= len(batch.lines)
        if not self._dropped:
            self._dropped_since_ns = time.time_ns()
        self._dropped += len(batch.lines)
        self._on_drop(len(batch.lines))


class TailHub:
    """Who follows which app; ingest publishes every stored batch here."""

    def __init__(self, max_queued_lines: int) -> None:
        self._max_queued_lines = max_queued_lines
        self._followers: dict[str, set[Follower]] = {}
        self.dropped_lines = 0

    def subscribe(self, app: str) -> Follower:
        follower = Follower(app, self._max_queued_lines, self._count_drop)
        self._followers.setdefault(app, set()).add(follower)
        return follower

    def unsubscribe(self, follower: Follower) -> None:
        followers = self._followers.get(follower.app)
        if followers is not None:
            followers.discard(follower)
            if not followers:
                del self._followers[follower.app]

    def publish(self, app: str, first_seq: int, lines: list[bytes]) -> None:
        followers = self._followers.get(app)
        if followers:
            batch = Batch(first_seq, lines)
            for follower in followers:
                follower.push(batch)

    @property
    def follower_count(self) -> int:
        return sum(len(followers) for followers in self._followers.values())

    def _count_drop(self, lines: int) -> None:
        self.dropped_lines += lines
