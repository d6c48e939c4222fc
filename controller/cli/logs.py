"""`wf logs -a APP`: print or follow an app's logs through the controller.

Without -f it is one HTTP request; with -f a WebSocket: one request frame,
then a line per text frame until the controller closes (1000 at the end,
4400/4408/1011 with a reason otherwise). `--logger-url` reads a logger
directly instead (no controller, no authentication: for operators).
"""

from __future__ import annotations

import asyncio
import json
import sys
import zlib

import aiohttp
import click
import httpx

from controller.cli.client import (
    app_option,
    app_path,
    connect,
    connection_options,
    resolve_app,
)
from logger.lines import printed_parts

# Process types get a stable colour each, as Heroku's CLI does.
_COLOURS = ["cyan", "green", "yellow", "magenta", "blue", "bright_cyan", "bright_green"]
CONNECT_TIMEOUT = 10.0


@click.command()
@app_option
@click.option("-n", "--lines", "lines", default=100, show_default=True, help="Lines of history.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--proc", help="Only this process type (prefix: web matches web.*).")
@click.option("--timeout", type=float, help="Stop following after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="With --logger-url: one JSON object a line.")
@click.option(
    "--logger-url",
    default=None,
    help="Read this logger's API directly instead of the controller's.",
)
@connection_options
def logs(
    app: str | None,
    lines: int,
    follow: bool,
    proc: str | None,
    timeout: float | None,
    as_json: bool,
    logger_url: str | None,
    controller_url: str | None,
    token: str | None,
) -> None:
    """Print the recent log lines of an app, and with -f follow new ones."""
    name = resolve_app(app)
    colour = sys.stdout.isatty() and not as_json
    try:
        if logger_url:
            _from_logger(logger_url, name, lines, follow, proc, timeout, as_json, colour)
            return
        if as_json:
            raise click.UsageError("--json needs --logger-url")
        connection = connect(controller_url, token)
        if not follow:
            params = {"log_lines": str(lines)}
            if proc:
                params["proc"] = proc
            reply = connection.request("GET", app_path(name, "/logs"), params=params)
            for line in reply.text.splitlines():
                click.echo(colourize(line) if colour else line)
            return
        if not connection.token:
            raise click.ClickException("not logged in: run `wf login` (or set WF_TOKEN)")
        request: dict[str, object] = {"lines": lines, "follow": True}
        if timeout is not None:
            request["timeout"] = timeout
        if proc:
            request["proc"] = proc
        # A plain request first: its errors (401, 404) come with a message.
        connection.request("GET", app_path(name))
        url = connection.url + app_path(name, "/logs")
        asyncio.run(_follow(url, connection.token, request, colour))
    except KeyboardInterrupt:
        pass


async def _follow(url: str, token: str, request: dict[str, object], colour: bool) -> None:
    headers = {"Authorization": f"token {token}"}
    timeout = aiohttp.ClientWSTimeout(ws_close=10.0)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(connect=CONNECT_TIMEOUT)) as http,
            http.ws_connect(url, headers=headers, timeout=timeout, heartbeat=60.0) as ws,
        ):
            await ws.send_str(json.dumps(request))
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    line = str(message.data)
                    click.echo(colourize(line) if colour else line)
            code = ws.close_code
            reason = ws.close_reason if hasattr(ws, "close_reason") else None
    except aiohttp.WSServerHandshakeError as error:
        detail = "run `wf login`" if error.status == 401 else error.message
        raise click.ClickException(
            f"the controller refused the logs: {detail} ({error.status})"
        ) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise click.ClickException(
            f"cannot reach the controller at {url} ({type(error).__name__})"
        ) from None
    if code not in (None, 1000):
        raise click.ClickException(f"the log stream ended with an error ({code}): {reason or ''}")


def _from_logger(
    logger_url: str,
    app: str,
    lines: int,
    follow: bool,
    proc: str | None,
    timeout: float | None,
    as_json: bool,
    colour: bool,
) -> None:
    params: dict[str, str] = {"log_lines": str(lines)}
    if follow:
        params["follow"] = "true"
    if timeout is not None:
        params["timeout"] = str(timeout)
    if proc:
        params["proc"] = proc
    if as_json:
        params["format"] = "json"
    url = f"{logger_url.rstrip('/')}/logs/{app}"
    try:
        with httpx.stream(
            "GET", url, params=params, timeout=httpx.Timeout(10.0, read=None)
        ) as reply:
            if reply.status_code >= 400:
                reply.read()
                raise click.ClickException(f"the logger answered {reply.status_code}")
            if reply.status_code == 204:
                return
            for line in reply.iter_lines():
                click.echo(colourize(line) if colour else line)
    except httpx.TransportError as error:
        raise click.ClickException(
            f"cannot reach the logger at {logger_url} ({error.__class__.__name__}: {error})"
        ) from None


def colourize(line: str) -> str:
    """Colour the `app[process.instance]:` part by process type."""
    parts = printed_parts(line)
    if parts is None:
        return line
    time, source, process, rest = parts
    colour = _COLOURS[zlib.crc32(process.encode()) % len(_COLOURS)]
    return f"{click.style(time, dim=True)} {click.style(source, fg=colour)}{rest}"
