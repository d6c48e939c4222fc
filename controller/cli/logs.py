"""`wf logs`: print or follow an app's logs from the logger."""

from __future__ import annotations

import sys
import zlib

import click
import httpx

# Process types get a stable colour each, as Heroku's CLI does.
_COLOURS = ["cyan", "green", "yellow", "magenta", "blue", "bright_cyan", "bright_green"]


@click.command()
@click.argument("app")
@click.option(
    "-n", "--lines", "lines", default=100, show_default=True, help="Lines of history; -1: all."
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as they arrive.")
@click.option("--proc", help="Only this process type (prefix: web matches web.*).")
@click.option("--since", help="Only lines at or after this RFC 3339 time.")
@click.option("--timeout", type=float, help="Stop following after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--logger-url",
    envvar="WF_LOGGER_URL",
    default="http://127.0.0.1:8088",
    show_default=True,
    help="The logger's HTTP API (env WF_LOGGER_URL).",
)
def logs(
    app: str,
    lines: int,
    follow: bool,
    proc: str | None,
    since: str | None,
    timeout: float | None,
    as_json: bool,
    logger_url: str,
) -> None:
    """Print the recent log lines of APP, and with -f follow new ones."""
    params: dict[str, str] = {"log_lines": str(lines)}
    if follow:
        params["follow"] = "true"
    if timeout is not None:
        params["timeout"] = str(timeout)
    if proc:
        params["proc"] = proc
    if since:
        params["since"] = since
    if as_json:
        params["format"] = "json"
    colour = sys.stdout.isatty() and not as_json
    url = f"{logger_url.rstrip('/')}/logs/{app}"
    try:
        with httpx.stream(
            "GET", url, params=params, timeout=httpx.Timeout(10.0, read=None)
        ) as reply:
            if reply.status_code >= 400:
                reply.read()
                raise click.ClickException(_error_text(reply))
            if reply.status_code == 204:
                return
            for line in reply.iter_lines():
                click.echo(colourize(line) if colour else line)
    except httpx.TransportError as error:
        raise click.ClickException(
            f"cannot reach the logger at {logger_url} ({error.__class__.__name__}: {error}); "
            "is `wf serve` running? Set --logger-url or WF_LOGGER_URL."
        ) from None
    except KeyboardInterrupt:
        pass


def colourize(line: str) -> str:
    """Colour the `app[process.instance]:` part by process type."""
    open_at = line.find("[", 33)
    close_at = line.find("]: ", open_at)
    if open_at < 0 or close_at < 0:
        return line
    process = line[open_at + 1 : close_at].split(".", 1)[0]
    colour = _COLOURS[zlib.crc32(process.encode()) % len(_COLOURS)]
    source = click.style(line[33 : close_at + 2], fg=colour)
    return f"{click.style(line[:32], dim=True)} {source}{line[close_at + 2 :]}"


def _error_text(reply: httpx.Response) -> str:
    try:
        detail = reply.json().get("detail")
    except ValueError:
        detail = None
    return f"the logger answered {reply.status_code}: {detail or reply.text.strip()}"
