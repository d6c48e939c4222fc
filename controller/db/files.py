"""Files only the controller's user may read: its SQLite database (password
hashes, tokens' digests, sealed drain URLs) and its key file.

Folders the controller creates are 0700 and its files 0600, whatever the
umask; an existing file is tightened to 0600 (a database made by an older
version was 0644). SQLite gives its journal and WAL files the database
file's mode, so they follow."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_DIRECTORY = 0o700
PRIVATE_FILE = 0o600


def private_directory(path: Path) -> None:
    """Create `path` and any missing parents, each 0700; existing ones are
    left as they are (they may be shared, such as a home directory)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            folder.mkdir(mode=PRIVATE_DIRECTORY)
        os.chmod(folder, PRIVATE_DIRECTORY)  # mkdir's mode is masked by the umask


def private_file(path: Path) -> None:
    """Make sure `path` exists and is 0600 (an empty file when new)."""
    private_directory(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)


def create_private_file(path: Path, content: bytes) -> bool:
    """Write `content` to a new 0600 file; False when the file already exists
    (another process made it first: its content wins)."""
    private_directory(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
        os.write(descriptor, content)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return True
