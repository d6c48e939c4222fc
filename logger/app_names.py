"""The one rule for app names, for the logger, the drains and the controller.

An app is a Kubernetes namespace, so its name is a DNS-1123 label: 1 to 63
lowercase letters, digits and `-`, starting and ending with a letter or a
digit; and not one of the namespaces every cluster has. An app name the
controller can create is one the logger routes and drains accept, and the
reverse. Such a name has no `[`, `]`, space or `/`, which is what lets it
stand in URL paths and in front of `[process]` in a stored line
(`logger.lines`).

A record whose app name breaks the rule is not stored: the router counts
it in `logger_discarded_events_total{reason="invalid_app_name"}` (a record
with no app at all is `reason="no_app"`).
"""

from __future__ import annotations

import re

MAX_LENGTH = 63
DNS_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?")
# Namespaces every cluster has: never an app.
RESERVED = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
RULE = (
    "use 1 to 63 lowercase letters, digits and '-', starting and ending with a letter "
    "or digit (a DNS-1123 label)"
)


def is_app_name(name: str) -> bool:
    """Whether `name` is a valid app name (cheap: the router calls it per new source)."""
    return DNS_LABEL.fullmatch(name) is not None and name not in RESERVED


def app_name_problem(name: str) -> str | None:
    """Why `name` is not a valid app name, in words for an error message
    (the name shortened to 70 characters); None when it is valid."""
    if is_app_name(name):
        return None
    shown = name[:70] + ("..." if len(name) > 70 else "")
    if name in RESERVED:
        return f"{shown!r} is a reserved name"
    return f"{shown!r} is not a valid app name: {RULE}"
