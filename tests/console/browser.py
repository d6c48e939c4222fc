"""The console under test: a real `wf serve`, users made through the API, and
headless Chromium (Debian's) driven by Playwright, which never downloads a browser."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, async_playwright

from logger.forward.client import ForwardAddress, ForwardClient
from tests.integration.wf_serve import Server, wf_serve
from tests.support.services import require_binary

PASSWORD = "correct horse battery"
# Short follows, so that every test sees the tail resume after the server ends one.
FOLLOW_SECONDS = 3
RATES_INTERVAL = 0.5


@dataclass
class Console:
    server: Server
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.controller_url

    def api(self, method: str, path: str, user: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"token {self.tokens[user]}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]

    def add_user(self, name: str) -> None:
        reply = httpx.post(
            self.url + "/v2/auth/register",
            json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"},
        )
        assert reply.status_code == 201, reply.text
        login = httpx.post(
            self.url + "/v2/auth/login", json={"username": name, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        self.tokens[name] = login.json()["token"]

    def send(
        self, proc: str, messages: list[str], *, app: str = "shop", stderr: bool = False
    ) -> None:
        """Lines over the forward protocol, as Fluent Bit sends them."""
        address = ForwardAddress.parse(self.server.forward_url)
        now = time.time_ns()
        stream = "stderr" if stderr else "stdout"
        records = [(now + i, {"log": text, "stream": stream}) for i, text in enumerate(messages)]
        with ForwardClient(address.host, address.port) as client:
            client.send(f"app.{app}.{proc}", records)

    async def send_async(self, proc: str, messages: list[str], **kwargs: object) -> None:
        await asyncio.to_thread(self.send, proc, messages, **kwargs)  # type: ignore[arg-type]


@contextmanager
def console_server(directory: Path) -> Iterator[Console]:
    """admin (the first user), alice (owns shop), bob, eve (no access to shop)."""
    environment = {"WF_LOGGER_RATES_INTERVAL": str(RATES_INTERVAL)}
    with wf_serve(
        directory, "--max-follow-timeout", str(FOLLOW_SECONDS), environment=environment
    ) as server:
        console = Console(server)
        for name in ("admin", "alice", "bob", "eve"):
            console.add_user(name)
        reply = console.api("POST", "/v2/apps", "alice", json={"id": "shop"})
        assert reply.status_code == 201, reply.text
        yield console


def chromium_path() -> str:
    return os.environ.get("WF_CHROMIUM") or require_binary("chromium")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    path = chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=path, args=["--enable-precise-memory-info"]
        )
        try:
            yield browser
        finally:
            await browser.close()


async def login(page: Page, console: Console, user: str) -> None:
    await page.goto(console.url + "/login")
    await page.get_by_label("Username").fill(user)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(console.url + "/")
    await page.wait_for_selector("body[data-ready=true]")


async def shown_messages(page: Page, list_id: str) -> list[str]:
    return list(await page.locator(f"#{list_id} li .msg").all_inner_texts())


async def search(
    page: Page,
    *,
    since: str = "1h",
    until: str = "",
    query: str = "",
    proc: str = "",
    filter_text: str = "",
) -> list[str]:
    """Run a history search on the open search page; the messages of its first page."""
    await page.get_by_label("From").fill(since)
    await page.get_by_label("Until").fill(until)
    await page.get_by_label("Query").fill(query)
    await page.get_by_label("Process").fill(proc)
    await page.get_by_label("Filter results").fill(filter_text)
    summary = page.locator("#search-summary")
    await page.evaluate("document.getElementById('search-summary').textContent = ''")
    await page.get_by_role("button", name="Search", exact=True).click()
    await (
        summary.filter(has_text="lines")
        .or_(summary.filter(has_text="No lines"))
        .or_(page.locator("p.alert:not([hidden])"))
        .first.wait_for()
    )
    return await shown_messages(page, "search-lines")
