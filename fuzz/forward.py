"""Coverage-guided fuzzing of the forward decoder and handshake (atheris).

One input is both a byte stream for `FrameSplitter` + `decode_frame` (fed
in pieces whose size the input's length chooses) and a PING for
`ServerHandshake.check_ping`. Only `LoggerError` may come out; anything else
is a crash, and libFuzzer's `-timeout` catches hangs. Seeds: the committed
corpus (`fuzz/corpus/forward/`), the repository's captures and the shared
ones (`../shared/fixtures`, or `/work/shared/fixtures`).

    python -m fuzz.forward -runs=20000               # what `make fuzz` runs longer
    python -m fuzz.forward --slowest [DIR ...]       # decode time per byte, slowest first
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from logger.errors import LoggerError
    from logger.forward.handshake import HandshakeSettings, ServerHandshake
    from logger.forward.protocol import FrameSplitter, decode_frame

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus" / "forward"
MAX_FRAME = 64 << 10
MAX_PAYLOAD = 256 << 10
HANDSHAKE = HandshakeSettings(shared_key=b"fuzz key", users={b"alice": b"secret"})


def seed_directories() -> list[Path]:
    shared = ROOT.parent / "shared" / "fixtures"
    if not shared.is_dir():
        shared = Path("/work/shared/fixtures")
    found = [CORPUS, *sorted((ROOT / "tests" / "fixtures").glob("*"))]
    found += sorted(shared.glob("*")) if shared.is_dir() else []
    return [path for path in found if path.is_dir()]


def decode_stream(data: bytes) -> None:
    step = 1 + len(data) % 97 if len(data) % 3 == 0 else max(len(data), 1)
    splitter = FrameSplitter(MAX_FRAME, step)
    try:
        for start in range(0, len(data), step):
            splitter.feed(data[start : start + step])
            while (frame := splitter.next_frame()) is not None:
                if not 0 < len(frame) <= MAX_FRAME:
                    raise AssertionError(f"frame of {len(frame)} bytes")
                event = decode_frame(frame, MAX_PAYLOAD)
                if event is not None and event.invalid_entries < 0:
                    raise AssertionError("negative invalid entries")
    except LoggerError:
        pass


def check_ping(data: bytes) -> None:
    try:
        outcome = ServerHandshake(HANDSHAKE, nonce=b"n" * 16, auth_salt=b"a" * 16).check_ping(data)
    except LoggerError:
        return
    if outcome.authenticated:
        raise AssertionError("a fuzzed PING authenticated")


def test_one_input(data: bytes) -> None:
    decode_stream(data)
    check_ping(data)


def inputs(directories: list[Path]) -> Iterator[tuple[Path, bytes]]:
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and path.suffix != ".md":
                yield path, path.read_bytes()


def slowest(directories: list[Path], show: int = 10) -> None:
    """Decode every input a few times; print the slowest, and how the time of
    each of them grows when the input is repeated 8 and 64 times in a row
    (linear: the ratio stays near 1)."""
    timings = []
    for path, data in inputs(directories):
        best = min(_timed(data) for _ in range(3))
        timings.append((best, len(data), path, data))
    timings.sort(key=lambda timing: timing[0], reverse=True)
    print(f"{len(timings)} inputs; the slowest:")
    print("     ms      bytes   ns/byte  x8 ratio  x64 ratio  input")
    for best, size, path, data in timings[:show]:
        ratios = [min(_timed(data * times) for _ in range(3)) / (best * times) for times in (8, 64)]
        print(
            f"  {best * 1e3:7.3f} {size:8d} {best * 1e9 / max(size, 1):9.1f}"
            f" {ratios[0]:9.2f} {ratios[1]:10.2f}  {path.name}"
        )


def _timed(data: bytes) -> float:
    started = time.perf_counter()
    test_one_input(data)
    return time.perf_counter() - started


def main(argv: list[str]) -> None:
    if len(argv) > 1 and argv[1] == "--slowest":
        slowest([Path(arg) for arg in argv[2:]] or seed_directories())
        return
    # libFuzzer writes what it finds to the first directory given; seeds after it.
    flags = [arg for arg in argv[1:] if arg.startswith("-")]
    directories = [arg for arg in argv[1:] if not arg.startswith("-")]
    args = [argv[0], "-max_len=65536", "-timeout=5", *flags, *directories]
    args += [str(path) for path in seed_directories()]
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
