"""Fixtures for the drain integration tests: a trustme CA, a real rsyslogd,
and an HTTPS sink, all on 127.0.0.1 and stopped at teardown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme

from tests.integration.drain_sinks import HttpsSink
from tests.integration.rsyslog import Rsyslog, TlsFiles


@pytest.fixture
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(tmp_path: Path, tls_ca: trustme.CA) -> Path:
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def server_tls(tmp_path: Path, tls_ca: trustme.CA, ca_file: Path) -> TlsFiles:
    cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    files = TlsFiles(ca=ca_file, cert=tmp_path / "server.pem", key=tmp_path / "server.key")
    cert.cert_chain_pems[0].write_to_path(str(files.cert))
    cert.private_key_pem.write_to_path(str(files.key))
    return files


@pytest.fixture
def rsyslog_dir(tmp_path: Path) -> Path:
    path = tmp_path / "rsyslog"
    path.mkdir()
    return path


@pytest.fixture
async def rsyslog(rsyslog_dir: Path, server_tls: TlsFiles) -> AsyncIterator[Rsyslog]:
    """A running rsyslogd (TCP, TLS and UDP inputs)."""
    server = Rsyslog(rsyslog_dir, server_tls)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def stopped_rsyslog(rsyslog_dir: Path, server_tls: TlsFiles) -> AsyncIterator[Rsyslog]:
    """An rsyslogd configured but not started (the test starts it)."""
    server = Rsyslog(rsyslog_dir, server_tls)
    yield server
    await server.stop()


@pytest.fixture
async def https_sink(tls_ca: trustme.CA) -> AsyncIterator[HttpsSink]:
    sink = HttpsSink(tls_ca)
    await sink.start()
    yield sink
    await sink.stop()
