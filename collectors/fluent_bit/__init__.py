"""The node pipeline as code: settings in, Fluent Bit 5 YAML config out.

`FluentBitSettings` describes one DaemonSet's pipeline; `render_config` turns
it into the YAML text Fluent Bit reads, byte for byte the same for the same
settings (the Helm chart embeds that very text). See docs/collectors.md.
"""

from __future__ import annotations

from collectors.fluent_bit.config import build_config, render_config
from collectors.fluent_bit.settings import (
    ConfigError,
    EnvSecret,
    FluentBitSettings,
    InlineSecret,
    LoggerAddress,
    Secret,
)

__all__ = [
    "ConfigError",
    "EnvSecret",
    "FluentBitSettings",
    "InlineSecret",
    "LoggerAddress",
    "Secret",
    "build_config",
    "render_config",
]
