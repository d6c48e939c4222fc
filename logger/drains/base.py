"""The shape every drain shares: a bounded buffer, a sender task, retries.

`Drain.offer()` is the only thing ingest calls. It is synchronous, costs
O(len(lines)) and never waits: the buffer is a `logger.buffer.BoundedBuffer`
under `OverflowPolicy.DROP_OLDEST`, so when it is full the oldest lines are
displaced, counted (`reason="buffer_overflow"`, per drain and in
`logger_discarded_events_total{component="drain"}`), and the next batch
starts with the one loss notice, Logplex's L10 kept in its text:
`shop[logger]: Error L10 (output buffer overflow): N lines dropped since T
(buffer_overflow)`, marked stderr so that syslog sends it as an error.

The sender task takes a batch (by count and bytes, waiting up to the sink's
`linger` for a fuller one), hands it to the sink, and on a retryable error
sends the same batch again after an exponential, jittered backoff; the
buffer keeps filling (and displacing) meanwhile, so a dead sink costs memory
bounded by `buffer_lines + batch_lines` and nothing else. A rejected batch is
dropped and counted with the sink's reason. A sink that raises anything else
has a bug: its traceback is logged (once per change of state), the batch is
retried `INTERNAL_RETRIES` times and then dropped, counted as
`reason="internal_error"`, so a bug never spins a drain forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Protocol

from logger.buffer import L10_BUFFER_OVERFLOW, BoundedBuffer, LossCounter, OverflowPolicy
from logger.drains.errors import RejectedDelivery, RetryableDelivery
from logger.drains.settings import DrainSettings
from logger.drains.state import DrainState
from logger.drains.telemetry import DrainMetrics
from logger.drains.url import DrainUrl
from logger.drains.view import DrainView
from logger.lines import format_timestamp

log = logging.getLogger("logger.drains")

COMPONENT = "drain"
OVERFLOW = "buffer_overflow"
CLOSED = "closed"
INTERNAL = "internal_error"
# A sink that raises something other than RetryableDelivery or RejectedDelivery
# has a bug: the batch is retried this many times (as Logplex retries a frame
# twice, in case the bug is a transient state), then dropped and counted.
INTERNAL_RETRIES = 2


def _weigh(lines: list[bytes]) -> int:
    return sum(map(len, lines))


class Sink(Protocol):
    """A drain's encoder and transport (one per drain, used by one task)."""

    @property
    def linger(self) -> float:
        """Seconds to wait for a fuller batch; 0 sends whatever is buffered."""
        ...

    async def send(self, batch: Batch) -> int:
        """Deliver the batch, returning the bytes sent; raise RetryableDelivery
        or RejectedDelivery (messages without secrets) when that fails."""
        ...

    async def close(self) -> None: ...


@dataclass(slots=True)
class Batch:
    """Lines on their way to a sink. `frame_id` stays the same on every retry."""

    lines: list[bytes]
    notices: int = 0
    frame_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def log_lines(self) -> int:
        """The lines that came from ingest (in-band notices excluded)."""
        return len(self.lines) - self.notices


def backoff_delay(attempt: int, base: float, maximum: float, rng: random.Random) -> float:
    """`base * 2**attempt`, capped, with "equal jitter": half fixed so retries
    stay paced, half random so drains that failed together spread out."""
    ceiling = min(maximum, base * (1 << min(attempt, 40)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def retry_delay(
    attempt: int, retry_after: float | None, settings: DrainSettings, rng: random.Random
) -> float:
    """The pause before retry number `attempt + 1`; a sink's `Retry-After`
    lengthens it, up to `retry_max`."""
    delay = backoff_delay(attempt, settings.retry_base, settings.retry_max, rng)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_max))
    return delay


class Drain:
    """One app's drain to one URL: buffer, sender task, counters and state."""

    def __init__(
        self,
        drain_id: str,
        app: str,
        url: DrainUrl,
        sink: Sink,
        settings: DrainSettings,
        metrics: DrainMetrics,
        *,
        created_at: str = "",
        clock: Callable[[], int] = time.time_ns,
        rng: random.Random | None = None,
        on_loss: LossCounter | None = None,
    ) -> None:
        self.id = drain_id
        self.app = app
        self.url = url
        self.created_at = created_at or format_timestamp(clock())
        self._sink = sink
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self._capacity = settings.buffer_lines
        self._on_loss = on_loss
        # Chunks are the lists ingest offers (shared with the app's other
        # drains, never changed): an offer is one append, a batch a few slices.
        self._buffer: BoundedBuffer[list[bytes]] = BoundedBuffer(
            settings.buffer_lines,
            OverflowPolicy.DROP_OLDEST,
            component=COMPONENT,
            reason=OVERFLOW,
            on_loss=self._buffer_loss,
            weigh=_weigh,
            code=L10_BUFFER_OVERFLOW,
            clock=clock,
        )
        self._inflight: Batch | None = None
        self._wakeup = asyncio.Event()
        # True while the sender lingers for a fuller batch: offers then wake it
        # only once the batch is full, not once per offer.
        self._lingering = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.state = DrainState.IDLE
        self.last_error: str | None = None
        self.last_error_at: str | None = None
        self.delivered_lines = 0
        self.delivered_bytes = 0
        self.dropped: dict[str, int] = {}
        self.retries = 0
        metrics.set_state(DrainState.IDLE, DrainState.IDLE)
        metrics.buffer_capacity.set(self._capacity)
        buffer = self._buffer
        metrics.buffer_lines.set_function(lambda: len(buffer))

    def __repr__(self) -> str:
        return f"Drain(id={self.id!r}, app={self.app!r}, url={self.url.redacted()!r})"

    # -- the hot path ---------------------------------------------------------

    def offer(self, lines: Sequence[bytes]) -> None:
        """Queue lines for delivery; never waits. Oldest lines are displaced
        (and counted) when the buffer is full."""
        if not lines or self._closed:
            return
        # A list is kept as it is (the buffer slices, never changes it).
        self._buffer.offer(lines if type(lines) is list else list(lines))
        self._idle.clear()
        if not self._lingering or self._batch_full():
            self._wakeup.set()

    def _buffer_loss(self, _component: str, reason: str, lines: int) -> None:
        self._count_drop(reason, lines)

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"drain-{self.id}")

    async def close(self, flush_timeout: float = 0.0) -> None:
        """Stop the sender, after up to `flush_timeout` seconds of delivering
        what is buffered (not waited for when the sink is failing); lines still
        held then are counted as dropped (`closed`)."""
        if self._closed:
            return
        failing = self.state is DrainState.BACKING_OFF
        if flush_timeout > 0 and self._task is not None and not failing:
            await self.wait_idle(flush_timeout)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        left = self._buffer.clear() + (self._inflight.log_lines if self._inflight else 0)
        if left:
            self._count_drop(CLOSED, left)
        self._inflight = None
        self._set_state(DrainState.CLOSED)
        await self._sink.close()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until everything offered so far was delivered or dropped."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    @property
    def metrics(self) -> DrainMetrics:
        return self._metrics

    @property
    def buffered_lines(self) -> int:
        return len(self._buffer)

    def view(self) -> DrainView:
        return DrainView(
            id=self.id,
            app=self.app,
            url=self.url.redacted(),
            scheme=self.url.scheme,
            created_at=self.created_at,
            state=self.state.value,
            last_error=self.last_error,
            last_error_at=self.last_error_at,
            delivered_lines=self.delivered_lines,
            delivered_bytes=self.delivered_bytes,
            dropped_lines=sum(self.dropped.values()),
            dropped=dict(self.dropped),
            retries=self.retries,
            buffered_lines=len(self._buffer),
            buffer_capacity=self._capacity,
        )

    # -- the sender -----------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wait_for_batch()
            batch = self._take_batch()
            self._inflight = batch
            await self._deliver(batch)
            self._inflight = None
            if self._empty():
                self._idle.set()

    async def _wait_for_batch(self) -> None:
        while self._empty():
            self._wakeup.clear()
            await self._wakeup.wait()
        linger = self._sink.linger
        if linger <= 0 or self._batch_full():
            return
        # One timer for the whole linger; `offer` sets the event early only
        # when the batch is full, so a busy drain is not woken per offer.
        self._wakeup.clear()
        self._lingering = True
        timer = asyncio.get_running_loop().call_later(linger, self._wakeup.set)
        try:
            await self._wakeup.wait()
        finally:
            timer.cancel()
            self._lingering = False

    def _empty(self) -> bool:
        """Nothing to send: no line buffered and no loss to tell."""
        return not len(self._buffer) and not self._buffer.lost

    def _batch_full(self) -> bool:
        settings = self._settings
        buffer = self._buffer
        return len(buffer) >= settings.batch_lines or buffer.bytes >= settings.batch_bytes

    def _take_batch(self) -> Batch:
        lines: list[bytes] = []
        notices = 0
        buffer = self._buffer
        notice = buffer.take_notice(self.app)
        if notice is not None:
            lines.append(notice)
            notices = 1
        max_lines = self._settings.batch_lines
        max_bytes = self._settings.batch_bytes
        if len(buffer) <= max_lines and buffer.bytes <= max_bytes:
            lines.extend(chain.from_iterable(buffer.take_all()))
            return Batch(lines, notices)
        # Up to batch_lines lines; cut shorter only when they exceed
        # batch_bytes (a line longer than that travels alone).
        taken = list(chain.from_iterable(buffer.take(max_lines)))
        size = sum(map(len, taken))
        if size > max_bytes:
            count = size = 0
            for length in map(len, taken):
                if size and size + length > max_bytes:
                    break
                size += length
                count += 1
            buffer.give_back(taken[count:])
            del taken[count:]
        return Batch(lines + taken if lines else taken, notices)

    async def _deliver(self, batch: Batch) -> None:
        attempt = 0
        internal_failures = 0
        while True:
            try:
                sent = await self._sink.send(batch)
            except RejectedDelivery as error:
                self._record_error(str(error))
                self._count_drop(error.reason, batch.log_lines)
                log.warning("drain %s of %s dropped a batch: %s", self.id, self.app, error)
                return
            except RetryableDelivery as error:
                delay = self._backoff(attempt, error.retry_after)
                self._retry(error.kind, str(error), delay)
            except Exception as error:  # a sink bug must not end the sender
                message = f"internal error ({type(error).__name__})"
                self._log_sink_bug(error, message)
                if internal_failures >= INTERNAL_RETRIES:
                    self._record_error(message)
                    self._count_drop(INTERNAL, batch.log_lines)
                    self._set_state(DrainState.BACKING_OFF)
                    log.warning(
                        "drain %s of %s dropped a batch of %d lines after %d internal errors",
                        self.id,
                        self.app,
                        batch.log_lines,
                        internal_failures + 1,
                    )
                    return
                internal_failures += 1
                delay = self._backoff(attempt, None)
                self._retry("internal", message, delay)
            else:
                self._delivered(batch, sent)
                return
            attempt += 1
            await asyncio.sleep(delay)

    def _log_sink_bug(self, error: Exception, message: str) -> None:
        """The traceback, once per change of state or error: where the bug is,
        without the exception's text (it may quote a URL with credentials)."""
        if self.state is DrainState.BACKING_OFF and message == self.last_error:
            return
        frames = "".join(traceback.format_tb(error.__traceback__))
        log.error(
            "drain %s of %s (%s): the sink failed with a bug, %s:\n%s",
            self.id,
            self.app,
            self.url.redacted(),
            message,
            frames.rstrip(),
        )

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        return retry_delay(attempt, retry_after, self._settings, self._rng)

    def _retry(self, kind: str, message: str, delay: float) -> None:
        self.retries += 1
        self._metrics.retried(kind)
        if self.state is not DrainState.BACKING_OFF or message != self.last_error:
            log.warning(
                "drain %s of %s (%s): %s; retrying in %.2fs",
                self.id,
                self.app,
                self.url.redacted(),
                message,
                delay,
            )
        self._record_error(message)
        self._set_state(DrainState.BACKING_OFF)

    def _delivered(self, batch: Batch, sent: int) -> None:
        lines = batch.log_lines
        self.delivered_lines += lines
        self.delivered_bytes += sent
        self._metrics.delivered_lines.inc(lines)
        self._metrics.delivered_bytes.inc(sent)
        if self.state is DrainState.BACKING_OFF:
            log.info(
                "drain %s of %s (%s) is delivering again", self.id, self.app, self.url.redacted()
            )
        self._set_state(DrainState.CONNECTED)

    def _record_error(self, message: str) -> None:
        now = self._clock()
        self.last_error = message
        self.last_error_at = format_timestamp(now)
        self._metrics.last_error.set(now / 1e9)

    def _count_drop(self, reason: str, lines: int) -> None:
        if lines <= 0:
            return
        self.dropped[reason] = self.dropped.get(reason, 0) + lines
        self._metrics.dropped(reason, lines)
        if self._on_loss is not None:
            self._on_loss(COMPONENT, reason, lines)

    def _set_state(self, state: DrainState) -> None:
        if state is not self.state:
            self._metrics.set_state(self.state, state)
            self.state = state
