"""`wf apps create|list|info|destroy`."""

from __future__ import annotations

import sys
from typing import Any

import click

from controller.cli.client import (
    app_option,
    app_path,
    connect,
    connection_options,
    print_json,
    resolve_app,
)
from controller.cli.config import remember_app


@click.group()
def apps() -> None:
    """Create, list, inspect and destroy apps."""


@apps.command("create")
@click.argument("name", required=False)
@click.option("--here", is_flag=True, help="Make it the app of the current directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the app as JSON.")
@connection_options
def create(
    name: str | None, here: bool, as_json: bool, controller_url: str | None, token: str | None
) -> None:
    """Create an app (a readable name is chosen when NAME is left out)."""
    connection = connect(controller_url, token)
    body = {"id": name} if name else {}
    app = connection.request("POST", "/v2/apps", body=body).json()
    if here:
        remember_app(app["id"])
    if as_json:
        print_json(app)
        return
    click.echo(f"Created {app['id']}")


@apps.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the apps as JSON.")
@connection_options
def list_apps(as_json: bool, controller_url: str | None, token: str | None) -> None:
    """List the apps you own, collaborate on, or (admins) all of them."""
    connection = connect(controller_url, token)
    results: list[dict[str, Any]] = []
    offset = 0
    while True:  # every page; each is at most 1000 apps
        page = connection.request(
            "GET", "/v2/apps", params={"limit": "1000", "offset": str(offset)}
        ).json()
        results.extend(page["results"])
        if not page.get("next") or not page["results"]:
            break
        offset += len(page["results"])
    if as_json:
        print_json(results)
        return
    if not results:
        click.echo("No apps")
        return
    click.echo("=== Apps")
    for app in results:
        click.echo(app["id"])


@apps.command("info")
@app_option
@click.option("--json", "as_json", is_flag=True, help="Print the app as JSON.")
@connection_options
def info(app: str | None, as_json: bool, controller_url: str | None, token: str | None) -> None:
    """Show an app."""
    connection = connect(controller_url, token)
    shown = connection.request("GET", app_path(resolve_app(app))).json()
    if as_json:
        print_json(shown)
        return
    click.echo(f"=== {shown['id']} Application")
    for field in ("uuid", "owner", "created", "updated"):
        click.echo(f"{field + ':':<9} {shown[field]}")


@apps.command("destroy")
@app_option
@click.option("--confirm", default=None, metavar="APP", help="Skip the prompt: the app's name.")
@connection_options
def destroy(
    app: str | None, confirm: str | None, controller_url: str | None, token: str | None
) -> None:
    """Destroy an app: its namespace, logs, drains and record."""
    name = resolve_app(app)
    if confirm is None:
        if not sys.stdin.isatty():
            raise click.ClickException(f"destroying {name} needs --confirm {name}")
        click.echo(f"This destroys {name}, its logs and its drains, and cannot be undone.")
        confirm = click.prompt(f"Type {name} to confirm", default="", show_default=False)
    if confirm != name:
        raise click.ClickException(f"{confirm!r} does not match {name}: nothing destroyed")
    connect(controller_url, token).request("DELETE", app_path(name))
    click.echo(f"Destroyed {name}")
