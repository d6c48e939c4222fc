"""History settings: which backend, its bounds, the indexer's batches and queue.

Declared once (foundation.settings). `from_env` picks the embedded index
unless `WF_HISTORY=off` or `WF_QUICKWIT_URL` is set; settings built in code
(tests, tools) have no history unless they ask, so they never write to disk
unasked.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from foundation.env import state_dir
from foundation.settings import (
    Choice,
    Flag,
    Folder,
    HttpUrl,
    Integer,
    Pattern,
    Seconds,
    Setting,
    Size,
    declared,
    from_environ,
)


class HistoryBackendKind(enum.Enum):
    OFF = "off"
    """No history: reads past the ring answer that history is off."""
    EMBEDDED = "embedded"
    """A tantivy index on disk under the state directory (the default)."""
    QUICKWIT = "quickwit"
    """A Quickwit cluster over its REST API (`WF_QUICKWIT_URL`)."""


class QuickwitCommit(enum.StrEnum):
    """Quickwit's `commit` parameter of an ingest request."""

    WAIT_FOR = "wait_for"
    """A batch is searchable before the next is sent: the seam with the ring stays gapless."""
    AUTO = "auto"
    """Faster; a line may leave the ring before Quickwit makes it searchable."""
    FORCE = "force"
    """A commit per batch, now (expensive on Quickwit's side)."""


HISTORY_ON = Setting(
    "WF_HISTORY", Flag(), True, "Keep history past the ring (embedded index, or Quickwit)."
)
QUICKWIT_URL: Setting[str | None] = Setting(
    "WF_QUICKWIT_URL", HttpUrl(), None, "Quickwit's REST API; unset: the embedded index."
)


def _default_index_dir() -> Path:
    return state_dir({}) / "history"


@dataclass(frozen=True)
class HistorySettings:
    backend: HistoryBackendKind = HistoryBackendKind.OFF
    # Embedded index: its directory, and the bounds past which the oldest
    # lines are deleted (and counted).
    index_dir: Path = declared(
        Setting(
            "WF_HISTORY_DIR",
            Folder(),
            _default_index_dir(),
            "The embedded index's directory.",
            default_from=lambda environ: state_dir(environ) / "history",
            shown_default="$XDG_STATE_HOME/workflow/history",
        )
    )
    max_bytes: int = declared(
        Setting(
            "WF_HISTORY_MAX_BYTES",
            Size(16 << 20),
            2 << 30,
            "Embedded index size past which the oldest lines are deleted (counted).",
        )
    )
    retention_seconds: float = declared(
        Setting(
            "WF_HISTORY_RETENTION_SECONDS",
            Seconds(60.0),
            7 * 86400.0,
            "Embedded index: lines older than this are deleted (counted).",
        )
    )
    writer_heap_bytes: int = declared(
        Setting(
            "WF_HISTORY_WRITER_HEAP_BYTES",
            Size(15 << 20),
            64 << 20,
            "Tantivy's indexing memory budget (it commits on its own past it).",
        )
    )
    writer_max_memory_bytes: int = declared(
        Setting(
            "WF_HISTORY_WRITER_MAX_MEMORY_BYTES",
            Size(16 << 20),
            256 << 20,
            "Anonymous memory of the embedded index's writer process past which it is"
            " restarted after a commit (nothing indexed is lost).",
        )
    )
    writer_nice: int = declared(
        Setting(
            "WF_HISTORY_WRITER_NICE",
            Integer(0, 19),
            10,
            "Niceness added to the embedded index's writer process, so ingest wins the CPU.",
        )
    )
    quickwit_url: str = ""
    quickwit_index: str = declared(
        Setting(
            "WF_QUICKWIT_INDEX",
            Pattern(r"[A-Za-z0-9_-]+", "an index id (letters, digits, - and _)"),
            "wf-logs",
            "The one Quickwit index shared by all apps.",
        )
    )
    quickwit_retention_days: int = declared(
        Setting(
            "WF_QUICKWIT_RETENTION_DAYS",
            Integer(1),
            7,
            "Quickwit index retention, in days (set when the index is created).",
        )
    )
    quickwit_commit: str = declared(
        Setting(
            "WF_QUICKWIT_COMMIT",
            Choice(QuickwitCommit),
            QuickwitCommit.WAIT_FOR,
            "Quickwit's commit mode per ingest request (wait_for keeps the seam gapless).",
        )
    )
    request_timeout: float = declared(
        Setting(
            "WF_HISTORY_REQUEST_TIMEOUT",
            Seconds(0.1),
            30.0,
            "Timeout of one request to Quickwit.",
        )
    )
    # A batch is written when it holds this many lines or bytes, or when its
    # oldest line has waited `commit_interval` seconds: that bounds how long a
    # stored line takes to become searchable.
    batch_lines: int = declared(
        Setting("WF_HISTORY_BATCH_LINES", Integer(1), 20_000, "Lines in one indexing batch.")
    )
    batch_bytes: int = declared(
        Setting("WF_HISTORY_BATCH_BYTES", Size(1 << 10), 8 << 20, "Bytes in one indexing batch.")
    )
    commit_interval: float = declared(
        Setting(
            "WF_HISTORY_COMMIT_INTERVAL",
            Seconds(0.01),
            1.0,
            "Longest wait of a line for its batch to be written.",
        )
    )
    queue_lines: int = declared(
        Setting(
            "WF_HISTORY_QUEUE_LINES",
            Integer(1),
            200_000,
            "Lines waiting to be indexed; past it the oldest are shed and counted.",
        )
    )
    retry_initial: float = declared(
        Setting("WF_HISTORY_RETRY_INITIAL", Seconds(0.01), 0.5, "First pause after a failed write.")
    )
    retry_max: float = declared(
        Setting("WF_HISTORY_RETRY_MAX", Seconds(0.01), 30.0, "Longest pause between failed writes.")
    )
    max_read_lines: int = declared(
        Setting(
            "WF_HISTORY_MAX_READ_LINES",
            Integer(1),
            10_000,
            "Lines one history read returns at most (log_lines=-1 included).",
        )
    )

    ALSO_READS: ClassVar[tuple[Setting[Any], ...]] = (HISTORY_ON, QUICKWIT_URL)

    @property
    def enabled(self) -> bool:
        return self.backend is not HistoryBackendKind.OFF

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HistorySettings:
        quickwit_url = QUICKWIT_URL.read(environ) or ""
        backend = HistoryBackendKind.EMBEDDED
        if not HISTORY_ON.read(environ):
            backend = HistoryBackendKind.OFF
        elif quickwit_url:
            backend = HistoryBackendKind.QUICKWIT
        return from_environ(cls, environ, backend=backend, quickwit_url=quickwit_url)
