"""The real shippers in `shared/peers/` (see its README), found the way CI
lays them out: `../shared/peers` beside the repository, else the machine's
`/work/shared/peers`, or WF_PEERS_DIR when set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.services import services_required

REPOSITORY = Path(__file__).resolve().parents[2]
FLUENT_BIT = "fluent-bit-5.1.1/fluent-bit"


def peers_dirs() -> list[Path]:
    configured = os.environ.get("WF_PEERS_DIR")
    if configured:
        return [Path(configured)]
    return [REPOSITORY.parent / "shared" / "peers", Path("/work/shared/peers")]


def peer_binary(relative: str) -> Path | None:
    for folder in peers_dirs():
        candidate = folder / relative
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def require_fluent_bit() -> Path:
    """Fluent Bit 5.1.1; a skip when it is absent, a failure in CI."""
    found = peer_binary(FLUENT_BIT)
    if found is not None:
        return found
    message = f"{FLUENT_BIT} is not in any of {', '.join(map(str, peers_dirs()))}"
    if services_required():
        pytest.fail(message)
    pytest.skip(message)
