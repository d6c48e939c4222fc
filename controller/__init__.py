"""The controller slice and the `wf` command-line client."""
