"""Metrics: the catalog of named PromQL queries (the one source of every
query the controller, dashboards and alert rules run), the VictoriaMetrics
client, and the per-app log metrics the logger exports."""
