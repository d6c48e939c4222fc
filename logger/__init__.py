"""The logger: forward ingest, per-app rings, the logs API and live tails."""
