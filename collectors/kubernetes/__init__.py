"""The Kubernetes watcher: pod lifecycle lines into app logs, app state metrics.

`lifecycle` is the state machine (API objects in, lines and metric deltas
out, no I/O); `stream` runs one list-then-watch loop per resource in a
thread; `watcher` wires them to the logger's ingest path and registry.
"""
