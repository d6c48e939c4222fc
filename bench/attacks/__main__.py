"""`python -m bench.attacks [--case NAME ...]`: every case, grouped by the
server profile it needs, one `wf serve` per profile."""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import tempfile
from collections import Counter
from pathlib import Path

import trustme

from bench.attacks import CASES
from bench.attacks.harness import HOST, OPEN_FILES, SHARED_KEY, run_case
from bench.serve_process import wf_serve

DRAINS_BUDGET = "8MiB"

# What each profile adds to the shared key and `ulimit -n 1024`.
PROFILES: dict[str, dict[str, str]] = {
    "tcp": {},
    "tls": {},
    "bootstrap": {},  # an empty database, for the first registrations
    "closed": {"WF_REGISTRATION": "disabled"},
    "drains": {
        "WF_DRAINS_ALLOW_DESTINATIONS": "127.0.0.1/32",
        "WF_DRAINS_MAX_BUFFER_BYTES": DRAINS_BUDGET,
    },
}


def profile_env(profile: str, directory: Path) -> tuple[dict[str, str], str | None]:
    env = {"WF_FORWARD_SHARED_KEY": SHARED_KEY.decode(), **PROFILES[profile]}
    if profile != "tls":
        return env, None
    ca = trustme.CA()
    cert = ca.issue_cert(HOST)
    cert.private_key_and_cert_chain_pem.write_to_path(str(directory / "tls.pem"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    env.update(WF_FORWARD_TLS_CERT=str(directory / "tls.pem"))
    env.update(WF_FORWARD_TLS_KEY=str(directory / "tls.pem"))
    return env, str(directory / "ca.pem")


RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+ \S+: .*)$")


def traceback_summary(log: str) -> str:
    """How many log records carried a traceback, by the record and its
    final exception."""
    kinds: Counter[str] = Counter()
    record, final, traced = "", "", False
    for line in [*log.splitlines(), "0000-00-00 00:00:00,0 END end: "]:
        header = RECORD.match(line)
        if header:
            if traced:
                kinds[f"{final[:100]} (logged as {record[:80]!r})"] += 1
            record, final, traced = header.group(1), "", False
        elif line.startswith("Traceback (most recent call last)"):
            traced = True
        elif traced and line and not line.startswith(" ") and not line.startswith("The above"):
            final = line
    text = f"   log records with a traceback: {sum(kinds.values())}"
    return text + "".join(f"\n     {count} x {kind}" for kind, count in kinds.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--case", action="append", help="run only these cases (by name)")
    parser.add_argument("--logs", type=Path, help="copy each server's log into this folder")
    options = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))  # the attacker's sockets
    chosen = [case for case in CASES if not options.case or case.name in options.case]
    with tempfile.TemporaryDirectory() as directory:
        for profile in PROFILES:
            cases = [case for case in chosen if case.server == profile]
            if not cases:
                continue
            folder = Path(directory) / profile
            folder.mkdir()
            env, ca_file = profile_env(profile, folder)
            with wf_serve(folder, env, open_files=OPEN_FILES, ca_file=ca_file) as server:
                extra = " ".join(f"{key}={value}" for key, value in PROFILES[profile].items())
                print(
                    f"wf serve [{profile}] (pid {server.process.pid}, ulimit -n {OPEN_FILES},"
                    f" {'TLS, ' if ca_file else ''}shared key{', ' + extra if extra else ''}),"
                    f" RSS at start {server.rss_bytes() / 2**20:.0f} MiB",
                    flush=True,
                )
                for case in cases:
                    print(run_case(server, case), flush=True)
                print(traceback_summary(server.log_text()))
                if options.logs is not None:
                    options.logs.mkdir(parents=True, exist_ok=True)
                    shutil.copy(server.log_path, options.logs / f"{profile}.log")


if __name__ == "__main__":
    main()
