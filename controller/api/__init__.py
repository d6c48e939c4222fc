"""The controller's HTTP API under /v2/ (Drycc-style shapes)."""
