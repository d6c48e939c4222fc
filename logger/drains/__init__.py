"""Log drains: per-app forwarding of log lines to syslog and HTTP(S) sinks.

What the rest of the logger uses:

- `logger.drains.registry.DrainRegistry(settings, metrics_registry)`:
  `await start()` / `await close()` around the application's life, and
  `deliver(app, lines)` after lines are stored (synchronous, never waits).
- `logger.drains.settings.DrainSettings.from_env(environ)` (the sinks' own
  settings in `.syslog` and `.http`).
- `logger.drains.api`: `DRAINS` (the AppKey) and `routes`.

Layout (Vector's sink shape): `registry` (the set of drains) apart from
`persistence` (the state file, the crash checkpoint); `base` (buffer,
batches, bounded retries, confirmation); `sinks/syslog/` and `sinks/http/`
(each its settings, encoder, transport) and `sinks/factory`; `transport`
(TLS, connections to checked addresses, error text) and `destinations`
(the destination policy) shared by both sinks.

See docs/drains.md for the URL schemes, delivery semantics and metrics.

This package imports none of its modules: `wf` redacts drain URLs with
`logger.drains.url` and must not load the sinks and their HTTP client to do so.
"""
