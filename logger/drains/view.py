"""What the API and `wf drains list` show of a drain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class DrainView:
    """What the API shows of a drain; `url` is always the redacted form."""

    id: str
    app: str
    url: str
    scheme: str
    created_at: str
    state: str
    last_error: str | None
    last_error_at: str | None
    delivered_lines: int
    delivered_bytes: int
    dropped_lines: int
    dropped: dict[str, int]
    retries: int
    buffered_lines: int
    buffer_capacity: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "app": self.app,
            "url": self.url,
            "scheme": self.scheme,
            "created_at": self.created_at,
            "state": self.state,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "delivered_lines": self.delivered_lines,
            "delivered_bytes": self.delivered_bytes,
            "dropped_lines": self.dropped_lines,
            "dropped": dict(self.dropped),
            "retries": self.retries,
            "buffered_lines": self.buffered_lines,
            "buffer_capacity": self.buffer_capacity,
        }
