"""File descriptors: raise the soft limit when allowed, and leave some for
everything that is not the forward input (the HTTP APIs, the store, drains)."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger("logger.forward")
# No need for more: the connection cap is the real bound.
_WANTED_FDS = 1 << 20


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE toward the hard limit; the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _WANTED_FDS if hard == resource.RLIM_INFINITY else min(hard, _WANTED_FDS)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as error:
            log.warning("cannot raise the open files limit from %d to %d: %s", soft, target, error)
        else:
            log.info("open files limit raised from %d to %d", soft, target)
            soft = target
    return soft


def connection_cap(configured: int, fd_limit: int, reserved: int) -> int:
    """The forward connections allowed at once: the configured cap, but never
    so many that the rest of the process is left without descriptors."""
    if fd_limit == resource.RLIM_INFINITY:
        return configured
    return max(1, min(configured, fd_limit - reserved))
