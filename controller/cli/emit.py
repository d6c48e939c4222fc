"""`wf emit`: send lines to the logger over the forward protocol."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from itertools import islice

import click

from logger.errors import LoggerError
from logger.forward.client import ForwardAddress, ForwardClient

BATCH_LINES = 500


@click.command()
@click.option("--app", "-a", "app", required=True, help="App the lines belong to.")
@click.option("--proc", "-p", default="cli", show_default=True, help="Process type.")
@click.option("--stderr", is_flag=True, help="Mark the lines as written to stderr.")
@click.option(
    "--forward-url",
    envvar="WF_FORWARD_URL",
    default="tcp://127.0.0.1:24224",
    show_default=True,
    help="tcp://host:port or tls://host:port (env WF_FORWARD_URL).",
)
@click.option("--ca-file", envvar="WF_FORWARD_CA_FILE", help="CA bundle for tls:// (env).")
# Secrets come from the environment only, never from a visible flag.
@click.option("--shared-key", envvar="WF_FORWARD_SHARED_KEY", hidden=True)
@click.argument("message", nargs=-1)
def emit(
    app: str,
    proc: str,
    stderr: bool,
    forward_url: str,
    ca_file: str | None,
    shared_key: str | None,
    message: tuple[str, ...],
) -> None:
    """Send MESSAGE (or each line of stdin) as log lines of APP.

    The shared key, if the logger wants one, is read from WF_FORWARD_SHARED_KEY.
    """
    try:
        address = ForwardAddress.parse(forward_url)
    except ValueError:
        raise click.BadParameter(
            "use tcp://host:port or tls://host:port", param_hint="--forward-url"
        ) from None
    lines: Iterable[str] = (
        [" ".join(message)] if message else (line.rstrip("\n") for line in sys.stdin)
    )
    stream = "stderr" if stderr else "stdout"
    sent = 0
    try:
        with ForwardClient(
            address.host,
            address.port,
            shared_key=shared_key.encode() if shared_key else None,
            tls=address.tls,
            ca_file=ca_file,
        ) as client:
            for batch in _batches(lines, BATCH_LINES):
                now = time.time_ns()
                records = [(now, {"log": line, "stream": stream}) for line in batch]
                client.send(f"app.{app}.{proc}", records)
                sent += len(batch)
    except (OSError, LoggerError) as error:
        raise click.ClickException(
            f"cannot send to the logger at {forward_url}: {error} (is `wf serve` running?)"
        ) from None
    click.echo(f"sent {sent} line{'s' if sent != 1 else ''} to {app}", err=True)


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(lines)
    while batch := list(islice(iterator, size)):
        yield batch
