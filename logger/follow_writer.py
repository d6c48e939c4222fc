"""How a follow writes to its client: straight from ingest while the client
keeps up, through the follow's own task (with a deadline) when it does not.

A follower woken for every batch costs a task switch, an event, a timer and
a coroutine chain per batch per follower, which was most of the logger's
CPU with 200 followers. So once a follow has sent its history and emptied
its queue, it attaches `LiveWriter.push` to its follower (`Follower.attach`):
each new batch is then framed and handed to the transport in the publish
call itself, one `transport.write`, as long as that write cannot wait (the
transport below its low-water mark, and the batch fits under the high one).
When it would wait, or the follow is not a plain whole-batch one, `push`
says no, the follower detaches and queues the batch, and the follow's task
writes it with `write`, under the write deadline, and attaches again once
its queue is empty. Every write, from either path, advances one `cursor`
(the last sequence number sent), so no line is sent twice or skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import hdrs, web

from logger.tail import Batch

Renderer = Callable[[Batch], bytes]


class LiveWriter:
    """One follow's output (made after `response.prepare`): its cursor, its
    awaited writes, its direct ones."""

    def __init__(
        self,
        request: web.Request,
        response: web.StreamResponse,
        *,
        cursor: int,
        deadline: float,
        write_timeout: float,
        form: str,
        render: Renderer,
    ) -> None:
        self.cursor = cursor
        self._request = request
        self._response = response
        self._deadline = deadline
        self._write_timeout = write_timeout
        self._form = form
        self._render = render
        self._loop = asyncio.get_running_loop()
        # `prepare` has sent the headers (a StreamResponse sends them at
        # once), so direct writes go after them, framed as they said.
        self._chunked = response.headers.get(hdrs.TRANSFER_ENCODING) == "chunked"

    async def write(self, data: bytes) -> None:
        """A write that a client not reading cannot hold past its own
        deadline or the follow's (TimeoutError)."""
        if self._can_write_now(len(data)):
            # It cannot wait, so no timer (one per write per follower adds up).
            await self._response.write(data)
            return
        async with asyncio.timeout_at(min(self._loop.time() + self._write_timeout, self._deadline)):
            await self._response.write(data)

    def whole(self, batch: Batch) -> bytes:
        """The whole batch in this follow's form, rendered once for every
        follower that wants it that way (from either path)."""
        return batch.rendered(self._form, self._render)

    def push(self, batch: Batch) -> bool:
        """Write `batch` now, from ingest's publish call; False (nothing
        written) when that could wait or the batch is not simply next."""
        if batch.last_seq <= self.cursor:
            return True  # already sent, with the history
        if batch.first_seq <= self.cursor:
            return False  # straddles the history: the task slices it
        try:
            data = self.whole(batch)
            if not self._can_write_now(len(data)):
                return False
            transport = self._request.transport
            assert transport is not None  # _can_write_now checked it
            if self._chunked:
                data = b"%x\r\n%b\r\n" % (len(data), data)
            transport.write(data)
        except Exception:  # the follow's task meets it again and ends the follow, not ingest
            return False
        self.cursor = batch.last_seq
        return True

    def _can_write_now(self, size: int) -> bool:
        transport = self._request.transport
        if transport is None or transport.is_closing():
            return False
        low, high = transport.get_write_buffer_limits()
        held = transport.get_write_buffer_size()
        # Not paused (paused means above `low`), and this write does not pause it.
        return held <= low and held + size <= high
