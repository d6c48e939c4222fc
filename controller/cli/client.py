"""The `wf` side of the controller API: options shared by every command,
one blocking HTTP call at a time, and errors as one clear line."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import click
import httpx

from controller.cli.config import DEFAULT_CONTROLLER, app_for_directory, load_config

TIMEOUT_SECONDS = 30.0
Command = TypeVar("Command", bound=Callable[..., Any])


@dataclass(frozen=True)
class Connection:
    url: str
    token: str | None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        authenticated: bool = True,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """The reply; an error status raises a ClickException with its message,
        unless it is one of `allow`."""
        headers = {}
        if authenticated:
            if not self.token:
                raise click.ClickException("not logged in: run `wf login` (or set WF_TOKEN)")
            headers["Authorization"] = f"token {self.token}"
        try:
            with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
                reply = client.request(
                    method, f"{self.url}{path}", json=body, params=params, headers=headers
                )
        except httpx.HTTPError as error:
            raise click.ClickException(
                f"cannot reach the controller at {self.url} ({type(error).__name__}); "
                "is `wf serve` running? Set --controller or WF_CONTROLLER_URL."
            ) from None
        if reply.status_code >= 400 and reply.status_code not in allow:
            raise click.ClickException(error_text(reply))
        return reply


def error_text(reply: httpx.Response) -> str:
    try:
        body = reply.json()
        detail = body.get("detail") if isinstance(body, dict) else None
    except ValueError:
        detail = None
    detail = str(detail or reply.text.strip() or reply.reason_phrase)
    if reply.status_code == 401:
        return f"{detail} (run `wf login`)" if "wf login" not in detail else detail
    return f"{detail} ({reply.status_code})"


def connection_options(command: Command) -> Command:
    command = click.option(
        "--token",
        envvar="WF_TOKEN",
        default=None,
        help="API token (env WF_TOKEN; default: the one `wf login` saved).",
    )(command)
    return click.option(
        "--controller",
        "controller_url",
        envvar="WF_CONTROLLER_URL",
        default=None,
        help=f"Controller URL (env WF_CONTROLLER_URL; default: saved, else {DEFAULT_CONTROLLER}).",
    )(command)


def connect(controller_url: str | None, token: str | None) -> Connection:
    config = load_config()
    url = controller_url or config.controller or DEFAULT_CONTROLLER
    return Connection(url.rstrip("/"), token or config.token)


def app_option(command: Command) -> Command:
    return click.option(
        "-a", "--app", default=None, help="The app (default: the current directory's)."
    )(command)


def resolve_app(app: str | None) -> str:
    found = app or app_for_directory()
    if not found:
        raise click.ClickException(
            "no app given: use -a APP (or run `wf apps create --here` in this directory)"
        )
    return found


def app_path(app: str, suffix: str = "") -> str:
    return f"/v2/apps/{quote(app, safe='')}{suffix}"


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))
