"""A few seconds of the atheris fuzzer over the forward decoder and
handshake (fuzz/forward.py); `make fuzz` runs it for longer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_fuzzing_finds_no_crash_and_no_hang(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "fuzz.forward", "-runs=5000", "-seed=1", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert "Done 5000 runs" in run.stderr
    assert not list(tmp_path.glob("crash-*"))
    assert not list(ROOT.glob("crash-*"))


def test_the_corpus_is_decoded_in_time_linear_in_its_size() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "fuzz.forward", "--slowest"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line.split() for line in run.stdout.splitlines()[2:]]
    assert rows
    for milliseconds, _size, _per_byte, by_8, by_64, _name in rows:
        assert float(milliseconds) < 100
        # The same input 64 times in a row costs at most ~64 times as much.
        assert float(by_8) < 3
        assert float(by_64) < 3
