"""`wf register`, `wf login`, `wf logout`, `wf whoami`.

Passwords are prompted for (hidden), read from one line of stdin with
`--password-stdin`, or from WF_PASSWORD; never a visible flag."""

from __future__ import annotations

import sys

import click

from controller.cli.client import Command, connect, connection_options, print_json
from controller.cli.config import ClientConfig, load_config, save_config


def _password(password: str | None, from_stdin: bool, confirm: bool) -> str:
    if password:
        return password
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.ClickException("--password-stdin: no password on stdin")
        return line
    entered: str = click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return entered


def _password_options(command: Command) -> Command:
    command = click.option(
        "--password-stdin", is_flag=True, help="Read the password from one line of stdin."
    )(command)
    return click.option("--password", envvar="WF_PASSWORD", hidden=True, default=None)(command)


def _login(controller_url: str | None, username: str, password: str) -> str:
    connection = connect(controller_url, None)
    reply = connection.request(
        "POST",
        "/v2/auth/login",
        body={"username": username, "password": password},
        authenticated=False,
    )
    token = str(reply.json()["token"])
    save_config(ClientConfig(controller=connection.url, token=token, username=username))
    return connection.url


@click.command()
@click.option("-u", "--username", prompt=True, help="The new user's name.")
@click.option("-e", "--email", prompt=True, help="The new user's email address.")
@_password_options
@connection_options
def register(
    username: str,
    email: str,
    password: str | None,
    password_stdin: bool,
    controller_url: str | None,
    token: str | None,
) -> None:
    """Register a user (the first one is an admin) and log in as it."""
    secret = _password(password, password_stdin, confirm=True)
    connection = connect(controller_url, token)
    connection.request(
        "POST",
        "/v2/auth/register",
        body={"username": username, "password": secret, "email": email},
        authenticated=bool(connection.token),
    )
    url = _login(controller_url, username, secret)
    click.echo(f"Registered {username}; logged in to {url}")


@click.command()
@click.option("-u", "--username", prompt=True, help="Your user name.")
@_password_options
@connection_options
def login(
    username: str,
    password: str | None,
    password_stdin: bool,
    controller_url: str | None,
    token: str | None,
) -> None:
    """Log in and save the controller URL and a token in the config file."""
    url = _login(controller_url, username, _password(password, password_stdin, confirm=False))
    click.echo(f"Logged in as {username} to {url}")


@click.command()
@click.option("--all", "everywhere", is_flag=True, help="Revoke every token of this user.")
@connection_options
def logout(everywhere: bool, controller_url: str | None, token: str | None) -> None:
    """Revoke the saved token and forget it."""
    connection = connect(controller_url, token)
    if connection.token:
        params = {"all": "true"} if everywhere else None
        connection.request("POST", "/v2/auth/logout", params=params)
    config = load_config()
    save_config(ClientConfig(controller=config.controller))
    click.echo("Logged out")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the user as JSON.")
@connection_options
def whoami(as_json: bool, controller_url: str | None, token: str | None) -> None:
    """Show the logged-in user."""
    connection = connect(controller_url, token)
    user = connection.request("GET", "/v2/auth/whoami").json()
    if as_json:
        print_json(user)
        return
    role = " (admin)" if user.get("is_superuser") else ""
    click.echo(f"You are {user['username']}{role} at {connection.url}")
