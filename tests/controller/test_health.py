"""The controller's /healthz, /readyz and /metrics (public, like the
logger's), its request metrics by route template, and process metrics on
both services' /metrics."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from controller.telemetry import UNMATCHED_ROUTE
from tests.controller.conftest import Client, Logger, MakeClient, Users, create_database
from tests.support.postgres import Postgres

REQUESTS = "controller_http_requests"
DURATION = "controller_http_request_duration_seconds"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


async def scrape(client: Client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = await client.get("/metrics")  # no token: /metrics is public
    assert reply.status == 200
    assert reply.content_type == "text/plain"
    return samples(await reply.text())


def value(
    scraped: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def route_values(scraped: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> set[str]:
    return {dict(labels)["route"] for name, labels in scraped if name == REQUESTS + "_total"}


async def test_probes_answer_without_a_token(client: Client) -> None:
    health = await client.get("/healthz")
    assert (health.status, await health.text()) == (200, "OK")
    ready = await client.get("/readyz")
    assert ready.status == 200
    assert await ready.json() == {"ready": True, "checks": {"database": "ok"}}


async def test_a_request_moves_its_route_templates_counter_and_histogram(
    client: Client, users: Users
) -> None:
    labels = {"method": "GET", "route": "/v2/apps/{id}", "status": "200"}
    before = await scrape(client)
    reply = await client.get("/v2/apps/shop", headers=users.headers("alice"))
    assert reply.status == 200
    after = await scrape(client)
    assert value(after, REQUESTS + "_total", **labels) == (
        value(before, REQUESTS + "_total", **labels) + 1
    )
    assert value(after, DURATION + "_count", **labels) == (
        value(before, DURATION + "_count", **labels) + 1
    )
    assert value(after, DURATION + "_sum", **labels) > value(before, DURATION + "_sum", **labels)
    # An error answer counts under its own status, still by template.
    missing = {"method": "GET", "route": "/v2/apps/{id}", "status": "404"}
    assert (await client.get("/v2/apps/nope", headers=users.headers("alice"))).status == 404
    assert value(await scrape(client), REQUESTS + "_total", **missing) == (
        value(after, REQUESTS + "_total", **missing) + 1
    )


async def test_unknown_paths_and_methods_add_no_label_values(client: Client, users: Users) -> None:
    headers = users.headers("alice")
    assert (await client.get("/no/such/path/1", headers=headers)).status == 404
    first = await scrape(client)
    assert UNMATCHED_ROUTE in route_values(first)
    for path in ("/no/such/path/2", "/v2/apps/shop/nothing-here", "/%2e%2e/etc/passwd"):
        assert (await client.get(path, headers=headers)).status == 404
    assert (await client.request("PROPFIND", "/v2/apps/shop", headers=headers)).status == 405
    after = await scrape(client)
    # Only the first scrape's own route is new: no path became a label value.
    assert route_values(after) - route_values(first) <= {"/metrics"}
    assert all(not route.startswith("/no/") for route in route_values(after))
    methods = {dict(labels)["method"] for name, labels in after if name == REQUESTS + "_total"}
    assert "PROPFIND" not in methods
    assert "other" in methods
    unmatched = {"method": "GET", "route": UNMATCHED_ROUTE, "status": "404"}
    assert value(after, REQUESTS + "_total", **unmatched) == (
        value(first, REQUESTS + "_total", **unmatched) + 3
    )


async def test_readyz_is_503_and_says_why_when_the_database_is_gone(
    make_client: MakeClient,
) -> None:
    server = Postgres()  # its own: this test stops it
    server.start()
    try:
        client = await make_client(database_url=await create_database(server))
        assert (await client.get("/readyz")).status == 200
        assert server.process is not None
        server.process.send_signal(signal.SIGINT)  # fast shutdown: sessions are cut
        await asyncio.to_thread(server.process.wait, 15)
        reply = await client.get("/readyz")
        assert reply.status == 503
        body = await reply.json()
        assert body["ready"] is False
        assert body["checks"]["database"].startswith("not reachable")
        assert body["detail"].startswith("not ready: database not reachable")
        assert (await client.get("/healthz")).status == 200  # alive all the same
    finally:
        server.stop()


async def test_both_services_export_process_metrics(client: Client, logger: Logger) -> None:
    async with aiohttp.ClientSession() as session, session.get(logger.url + "/metrics") as reply:
        assert reply.status == 200
        logger_metrics = samples(await reply.text())
    for scraped in (await scrape(client), logger_metrics):
        assert value(scraped, "process_resident_memory_bytes") > 0
        assert value(scraped, "process_open_fds") > 0
        assert value(scraped, "process_cpu_seconds_total") > 0
