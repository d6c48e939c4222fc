"""The committed dashboard JSON and rule files are what the code generates."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboards import build


def test_committed_files_match_the_code() -> None:
    assert build.stale(build.outputs()) == []
    assert build.main(["--check"]) == 0


def test_check_reports_an_edited_or_missing_file(tmp_path: Path) -> None:
    files = {tmp_path / path.name: text for path, text in build.outputs().items()}
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    edited, missing = sorted(files)[:2]
    edited.write_text(files[edited].replace('"uid"', '"uid "', 1) + " ", encoding="utf-8")
    missing.unlink()
    assert build.stale(files) == sorted([edited, missing])


def test_main_check_fails_on_a_difference(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(build, "GENERATED", tmp_path)
    assert build.main(["--check"]) == 1
    assert "out of date" in capsys.readouterr().err
    assert build.main([]) == 0
    assert build.main(["--check"]) == 0
