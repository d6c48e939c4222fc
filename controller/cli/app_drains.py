"""`wf drains add|list|info|remove -a APP`: an app's log drains, through the
controller (which stores them and pushes them to the logger).

URLs are printed as the controller returns them: redacted."""

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
def drains() -> None:
    """Send an app's logs to syslog or HTTPS endpoints."""


@drains.command("add")
@click.argument("url")
@app_option
@connection_options
def add(url: str, app: str | None, controller_url: str | None, token: str | None) -> None:
    """Add a drain: syslog://, syslog+tls://, syslog+udp://, https:// ..."""
    name = resolve_app(app)
    drain = (
        connect(controller_url, token)
        .request("POST", app_path(name, "/drains"), body={"url": url})
        .json()
    )
    click.echo(f"Added drain {drain['id']} to {name}: {drain['url']}")


@drains.command("list")
@app_option
@click.option("--json", "as_json", is_flag=True, help="Print the drains as JSON.")
@connection_options
def list_drains(
    app: str | None, as_json: bool, controller_url: str | None, token: str | None
) -> None:
    """List the app's drains and their state."""
    name = resolve_app(app)
    body = connect(controller_url, token).request("GET", app_path(name, "/drains")).json()
    if as_json:
        print_json(body["results"])
        return
    if not body["results"]:
        click.echo(f"{name} has no drains")
        return
    click.echo(f"=== {name} Drains")
    for drain in body["results"]:
        click.echo(f"{drain['id']}  {drain['state'] or 'unknown':<10} {drain['url']}")


@drains.command("info")
@click.argument("drain_id")
@app_option
@click.option("--json", "as_json", is_flag=True, help="Print the drain as JSON.")
@connection_options
def info(
    drain_id: str, app: str | None, as_json: bool, controller_url: str | None, token: str | None
) -> None:
    """Show one drain: its counters summed over every logger replica, and each replica's."""
    name = resolve_app(app)
    drain = (
        connect(controller_url, token)
        .request("GET", app_path(name, f"/drains/{quote(drain_id, safe='')}"))
        .json()
    )
    if as_json:
        print_json(drain)
        return
    click.echo(f"=== {name} drain {drain['id']}")
    click.echo(f"url:        {drain['url']}")
    click.echo(f"created:    {drain['created']}")
    if drain.get("state") is None:
        click.echo("state:      unknown (the logger did not answer)")
        return
    click.echo(f"state:      {drain['state']}")
    click.echo(f"delivered:  {drain['delivered_lines']} lines ({drain['delivered_bytes']} bytes)")
    dropped = ", ".join(f"{reason} {lines}" for reason, lines in sorted(drain["dropped"].items()))
    click.echo(f"dropped:    {drain['dropped_lines']} lines" + (f" ({dropped})" if dropped else ""))
    click.echo(f"buffered:   {drain['buffered_lines']} lines; {drain['retries']} retries")
    if drain.get("last_error"):
        click.echo(f"last error: {drain['last_error']} (at {drain['last_error_at']})")
    replicas = drain.get("replicas")
    if replicas:
        click.echo(f"--- per logger replica ({len(replicas)})")
        for replica in replicas:
            click.echo(
                f"{replica['replica']}  {replica['state']:<11} delivered "
                f"{replica['delivered_lines']}  dropped {replica['dropped_lines']}  "
                f"buffered {replica['buffered_lines']}"
            )


@drains.command("remove")
@click.argument("drain_id")
@app_option
@connection_options
def remove(drain_id: str, app: str | None, controller_url: str | None, token: str | None) -> None:
    """Remove the drain DRAIN_ID (from `wf drains list`)."""
    name = resolve_app(app)
    connect(controller_url, token).request(
        "DELETE", app_path(name, f"/drains/{quote(drain_id, safe='')}")
    )
    click.echo(f"Removed drain {drain_id} from {name}")
