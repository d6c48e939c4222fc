"""No cluster: apps are records only (the embedded default)."""

from __future__ import annotations


class NoScheduler:
    async def create_app(self, app: str) -> None:
        return None

    async def destroy_app(self, app: str) -> None:
        return None

    async def close(self) -> None:
        return None
