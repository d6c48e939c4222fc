"""`python -m chartgen.assets` (`make chart-files`): the chart's files/ from
the generators. Helm's `.Files` cannot read outside the chart, so these are
copies; tests/charts/test_assets.py fails while one differs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from collectors.fluent_bit import FluentBitSettings, render_config
from dashboards.build import GENERATED

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "charts" / "workflow-observability"
FILES = CHART / "files"
# Where the DaemonSet mounts the CA of a cert-manager issued certificate.
CERT_MANAGER_CA = "/fluent-bit/tls/ca.crt"


def fluent_bit_settings(*, cert_manager: bool) -> FluentBitSettings:
    """The generator's options behind each committed Fluent Bit config."""
    return FluentBitSettings(tls_ca_file=CERT_MANAGER_CA if cert_manager else None)


def expected_files() -> dict[Path, bytes]:
    """Every file the chart's files/ must hold, by its path there."""
    files: dict[Path, bytes] = {
        FILES / "fluent-bit.yaml": render_config(fluent_bit_settings(cert_manager=False)).encode(),
        FILES / "fluent-bit-cert-manager.yaml": render_config(
            fluent_bit_settings(cert_manager=True)
        ).encode(),
    }
    for dashboard in sorted(GENERATED.glob("*.json")):
        files[FILES / "dashboards" / dashboard.name] = dashboard.read_bytes()
    for rules in sorted((GENERATED / "rules").glob("*.yaml")):
        files[FILES / "rules" / rules.name] = rules.read_bytes()
    return files


def write() -> None:
    shutil.rmtree(FILES, ignore_errors=True)
    for path, content in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


if __name__ == "__main__":
    write()
    sys.stdout.write(f"wrote {len(expected_files())} files under {FILES.relative_to(ROOT)}\n")
