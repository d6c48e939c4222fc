"""HTTP drain bodies: Logplex frames, or NDJSON with the logs API's field names.

No I/O here. Logplex frames (`application/logplex-1`) are octet-counted
RFC 5424 messages, exactly as a syslog TCP drain writes them (and shared
with the app's other frame-sending drains, `SharedFrames`). NDJSON is one
object per line with `logger.lines.JSON_FIELDS` (`time`, `app`, `proc`,
`instance`, `stream`, `message`): the names `GET /logs/{app}?format=json`
uses, from the same function.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from logger.drains.sinks.syslog.encoder import SharedFrames
from logger.lines import line_record

LOGPLEX_CONTENT_TYPE = "application/logplex-1"
NDJSON_CONTENT_TYPE = "application/x-ndjson"


class LogplexEncoder:
    """A batch as Logplex frames."""

    content_type = LOGPLEX_CONTENT_TYPE

    def __init__(self, frames: SharedFrames) -> None:
        self._frames = frames

    def encode(self, lines: Sequence[bytes]) -> bytes:
        return self._frames.frames(lines)


class NdjsonEncoder:
    """A batch as NDJSON, one object per line."""

    content_type = NDJSON_CONTENT_TYPE

    def __init__(self) -> None:
        self._json = msgspec.json.Encoder()

    def encode(self, lines: Sequence[bytes]) -> bytes:
        return self._json.encode_lines([line_record(line) for line in lines])
