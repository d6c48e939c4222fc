"""`wf`: the command-line client and the all-in-one server."""

from __future__ import annotations

import click

from controller.cli.app_drains import drains
from controller.cli.apps import apps
from controller.cli.collectors import collectors
from controller.cli.drains import drains as logger_drains
from controller.cli.emit import emit
from controller.cli.login import login, logout, register, whoami
from controller.cli.logs import logs
from controller.cli.metrics import metrics
from controller.cli.migrate import migrate
from controller.cli.perms import perms
from controller.cli.serve import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workflow-observability", prog_name="wf")
def cli() -> None:
    """Workflow Observability: apps, their logs and drains, and the servers behind them."""


@click.group("logger")
def logger_commands() -> None:
    """Operator commands that talk to a logger's API directly (no controller, no login)."""


logger_commands.add_command(logger_drains)

for command in (
    serve,
    migrate,
    register,
    login,
    logout,
    whoami,
    apps,
    logs,
    metrics,
    drains,
    perms,
    emit,
    logger_commands,
    collectors,
):
    cli.add_command(command)


if __name__ == "__main__":
    cli()
