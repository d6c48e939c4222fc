"""Type-check dashboard JSON against Grafana's published schema types.

Each dashboard becomes `export const d: Dashboard = <json>;` in a .ts file
importing `Dashboard` from @grafana/schema (pinned in
dashboards/schema-check/package.json to the Grafana version the SDK
targets), and `tsc --noEmit` checks it: a wrong type, an unknown property
or a missing required field fails. Object literals get TypeScript's excess
property check, so a key Grafana's schema does not define fails too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCHEMA_CHECK = Path(__file__).resolve().parent / "schema-check"
TSCONFIG = {
    "extends": "../tsconfig.json",
    "include": ["*.ts"],
}


class SchemaCheckError(RuntimeError):
    """npm or tsc could not run (not a type error in a dashboard)."""


def ensure_packages(timeout: float = 300.0) -> None:
    """`npm ci` from the committed lock file, once (node_modules kept)."""
    if (SCHEMA_CHECK / "node_modules" / "@grafana" / "schema").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SchemaCheckError("npm is not installed")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=SCHEMA_CHECK,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise SchemaCheckError(f"npm ci failed: {done.stderr[-2000:]}")


def typescript_source(name: str, model: dict[str, Any]) -> str:
    return (
        'import type { Dashboard } from "@grafana/schema";\n\n'
        f"export const {name}: Dashboard = {json.dumps(model, indent=2)};\n"
    )


def typecheck(models: dict[str, dict[str, Any]], timeout: float = 120.0) -> tuple[bool, str]:
    """(ok, tsc output) for dashboards by identifier-safe name."""
    ensure_packages()
    tsc = SCHEMA_CHECK / "node_modules" / ".bin" / "tsc"
    # Inside schema-check/ so that node_modules resolves from a parent folder.
    with tempfile.TemporaryDirectory(prefix="work-", dir=SCHEMA_CHECK) as scratch:
        folder = Path(scratch)
        (folder / "tsconfig.json").write_text(json.dumps(TSCONFIG), encoding="utf-8")
        for name, model in models.items():
            (folder / f"{name}.ts").write_text(typescript_source(name, model), encoding="utf-8")
        done = subprocess.run(
            [str(tsc), "--noEmit", "-p", str(folder)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    return done.returncode == 0, done.stdout + done.stderr
