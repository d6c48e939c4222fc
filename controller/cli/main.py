"""`wf`: the command-line client and the all-in-one server."""

from __future__ import annotations

import click

from controller.cli.drains import drains
from controller.cli.emit import emit
from controller.cli.logs import logs
from controller.cli.serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workflow-observability", prog_name="wf")
def cli() -> None:
    """Workflow Observability: read, follow and ship your apps' logs."""


cli.add_command(serve)
cli.add_command(logs)
cli.add_command(emit)
cli.add_command(drains)


if __name__ == "__main__":
    cli()
