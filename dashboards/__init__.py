"""Grafana dashboards as code and Prometheus-format alert and recording
rules for the platform, every query taken from the metrics catalog.

`python -m dashboards.build` writes `dashboards/generated/`; see
docs/dashboards.md.
"""
