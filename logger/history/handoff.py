"""A batch as it crosses the pipe to the writer process.

Pickling a list of 20 000 small `bytes` costs the logger's process (which
holds the GIL the event loop needs) about half a microsecond a line. Sent
instead as one joined buffer, the lines' lengths and one (app, first seq,
count) head per run, packing is two C calls (`join`, `array`) whatever the
batch, and the writer process cuts the lines apart again in C.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import accumulate, chain

from logger.history.backend import Run

# (app, first seq, how many lines) per run.
RunHead = tuple[str, int, int]
# The lengths' array type: unsigned 32 bits (a line is far shorter than 4 GiB).
_LENGTH_TYPE = "I"


def pack_runs(runs: Sequence[Run]) -> tuple[list[RunHead], bytes, bytes]:
    """(heads, the lines' lengths, the lines joined)."""
    heads = [(app, first_seq, len(lines)) for app, first_seq, lines in runs]
    lines = list(chain.from_iterable(lines for _, _, lines in runs))
    return heads, array(_LENGTH_TYPE, map(len, lines)).tobytes(), b"".join(lines)


def unpack_runs(heads: Sequence[RunHead], lengths: bytes, joined: bytes) -> list[Run]:
    """The runs `pack_runs` was given."""
    sizes = array(_LENGTH_TYPE)
    sizes.frombytes(lengths)
    ends = list(accumulate(sizes))
    lines = list(map(joined.__getitem__, map(slice, [0, *ends[:-1]], ends)))
    runs: list[Run] = []
    at = 0
    for app, first_seq, count in heads:
        runs.append((app, first_seq, lines[at : at + count]))
        at += count
    return runs
