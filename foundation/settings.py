"""Settings declared once.

A `Setting` is the one declaration of a setting: its environment variable,
how the text is parsed and checked (errors name the variable, never show a
secret value), its default, its description and, for a few, the `wf serve`
flag. Everything else is derived from it: `from_environ` builds a settings
dataclass, `wf serve` builds its flags and their help (default shown), and
`foundation.settings_docs` writes docs/settings.md.

A settings class is a frozen dataclass whose fields are `declared(...)`:

    @dataclass(frozen=True)
    class ApiSettings:
        port: int = declared(Setting("WF_LOGGER_PORT", Integer(0, 65535), 8088,
                                     "Port of the logs API.", flag="--http-port"))

        @classmethod
        def from_env(cls, environ: Mapping[str, str]) -> ApiSettings:
            return from_environ(cls, environ)

Settings a class reads without a field of its own (secrets that build a
handshake, say) are listed in its `ALSO_READS` class variable. A setting two
components read (`WF_LOGGER_MAX_FOLLOW_TIMEOUT`) is one `Setting` object used
by both classes.

Plain dataclasses rather than pydantic-settings: `wf --help` and the client
commands import every declaration (the `wf serve` flags come from them).
`import foundation.settings` takes 22-28 ms with its standard-library imports,
`import pydantic_settings` alone 220-510 ms on the same machine (pydantic
2.14.4, pydantic-settings 2.16.3, `python -X importtime`), before a model is
built. What we need of it (sizes such as `16KiB`, ranges, enums, errors that
name the variable) is a few lines each in `foundation.env` and the kinds below.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from foundation.env import (
    format_size,
    parse_bool,
    parse_float,
    parse_int,
    parse_path,
    parse_size,
)
from foundation.errors import SettingsError

T = TypeVar("T")
E = TypeVar("E", bound=enum.StrEnum)
S = TypeVar("S")

# The key of a dataclass field's metadata that holds its declaration.
_METADATA_KEY = "workflow.setting"


class Kind(ABC, Generic[T]):
    """How the text of a variable becomes a value, and how a value is shown."""

    type_name: str = "text"
    # A secret's value is never shown (docs, errors, help) and it never gets a flag.
    secret: bool = False

    @abstractmethod
    def parse(self, raw: str, variable: str) -> T:
        """The value of `raw`; a SettingsError naming `variable` if invalid."""

    def bounds(self) -> str:
        return ""

    def show(self, value: T) -> str:
        return "" if value is None else str(value)


class Text(Kind[str]):
    """Text, stripped of surrounding blanks (and of trailing `rstrip` characters)."""

    type_name = "text"

    def __init__(self, rstrip: str = "") -> None:
        self.rstrip = rstrip

    def parse(self, raw: str, variable: str) -> str:
        value = raw.strip()
        return value.rstrip(self.rstrip) if self.rstrip else value


class Secret(Kind[str]):
    """Text never shown: not in docs, not in errors, never a flag."""

    type_name = "secret"
    secret = True

    def parse(self, raw: str, variable: str) -> str:
        return raw

    def show(self, value: str) -> str:
        return "unset" if not value else "(secret)"


class Integer(Kind[int]):
    type_name = "integer"

    def __init__(self, minimum: int = 0, maximum: int | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def parse(self, raw: str, variable: str) -> int:
        return parse_int(raw, variable, self.minimum, self.maximum)

    def bounds(self) -> str:
        return _bounds(str(self.minimum), None if self.maximum is None else str(self.maximum))


class Number(Kind[float]):
    type_name = "number"

    def __init__(self, minimum: float = 0.0, maximum: float | None = None) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def parse(self, raw: str, variable: str) -> float:
        return parse_float(raw, variable, self.minimum, self.maximum)

    def bounds(self) -> str:
        upper = None if self.maximum is None else _number(self.maximum)
        return _bounds(_number(self.minimum), upper)

    def show(self, value: float) -> str:
        return _number(value)


class Seconds(Number):
    type_name = "seconds"


class Size(Kind[int]):
    """Bytes, written `16384`, `16KiB`, `256M` or `1GiB`."""

    type_name = "size"

    def __init__(self, minimum: int = 1) -> None:
        self.minimum = minimum

    def parse(self, raw: str, variable: str) -> int:
        return parse_size(raw, variable, self.minimum)

    def bounds(self) -> str:
        return _bounds(format_size(self.minimum), None)

    def show(self, value: int) -> str:
        return format_size(value)


class FilePath(Kind["Path | None"]):
    """A path; `off` words (e.g. `none`) turn it off (None) when given."""

    type_name = "path"

    def __init__(self, off: frozenset[str] = frozenset()) -> None:
        self.off = off

    def parse(self, raw: str, variable: str) -> Path | None:
        if raw.strip().lower() in self.off:
            return None
        return parse_path(raw)

    def bounds(self) -> str:
        return "off: " + ", ".join(sorted(self.off)) if self.off else ""


class Folder(Kind[Path]):
    """A folder's path, always set (the default when the variable is unset)."""

    type_name = "path"

    def parse(self, raw: str, variable: str) -> Path:
        return parse_path(raw)


class Choice(Kind[E]):
    """One value of a StrEnum, case-insensitive."""

    type_name = "choice"

    def __init__(self, enum_type: type[E]) -> None:
        self.enum_type = enum_type

    def parse(self, raw: str, variable: str) -> E:
        value = raw.strip().lower()
        try:
            return self.enum_type(value)
        except ValueError:
            allowed = ", ".join(member.value for member in self.enum_type)
            raise SettingsError(f"{variable} must be one of {allowed}, got {value!r}") from None

    def bounds(self) -> str:
        return " | ".join(member.value for member in self.enum_type)


class Flag(Kind[bool]):
    """On or off: true/false, yes/no, on/off, 1/0."""

    type_name = "boolean"

    def parse(self, raw: str, variable: str) -> bool:
        return parse_bool(raw, variable)

    def show(self, value: bool) -> str:
        return "on" if value else "off"


class HttpUrl(Kind["str | None"]):
    """An http:// or https:// URL, without its trailing slash. The value is
    never shown in an error: it may hold credentials."""

    type_name = "url"

    def parse(self, raw: str, variable: str) -> str | None:
        value = raw.strip()
        if not value.startswith(("http://", "https://")):
            raise SettingsError(f"{variable} must be an http:// or https:// URL")
        return value.rstrip("/")

    def bounds(self) -> str:
        return "http:// or https://"


class Pattern(Kind[str]):
    """Text that must match a regular expression; `message` says what it must be."""

    type_name = "text"

    def __init__(self, pattern: str, message: str) -> None:
        self.pattern = re.compile(pattern)
        self.message = message

    def parse(self, raw: str, variable: str) -> str:
        value = raw.strip()
        if not self.pattern.fullmatch(value):
            raise SettingsError(f"{variable} must be {self.message}, got {value!r}")
        return value

    def bounds(self) -> str:
        return self.message


@dataclass(frozen=True, eq=False)
class Setting(Generic[T]):
    """The one declaration of a setting. A blank variable is an unset one."""

    variable: str
    kind: Kind[T]
    default: T
    description: str
    # The `wf serve` flag; secrets never get one (they would show in a process list).
    flag: str | None = None
    # A check of the parsed value, raising a SettingsError that names the variable.
    check: Callable[[str, T], None] | None = None
    # A default that depends on the environment (a state directory), with its
    # spelling for help and docs.
    default_from: Callable[[Mapping[str, str]], T] | None = None
    shown_default: str | None = None

    def __post_init__(self) -> None:
        if self.flag is not None and self.kind.secret:
            raise ValueError(f"{self.variable} is a secret and cannot have a flag")

    @property
    def secret(self) -> bool:
        return self.kind.secret

    def read(self, environ: Mapping[str, str]) -> T:
        raw = environ.get(self.variable)
        if raw is None or raw.strip() == "":
            if self.default_from is not None:
                return self.default_from(environ)
            return self.default
        value = self.kind.parse(raw, self.variable)
        if self.check is not None:
            self.check(self.variable, value)
        return value

    def default_text(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        return self.kind.show(self.default) or "unset"

    def help(self) -> str:
        """The flag's help: the description, the default and the variable."""
        return f"{self.description} [{self.default_text()}] (env {self.variable})"


def declared(setting: Setting[T]) -> T:
    """A dataclass field whose default and declaration are `setting`'s."""
    value: T = dataclasses.field(default=setting.default, metadata={_METADATA_KEY: setting})
    return value


def declarations(cls: type[Any]) -> Iterator[tuple[str | None, Setting[Any]]]:
    """(field name or None, declaration) of every setting `cls` reads, fields first."""
    for item in dataclasses.fields(cls):
        setting = item.metadata.get(_METADATA_KEY)
        if setting is not None:
            yield item.name, setting
    for setting in getattr(cls, "ALSO_READS", ()):
        yield None, setting


def from_environ(cls: type[S], environ: Mapping[str, str], **values: Any) -> S:
    """An instance of the settings class `cls` with every declared field read
    from `environ`, except those given in `values` (built by the class)."""
    for name, setting in declarations(cls):
        if name is not None and name not in values:
            values[name] = setting.read(environ)
    return cls(**values)


def _number(value: float) -> str:
    """3600.0 -> `3600`, 0.005 -> `0.005`, 2592000.0 -> `2592000` (never 2.592e+06)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _bounds(minimum: str, maximum: str | None) -> str:
    return f">= {minimum}" if maximum is None else f"{minimum} to {maximum}"
