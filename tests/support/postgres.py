"""A real PostgreSQL for the tests: initdb into a temporary directory and
`postgres` on 127.0.0.1 and a free port, stopped at the end of the run.

PostgreSQL refuses to run as root; as root the server runs as the
`postgres` user (created by the Debian package, else here with useradd)."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from tests.support.services import free_port, require_binary

PG_BIN_DIRS = tuple(str(path) for path in sorted(Path("/usr/lib/postgresql").glob("*/bin")))
START_TIMEOUT = 30.0


class Postgres:
    def __init__(self) -> None:
        self.initdb = require_binary("initdb", *PG_BIN_DIRS)
        self.postgres = require_binary("postgres", *PG_BIN_DIRS)
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="wf-postgres-"))
        self.user: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        if os.geteuid() == 0:
            self.user = _ensure_user("postgres")
            shutil.chown(self.directory, self.user, self.user)
        data = self.directory / "data"
        subprocess.run(
            [
                self.initdb,
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            user=self.user,
            check=True,
            capture_output=True,
            timeout=120,
        )
        self._log = log = (self.directory / "postgres.log").open("wb")
        self.process = subprocess.Popen(
            [
                self.postgres,
                "-D",
                str(data),
                "-k",
                str(self.directory),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            user=self.user,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not (self.directory / f".s.PGSQL.{self.port}").exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "postgres did not start: " + (self.directory / "postgres.log").read_text()
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # smart shutdown
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self._log is not None:
            self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _ensure_user(name: str) -> str:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True, timeout=30)
    return name
