"""Typed readers for settings in environment variables.

Each component's settings dataclass builds itself in `from_env(environ)`
with these, so that an invalid value fails at start with a message naming
the variable, and nothing else in the code reads `os.environ`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from logger.errors import SettingsError

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


def env_str(environ: Mapping[str, str], name: str, default: str) -> str:
    return environ.get(name, default)


def env_int(
    environ: Mapping[str, str],
    name: str,
    default: int,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    return _in_range(name, value, minimum, maximum)


def env_float(
    environ: Mapping[str, str],
    name: str,
    default: float,
    minimum: float = 0.0,
    maximum: float | None = None,
) -> float:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    return _in_range(name, value, minimum, maximum)


def env_bytes(environ: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    """A size such as `16384`, `16KiB`, `256M` or `1GiB`."""
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return parse_size(raw, name, minimum)


def parse_size(raw: str, name: str, minimum: int = 1) -> int:
    text = raw.strip().lower().removesuffix("b")
    digits = text.rstrip("kmgi")
    unit = text[len(digits) :]
    if unit not in _UNITS or not digits.isdigit():
        raise SettingsError(f"{name} must be a size like 16384, 16KiB or 256MiB, got {raw!r}")
    return _in_range(name, int(digits) * _UNITS[unit], minimum, None)


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def env_path(environ: Mapping[str, str], name: str, default: Path | None) -> Path | None:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return Path(raw.strip()).expanduser()


def state_dir(environ: Mapping[str, str]) -> Path:
    """Where the embedded services keep their files: `$XDG_STATE_HOME/workflow`,
    else `~/.local/state/workflow` (never the directory `wf serve` runs in)."""
    base = environ.get("XDG_STATE_HOME", "").strip()
    root = Path(base) if base else Path(environ.get("HOME", "~")).expanduser() / ".local/state"
    return root / "workflow"


def _in_range(name: str, value: Number, minimum: Number, maximum: Number | None) -> Number:
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum}"
        raise SettingsError(f"{name} must be at least {minimum}{upper}, got {value}")
    return value
