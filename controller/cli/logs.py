"""`wf logs -a APP`: print or follow an app's logs through the controller.

Without -f it is one HTTP request; with -f a WebSocket: one request frame,
then a line per text frame until the controller closes (1000 at the end,
4400/4403/4408/1011 with a reason otherwise). The follow asks for JSON lines, so
it knows each line's sequence number: when the stream breaks (a network
blip, a controller or logger replica gone: 1011, an abnormal close, a
refused connection) it reconnects by itself with a backoff and resumes
after the last line it printed (`after_seq`), so nothing is lost or
printed twice; lines the ring no longer holds by then come as one notice.
`--logger-url` reads a logger directly instead (no controller, no
authentication: for operators).

`--since 2h [--until 1h] [--grep 'status AND 500']` reads history past the
ring (docs/history.md); times are RFC 3339 or an age (`90s`, `30m`, `2h`, `7d`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import sys
import zlib
from collections.abc import AsyncIterator

import aiohttp
import click
import httpx

from controller.cli.client import (
    app_option,
    app_path,
    connect,
    connection_options,
    error_text,
    resolve_app,
)
from logger.lines import printed_line, printed_parts

# Process types get a stable colour each, as Heroku's CLI does.
_COLOURS = ["cyan", "green", "yellow", "magenta", "blue", "bright_cyan", "bright_green"]
CONNECT_TIMEOUT = 10.0
# Reconnecting a broken follow: backoff from the first to the last delay,
# given up after this many attempts in a row that received nothing.
RECONNECT_FIRST_DELAY = 0.5
RECONNECT_MAX_DELAY = 10.0
RECONNECT_ATTEMPTS = 20
# What a resumed follow asks for after the last line seen (the controller's cap).
RESUME_LINES = 10_000
# Close codes after which another try cannot help.
_FINAL_CLOSES = {1000, 4400, 4403, 4408}
_AGE = re.compile(r"(\d+)([smhd])")
_AGE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@click.command()
@app_option
@click.option("-n", "--lines", "lines", default=100, show_default=True, help="Lines of history.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--proc", help="Only this process type (prefix: web matches web.*).")
@click.option("--timeout", type=float, help="Stop following after this many seconds.")
@click.option("--since", help="History from this time: RFC 3339 or an age such as 2h.")
@click.option("--until", help="History up to this time: RFC 3339 or an age such as 1h.")
@click.option("--grep", "query", help="Only lines matching this query (see docs/history.md).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
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
    since: str | None,
    until: str | None,
    query: str | None,
    as_json: bool,
    logger_url: str | None,
    controller_url: str | None,
    token: str | None,
) -> None:
    """Print the recent log lines of an app, and with -f follow new ones."""
    name = resolve_app(app)
    colour = sys.stdout.isatty() and not as_json
    history = history_params(since, until, query)
    if follow and (until or query):
        raise click.UsageError("--until and --grep read history: they do not combine with -f")
    if as_json:
        history["format"] = "json"
    try:
        if logger_url:
            _from_logger(logger_url, name, lines, follow, proc, timeout, history, colour)
            return
        if follow and (since or until or query):
            raise click.UsageError("-f with --since needs --logger-url")
        connection = connect(controller_url, token)
        if not follow:
            params = {"log_lines": str(lines), **history}
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
        asyncio.run(_follow(url, connection.token, request, colour, as_json))
    except KeyboardInterrupt:
        pass


class _StreamBroken(Exception):
    """The follow's connection ended without the controller's final close."""


async def _follow(
    url: str, token: str, request: dict[str, object], colour: bool, as_json: bool
) -> None:
    """Follow until the controller ends the stream (1000: the timeout), reconnecting
    after every break and resuming after the last sequence number printed."""
    loop = asyncio.get_running_loop()
    timeout = request.get("timeout")
    deadline = loop.time() + float(timeout) if isinstance(timeout, int | float) else None
    frame: dict[str, object] = {**request, "format": "json"}
    last_seq: int | None = None
    failures = 0
    while True:
        if last_seq is not None:
            frame.update(after_seq=last_seq, lines=RESUME_LINES)
        if deadline is not None:
            frame["timeout"] = max(0.1, deadline - loop.time())
        printed = 0
        try:
            async for line in _stream(url, token, frame):
                seq = line.get("seq")
                if isinstance(seq, int):
                    last_seq = seq
                printed += 1
                click.echo(json.dumps(line) if as_json else _text(line, colour))
            return
        except _StreamBroken as error:
            failures = 0 if printed else failures + 1
            if failures >= RECONNECT_ATTEMPTS:
                raise click.ClickException(
                    f"the log stream broke and did not come back after {failures} tries: {error}"
                ) from None
            if deadline is not None and loop.time() >= deadline:
                return
            delay = min(RECONNECT_MAX_DELAY, RECONNECT_FIRST_DELAY * 2 ** max(0, failures - 1))
            click.echo(f"log stream broken ({error}); reconnecting in {delay:.1f}s", err=True)
            await asyncio.sleep(delay)


async def _stream(
    url: str, token: str, frame: dict[str, object]
) -> AsyncIterator[dict[str, object]]:
    """One WebSocket follow: its JSON lines. Ends normally on the final close;
    raises _StreamBroken when another try may help, ClickException when not."""
    headers = {"Authorization": f"token {token}"}
    timeout = aiohttp.ClientWSTimeout(ws_close=10.0)
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(connect=CONNECT_TIMEOUT)) as http,
            http.ws_connect(url, headers=headers, timeout=timeout, heartbeat=30.0) as ws,
        ):
            await ws.send_str(json.dumps(frame))
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    yield json.loads(str(message.data))
            code = ws.close_code
            reason = ws.close_reason if hasattr(ws, "close_reason") else None
    except aiohttp.WSServerHandshakeError as error:
        if error.status >= 500:
            raise _StreamBroken(f"the controller answered {error.status}") from None
        detail = "run `wf login`" if error.status == 401 else error.message
        raise click.ClickException(
            f"the controller refused the logs: {detail} ({error.status})"
        ) from None
    except (aiohttp.ClientError, TimeoutError, ConnectionError) as error:
        raise _StreamBroken(
            f"cannot reach the controller at {url}: {type(error).__name__}"
        ) from None
    if code in _FINAL_CLOSES:
        if code != 1000:
            raise click.ClickException(
                f"the log stream ended with an error ({code}): {reason or ''}"
            )
        return
    raise _StreamBroken(f"closed with {code or 'no code'}{f': {reason}' if reason else ''}")


def _text(line: dict[str, object], colour: bool) -> str:
    text = printed_line(
        str(line.get("time", "")),
        str(line.get("app", "")),
        str(line.get("proc", "")),
        str(line.get("instance", "")),
        str(line.get("message", "")),
    )
    return colourize(text) if colour else text


def _from_logger(
    logger_url: str,
    app: str,
    lines: int,
    follow: bool,
    proc: str | None,
    timeout: float | None,
    history: dict[str, str],
    colour: bool,
) -> None:
    params: dict[str, str] = {"log_lines": str(lines), **history}
    if follow:
        params["follow"] = "true"
    if timeout is not None:
        params["timeout"] = str(timeout)
    if proc:
        params["proc"] = proc
    url = f"{logger_url.rstrip('/')}/logs/{app}"
    try:
        with httpx.stream(
            "GET", url, params=params, timeout=httpx.Timeout(10.0, read=None)
        ) as reply:
            if reply.status_code >= 400:
                reply.read()
                raise click.ClickException(f"the logger answered {error_text(reply)}")
            if reply.status_code == 204:
                return
            for line in reply.iter_lines():
                click.echo(colourize(line) if colour else line)
    except httpx.TransportError as error:
        raise click.ClickException(
            f"cannot reach the logger at {logger_url} ({error.__class__.__name__}: {error})"
        ) from None


def history_params(
    since: str | None, until: str | None, query: str | None, now: dt.datetime | None = None
) -> dict[str, str]:
    """The logs API's history parameters from the command line's options."""
    moment = now or dt.datetime.now(dt.UTC)
    params = {}
    if since:
        params["since"] = history_time("--since", since, moment)
    if until:
        params["until"] = history_time("--until", until, moment)
    if query:
        params["query"] = query
    return params


def history_time(option: str, text: str, now: dt.datetime) -> str:
    """An RFC 3339 time, or an age before `now` such as `2h`, as RFC 3339."""
    age = _AGE.fullmatch(text.strip())
    if age:
        seconds = int(age.group(1)) * _AGE_SECONDS[age.group(2)]
        return (now - dt.timedelta(seconds=seconds)).isoformat()
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither RFC 3339 nor an age like 30m, 2h or 7d", param_hint=option
        ) from None
    if moment.tzinfo is None:
        raise click.BadParameter(f"{text!r} needs an offset or Z", param_hint=option)
    return moment.isoformat()


def colourize(line: str) -> str:
    """Colour the `app[process.instance]:` part by process type."""
    parts = printed_parts(line)
    if parts is None:
        return line
    time, source, process, rest = parts
    colour = _COLOURS[zlib.crc32(process.encode()) % len(_COLOURS)]
    return f"{click.style(time, dim=True)} {click.style(source, fg=colour)}{rest}"
