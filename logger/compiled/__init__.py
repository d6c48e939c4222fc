"""Modules compiled by mypyc when the package is installed (see setup.py).

Nothing here is committed but this file: at build time setup.py copies each
module of `SOURCES` here (imports among them pointed at the copies) with
the digest of the sources appended, and compiles the copies. So a compiled
module has a name of its own (`logger.compiled.route_loop`) and never
shadows the pure-Python module it was built from (`logger.route_loop`);
`logger.routing` chooses between them. `logger.lines` and
`logger.wire_reader` are compiled with the loop so that the loop's calls to
its line builders and msgpack readers are native calls; the rest of the code
base keeps using the pure modules.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# The pure modules of `logger` that are compiled together, by name.
SOURCES = ("route_loop", "lines", "wire_reader")
# Written by setup.py when it could not compile, with the reason.
NOT_BUILT = PACKAGE / "NOT_BUILT"


def source_digest() -> str:
    """The digest of the sources as they are now; a compiled copy carries the
    digest of the sources it was built from (`SOURCE_DIGEST`)."""
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((PACKAGE.parent / f"{name}.py").read_bytes())
    return digest.hexdigest()


def compiled_copy(name: str) -> str:
    """The text setup.py compiles as `logger.compiled.<name>`."""
    text = (PACKAGE.parent / f"{name}.py").read_text()
    for other in SOURCES:
        text = text.replace(f"from logger.{other} import", f"from logger.compiled.{other} import")
    stamp = f'# Added by setup.py: what logger.routing checks.\nSOURCE_DIGEST = "{source_digest()}"'
    return f"{text}\n{stamp}\n"
