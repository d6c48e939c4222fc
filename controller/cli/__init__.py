"""The `wf` command-line client."""
