"""Log drains: per-app forwarding of log lines to syslog and HTTP(S) sinks.

What the rest of the logger uses:

- `logger.drains.registry.DrainRegistry(settings, metrics_registry)`:
  `await start()` / `await close()` around the application's life, and
  `deliver(app, lines)` after lines are stored (synchronous, never waits).
- `logger.drains.settings.DrainSettings.from_env(environ)`.
- `logger.drains.api`: `DRAINS` (the AppKey) and `routes`.

See docs/drains.md for the URL schemes, delivery semantics and metrics.

This package imports none of its modules: `wf` redacts drain URLs with
`logger.drains.url` and must not load the sinks and their HTTP client to do so.
"""
