"""Malformed requests in the servers' log: one short warning, not an ERROR.

aiohttp logs every request it cannot parse and answers 400 (a request line
or header past its limits, bad syntax) as an ERROR with a traceback that
quotes the request, so any client that reaches a port can fill the log at
will. A filter on its `aiohttp.server` logger turns such a record into one
warning line, naming neither the request nor its bytes, at most one per
interval with a count of the rest; every other record passes as it is.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp.http_exceptions import BadHttpMessage

SERVER_LOGGER = "aiohttp.server"


class BadRequestLogFilter(logging.Filter):
    def __init__(self, interval: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, BadHttpMessage):
            return True
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            self._suppressed += 1
            return False
        self._last = now
        more = f" ({self._suppressed} more since)" if self._suppressed else ""
        self._suppressed = 0
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        record.msg = "malformed request from %s answered %d (%s)%s"
        record.args = (remote, error.code, type(error).__name__, more)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text = None, None
        return True


def quiet_bad_requests() -> None:
    """Install the filter on aiohttp's server logger, once per process."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(found, BadRequestLogFilter) for found in logger.filters):
        logger.addFilter(BadRequestLogFilter())
