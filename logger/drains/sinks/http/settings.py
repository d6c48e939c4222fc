"""Settings of the HTTP sink, declared once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from foundation.settings import Integer, Seconds, Setting, declared, from_environ

# Logplex retries a frame twice before dropping it.
DEFAULT_HTTP_RETRIES = 2


@dataclass(frozen=True)
class HttpSinkSettings:
    """Batching and retries of HTTP(S) drains."""

    batch_interval: float = declared(
        Setting(
            "WF_DRAIN_BATCH_INTERVAL",
            Seconds(),
            0.5,
            "Seconds an HTTP drain waits for a fuller batch.",
        )
    )
    retries: int = declared(
        Setting(
            "WF_DRAIN_HTTP_RETRIES",
            Integer(0, 1000),
            DEFAULT_HTTP_RETRIES,
            "Retries of one HTTP batch (5xx, 429, no answer) before it is dropped.",
        )
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HttpSinkSettings:
        return from_environ(cls, environ)
