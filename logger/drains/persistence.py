"""What drains keep on disk: the state file, and the checkpoint of what they hold.

The state file (`WF_DRAINS_STATE_FILE`, mode 0600: it holds the URLs with
their credentials and the drain tokens) lists every drain and is rewritten
atomically on every change, so drains survive a restart.

The checkpoint (`<state file>.pending`, same directory, 0600) is written
every `WF_DRAINS_CHECKPOINT_INTERVAL` seconds while drains hold lines: per
drain, how many lines it holds that are not delivered yet (buffered, in
flight, awaiting confirmation). A clean shutdown counts what is left
(`reason="closed"`) and removes it; a checkpoint found at start therefore
means the previous run ended without shutting down (a crash, a kill), and
its counts are what that run could not deliver. Lines are not persisted:
a crash loses them, counted once at the next start as
`reason="lost_at_crash"` (accurate to the last checkpoint).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logger.drains.errors import DrainStateFileError

STATE_VERSION = 1
CHECKPOINT_VERSION = 1
Entries = list[dict[str, Any]]


class DrainStateFile:
    """The drains state file; `path` None keeps drains in memory only."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def read(self) -> Entries:
        """The entries (dicts, unvalidated); [] when there is no file."""
        path = self.path
        if path is None:
            return []
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as error:
            raise DrainStateFileError(f"cannot read {path}: {error.strerror}") from None
        try:
            document = json.loads(text)
            entries = document["drains"]
            if document.get("version") != STATE_VERSION or not isinstance(entries, list):
                raise ValueError("unknown version")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DrainStateFileError(
                f"{path} is not a drains state file (version {STATE_VERSION})"
            ) from None
        return [entry for entry in entries if isinstance(entry, dict)]

    def write(self, entries: Entries) -> None:
        path = self.path
        if path is None:
            return
        document = {"version": STATE_VERSION, "drains": entries}
        try:
            write_atomically(path, json.dumps(document, indent=2).encode() + b"\n")
        except OSError as error:
            raise DrainStateFileError(f"cannot write {path}: {error.strerror}") from None


@dataclass(frozen=True, slots=True)
class Undelivered:
    """What one drain held, not delivered, at the last checkpoint of a run."""

    drain_id: str
    app: str
    lines: int
    at: str


class PendingCheckpoint:
    """The checkpoint of undelivered lines per drain, next to the state file."""

    def __init__(self, state_file: Path | None) -> None:
        self.path = (
            None if state_file is None else state_file.with_name(state_file.name + ".pending")
        )
        self._last: dict[str, tuple[str, int]] | None = None

    def previous_run(self) -> list[Undelivered]:
        """What the previous run left undelivered (it did not shut down
        cleanly); [] when it did. An unreadable checkpoint counts as none."""
        path = self.path
        if path is None:
            return []
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            drains = document["drains"]
            at = str(document.get("written_at", ""))
            if document.get("version") != CHECKPOINT_VERSION or not isinstance(drains, dict):
                return []
            return [
                Undelivered(str(drain_id), str(entry["app"]), int(entry["lines"]), at)
                for drain_id, entry in drains.items()
                if isinstance(entry, dict) and int(entry.get("lines", 0)) > 0
            ]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return []

    def write(self, held: dict[str, tuple[str, int]], written_at: str) -> None:
        """Record what each drain holds (id -> (app, lines)); skipped when
        nothing changed, the file removed when nothing is held."""
        path = self.path
        if path is None or held == self._last:
            return
        if not any(lines for _, lines in held.values()):
            self.remove()
        else:
            drains = {
                drain_id: {"app": app, "lines": lines}
                for drain_id, (app, lines) in held.items()
                if lines
            }
            document = {"version": CHECKPOINT_VERSION, "written_at": written_at, "drains": drains}
            write_atomically(path, json.dumps(document).encode() + b"\n", sync_directory=False)
        self._last = dict(held)

    def remove(self) -> None:
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._last = {}


def write_atomically(path: Path, data: bytes, *, sync_directory: bool = True) -> None:
    """Write a sibling temp file (0600), fsync it, rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    if not sync_directory:
        return
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
