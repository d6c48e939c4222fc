"""The web console in a real headless Chromium against a real `wf serve`:
log in, tail live (pause, filter, highlight, reconnect, the DOM bound),
search, charts, drains, collaborators, log out; and a user without access
gets no page and no socket. A screenshot of each page goes under the test's
temporary folder (WF_CONSOLE_SCREENSHOTS=dir also copies them there)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.console.browser import (
    FOLLOW_SECONDS,
    Console,
    chromium,
    console_server,
    login,
    search,
    shown_messages,
)

LIVE_WITHIN = 1.0


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    with console_server(tmp_path_factory.mktemp("console")) as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as running:
        yield running


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(
        viewport={"width": 1200, "height": 800}, accept_downloads=True
    )
    page = await context.new_page()
    yield page
    await context.close()


async def screenshot(page: Page, folder: Path, name: str) -> None:
    path = folder / f"console-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    copy_to = os.environ.get("WF_CONSOLE_SCREENSHOTS")
    if copy_to:
        shutil.copy(path, Path(copy_to) / path.name)


async def wait_for_message(page: Page, list_id: str, text: str, timeout: float = 5.0) -> None:
    await page.locator(f"#{list_id} li .msg", has_text=text).first.wait_for(timeout=timeout * 1000)


async def test_tail_live_pause_filter_highlight_and_resume(
    console: Console, page: Page, tmp_path: Path
) -> None:
    await login(page, console, "alice")
    await screenshot(page, tmp_path, "apps")
    await page.get_by_role("link", name="shop").click()
    await page.wait_for_url(console.url + "/apps/shop")
    status = page.locator("#tail-status")
    await status.filter(has_text="Live").wait_for()

    # Live: a line sent over the forward protocol shows within a second.
    started = time.monotonic()
    await console.send_async("web", ["first live line"])
    await wait_for_message(page, "tail-lines", "first live line", timeout=LIVE_WITHIN)
    assert time.monotonic() - started < LIVE_WITHIN

    # Pause: lines are held and counted, not shown; resume shows every one, once, in order.
    await page.get_by_role("button", name="Pause").click()
    held = [f"held line {i:02d}" for i in range(30)]
    await console.send_async("web", held)
    await page.locator("section.tail[data-held='30']").wait_for()
    await status.filter(has_text="Paused: 30 lines held").wait_for()
    assert not [m for m in await shown_messages(page, "tail-lines") if m.startswith("held line")]
    await page.get_by_role("button", name="Resume").click()
    await wait_for_message(page, "tail-lines", "held line 29")
    shown = [m for m in await shown_messages(page, "tail-lines") if m.startswith("held line")]
    assert shown == held

    # Process filter: only the chosen process's lines; colour per process.
    await console.send_async("worker", ["worker job 1", "worker job 2"])
    await wait_for_message(page, "tail-lines", "worker job 2")
    await page.get_by_label("Process").select_option("worker")
    assert await shown_messages(page, "tail-lines") == ["worker job 1", "worker job 2"]
    sources = page.locator("#tail-lines li .src")
    assert {
        text.split("[")[1].split(".")[0].rstrip("]:") for text in await sources.all_inner_texts()
    } == {"worker"}
    await page.get_by_label("Process").select_option("")
    web_class = (
        await page.locator("#tail-lines li", has_text="held line 00")
        .locator(".src")
        .get_attribute("class")
    )
    worker_class = (
        await page.locator("#tail-lines li", has_text="worker job 1")
        .locator(".src")
        .get_attribute("class")
    )
    assert web_class != worker_class

    # Highlight: matches are marked; markup in a line stays text.
    await console.send_async("web", ["<img src=x onerror=alert(1)> needle here"])
    await wait_for_message(page, "tail-lines", "needle here")
    await page.get_by_label("Highlight").fill("needle")
    await page.locator("#tail-lines mark", has_text="needle").first.wait_for()
    assert await page.locator("#tail-lines img").count() == 0

    # Download what is shown, as text lines in the contract's form.
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download shown").click()
    download = await download_info.value
    saved = tmp_path / "tail.txt"
    await download.save_as(saved)
    text = saved.read_text()
    assert "shop[web]: held line 29\n" in text
    assert "shop[worker]: worker job 2\n" in text
    await screenshot(page, tmp_path, "tail")

    # Resume after the server ends the follow (every FOLLOW_SECONDS): no gap, no repeat.
    tail = page.locator("section.tail")
    connections = int(await tail.get_attribute("data-connections") or 0)
    across: list[str] = []
    deadline = time.monotonic() + FOLLOW_SECONDS * 3
    # A paced sender until the page has reconnected, and a few lines after that.
    while len(across) < 10 or int(await tail.get_attribute("data-connections") or 0) == connections:
        assert time.monotonic() < deadline, "the tail never reconnected"
        across.append(f"across reconnect {len(across):03d}")
        await console.send_async("web", across[-1:])
        await asyncio.sleep(0.1)
    across += [f"across reconnect {len(across) + i:03d}" for i in range(5)]
    await console.send_async("web", across[-5:])
    await wait_for_message(page, "tail-lines", across[-1])
    shown = [m for m in await shown_messages(page, "tail-lines") if m.startswith("across")]
    assert shown == across


async def test_tail_keeps_at_most_max_lines_in_the_dom(console: Console, page: Page) -> None:
    await login(page, console, "alice")
    await page.goto(console.url + "/apps/shop/tail?max=50")
    await page.locator("#tail-status").filter(has_text="Live").wait_for()
    await console.send_async("web", [f"flood {i:04d}" for i in range(500)])
    await wait_for_message(page, "tail-lines", "flood 0499")
    assert await page.locator("#tail-lines li").count() <= 50
    assert (await shown_messages(page, "tail-lines"))[-1] == "flood 0499"


async def test_search_charts_drains_collaborators_and_logout(
    console: Console, page: Page, tmp_path: Path
) -> None:
    marker = f"m{time.time_ns()}"
    console.send("web", [f"{marker} web {i:03d}" for i in range(150)])
    console.send("worker", [f"{marker} worker {i}" for i in range(3)])
    await login(page, console, "alice")

    await page.goto(console.url + "/apps/shop/search")
    await page.wait_for_selector("body[data-ready=true]")
    shown = await search(page, proc="worker", filter_text=marker)
    assert shown == [f"{marker} worker {i}" for i in range(3)]
    # A history query (the logger's query syntax), no filter in the page.
    shown = await search(page, query=f"{marker} AND worker")
    assert shown == [f"{marker} worker {i}" for i in range(3)]
    # A query naming another app still reads this app's lines only.
    shown = await search(page, query=f"app:other OR {marker}")
    assert len(shown) == 100
    assert all(message.startswith(marker) for message in shown)
    shown = await search(page, filter_text=f"{marker} web")
    assert shown == [f"{marker} web {i:03d}" for i in range(50, 150)]
    assert "150 lines, page 1 of 2" in await page.locator("#search-summary").inner_text()
    await page.get_by_role("button", name="Older").click()
    assert await shown_messages(page, "search-lines") == [
        f"{marker} web {i:03d}" for i in range(50)
    ]
    future = "2999-01-01T00:00:00Z"
    assert await search(page, since=future) == []
    await screenshot(page, tmp_path, "search")
    await search(page, since="not a time")
    alert = page.locator("section p.alert")
    assert "Search failed: since: not an RFC 3339 time" in await alert.inner_text()

    # Charts: the logger's per-app counters, live; no VictoriaMetrics here, and it says so.
    await page.goto(console.url + "/apps/shop/charts")
    latest = page.locator("#chart-procs tr[data-series='web'] td.now")
    await latest.wait_for()
    before = float(await latest.get_attribute("data-value") or 0)
    deadline = time.monotonic() + 10
    # A paced sender (about 500 lines/s) until the chart's latest rate shows it.
    while float(await latest.get_attribute("data-value") or 0) < 100:
        assert time.monotonic() < deadline, "the chart never showed the lines"
        await console.send_async("web", [f"{marker} burst"] * 50)
        await asyncio.sleep(0.1)
    assert before < 100
    points = int(await page.locator("#chart-procs").get_attribute("data-points") or 0)
    assert points >= 2
    note = page.locator("#usage-note")
    await note.filter(has_text="VictoriaMetrics").wait_for()
    assert await page.locator("#chart-procs canvas").count() == 1
    await screenshot(page, tmp_path, "charts")

    # Drains: their states, URLs redacted.
    reply = console.api(
        "POST", "/v2/apps/shop/drains", "alice", json={"url": "https://user:s3cret@127.0.0.1:9/in"}
    )
    assert reply.status_code == 201, reply.text
    await page.goto(console.url + "/apps/shop/drains")
    row = page.locator("#drains tbody tr").first
    await row.wait_for()
    assert "***" in await row.inner_text()
    assert "s3cret" not in await page.content()
    await screenshot(page, tmp_path, "drains")

    # Collaborators: the owner adds and removes one (state-changing calls from the page).
    await page.goto(console.url + "/apps/shop/collaborators")
    await page.get_by_label("Add a collaborator").fill("bob")
    await page.get_by_role("button", name="Add", exact=True).click()
    await page.locator("#collaborators li[data-user='bob']").wait_for()
    await screenshot(page, tmp_path, "collaborators")
    await page.get_by_role("button", name="Remove bob").click()
    await page.locator("#collaborators li[data-user='bob']").wait_for(state="detached")

    # Log out: back to the login page, and the session's token no longer works.
    cookie = next(c for c in await page.context.cookies() if c["name"] == "wf_session")
    await page.get_by_role("button", name="Log out").click()
    await page.wait_for_url(console.url + "/login")
    await screenshot(page, tmp_path, "login")
    async with httpx.AsyncClient(base_url=console.url) as http:
        reply = await http.get(
            "/v2/auth/whoami", headers={"Cookie": f"wf_session={cookie['value']}"}
        )
        assert reply.status_code == 401
        reply = await http.get(
            "/v2/auth/whoami", headers={"Authorization": f"token {cookie['value']}"}
        )
        assert reply.status_code == 401


async def test_a_user_without_access_gets_no_page_and_no_socket(
    console: Console, page: Page, tmp_path: Path
) -> None:
    # Signed out: a page sends to the login, and comes back after it.
    await page.goto(console.url + "/apps/shop/search")
    await page.wait_for_url(console.url + "/login?next=/apps/shop/search")

    await login(page, console, "eve")
    assert await page.locator("#apps a").count() == 0
    reply = await page.goto(console.url + "/apps/shop")
    assert reply is not None
    assert reply.status == 404
    assert await page.get_by_role("heading", name="Not found").is_visible()
    await screenshot(page, tmp_path, "not-found")
    outcome = await page.evaluate(
        """() => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}/v2/apps/shop/logs`);
            socket.onopen = () => resolve("open");
            socket.onclose = (event) => resolve(`closed ${event.code}`);
        })"""
    )
    assert outcome == "closed 1006"
    status = await page.evaluate("async () => (await fetch('/v2/apps/shop/logs/rates')).status")
    assert status == 404
    status = await page.evaluate("async () => (await fetch('/v2/apps/shop/logs')).status")
    assert status == 404
