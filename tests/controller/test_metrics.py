"""GET /v2/apps/{id}/metrics and /metrics/{ptype}/status against a real
VictoriaMetrics holding synthetic cAdvisor, kube-state-metrics and kubelet
series with known values: every expected number is worked out by hand from
the imported samples."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from controller.cli.main import cli
from tests.controller.conftest import Client, MakeClient, Users
from tests.support.services import free_port, require_binary
from tests.support.victoriametrics import VictoriaMetricsServer

# Samples every 15 s from `base` to base + 900 s, which is 5 minutes before
# the module's server starts.
END = 900
POD_A = "shop-web-5d8f7c9b4-x2x9z"
POD_B = "shop-web-5d8f7c9b4-ab3cd"
WORKER = "shop-worker-6c7d8e9f0-qq1rr"
MIB = 1 << 20


def series(base: int) -> str:
    cadvisor = 'job="kubelet",namespace="{ns}",pod="{pod}",container="{c}",id="/kubepods/{pod}"'
    rows = []

    def add(name: str, labels: str, value_at: float | None = None, slope: float = 0.0) -> None:
        for t in range(0, END + 1, 15):
            value = value_at if value_at is not None else slope * t
            rows.append(f"{name}{{{labels}}} {value} {(base + t) * 1000}")

    cpu = "container_cpu_usage_seconds_total"
    add(cpu, cadvisor.format(ns="shop", pod=POD_A, c="shop-web"), slope=0.5)
    add(cpu, cadvisor.format(ns="shop", pod=POD_B, c="shop-web"), slope=0.25)
    add(cpu, cadvisor.format(ns="shop", pod=WORKER, c="shop-worker"), slope=1.0)
    add(cpu, cadvisor.format(ns="shop", pod=POD_A, c=""), slope=0.75)  # the pod's cgroup
    add(cpu, cadvisor.format(ns="other", pod="other-web-1-aaaaa", c="web"), slope=2.0)
    memory = "container_memory_working_set_bytes"
    add(memory, cadvisor.format(ns="shop", pod=POD_A, c="shop-web"), 100 * MIB)
    add(memory, cadvisor.format(ns="shop", pod=POD_B, c="shop-web"), 50 * MIB)
    add(memory, cadvisor.format(ns="shop", pod=WORKER, c="shop-worker"), 1024 * MIB)
    add(memory, cadvisor.format(ns="shop", pod=POD_A, c=""), 200 * MIB)
    for direction, a, b in (("receive", 2048, 1024), ("transmit", 512, 256)):
        name = f"container_network_{direction}_bytes_total"
        # cAdvisor may report the same pod network twice (cgroup and pause container).
        for container in ("POD", ""):
            labels = cadvisor.format(ns="shop", pod=POD_A, c=container) + ',interface="eth0"'
            add(name, labels, slope=a)
        add(name, cadvisor.format(ns="shop", pod=POD_B, c="POD") + ',interface="eth0"', slope=b)
    state = f'job="kube-state-metrics",namespace="shop",pod="{POD_A}",uid="u-1"'
    add("kube_pod_status_phase", state + ',phase="Running"', 1)
    add("kube_pod_status_phase", state + ',phase="Pending"', 0)
    add("kube_pod_container_status_restarts_total", state + ',container="shop-web"', 3)
    add(
        "kube_pod_container_resource_limits",
        state + ',container="shop-web",resource="memory",unit="byte",node="n1"',
        256 * MIB,
    )
    volume = 'job="kubelet",namespace="shop",persistentvolumeclaim="data",instance="n1:10250"'
    add("kubelet_volume_stats_used_bytes", volume, 2048)
    add("kubelet_volume_stats_capacity_bytes", volume, 1 << 30)
    return "\n".join(rows) + "\n"


class Synthetic(VictoriaMetricsServer):
    base = 0


@pytest.fixture(scope="module")
def vm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthetic]:
    server = Synthetic(tmp_path_factory.mktemp("vm"))
    server.base = int(time.time()) // 60 * 60 - 1200
    server.start()
    try:
        server.import_prometheus(series(server.base))
        # The last samples are 5 minutes old: older than an instant query's look-back.
        capacity = "last_over_time(kubelet_volume_stats_capacity_bytes[30m])"
        server.wait_for(capacity, lambda r: len(r) == 1)
        transmit = "last_over_time(container_network_transmit_bytes_total[30m])"
        server.wait_for(transmit, lambda r: len(r) == 3)
        yield server
    finally:
        server.stop()


@pytest.fixture
async def metrics_client(make_client: MakeClient, vm: Synthetic) -> Client:
    return await make_client(victoriametrics_url=vm.url, metrics_current_window=1200.0)


EXPECTED_TEXT = f"""\
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{{container="shop-web",namespace="shop",pod="{POD_B}"}} 225
container_cpu_usage_seconds_total{{container="shop-web",namespace="shop",pod="{POD_A}"}} 450
container_cpu_usage_seconds_total{{container="shop-worker",namespace="shop",pod="{WORKER}"}} 900
# TYPE container_memory_working_set_bytes gauge
container_memory_working_set_bytes{{container="shop-web",namespace="shop",pod="{POD_B}"}} 52428800
container_memory_working_set_bytes{{container="shop-web",namespace="shop",pod="{POD_A}"}} 104857600
container_memory_working_set_bytes{{container="shop-worker",namespace="shop",pod="{WORKER}"}} 1073741824
# TYPE container_network_receive_bytes_total counter
container_network_receive_bytes_total{{interface="eth0",namespace="shop",pod="{POD_B}"}} 921600
container_network_receive_bytes_total{{interface="eth0",namespace="shop",pod="{POD_A}"}} 1843200
# TYPE container_network_transmit_bytes_total counter
container_network_transmit_bytes_total{{interface="eth0",namespace="shop",pod="{POD_B}"}} 230400
container_network_transmit_bytes_total{{interface="eth0",namespace="shop",pod="{POD_A}"}} 460800
# TYPE kube_pod_status_phase gauge
kube_pod_status_phase{{namespace="shop",phase="Pending",pod="{POD_A}"}} 0
kube_pod_status_phase{{namespace="shop",phase="Running",pod="{POD_A}"}} 1
# TYPE kube_pod_container_status_restarts_total counter
kube_pod_container_status_restarts_total{{container="shop-web",namespace="shop",pod="{POD_A}"}} 3
# TYPE kube_pod_container_resource_limits gauge
kube_pod_container_resource_limits{{container="shop-web",namespace="shop",pod="{POD_A}",resource="memory",unit="byte"}} 268435456
# TYPE kubelet_volume_stats_used_bytes gauge
kubelet_volume_stats_used_bytes{{namespace="shop",persistentvolumeclaim="data"}} 2048
# TYPE kubelet_volume_stats_capacity_bytes gauge
kubelet_volume_stats_capacity_bytes{{namespace="shop",persistentvolumeclaim="data"}} 1073741824
"""  # noqa: E501


async def test_current_metrics_in_prometheus_text(metrics_client: Client, users: Users) -> None:
    reply = await metrics_client.get("/v2/apps/shop/metrics", headers=users.headers("bob"))
    assert reply.status == 200, await reply.text()
    assert reply.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await reply.text()
    assert (
        "\n".join(line for line in text.splitlines() if not line.startswith("# HELP")) + "\n"
        == EXPECTED_TEXT
    )
    assert "# HELP kube_pod_status_phase 1 for the pod's current phase, 0 for the others.\n" in text
    assert promtool_check(text) == (0, "")


def promtool_check(text: str) -> tuple[int, str]:
    """`promtool check metrics`: its exit status and what it said."""
    checked = subprocess.run(
        [require_binary("promtool"), "check", "metrics"],
        input=text.encode(),
        capture_output=True,
        timeout=30,
    )
    return checked.returncode, (checked.stdout + checked.stderr).decode()


async def test_status_per_pod_with_the_exact_rates(
    metrics_client: Client, users: Users, vm: Synthetic
) -> None:
    base = vm.base

    def points(value: float) -> list[list[float]]:
        return [[base + t, value] for t in range(300, 601, 60)]

    reply = await metrics_client.get(
        "/v2/apps/shop/metrics/web/status",
        params={"start": str(base + 300), "stop": str(base + 600), "every": "1m"},
        headers=users.headers("alice"),
    )
    assert reply.status == 200, await reply.text()
    assert await reply.json() == {
        "id": "shop",
        "ptype": "web",
        "usage": {
            # counters rising 0.5 and 0.25 core-seconds per second
            "cpus": {POD_A: points(0.5), POD_B: points(0.25)},
            "memory": {POD_A: points(100 * MIB), POD_B: points(50 * MIB)},
            # 2048 B/s, counted once although reported twice
            "networks": {
                "receive": {POD_A: points(2048), POD_B: points(1024)},
                "transmit": {POD_A: points(512), POD_B: points(256)},
            },
        },
    }
    worker = await metrics_client.get(
        "/v2/apps/shop/metrics/worker/status",
        params={"start": str(base + 300), "stop": str(base + 600), "every": "60"},
        headers=users.headers("admin"),
    )
    usage = (await worker.json())["usage"]
    assert usage["cpus"] == {WORKER: points(1.0)}
    assert usage["memory"] == {WORKER: points(1024 * MIB)}
    assert usage["networks"] == {"receive": {}, "transmit": {}}


async def test_current_metrics_are_cached(
    make_client: MakeClient, vm: Synthetic, users: Users
) -> None:
    client = await make_client(victoriametrics_url=vm.url, metrics_cache_ttl=600.0)
    headers = users.headers("alice")
    # `users` created its apps on another client with the same database.
    assert (await client.post("/v2/apps", json={"id": "fresh"}, headers=headers)).status == 201
    first = await client.get("/v2/apps/fresh/metrics", headers=headers)
    assert (first.status, await first.text()) == (200, "")
    stamp = (int(time.time()) - 60) * 1000
    vm.import_prometheus(
        f'kubelet_volume_stats_used_bytes{{job="kubelet",namespace="fresh",'
        f'persistentvolumeclaim="d"}} 7 {stamp}\n'
    )
    uncached = await make_client(victoriametrics_url=vm.url, metrics_cache_ttl=0.0)
    # Polled through the endpoint itself: VictoriaMetrics answers its exact
    # query from a negative cache for a few seconds after a new series.
    deadline = time.monotonic() + 20
    text = ""
    while not text and time.monotonic() < deadline:
        text = await (await uncached.get("/v2/apps/fresh/metrics", headers=headers)).text()
        await asyncio.sleep(0.3)
    assert text == (
        "# HELP kubelet_volume_stats_used_bytes Bytes used on the persistent volume claim.\n"
        "# TYPE kubelet_volume_stats_used_bytes gauge\n"
        'kubelet_volume_stats_used_bytes{namespace="fresh",persistentvolumeclaim="d"} 7\n'
    )
    cached = await client.get("/v2/apps/fresh/metrics", headers=headers)
    assert await cached.text() == ""


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"start": "200", "stop": "100"}, "start must be before stop"),
        ({"start": "0", "stop": "900000"}, "the window from start to stop is 900000 s, "
                                           "at most 604800 s"),
        (
            {"start": "0", "stop": "86400", "every": "10s"},
            "start, stop and every ask for 8641 points, at most 1000: "
            "use every=87s or a shorter window",
        ),
        ({"every": "0.5s"}, "every must be at least 1 s"),
        ({"every": "soon"}, "every must be a duration like 30s, 5m or 1h, got 'soon'"),
        ({"start": "yesterday"}, "start must be a Unix time in seconds, got 'yesterday'"),
        ({"stop": "nan"}, "stop must be a Unix time in seconds, got 'nan'"),
    ],
)  # fmt: skip
async def test_status_bounds(
    client: Client, users: Users, params: dict[str, str], detail: str
) -> None:
    reply = await client.get(
        "/v2/apps/shop/metrics/web/status", params=params, headers=users.headers("alice")
    )
    assert (reply.status, (await reply.json())["detail"]) == (400, detail)


async def test_a_bad_process_type_is_a_bad_request(client: Client, users: Users) -> None:
    reply = await client.get("/v2/apps/shop/metrics/Web_1/status", headers=users.headers("alice"))
    assert reply.status == 400
    assert (await reply.json())["detail"] == (
        "'Web_1' is not a process type: use lowercase letters, digits and '-'"
    )


@pytest.mark.parametrize("path", ["/v2/apps/shop/metrics", "/v2/apps/shop/metrics/web/status"])
async def test_not_configured_is_503_saying_how(client: Client, users: Users, path: str) -> None:
    reply = await client.get(path, headers=users.headers("alice"))
    assert reply.status == 503
    assert (await reply.json())["detail"] == (
        "metrics are not configured: set WF_VICTORIAMETRICS_URL on the controller to the "
        "VictoriaMetrics URL (for example http://victoriametrics:8428)"
    )


@pytest.mark.parametrize("path", ["/v2/apps/shop/metrics", "/v2/apps/shop/metrics/web/status"])
async def test_unreachable_is_a_quick_503(make_client: MakeClient, users: Users, path: str) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = await make_client(victoriametrics_url=url, victoriametrics_retries=1)
    started = time.monotonic()
    reply = await client.get(path, headers=users.headers("alice"))
    assert time.monotonic() - started < 5
    assert reply.status == 503
    assert (await reply.json())["detail"] == (
        f"VictoriaMetrics at {url} is unreachable (ConnectError)"
    )


async def test_wf_metrics_shows_current_values_and_charts(
    metrics_client: Client, users: Users
) -> None:
    url = str(metrics_client.server.make_url("")).rstrip("/")
    args = ["metrics", "-a", "shop", "--since", "30m", "--controller", url]
    env = {"WF_TOKEN": users.tokens["alice"]}
    # The CLI blocks on HTTP: run it in a thread so this loop keeps serving.
    result = await asyncio.to_thread(CliRunner().invoke, cli, args, env=env)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line[:35] for line in lines] == [
        "=== shop web: 2 pods, last 30m (eve",
        "CPU          0.75 cores  " + lines[1][25:35],
        "Memory      150.0 MiB    " + lines[2][25:35],
        "Net in        3.0 KiB/s  " + lines[3][25:35],
        "Net out       0.8 KiB/s  " + lines[4][25:35],
        "=== shop worker: 1 pod, last 30m (e",
        "CPU          1.00 cores  " + lines[6][25:35],
        "Memory     1024.0 MiB    " + lines[7][25:35],
        "Net in          - KiB/s  (no data)",
        "Net out         - KiB/s  (no data)",
    ]
    assert lines[0] == "=== shop web: 2 pods, last 30m (every 30s)"
    # A flat line at its top: every point the same value.
    assert set(lines[1][25:]) == {"█"}
    as_json = await asyncio.to_thread(
        CliRunner().invoke, cli, [*args, "--proc", "web", "--json"], env=env
    )
    shown = json.loads(as_json.output)
    assert (shown["app"], shown["every"], list(shown["processes"])) == ("shop", 30, ["web"])
    assert set(shown["processes"]["web"]["usage"]["cpus"]) == {POD_A, POD_B}
