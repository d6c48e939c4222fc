"""Reading msgpack headers straight from a frame's bytes, for the wire path.

`Router.route_wire` (logger.route_loop) routes the common Forward-mode frame
from its bytes, with no object made per record but the stored line. These
are its readers: each takes the frame and a position and returns where the
value (or its header) ends, or -1 for a form the wire path does not take,
which sends the whole frame to the decoder (logger.forward.protocol).

They are compiled with the routing loop (see `logger.compiled`), so they
stay plain, strictly typed Python on ints and bytes. A position past the end
raises IndexError, which the caller treats as "not taken" too: the frame
scanner only hands out complete values, so that means a bug, never data.
"""

from __future__ import annotations

from typing import Final

# A skipped value that opens more containers than this is left to the
# decoder: it is the one to judge nesting (it refuses frames nested past
# Python's recursion limit), and no record field the loop skips nests so.
MAX_SKIPPED_CONTAINERS: Final = 64

NIL: Final = 0xC0
FIXEXT8: Final = 0xD7
EVENT_TIME_CODE: Final = 0
FIXARRAY_2: Final = 0x92
FIXARRAY_3: Final = 0x93


def uint(frame: bytes, pos: int, width: int) -> int:
    """The big-endian unsigned integer of `width` bytes at `pos`."""
    value = 0
    for index in range(pos, pos + width):
        value = (value << 8) | frame[index]
    return value


def str_start(frame: bytes, pos: int) -> int:
    """Where the bytes of the str at `pos` start, or -1 if it is not a str."""
    kind = frame[pos]
    if 0xA0 <= kind <= 0xBF:
        return pos + 1
    if kind == 0xD9:
        return pos + 2
    if kind == 0xDA:
        return pos + 3
    if kind == 0xDB:
        return pos + 5
    return -1


def str_length(frame: bytes, pos: int) -> int:
    """The byte length of the str whose header is at `pos` (a str: see str_start)."""
    kind = frame[pos]
    if kind <= 0xBF:
        return kind & 0x1F
    if kind == 0xD9:
        return frame[pos + 1]
    return uint(frame, pos + 1, 2 if kind == 0xDA else 4)


def payload_start(frame: bytes, pos: int) -> int:
    """Where the bytes of the str or bin at `pos` start, or -1 for neither
    (PackedForward entries come in either)."""
    kind = frame[pos]
    if kind == 0xC4:
        return pos + 2
    if kind == 0xC5:
        return pos + 3
    if kind == 0xC6:
        return pos + 5
    return str_start(frame, pos)


def payload_length(frame: bytes, pos: int) -> int:
    """The byte length of the str or bin whose header is at `pos`."""
    kind = frame[pos]
    if kind == 0xC4:
        return frame[pos + 1]
    if kind == 0xC5:
        return uint(frame, pos + 1, 2)
    if kind == 0xC6:
        return uint(frame, pos + 1, 4)
    return str_length(frame, pos)


def container_start(frame: bytes, pos: int, maps: bool) -> int:
    """Where the items of the map (`maps`) or array at `pos` start, or -1."""
    kind = frame[pos]
    if maps:
        if 0x80 <= kind <= 0x8F:
            return pos + 1
        if kind == 0xDE:
            return pos + 3
        if kind == 0xDF:
            return pos + 5
        return -1
    if 0x90 <= kind <= 0x9F:
        return pos + 1
    if kind == 0xDC:
        return pos + 3
    if kind == 0xDD:
        return pos + 5
    return -1


def container_count(frame: bytes, pos: int) -> int:
    """The item count of the map or array whose header is at `pos`."""
    kind = frame[pos]
    if kind <= 0x9F:
        return kind & 0x0F
    return uint(frame, pos + 1, 2 if kind in (0xDC, 0xDE) else 4)


def same_bytes(frame: bytes, pos: int, word: bytes) -> bool:
    """Whether `word` is in `frame` at `pos` (within the frame)."""
    if pos + len(word) > len(frame):
        return False
    for index in range(len(word)):  # noqa: SIM110 - compiled, a loop is native, all() is not
        if frame[pos + index] != word[index]:
            return False
    return True


def is_ascii_span(frame: bytes, start: int, end: int) -> bool:
    for index in range(start, end):  # noqa: SIM110 - as above
        if frame[index] >= 0x80:
            return False
    return True


def skip(frame: bytes, pos: int) -> int:
    """The end of the msgpack value at `pos`, or -1 (0xc1, or too many containers).

    Counts the items still to skip instead of recursing: a container adds
    its items, every header takes one."""
    pending = 1
    containers = 0
    while pending:
        pending -= 1
        kind = frame[pos]
        if kind <= 0x7F or kind >= 0xE0 or kind == NIL or kind == 0xC2 or kind == 0xC3:
            pos += 1
        elif kind <= 0x9F:  # fixmap, fixarray
            containers += 1
            pending += (kind & 0x0F) * (2 if kind <= 0x8F else 1)
            pos += 1
        elif kind <= 0xBF:  # fixstr
            pos += 1 + (kind & 0x1F)
        elif kind == 0xC4 or kind == 0xD9:  # bin 8, str 8
            pos += 2 + frame[pos + 1]
        elif kind == 0xC5 or kind == 0xDA:
            pos += 3 + uint(frame, pos + 1, 2)
        elif kind == 0xC6 or kind == 0xDB:
            pos += 5 + uint(frame, pos + 1, 4)
        elif kind == 0xC7:  # ext 8: length, type, data
            pos += 3 + frame[pos + 1]
        elif kind == 0xC8:
            pos += 4 + uint(frame, pos + 1, 2)
        elif kind == 0xC9:
            pos += 6 + uint(frame, pos + 1, 4)
        elif kind == 0xCA or kind == 0xCE or kind == 0xD2:  # 4-byte numbers
            pos += 5
        elif kind == 0xCB or kind == 0xCF or kind == 0xD3:  # 8-byte numbers
            pos += 9
        elif kind == 0xCC or kind == 0xD0:
            pos += 2
        elif kind == 0xCD or kind == 0xD1:
            pos += 3
        elif 0xD4 <= kind <= 0xD8:  # fixext 1, 2, 4, 8, 16: type and data
            pos += 2 + (1 << (kind - 0xD4))
        elif 0xDC <= kind <= 0xDF:  # array 16/32, map 16/32
            containers += 1
            width = 2 if kind == 0xDC or kind == 0xDE else 4
            pending += uint(frame, pos + 1, width) * (2 if kind >= 0xDE else 1)
            pos += 1 + width
        else:  # 0xc1 is never used
            return -1
        if containers > MAX_SKIPPED_CONTAINERS:
            return -1
    return pos if pos <= len(frame) else -1
