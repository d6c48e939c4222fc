"""The logger's parts stop in the order that keeps every stored line safe."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from logger.app import create_app
from logger.config import LoggerSettings
from logger.forward.server import ForwardServer
from logger.store.memory import MemoryStore


async def test_the_store_closes_after_the_forward_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A frame the forward input still holds while it closes can be stored."""
    closed: list[str] = []
    forward_close, store_close = ForwardServer.close, MemoryStore.close

    async def close_forward(self: ForwardServer) -> None:
        closed.append("forward")
        await forward_close(self)

    async def close_store(self: MemoryStore) -> None:
        closed.append("store")
        await store_close(self)

    monkeypatch.setattr(ForwardServer, "close", close_forward)
    monkeypatch.setattr(MemoryStore, "close", close_store)
    settings = LoggerSettings.from_env(
        {
            "WF_FORWARD_HOST": "127.0.0.1",
            "WF_FORWARD_PORT": "0",
            "WF_HISTORY_DIR": str(tmp_path / "history"),
        }
    )
    server = TestServer(create_app(settings))
    await server.start_server()
    await server.close()
    assert closed == ["forward", "store"]
