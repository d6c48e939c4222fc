"""The committed bundle is what the TypeScript builds to, and type-checks.

`controller/console/static/console.{js,css}` are committed so that the Python
package serves them with no Node.js at run time (`make run`); this rebuilds
them from `controller/console/frontend/` (its npm packages installed by
`make test` from the committed lock file) and compares byte for byte."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from controller.console.pages import STATIC
from tests.support.services import require_binary

FRONTEND = STATIC.parent / "frontend"
BUILT = ("console.js", "console.css")


@pytest.fixture(scope="module")
def npm() -> str:
    npm = require_binary("npm")
    assert (FRONTEND / "node_modules" / ".package-lock.json").exists(), (
        "run `make console-deps` (npm ci in controller/console/frontend)"
    )
    return npm


def test_the_committed_bundle_is_the_build_of_the_sources(npm: str, tmp_path: Path) -> None:
    built = subprocess.run(
        [npm, "run", "--silent", "build", "--", f"--outfile={tmp_path / 'console.js'}"],
        cwd=FRONTEND,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
    for name in BUILT:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"static/{name} is stale: run `npm run build` in {FRONTEND}"
        )


def test_the_sources_type_check(npm: str) -> None:
    checked = subprocess.run(
        [npm, "run", "--silent", "check"], cwd=FRONTEND, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_no_asset_loads_from_elsewhere_or_names_the_cookie() -> None:
    """Works offline (nothing from another host, no CDN), and no script
    refers to the session cookie: it is HttpOnly, the page never reads it."""
    for path in STATIC.iterdir():
        text = path.read_text()
        for needle in ("https://", "http://", "//cdn", "wf_session", "wf_"):
            assert needle not in text, f"{path.name} holds {needle!r}"
