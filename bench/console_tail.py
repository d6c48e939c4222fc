"""The console's live tail under a steady flood: does the tab's memory stay flat?

    .venv/bin/python bench/console_tail.py                      # 10 min at 1,000 lines/s
    .venv/bin/python bench/console_tail.py --seconds 120 --markdown

Starts `wf serve` on loopback ports (state in a temporary folder), logs in
in headless Chromium (Debian's, via Playwright), opens an app's tail page
and sends `--rate` lines a second over the forward protocol, paced in
100 ms steps. Every `--every` seconds it forces a garbage collection in the
tab and reads, over the DevTools protocol, the JS heap in use, the DOM
nodes, the rows in the tail and the last sequence number the page has seen
(so a tab that fell behind shows as lines not received).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from playwright.async_api import Page, async_playwright

from bench import ROOT
from bench.logger_process import HOST, free_port
from logger.forward.client import ForwardClient

PASSWORD = "correct horse battery"
STEP = 0.1


@dataclass
class Sample:
    seconds: float
    heap_mb: float
    dom_nodes: int
    rows: int
    sent: int
    received: int


def start_serve(directory: Path) -> tuple[subprocess.Popen[bytes], str, int]:
    http, forward, controller = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WF_")}
    env.update(WF_DRAINS_STATE_FILE="none", WF_PASSWORD_MEMORY_KIB="8192")
    process = subprocess.Popen(
        [sys.executable, "-m", "controller.cli.main", "serve", "--host", HOST,
         "--http-port", str(http), "--forward-host", HOST, "--forward-port", str(forward),
         "--controller-host", HOST, "--controller-port", str(controller),
         "--database-url", f"sqlite+aiosqlite:///{directory / 'controller.db'}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://{HOST}:{controller}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("wf serve did not start")
        time.sleep(0.2)
    return process, url, forward


def send_steadily(forward: int, rate: int, seconds: float, sent: list[int]) -> None:
    per_step = max(1, round(rate * STEP))
    with ForwardClient(HOST, forward) as client:
        start = time.monotonic()
        step = 0
        while (now := time.monotonic()) - start < seconds:
            records = [
                (time.time_ns(), {"log": f"GET /items/{sent[0] + i} 200 {'x' * 60}"})
                for i in range(per_step)
            ]
            client.send("app.shop.web", records)
            sent[0] += per_step
            step += 1
            time.sleep(max(0.0, start + step * STEP - now))


async def measure(page: Page, started: float, sent: list[int], first_seq: int) -> Sample:
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("HeapProfiler.collectGarbage")
    await cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in (await cdp.send("Performance.getMetrics"))["metrics"]}
    await cdp.detach()
    rows = await page.locator("#tail-lines li").count()
    last = int(await page.locator("section.tail").get_attribute("data-last-seq") or first_seq)
    return Sample(
        time.monotonic() - started,
        metrics["JSHeapUsedSize"] / 1e6,
        int(metrics["Nodes"]),
        rows,
        sent[0],  # read after the page's last seq: received <= sent
        last - first_seq,
    )


def prepare(url: str) -> None:
    """A user and an app to tail."""
    user = {"username": "bench", "password": PASSWORD, "email": "bench@example.com"}
    httpx.post(url + "/v2/auth/register", json=user).raise_for_status()
    token = httpx.post(url + "/v2/auth/login", json=user).json()["token"]
    httpx.post(
        url + "/v2/apps", json={"id": "shop"}, headers={"Authorization": f"token {token}"}
    ).raise_for_status()


def run(seconds: float, rate: int, every: float) -> list[Sample]:
    with tempfile.TemporaryDirectory() as folder:
        process, url, forward = start_serve(Path(folder))
        try:
            prepare(url)
            return asyncio.run(tail(url, forward, seconds, rate, every))
        finally:
            process.terminate()
            process.wait(10)


async def tail(url: str, forward: int, seconds: float, rate: int, every: float) -> list[Sample]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = await browser.new_page()
        await page.goto(url + "/login")
        await page.get_by_label("Username").fill("bench")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(url + "/")
        await page.goto(url + "/apps/shop/tail")
        await page.locator("#tail-status").filter(has_text="Live").wait_for()
        first_seq = int(await page.locator("section.tail").get_attribute("data-last-seq") or 0)
        sent = [0]
        sender = threading.Thread(
            target=send_steadily, args=(forward, rate, seconds, sent), daemon=True
        )
        started = time.monotonic()
        sender.start()
        samples = []
        while sender.is_alive():
            await asyncio.sleep(min(every, max(0.1, seconds - (time.monotonic() - started))))
            sample = await measure(page, started, sent, first_seq)
            samples.append(sample)
            print(
                f"{sample.seconds:6.0f} s  heap {sample.heap_mb:6.2f} MB  "
                f"DOM {sample.dom_nodes:6d} nodes  rows {sample.rows:5d}  "
                f"sent {sample.sent:7d}  received {sample.received:7d}",
                flush=True,
            )
        await asyncio.sleep(2)
        samples.append(await measure(page, started, sent, first_seq))
        await browser.close()
    return samples


def report(samples: list[Sample], rate: int, markdown: bool) -> str:
    warm = next((s for s in samples if s.seconds >= 60), samples[0])
    end = samples[-1]
    heaps = [s.heap_mb for s in samples if s.seconds >= warm.seconds]
    lines = [
        f"rate {rate} lines/s for {end.seconds:.0f} s: "
        f"sent {end.sent}, page received {end.received}",
        f"heap after GC at {warm.seconds:.0f} s: {warm.heap_mb:.2f} MB; at the end: "
        f"{end.heap_mb:.2f} MB; min {min(heaps):.2f}, max {max(heaps):.2f} MB from then on",
        f"DOM nodes at {warm.seconds:.0f} s: {warm.dom_nodes}; at the end: {end.dom_nodes}; "
        f"tail rows at the end: {end.rows}",
    ]
    if markdown:
        rows = ["| seconds | JS heap after GC (MB) | DOM nodes | tail rows | sent | received |",
                "|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        step = max(1, len(samples) // 12)
        shown = samples[::step]
        if shown[-1] is not samples[-1]:
            shown.append(samples[-1])
        for sample in shown:
            rows.append(
                f"| {sample.seconds:.0f} | {sample.heap_mb:.2f} | {sample.dom_nodes} | "
                f"{sample.rows} | {sample.sent} | {sample.received} |"
            )
        lines = [*rows, "", *lines]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    samples = run(args.seconds, args.rate, args.every)
    print(report(samples, args.rate, args.markdown))


if __name__ == "__main__":
    main()
