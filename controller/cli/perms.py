"""`wf perms add|list|remove -a APP USER`: an app's collaborators."""

from __future__ import annotations

from urllib.parse import quote

import click

from controller.cli.client import (
    app_option,
    app_path,
    connect,
    connection_options,
    print_json,
    resolve_app,
)


@click.group()
def perms() -> None:
    """Share an app with other users."""


@perms.command("add")
@click.argument("username")
@app_option
@connection_options
def add(username: str, app: str | None, controller_url: str | None, token: str | None) -> None:
    """Let USERNAME use the app."""
    name = resolve_app(app)
    connect(controller_url, token).request(
        "POST", app_path(name, "/perms"), body={"username": username}
    )
    click.echo(f"Added {username} to {name} collaborators")


@perms.command("list")
@app_option
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON.")
@connection_options
def list_perms(
    app: str | None, as_json: bool, controller_url: str | None, token: str | None
) -> None:
    """List the app's collaborators."""
    name = resolve_app(app)
    users = connect(controller_url, token).request("GET", app_path(name, "/perms")).json()
    if as_json:
        print_json(users["users"])
        return
    click.echo(f"=== {name}'s Users")
    for user in users["users"]:
        click.echo(user)


@perms.command("remove")
@click.argument("username")
@app_option
@connection_options
def remove(username: str, app: str | None, controller_url: str | None, token: str | None) -> None:
    """Stop USERNAME from using the app."""
    name = resolve_app(app)
    connect(controller_url, token).request(
        "DELETE", app_path(name, f"/perms/{quote(username, safe='')}")
    )
    click.echo(f"Removed {username} from {name} collaborators")
