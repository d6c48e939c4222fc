"""What the controller asks of a scheduler."""

from __future__ import annotations

from typing import Protocol

# Labels put on every namespace this platform creates; a namespace without
# them is someone else's and is never adopted or deleted.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "workflow-observability"
# Drycc's own marker, so Drycc tooling recognises the namespaces too.
HERITAGE_LABEL = "heritage"
HERITAGE = "drycc"


class Scheduler(Protocol):
    async def create_app(self, app: str) -> None:
        """Make room for the app (its namespace). Raises Conflict when the
        name is taken by something this platform does not manage."""

    async def destroy_app(self, app: str) -> None:
        """Remove everything the app had, returning once it is gone.
        Raises SchedulerError when that takes longer than the bound."""

    async def close(self) -> None: ...
