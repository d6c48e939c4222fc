"""History settings: which backend, its bounds, the indexer's batches and queue."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from logger.env import env_bool, env_bytes, env_float, env_int, env_path, env_str, state_dir
from logger.errors import SettingsError


class HistoryBackendKind(enum.Enum):
    OFF = "off"
    """No history: reads past the ring answer that history is off."""
    EMBEDDED = "embedded"
    """A tantivy index on disk under the state directory (the default)."""
    QUICKWIT = "quickwit"
    """A Quickwit cluster over its REST API (`WF_QUICKWIT_URL`)."""


def _default_index_dir() -> Path:
    return state_dir({}) / "history"


@dataclass(frozen=True)
class HistorySettings:
    # `from_env` picks the embedded index unless WF_HISTORY=off or
    # WF_QUICKWIT_URL is set; settings built in code (tests, tools) have no
    # history unless they ask, so they never write to disk unasked.
    backend: HistoryBackendKind = HistoryBackendKind.OFF
    # Embedded index: its directory, and the bounds past which the oldest
    # lines are deleted (and counted).
    index_dir: Path = field(default_factory=_default_index_dir)
    max_bytes: int = 2 << 30
    retention_seconds: float = 7 * 86400.0
    # Tantivy's indexing memory budget (it commits on its own past it).
    writer_heap_bytes: int = 64 << 20
    # Quickwit: the server, the one shared index, its retention in days.
    quickwit_url: str = ""
    quickwit_index: str = "wf-logs"
    quickwit_retention_days: int = 7
    # `wait_for` makes a batch searchable before the next is sent, which is
    # what keeps the seam with the ring gapless; `auto` is faster.
    quickwit_commit: str = "wait_for"
    request_timeout: float = 30.0
    # Indexer: a batch is written when it holds this many lines or bytes,
    # or when its oldest line has waited `commit_interval` seconds. That
    # bounds how long a stored line takes to become searchable.
    batch_lines: int = 20_000
    batch_bytes: int = 8 << 20
    commit_interval: float = 1.0
    # Lines waiting to be indexed; past it the oldest are shed and counted.
    queue_lines: int = 200_000
    # Retries of a failed write back off from the first to the last delay.
    retry_initial: float = 0.5
    retry_max: float = 30.0
    # Lines one history read returns at most (log_lines=-1 included).
    max_read_lines: int = 10_000

    @property
    def enabled(self) -> bool:
        return self.backend is not HistoryBackendKind.OFF

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HistorySettings:
        quickwit_url = env_str(environ, "WF_QUICKWIT_URL", "").strip()
        enabled = env_bool(environ, "WF_HISTORY", True)
        backend = HistoryBackendKind.EMBEDDED
        if not enabled:
            backend = HistoryBackendKind.OFF
        elif quickwit_url:
            if not quickwit_url.startswith(("http://", "https://")):
                raise SettingsError(f"WF_QUICKWIT_URL must be an http(s) URL, got {quickwit_url!r}")
            backend = HistoryBackendKind.QUICKWIT
        commit = env_str(environ, "WF_QUICKWIT_COMMIT", cls.quickwit_commit)
        if commit not in ("auto", "wait_for", "force"):
            raise SettingsError(
                f"WF_QUICKWIT_COMMIT must be auto, wait_for or force, got {commit!r}"
            )
        index = env_str(environ, "WF_QUICKWIT_INDEX", cls.quickwit_index)
        if not index or not index.replace("-", "").replace("_", "").isalnum():
            raise SettingsError(f"WF_QUICKWIT_INDEX must be an index id, got {index!r}")
        default_dir = state_dir(environ) / "history"
        return cls(
            backend=backend,
            index_dir=env_path(environ, "WF_HISTORY_DIR", default_dir) or default_dir,
            max_bytes=env_bytes(environ, "WF_HISTORY_MAX_BYTES", cls.max_bytes, 16 << 20),
            retention_seconds=env_float(
                environ, "WF_HISTORY_RETENTION_SECONDS", cls.retention_seconds, 60.0
            ),
            writer_heap_bytes=env_bytes(
                environ, "WF_HISTORY_WRITER_HEAP_BYTES", cls.writer_heap_bytes, 15 << 20
            ),
            quickwit_url=quickwit_url.rstrip("/"),
            quickwit_index=index,
            quickwit_retention_days=env_int(
                environ, "WF_QUICKWIT_RETENTION_DAYS", cls.quickwit_retention_days, 1
            ),
            quickwit_commit=commit,
            request_timeout=env_float(
                environ, "WF_HISTORY_REQUEST_TIMEOUT", cls.request_timeout, 0.1
            ),
            batch_lines=env_int(environ, "WF_HISTORY_BATCH_LINES", cls.batch_lines, 1),
            batch_bytes=env_bytes(environ, "WF_HISTORY_BATCH_BYTES", cls.batch_bytes, 1 << 10),
            commit_interval=env_float(
                environ, "WF_HISTORY_COMMIT_INTERVAL", cls.commit_interval, 0.01
            ),
            queue_lines=env_int(environ, "WF_HISTORY_QUEUE_LINES", cls.queue_lines, 1),
            retry_initial=env_float(environ, "WF_HISTORY_RETRY_INITIAL", cls.retry_initial, 0.01),
            retry_max=env_float(environ, "WF_HISTORY_RETRY_MAX", cls.retry_max, 0.01),
            max_read_lines=env_int(environ, "WF_HISTORY_MAX_READ_LINES", cls.max_read_lines, 1),
        )
