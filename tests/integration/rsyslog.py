"""A real rsyslogd on 127.0.0.1 for drain tests and the benchmark.

Started in the foreground (`rsyslogd -n -f <conf> -i <pidfile>`) in a
temporary directory with three inputs (plain TCP, TLS via the gtls
netstream driver, UDP), all writing one JSON object per message to one file
with the fields tests assert on: input, APP-NAME, PROCID, HOSTNAME,
TIMESTAMP, severity, facility, MSGID and MSG.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.support.services import free_port, require_binary

_TEMPLATE = """
template(name="record" type="list" option.jsonf="on") {
  property(outname="input" name="inputname" format="jsonf")
  property(outname="app" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="timestamp" name="timestamp" dateFormat="rfc3339" format="jsonf")
  property(outname="severity" name="syslogseverity" format="jsonf")
  property(outname="facility" name="syslogfacility" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}
"""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for rsyslog's TLS input."""

    ca: Path
    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class Record:
    """One message as rsyslog parsed it."""

    input: str
    app: str
    procid: str
    hostname: str
    timestamp: str
    severity: int
    facility: int
    msgid: str
    msg: str


class Rsyslog:
    """One rsyslogd process; `start()` and `stop()` may be called repeatedly
    (same ports, same output file), to take the server down and back."""

    def __init__(self, workdir: Path, tls: TlsFiles) -> None:
        self.binary = require_binary("rsyslogd")
        self.workdir = workdir
        self.tls = tls
        self.tcp_port = free_port()
        self.tls_port = free_port()
        self.udp_port = _free_udp_port()
        self.output = workdir / "messages.jsonl"
        self.config = workdir / "rsyslog.conf"
        self.pidfile = workdir / "rsyslogd.pid"
        self.log = workdir / "rsyslogd.log"
        self._process: asyncio.subprocess.Process | None = None
        self._write_config()

    def _write_config(self) -> None:
        tls = self.tls
        self.config.write_text(
            f"""
global(workDirectory="{self.workdir}" maxMessageSize="64k" inputs.timeout.shutdown="200"
  parser.escapeControlCharactersOnReceive="off"
  defaultNetstreamDriverCAFile="{tls.ca}"
  defaultNetstreamDriverCertFile="{tls.cert}"
  defaultNetstreamDriverKeyFile="{tls.key}")
module(load="imtcp" maxSessions="200")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{self.tcp_port}" name="tcp")
input(type="imtcp" address="127.0.0.1" port="{self.tls_port}" name="tls"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imudp" address="127.0.0.1" port="{self.udp_port}" name="udp")
{_TEMPLATE}
action(type="omfile" file="{self.output}" template="record")
"""
        )

    async def start(self, timeout: float = 30.0) -> None:
        self.pidfile.unlink(missing_ok=True)
        with self.log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                self.binary,
                "-n",
                "-f",
                str(self.config),
                "-i",
                str(self.pidfile),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        process = self._process
        deadline = time.monotonic() + timeout
        for port in (self.tcp_port, self.tls_port):
            for _ in range(round(timeout / 0.02)):
                if await _accepts(port):
                    break
                if process.returncode is not None or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
            if not await _accepts(port):
                await self.stop()
                raise RuntimeError(f"rsyslogd did not start: {self.log.read_text()[-2000:]}")

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    def records(self) -> list[Record]:
        if not self.output.exists():
            return []
        found = []
        for line in self.output.read_text(encoding="utf-8").splitlines():
            fields = json.loads(line)
            found.append(
                Record(
                    input=fields["input"],
                    app=fields["app"],
                    procid=fields["procid"],
                    hostname=fields["hostname"],
                    timestamp=fields["timestamp"],
                    severity=int(fields["severity"]),
                    facility=int(fields["facility"]),
                    msgid=fields["msgid"],
                    msg=fields["msg"],
                )
            )
        return found

    def count(self) -> int:
        """Messages written so far (cheap: counts newlines)."""
        if not self.output.exists():
            return 0
        with self.output.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Record]:
        """The records once at least `count` were written (or whatever is
        there at the deadline, for the test to assert on)."""
        await poll_until(lambda: self.count() >= count, timeout)
        return self.records()


async def poll_until(condition: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    """Check `condition` every `step` seconds for at most `timeout` seconds."""
    for _ in range(max(1, round(timeout / step))):
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()


async def _accepts(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
