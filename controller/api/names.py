"""Readable app names for `POST /v2/apps` without an id: `proud-river-4821`."""

from __future__ import annotations

import secrets

# fmt: off
ADJECTIVES = (
    "amber", "brave", "calm", "crisp", "dapper", "eager", "fancy", "gentle", "happy", "jolly",
    "keen", "lively", "mellow", "nimble", "noble", "proud", "quiet", "rapid", "shiny", "sunny",
    "swift", "tidy", "vivid", "witty",
)
NOUNS = (
    "anchor", "badger", "canyon", "cedar", "comet", "delta", "ember", "falcon", "forest",
    "glacier", "harbor", "island", "lagoon", "meadow", "nebula", "otter", "pine", "quartz",
    "river", "sierra", "tundra", "willow",
)
# fmt: on


def generate_name() -> str:
    number = secrets.randbelow(9000) + 1000
    return f"{secrets.choice(ADJECTIVES)}-{secrets.choice(NOUNS)}-{number}"
