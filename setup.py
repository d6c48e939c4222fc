"""Build hook: compile the decode-route loop with mypyc, or fall back to pure Python.

Everything else about the package is in pyproject.toml. The modules named in
`logger.compiled.SOURCES` are copied into `logger/compiled/` and compiled
there (see that package's docstring); `logger.routing` uses them when they
were built from the current sources. When they cannot be built (no C
compiler, no Python headers, mypyc failing), the install still succeeds:
this prints why, writes the reason to `logger/compiled/NOT_BUILT`, and the
pure-Python modules run (`python -m logger.routing` says which runs).
`WF_PURE_PYTHON_BUILD=1` skips compiling altogether.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from logger.compiled import NOT_BUILT, PACKAGE, SOURCES, compiled_copy  # noqa: E402


def say(message: str) -> None:
    print(f"workflow-observability: {message}", file=sys.stderr, flush=True)


def remove_built() -> None:
    """No copy and no extension left behind: the pure modules are used."""
    for path in PACKAGE.iterdir():
        if path.name != "__init__.py" and path.suffix in (".py", ".so", ".c"):
            path.unlink()
    for path in ROOT.glob("*__mypyc*.so"):
        path.unlink()


def fell_back(reason: str) -> None:
    remove_built()
    NOT_BUILT.write_text(reason + "\n")
    say(f"the compiled routing loop was not built ({reason}); the pure-Python twin runs")


class OptionalBuildExt(build_ext):
    """build_ext whose failure leaves the pure-Python modules, not a failed install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # any compiler or linker failure: fall back, say why
            fell_back(f"compiling failed: {type(error).__name__}: {error}")
            self.extensions = []
        else:
            NOT_BUILT.unlink(missing_ok=True)
            say("the routing loop is compiled (mypyc)")

    def get_outputs(self) -> list[str]:
        return list(super().get_outputs()) if self.extensions else []


def compiled_extensions() -> list[Any]:
    if os.environ.get("WF_PURE_PYTHON_BUILD") == "1":
        fell_back("WF_PURE_PYTHON_BUILD=1")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as error:
        fell_back(f"mypyc is not importable: {error}")
        return []
    paths = []
    for name in SOURCES:
        copy = PACKAGE / f"{name}.py"
        copy.write_text(compiled_copy(name))
        paths.append(str(copy.relative_to(ROOT)))
    try:
        return list(mypycify(paths, opt_level="3"))
    except (Exception, SystemExit) as error:  # mypy's type errors end in SystemExit
        fell_back(f"mypyc failed: {type(error).__name__}: {error}")
        return []


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
