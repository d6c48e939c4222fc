"""Routing: decoded records to stored lines, grouped by app.

The rules and the loop are `logger.route_loop`. It exists twice, from one
source: as the pure-Python module, and compiled by mypyc as
`logger.compiled.route_loop` (with its own compiled `logger.lines`) when
`pip install` (so `make install`) could build it (setup.py). The compiled
one is used when it is there and was built from the current sources;
otherwise, or with `WF_PURE_PYTHON=1` in the environment (a switch of the
implementation, read once at import, not a setting), the pure one. Both
behave the same; `make test` runs the decode-route tests under each.
`IMPLEMENTATION` says which one runs, and `python -m logger.routing`
prints it with the reason.
"""

from __future__ import annotations

import importlib
import os
from importlib.machinery import ExtensionFileLoader
from types import ModuleType
from typing import TYPE_CHECKING

from logger import route_loop as _pure
from logger.compiled import NOT_BUILT, source_digest

PURE_SWITCH = "WF_PURE_PYTHON"


def _choose() -> tuple[ModuleType, str, str]:
    """(the module, "compiled" or "pure", why)."""
    if os.environ.get(PURE_SWITCH, "") == "1":
        return _pure, "pure", f"{PURE_SWITCH}=1"
    try:
        compiled = importlib.import_module("logger.compiled.route_loop")
    except ImportError:
        reason = NOT_BUILT.read_text().strip() if NOT_BUILT.exists() else "not built"
        return _pure, "pure", f"the compiled twin is missing ({reason})"
    spec = compiled.__spec__
    if spec is None or not isinstance(spec.loader, ExtensionFileLoader):
        return _pure, "pure", "the compiled twin is not an extension module"
    if getattr(compiled, "SOURCE_DIGEST", None) != source_digest():
        return _pure, "pure", "the compiled twin is out of date: run `make install`"
    return compiled, "compiled", "built by mypyc from logger/route_loop.py and the modules it calls"


_module, IMPLEMENTATION, REASON = _choose()

if TYPE_CHECKING:
    from logger.route_loop import RoutedBatch, Router, WireFrame
else:
    Router = _module.Router
    RoutedBatch = _module.RoutedBatch
    WireFrame = _module.WireFrame

__all__ = ["IMPLEMENTATION", "REASON", "RoutedBatch", "Router", "WireFrame"]

if __name__ == "__main__":
    print(f"routing: {IMPLEMENTATION} ({REASON})")
