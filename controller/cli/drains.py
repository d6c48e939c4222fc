"""`wf logger drains`: add, list and remove an app's log drains through the logger API.

    wf logger drains add --app shop syslog+tls://logs.example.com:6514
    wf logger drains list --app shop [--json]
    wf logger drains remove --app shop <id or URL>

URLs are printed as the logger returns them (redacted). Any failure (logger
unreachable, an error answer) is one line on stderr and exit status 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import click
import httpx

from logger.drains.url import redact_url

DEFAULT_LOGGER_URL = "http://127.0.0.1:8088"
TIMEOUT_SECONDS = 10.0
Command = TypeVar("Command", bound=Callable[..., Any])


def _options(command: Command) -> Command:
    command = click.option(
        "--logger-url",
        envvar="WF_LOGGER_URL",
        default=DEFAULT_LOGGER_URL,
        show_default=True,
        help="Base URL of the logger API (env WF_LOGGER_URL).",
    )(command)
    return click.option("--app", "-a", required=True, help="The app whose drains to manage.")(
        command
    )


def _request(method: str, logger_url: str, path: str, body: Any = None) -> httpx.Response:
    base = logger_url.rstrip("/")
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            response = client.request(method, f"{base}{path}", json=body)
    except httpx.TimeoutException:
        raise click.ClickException(f"the logger at {base} did not answer in time") from None
    except httpx.HTTPError as error:
        reason = re.sub(r"^\[Errno -?\d+\] ", "", str(error)) or type(error).__name__
        raise click.ClickException(f"cannot reach the logger at {base}: {reason}") from None
    if response.status_code >= 400:
        raise click.ClickException(_error_text(response))
    return response


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        return str(body["detail"])
    return f"the logger answered HTTP {response.status_code}"


def _drains(logger_url: str, app: str) -> list[dict[str, Any]]:
    body = _request("GET", logger_url, f"/drains/{quote(app, safe='')}").json()
    drains = body.get("drains") if isinstance(body, dict) else None
    if not isinstance(drains, list):
        raise click.ClickException("the logger's answer has no drains list")
    return [drain for drain in drains if isinstance(drain, dict)]


@click.group("drains")
def drains() -> None:
    """Forward an app's logs to syslog or HTTP(S) endpoints."""


@drains.command("add")
@_options
@click.argument("url")
def add(app: str, logger_url: str, url: str) -> None:
    """Add a drain: syslog://, syslog+tcp://, syslog+tls://, syslog+udp://, https:// or http://."""
    view = _request("POST", logger_url, f"/drains/{quote(app, safe='')}", {"url": url}).json()
    click.echo(f"Added drain {view['id']} to {app}: {view['url']}")


@drains.command("list")
@_options
@click.option("--json", "as_json", is_flag=True, help="Print the drains as JSON.")
def list_(app: str, logger_url: str, as_json: bool) -> None:
    """List an app's drains with their state and counts."""
    found = _drains(logger_url, app)
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo(f"No drains for {app}.")
        return
    rows = [
        (
            str(drain.get("id")),
            str(drain.get("state")),
            str(drain.get("delivered_lines")),
            str(drain.get("dropped_lines")),
            str(drain.get("url")),
        )
        for drain in found
    ]
    header = ("ID", "STATE", "DELIVERED", "DROPPED", "URL")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(4)]
    for row, drain in zip([header, *rows], [None, *found], strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[4]]).rstrip())
        if drain is not None and drain.get("last_error"):
            click.echo(f"    last error at {drain.get('last_error_at')}: {drain['last_error']}")


@drains.command("remove")
@_options
@click.argument("drain", metavar="ID_OR_URL")
def remove(app: str, logger_url: str, drain: str) -> None:
    """Remove a drain, named by its id or its URL."""
    found = _drains(logger_url, app)
    # Never echo a URL as typed: it may hold credentials.
    shown = redact_url(drain) if "://" in drain else repr(drain[:40])
    matches = [view for view in found if drain == view.get("id")]
    if not matches and "://" in drain:
        matches = [view for view in found if view.get("url") == shown]
    if not matches:
        raise click.ClickException(f"{app} has no drain {shown}")
    if len(matches) > 1:
        raise click.ClickException(f"{len(matches)} drains of {app} match {shown}; remove by id")
    drain_id = str(matches[0]["id"])
    _request("DELETE", logger_url, f"/drains/{quote(app, safe='')}/{quote(drain_id, safe='')}")
    click.echo(f"Removed drain {drain_id} from {app}: {matches[0].get('url')}")
