"""What the drain benchmarks send to: a real rsyslogd with several TCP inputs,
or a child process that reads every TCP port it listens on and discards it.

Several ports because a drain is identified by its destination: one app can
only have several syslog drains to distinct host:port pairs.

`python -m bench.drain_sinks --discard N` is the discard sink itself: it
prints its ports as one JSON line, and on SIGTERM the bytes it read.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from types import FrameType, TracebackType

import trustme

from bench import ROOT
from tests.integration.rsyslog import Rsyslog, TlsFiles
from tests.support.services import free_port


class LineCounter:
    """Counts newlines in a growing file, reading only what is new."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.count = 0

    def poll(self) -> int:
        if not self.path.exists():
            return self.count
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            data = handle.read()
        self.offset += len(data)
        self.count += data.count(b"\n")
        return self.count

    def truncate(self) -> None:
        """Empty the file (rsyslogd's omfile appends, so this is safe once
        every expected line was counted) and count from zero."""
        if self.path.exists():
            os.truncate(self.path, 0)
        self.offset = 0
        self.count = 0


class MultiPortRsyslog(Rsyslog):
    """tests/integration/rsyslog.py's rsyslogd (the JSON-per-line output file,
    TLS and UDP inputs) with `tcp_inputs` plain TCP inputs in all."""

    def __init__(self, workdir: Path, tls: TlsFiles, tcp_inputs: int) -> None:
        self._extra_tcp_ports = [free_port() for _ in range(tcp_inputs - 1)]
        super().__init__(workdir, tls)

    @property
    def tcp_ports(self) -> list[int]:
        return [self.tcp_port, *self._extra_tcp_ports]

    @property
    def pid(self) -> int:
        """rsyslogd's pid, from its pidfile (written once it started)."""
        return int(self.pidfile.read_text().strip())

    def _write_config(self) -> None:
        super()._write_config()
        with self.config.open("a") as config:
            for number, port in enumerate(self._extra_tcp_ports, start=2):
                config.write(
                    f'input(type="imtcp" address="127.0.0.1" port="{port}" name="tcp{number}")\n'
                )


@contextlib.asynccontextmanager
async def running_rsyslog(tcp_inputs: int) -> AsyncIterator[MultiPortRsyslog]:
    """rsyslogd in a temporary directory (with throwaway TLS files for its TLS
    input); always stopped, and the directory removed, on the way out."""
    with tempfile.TemporaryDirectory(prefix="bench-drains-") as directory:
        workdir = Path(directory)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        tls = TlsFiles(workdir / "ca.pem", workdir / "cert.pem", workdir / "key.pem")
        ca.cert_pem.write_to_path(str(tls.ca))
        cert.cert_chain_pems[0].write_to_path(str(tls.cert))
        cert.private_key_pem.write_to_path(str(tls.key))
        rsyslog = MultiPortRsyslog(workdir, tls, tcp_inputs)
        await rsyslog.start()
        try:
            yield rsyslog
        finally:
            await rsyslog.stop()


class DiscardSink:
    """The discard sink as a child process (so its reads use the other core,
    as rsyslogd's do); `stop` returns the bytes it read."""

    def __init__(self, ports: int) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bench.drain_sinks", "--discard", str(ports)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the discard sink did not start")
        self.tcp_ports: list[int] = json.loads(line)["ports"]
        self.pid = self._process.pid

    def stop(self) -> int:
        process = self._process
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            out, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            return -1
        with contextlib.suppress(ValueError, KeyError, IndexError):
            return int(json.loads(out.strip().splitlines()[-1])["bytes"])
        return -1

    def __enter__(self) -> DiscardSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_discard(ports: int) -> None:
    """Listen on `ports` loopback ports, read everything, keep only a count."""
    selector = selectors.DefaultSelector()
    listeners = []
    for _ in range(ports):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ, data=None)
        listeners.append(listener)
    print(json.dumps({"ports": [s.getsockname()[1] for s in listeners]}), flush=True)
    buffer = bytearray(1 << 20)
    received = 0
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if key.data is None:
                connection, _ = sock.accept()
                connection.setblocking(False)
                selector.register(connection, selectors.EVENT_READ, data="connection")
                continue
            try:
                count = sock.recv_into(buffer)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                count = 0
            if not count:
                selector.unregister(sock)
                sock.close()
            received += count
    print(json.dumps({"bytes": received}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="a TCP sink that reads and discards")
    parser.add_argument("--discard", type=int, required=True, metavar="PORTS")
    serve_discard(parser.parse_args().discard)
