"""The packages' layers: what each may not import, checked in a fresh interpreter.

A rule is a row of LAYERS: importing the modules on the left (every module of
a package, less the exceptions) must not load any module of the forbidden
packages. Adding a rule costs one row.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Layer:
    package: str
    forbidden: tuple[str, ...]
    # Modules of `package` left out.
    except_modules: tuple[str, ...] = ()
    # Import only these modules instead of every module of the package.
    only: tuple[str, ...] = field(default=())


LAYERS = [
    Layer("foundation", ("logger", "metrics", "controller", "dashboards", "collectors")),
    Layer("metrics", ("logger", "controller", "collectors")),
    # The logger's per-app counters are its own (logger.app_metrics), not metrics/'s.
    Layer("logger", ("metrics", "controller", "dashboards")),
    # `wf --help` and the client commands: no drain sinks to redact a URL.
    Layer("controller.cli", ("logger.drains.registry",), only=("controller.cli.main",)),
]

_PROBE = """
import importlib, json, pkgutil, sys
package, skip, only = sys.argv[1], set(json.loads(sys.argv[2])), json.loads(sys.argv[3])
names = only
if not names:
    root = importlib.import_module(package)
    names = [package] + [
        info.name for info in pkgutil.walk_packages(root.__path__, package + ".")
        if info.name not in skip and not any(info.name.startswith(s + ".") for s in skip)
    ]
for name in names:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(layer: Layer) -> list[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _PROBE,
            layer.package,
            json.dumps(layer.except_modules),
            json.dumps(layer.only),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    modules: list[str] = json.loads(result.stdout)
    return modules


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.package)
def test_layer_imports_nothing_forbidden(layer: Layer) -> None:
    modules = loaded_modules(layer)
    assert any(_within(module, layer.package) for module in modules)  # the probe ran
    offending = [m for m in modules if any(_within(m, f) for f in layer.forbidden)]
    assert offending == [], f"{layer.package} loads {offending}"


def test_the_probe_sees_a_forbidden_import() -> None:
    # The logger's application does load the drains registry: the probe must say so.
    modules = loaded_modules(Layer("logger.app", (), only=("logger.app",)))
    assert "logger.drains.registry" in modules
