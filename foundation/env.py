"""Parsers for settings read from environment variables.

The settings declarations (`foundation.settings`) parse with these, so that
an invalid value fails at start with a message naming the variable, and
nothing else in the code reads `os.environ`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from foundation.errors import SettingsError

_UNITS = {
    "": 1,
    "k": 1 << 10,
    "ki": 1 << 10,
    "m": 1 << 20,
    "mi": 1 << 20,
    "g": 1 << 30,
    "gi": 1 << 30,
}
Number = TypeVar("Number", int, float)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_int(raw: str, name: str, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    return in_range(name, value, minimum, maximum)


def parse_float(raw: str, name: str, minimum: float = 0.0, maximum: float | None = None) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    return in_range(name, value, minimum, maximum)


def parse_size(raw: str, name: str, minimum: int = 1) -> int:
    """A size such as `16384`, `16KiB`, `256M` or `1GiB`."""
    text = raw.strip().lower().removesuffix("b")
    digits = text.rstrip("kmgi")
    unit = text[len(digits) :]
    if unit not in _UNITS or not digits.isdigit():
        raise SettingsError(f"{name} must be a size like 16384, 16KiB or 256MiB, got {raw!r}")
    return in_range(name, int(digits) * _UNITS[unit], minimum, None)


def format_size(value: int) -> str:
    """The shortest exact spelling `parse_size` reads back: 16384 -> `16KiB`."""
    for suffix, unit in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= unit and value % unit == 0:
            return f"{value // unit}{suffix}"
    return str(value)


def parse_bool(raw: str, name: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def parse_path(raw: str) -> Path:
    return Path(raw.strip()).expanduser()


def state_dir(environ: Mapping[str, str]) -> Path:
    """Where the embedded services keep their files: `$XDG_STATE_HOME/workflow`,
    else `~/.local/state/workflow` (never the directory `wf serve` runs in)."""
    base = environ.get("XDG_STATE_HOME", "").strip()
    root = Path(base) if base else Path(environ.get("HOME", "~")).expanduser() / ".local/state"
    return root / "workflow"


def in_range(name: str, value: Number, minimum: Number, maximum: Number | None) -> Number:
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise SettingsError(f"{name} must be at least {minimum}{upper}, got {value}")
    return value
