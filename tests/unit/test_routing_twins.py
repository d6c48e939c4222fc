"""The routing loop's two implementations: the one in use is the one asked for,
the compiled twin routes every input exactly as the pure one does, and a
build without a compiler still installs and says it fell back."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger import lines as pure_lines
from logger import route_loop as pure_loop
from logger import routing
from logger.app_metrics import AppLogCounter
from logger.forward.protocol import FrameSplitter, decode_frame
from logger.model import Entry, KubernetesMeta, PodLabels, Record, TimeWithMetadata
from tests.support.services import services_required

ROOT = Path(__file__).resolve().parents[2]


def compiled_modules() -> tuple[ModuleType, ModuleType]:
    """The compiled twins; a skip (a failure in CI) when they were not built."""
    try:
        from logger.compiled import lines, route_loop
    except ImportError:
        pass
    else:
        if route_loop.__file__ and not route_loop.__file__.endswith(".py"):
            return route_loop, lines
    reason = f"the compiled routing loop is not built: {routing.REASON}"
    if services_required():
        pytest.fail(f"{reason}; CI has a C compiler and must build it")
    pytest.skip(reason)


def test_the_implementation_in_use_is_the_one_asked_for() -> None:
    if os.environ.get(routing.PURE_SWITCH) == "1":
        assert routing.IMPLEMENTATION == "pure"
        assert routing.Router is pure_loop.Router
    else:
        compiled, _ = compiled_modules()
        assert routing.IMPLEMENTATION == "compiled", routing.REASON
        assert routing.Router is compiled.Router
        assert routing.Router is not pure_loop.Router


def test_the_switch_is_read_where_the_implementation_is_chosen() -> None:
    code = "from logger import routing; print(routing.IMPLEMENTATION, routing.REASON)"
    env = {**os.environ, routing.PURE_SWITCH: "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == f"pure {routing.PURE_SWITCH}=1"


# --- the same result from both -------------------------------------------------------

SECONDS = 1_795_341_600
names = st.sampled_from(["shop", "web", "Web", "a.b", "x]: y", "-x", "w" * 64, "", "日本"])
maybe_names = st.none() | names
times = st.one_of(
    st.integers(-2, 2**64 - 1),
    st.sampled_from([SECONDS, 10**12, 253_402_300_799, 253_402_300_800]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(
        lambda pair: msgspec.msgpack.Ext(0, struct.pack(">II", *pair))
    ),
    st.just(msgspec.msgpack.Ext(0, b"short")),
    st.just(msgspec.msgpack.Ext(3, b"\x00" * 8)),
    st.sampled_from(["yesterday", None, [SECONDS], [SECONDS, {}]]),
)
messages = st.text(max_size=300) | st.sampled_from(["ERROR x", '{"level":"warn"}', "a\r\n"])


@st.composite
def records(draw: st.DrawFn) -> Record:
    meta = KubernetesMeta(
        pod_name=draw(st.none() | names.map(lambda name: f"p-{name}")),
        namespace_name=draw(maybe_names),
        container_name=draw(maybe_names),
        labels=draw(st.none() | st.builds(PodLabels, app=maybe_names, type=maybe_names)),
    )
    kubernetes = draw(
        st.sampled_from([msgspec.Raw(b""), msgspec.Raw(msgspec.msgpack.encode(meta))])
    )
    log = draw(st.none() | messages)
    return Record(
        log=log,
        message=draw(messages) if log is None else None,
        stream=draw(st.sampled_from([None, "stdout", "stderr", "other"])),
        kubernetes=kubernetes,
    )


@st.composite
def entries(draw: st.DrawFn) -> list[Entry]:
    out: list[Entry] = []
    for _ in range(draw(st.integers(0, 12))):
        time: Any = draw(times)
        if draw(st.booleans()) and not isinstance(time, list | str | None):
            time = TimeWithMetadata(time, msgspec.Raw(b"\x80"))
        out.append((time, draw(records())))
    return out


def routed(module: ModuleType, tag: str, frames: list[list[Entry]], limit: int) -> object:
    counter = AppLogCounter(3)
    router = module.Router(limit, counter)
    results = []
    for batch_entries in frames:
        batch = router.route(tag, batch_entries)
        results.append(
            (batch.lines, batch.level_lines, batch.accepted, batch.invalid_time,
             batch.no_app, batch.invalid_app_name, batch.split)
        )  # fmt: skip
    return results, counter.totals(), counter.levels


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tag=st.sampled_from(["kube.x", "app.shop", "app.shop.web", "app.shop.x]: y", "app.Bad"]),
    frames=st.lists(entries(), min_size=1, max_size=3),
    limit=st.sampled_from([4, 64, 16384]),
)
def test_both_twins_route_every_input_alike(
    tag: str, frames: list[list[Entry]], limit: int
) -> None:
    compiled, _ = compiled_modules()
    assert routed(compiled, tag, frames, limit) == routed(pure_loop, tag, frames, limit)


@pytest.mark.parametrize(
    "capture", sorted((ROOT / "tests" / "fixtures").glob("*/*.bin")), ids=lambda path: path.name
)
def test_both_twins_route_every_capture_alike(capture: Path) -> None:
    compiled, _ = compiled_modules()
    splitter = FrameSplitter(1 << 20)
    splitter.feed(capture.read_bytes())
    frames = []
    while (raw := splitter.next_frame()) is not None:
        frame = decode_frame(raw, 1 << 20)
        assert frame is not None
        frames.append(list(frame.entries))
    assert frames
    assert routed(compiled, "kube.x", frames, 64) == routed(pure_loop, "kube.x", frames, 64)


@settings(max_examples=300, deadline=None)
@given(text=st.binary(max_size=200), seconds=st.integers(0, 253_402_300_799))
def test_both_twins_build_and_show_lines_alike(text: bytes, seconds: int) -> None:
    _, compiled = compiled_modules()
    stored = b"o" + text
    assert compiled.line_text(stored) == pure_lines.line_text(stored)
    assert compiled.second_text(seconds) == pure_lines.second_text(seconds)
    message = text.decode("utf-8", "surrogateescape")
    args = ("o", pure_lines.second_text(seconds), seconds % 10**9, "shop[web]: ", message)
    assert compiled.build_line(*args) == pure_lines.build_line(*args)
    line = pure_lines.build_line(*args)
    assert compiled.split_line(line, 7) == pure_lines.split_line(line, 7)


# --- no compiler -----------------------------------------------------------------------


def test_a_build_without_a_compiler_succeeds_and_says_it_fell_back(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for part in ("logger", "foundation"):
        shutil.copytree(
            ROOT / part, tree / part, ignore=shutil.ignore_patterns("*.so", "__pycache__")
        )
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy(ROOT / name, tree / name)
    for copy in (tree / "logger" / "compiled").glob("*"):
        if copy.name != "__init__.py":
            copy.unlink()
    env = {**os.environ, "CC": str(tmp_path / "no-such-compiler")}
    env.pop(routing.PURE_SWITCH, None)
    done = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--inplace"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "the compiled routing loop was not built (compiling failed" in done.stderr
    assert "the pure-Python twin runs" in done.stderr
    compiled_dir = tree / "logger" / "compiled"
    assert sorted(path.name for path in compiled_dir.iterdir() if path.is_file()) == [
        "NOT_BUILT",
        "__init__.py",
    ]
    assert not list(tree.glob("*.so"))
    chosen = subprocess.run(
        [sys.executable, "-m", "logger.routing"],
        cwd=tree, env={**env, "PYTHONPATH": str(tree)}, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    assert chosen.stdout.startswith("routing: pure (the compiled twin is missing (compiling failed")
