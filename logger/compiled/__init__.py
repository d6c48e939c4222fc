"""Modules compiled by mypyc when the package is installed (see setup.py).

Nothing here is committed but this file: at build time setup.py copies each
source listed in `SOURCES` here, stamped with its source's digest, and
compiles the copy, so the compiled module has a name of its own
(`logger.compiled.route_loop`) and never shadows the pure-Python module it
was built from (`logger.route_loop`). `logger.routing` chooses between them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

# Pure-Python module -> the compiled copy's name in this package.
SOURCES = {"logger/route_loop.py": "route_loop"}
# Written by setup.py when it could not compile, with the reason.
NOT_BUILT = Path(__file__).with_name("NOT_BUILT")


def source_digest(source: Path) -> str:
    """The digest a compiled copy carries of the source it was built from."""
    return hashlib.sha256(source.read_bytes()).hexdigest()
