"""The destination policy: what drains may reach, at add time and at connect time."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import CollectorRegistry

from logger.drains.api import DRAINS, routes
from logger.drains.base import Batch
from logger.drains.destinations import DestinationPolicy, HostList, address_problem
from logger.drains.errors import DeniedDestination, RejectedDelivery
from logger.drains.registry import DrainRegistry
from logger.drains.settings import DrainSettings
from logger.drains.sinks.http.transport import HttpSink
from logger.drains.sinks.syslog.tcp import TcpSyslogSink
from logger.drains.url import parse_drain_url
from logger.lines import format_timestamp

AiohttpClient = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]
T0 = 1_795_000_000_000_000_000
LINE = b"o" + f"{format_timestamp(T0)} shop[web.1]: hello".encode()

# The list, plus a few more of the same kinds.
DENIED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("100.64.0.1", "reserved"),  # carrier-grade NAT, used by pod networks
    ("240.0.0.1", "private"),
]


@pytest.mark.parametrize(("address", "problem"), DENIED)
def test_the_default_denies_addresses_inside_the_platform(address: str, problem: str) -> None:
    policy = DestinationPolicy()
    assert policy.host_problem(address) == f"is a {problem} address"
    assert not policy.allows(address, address)
    with pytest.raises(DeniedDestination, match="WF_DRAINS_ALLOW_DESTINATIONS"):
        policy.check_host(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None
    assert DestinationPolicy().host_problem(address) is None


@pytest.mark.parametrize(
    "host", ["kubernetes.default.svc", "wf-controller.workflow.svc.cluster.local", "metadata.goog"]
)
def test_the_platforms_own_names_are_denied_whatever_they_resolve_to(host: str) -> None:
    assert DestinationPolicy().host_problem(host) == "is one of the platform's own services"


async def test_a_name_resolving_to_loopback_is_denied_after_resolution() -> None:
    policy = DestinationPolicy()
    assert policy.host_problem("localhost") is None  # the name itself is not denied
    with pytest.raises(DeniedDestination) as caught:
        await policy.check("localhost", 514)
    assert str(caught.value).startswith("drain destination localhost resolves to a loopback")
    with pytest.raises(DeniedDestination):
        await policy.resolve("localhost", 514, socket.SOCK_STREAM)


async def test_the_allow_list_admits_networks_and_names() -> None:
    allow = HostList.parse("10.0.0.0/8, 127.0.0.1/32, logs.internal, *.corp.example", "V")
    policy = DestinationPolicy(allow)
    assert policy.host_problem("10.9.8.7") is None
    assert policy.host_problem("::ffff:10.9.8.7") is None  # judged as the IPv4 it carries
    assert policy.host_problem("192.168.1.1") == "is a private address"
    assert policy.allows("logs.internal", "192.168.1.1")  # an allowed name, any address
    assert policy.allows("a.corp.example", "192.168.1.1")
    assert not policy.allows("other.example", "192.168.1.1")
    await policy.check("localhost", 514)  # resolves to 127.0.0.1 (allowed); ::1 is not
    resolved = await policy.resolve("localhost", 514, socket.SOCK_STREAM)
    assert {address for _, address, _ in resolved} == {"127.0.0.1"}


async def test_a_name_that_does_not_resolve_is_accepted_at_add_time() -> None:
    await DestinationPolicy().check("drain-sink.invalid", 514)  # checked when connecting


async def test_connect_time_check_never_connects_to_a_denied_address() -> None:
    """A drain that got past the add-time check (DNS changed since: rebinding)
    is refused before connecting, and nothing reaches the address."""
    connections = 0

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = DrainSettings(state_file=None, connect_timeout=2.0)
    try:
        for url in (f"syslog://localhost:{port}", f"syslog+tls://localhost:{port}"):
            sink = TcpSyslogSink(parse_drain_url(url), "shop", settings)
            with pytest.raises(RejectedDelivery) as caught:
                await sink.send(Batch([LINE]))
            assert caught.value.reason == "destination_denied"
            await sink.close()
        http = HttpSink(parse_drain_url(f"http://localhost:{port}/in"), "shop", settings, "d.x")
        with pytest.raises(RejectedDelivery) as caught:
            await http.send(Batch([LINE]))
        assert caught.value.reason == "destination_denied"
        await http.close()
    finally:
        server.close()
        await server.wait_closed()
    assert connections == 0


@pytest.fixture
async def client(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    registry = DrainRegistry(DrainSettings(state_file=tmp_path / "d.json"), CollectorRegistry())
    await registry.start()
    app = web.Application()
    app[DRAINS] = registry
    app.add_routes(routes)
    yield await aiohttp_client(app)
    await registry.close()


@pytest.mark.parametrize(
    "url",
    [
        "syslog://127.0.0.1:514",
        "syslog+udp://[::1]:514",
        "https://169.254.169.254/latest/meta-data",
        "http://10.0.0.5:8080/",
        "syslog+tls://172.16.3.4:6514",
        "https://192.168.0.10/",
        "https://[fc00::10]/",
        "syslog://localhost:514",
        "https://[::ffff:127.0.0.1]:8000/",
        "https://wf-controller.workflow.svc.cluster.local/",
    ],
)
async def test_the_drains_api_refuses_denied_destinations_with_a_clear_400(
    client: TestClient[web.Request, web.Application], url: str
) -> None:
    answer = await client.post("/drains/shop", json={"url": url})
    assert answer.status == 400
    detail = (await answer.json())["detail"]
    assert detail.startswith("drain destination ")
    assert "drains may only reach public addresses" in detail
    assert (await (await client.get("/drains/shop")).json())["drains"] == []


async def test_a_stored_drain_the_policy_now_denies_is_skipped_and_kept(tmp_path: Path) -> None:
    state = tmp_path / "d.json"
    entry = {"id": "0badc0de", "app": "shop", "url": "syslog://127.0.0.1:514", "token": "d.t"}
    state.write_text(json.dumps({"version": 1, "drains": [entry]}))
    registry = DrainRegistry(DrainSettings(state_file=state), CollectorRegistry())
    await registry.start()
    try:
        assert registry.list("shop") == []
        await registry.add("shop", "syslog://93.184.216.34:514")
        kept = json.loads(state.read_text())["drains"]
        assert entry in kept  # not forgotten: allowed again if the operator allows it
    finally:
        await registry.close()
