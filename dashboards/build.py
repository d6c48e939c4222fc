"""Generate the committed dashboard JSON and rule files.

    python -m dashboards.build           # write dashboards/generated/
    python -m dashboards.build --check   # exit 1 if a committed file differs

The output is deterministic (sorted keys, panel ids by position), so the
check is a plain text comparison.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import app_overview, logger_pipeline, platform_overview
from dashboards.rules import render as rules_render

GENERATED = Path(__file__).resolve().parent / "generated"
DASHBOARDS: dict[str, Callable[[], dash.Dashboard]] = {
    app_overview.UID: app_overview.build,
    logger_pipeline.UID: logger_pipeline.build,
    platform_overview.UID: platform_overview.build,
}
# Interval-variable fields the SDK writes on every variable; Grafana's
# schema (@grafana/schema VariableModel) has no such keys for other types.
_INTERVAL_ONLY = ("auto", "auto_count", "auto_min")


def dashboard_json(build: Callable[[], dash.Dashboard]) -> dict[str, Any]:
    """One dashboard as Grafana JSON (a plain dict)."""
    model: dict[str, Any] = json.loads(json.dumps(build().build(), cls=JSONEncoder))
    # Grafana needs unique panel ids; number them in layout order so they
    # stay stable while panels are added after the last one.
    for number, panel in enumerate(model.get("panels", []), start=1):
        panel["id"] = number
    for variable in model.get("templating", {}).get("list", []):
        if variable.get("type") != "interval":
            for key in _INTERVAL_ONLY:
                variable.pop(key, None)
    return model


def render_json(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=2, sort_keys=True) + "\n"


def outputs() -> dict[Path, str]:
    """Every generated file and its content."""
    files = {
        GENERATED / f"{uid}.json": render_json(dashboard_json(build))
        for uid, build in DASHBOARDS.items()
    }
    for name, text in rules_render.files().items():
        files[GENERATED / "rules" / name] = text
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """Committed files that differ from what the code generates, or are missing."""
    return [
        path
        for path, text in sorted(files.items())
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a generated file differs")
    args = parser.parse_args(argv)
    files = outputs()
    if args.check:
        differing = stale(files)
        for path in differing:
            print(f"out of date: {path} (run python -m dashboards.build)", file=sys.stderr)
        return 1 if differing else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
