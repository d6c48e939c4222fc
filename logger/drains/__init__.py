"""Log drains: per-app forwarding of log lines to syslog and HTTP(S) sinks.

What the rest of the logger uses:

- `DrainRegistry(settings, metrics_registry)`: `await start()` / `await close()`
  around the application's life, and `deliver(app, lines)` after lines are
  stored (synchronous, never waits).
- `DrainSettings.from_env(environ)`.
- `logger.drains.api`: `DRAINS` (the AppKey) and `routes`.

See docs/drains.md for the URL schemes, delivery semantics and metrics.
"""

from __future__ import annotations

from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.drains.view import DrainView

__all__ = ["DrainRegistry", "DrainSettings", "DrainView"]
