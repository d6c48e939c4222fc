"""Prometheus-format alert and recording rules (for vmalert and Prometheus),
generated from the metrics catalog into dashboards/generated/rules/."""
