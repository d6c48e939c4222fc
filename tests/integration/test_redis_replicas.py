"""Two logger processes on one real Redis, fed by the real Fluent Bit and
by the project's own acking forward client; replicas and Redis fail on purpose.

Delivery is at least once: a line is acked only once Redis holds it, so no
acked line is ever lost; a chunk whose ack did not arrive (the replica
died, or Redis answered after the command timed out) is sent again by the
client, and its lines are then held twice."""

from __future__ import annotations

import collections
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from logger.forward.client import ForwardClient
from tests.integration.redis_replicas import Follower, replica, require_fluent_bit, ring
from tests.support.redis import RedisServer

DEADLINE = 60.0


def numbers(rows: list[dict[str, object]]) -> list[int]:
    """The line numbers (`n=000123 ...`) of the rows that carry one."""
    found = []
    for row in rows:
        message = str(row["message"])
        if message.startswith("n="):
            found.append(int(message[2:8]))
    return found


def runs(numbers: list[int]) -> str:
    """Sorted numbers as ranges: `1-99, 250`."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and spans[-1][1] == n - 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def fluent_bit_config(directory: Path, source: Path, ports: list[int]) -> Path:
    # In upstream mode Fluent Bit reads every forward setting from the node,
    # never from [OUTPUT]: without `require_ack_response` here it sends at
    # most once, and a chunk written to a replica as it dies is lost.
    nodes = "".join(
        f"\n[NODE]\n    name replica-{i}\n    host 127.0.0.1\n    port {port}\n"
        "    require_ack_response true\n"
        for i, port in enumerate(ports)
    )
    upstream = directory / "upstream.conf"
    upstream.write_text(f"[UPSTREAM]\n    name replicas\n{nodes}")
    config = directory / "fluent-bit.conf"
    config.write_text(
        f"""[SERVICE]
    flush 0.2
    grace 1
    log_level info
    scheduler.base 1
    scheduler.cap 2

[INPUT]
    name tail
    path {source}
    read_from_head true
    refresh_interval 1
    tag app.shop.web

[OUTPUT]
    name forward
    match *
    upstream {upstream}
    retry_limit no_limits
"""
    )
    return config


def test_fluent_bit_to_two_replicas_one_killed_mid_stream(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    fluent_bit = require_fluent_bit()
    total, batch = 4000, 100
    source = tmp_path / "app.log"
    source.touch()
    with (
        replica(tmp_path, "a", own_redis.url, "--lines-per-app", "50000") as a,
        replica(tmp_path, "b", own_redis.url, "--lines-per-app", "50000") as b,
    ):
        follower = Follower(b.url, "shop", timeout=DEADLINE + 30)
        config = fluent_bit_config(tmp_path, source, [a.forward_port, b.forward_port])
        with (tmp_path / "fluent-bit.log").open("wb") as fb_log:
            shipper = subprocess.Popen(
                [fluent_bit, "-c", str(config)], stdout=fb_log, stderr=subprocess.STDOUT
            )
        try:
            with source.open("a") as out:
                for start in range(1, total + 1, batch):
                    out.write("".join(f"n={n:06d} line\n" for n in range(start, start + batch)))
                    out.flush()
                    if start == 1 + 15 * batch:
                        wait_for(lambda: len(ring(b.url, "shop")) > 0, "nothing arrived")
                        a.process.kill()  # kill -9, mid-stream
                        a.process.wait(5)
                    time.sleep(0.05)
            expected = set(range(1, total + 1))
            try:
                wait_for(
                    lambda: set(numbers(ring(b.url, "shop"))) == expected,
                    "some lines never reached the ring",
                )
            except AssertionError:
                missing = sorted(expected - set(numbers(ring(b.url, "shop"))))
                raise AssertionError(
                    f"{len(missing)} lines never reached the ring: {runs(missing)}\n"
                    + (tmp_path / "fluent-bit.log").read_text()[-6000:]
                ) from None
            held = numbers(ring(b.url, "shop"))
            copies = collections.Counter(held)
            # At least once: nothing missing; a line held twice came in a chunk
            # that was resent because its ack never arrived.
            assert set(copies) == set(range(1, total + 1))
            assert max(copies.values()) <= 2, copies.most_common(3)
            # The follower at B saw the ring's lines, every one, in sequence order.
            wait_for(lambda: len(numbers(follower.rows)) >= len(held), "the follower fell behind")
            rows = [row for row in follower.rows if str(row["message"]).startswith("n=")]
            assert numbers(rows) == held
            print(f"held {len(held)} lines for {total} sent, {len(held) - total} resent")
            seqs = [int(str(row["seq"])) for row in rows]
            assert seqs == sorted(set(seqs))
            assert seqs == [int(str(row["seq"])) for row in ring(b.url, "shop")]
        finally:
            shipper.terminate()
            shipper.wait(10)


class AckingClient:
    """The project's forward client, reconnecting after a frame went unacked."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._client: ForwardClient | None = None
        self.next = 1
        self.acked: list[int] = []

    def send(self, count: int = 20) -> bool:
        """Send the next `count` numbered lines; True once acked (else they
        are sent again next time)."""
        batch = list(range(self.next, self.next + count))
        try:
            if self._client is None:
                self._client = ForwardClient("127.0.0.1", self._port, timeout=5)
            self._client.send(
                "app.shop.web", [(time.time_ns(), {"log": f"n={i:06d} line"}) for i in batch]
            )
        except OSError:  # reset by the logger, or no ack in time
            self.close()
            return False
        self.acked.extend(batch)
        self.next += count
        return True

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None


def test_redis_paused_for_10_s_while_a_client_sends_with_acks(
    own_redis: RedisServer, tmp_path: Path
) -> None:
    with replica(tmp_path, "a", own_redis.url, "--lines-per-app", "100000") as a:
        client = AckingClient(a.forward_port)
        for _ in range(50):
            assert client.send(), "a frame was not acked while Redis was up"
        acked_before = len(client.acked)
        own_redis.pause()
        paused_until = time.monotonic() + 10
        attempts, answers_503 = 0, []
        try:
            while time.monotonic() < paused_until:
                attempts += 1
                assert not client.send(), "a frame was acked while Redis was paused"
                reply = httpx.get(f"{a.url}/logs/shop", timeout=10)
                assert reply.status_code == 503
                answers_503.append(reply.json()["detail"])
                assert httpx.get(f"{a.url}/readyz", timeout=10).status_code == 503
        finally:
            own_redis.resume()
        assert attempts >= 2
        assert len(client.acked) == acked_before
        assert all(f"Redis is unreachable at 127.0.0.1:{own_redis.port}" in t for t in answers_503)
        # Back by itself: ready again, and the same client's frames acked again.
        wait_for(
            lambda: httpx.get(f"{a.url}/readyz", timeout=5).status_code == 200,
            "the replica did not become ready again",
        )
        deadline = time.monotonic() + DEADLINE
        while len(client.acked) < acked_before + 50 * 20:
            client.send()
            assert time.monotonic() < deadline, "frames are not acked after Redis came back"
        client.close()
        assert a.process.poll() is None, "the replica crashed"
        held = collections.Counter(numbers(ring(a.url, "shop")))
        assert set(client.acked) == set(held), "an acked line was lost"
        # A timed-out append stays queued in the paused Redis and runs once it
        # resumes: those lines were never acked, were sent again, and are held
        # twice. Nothing else is.
        twice = [n for n, copies in held.items() if copies > 1]
        assert max(held.values()) <= 2
        assert len(twice) <= attempts * 20
        print(f"acked {len(client.acked)}, unacked attempts {attempts}, held twice {len(twice)}")
        metrics = httpx.get(f"{a.url}/metrics", timeout=5).text
        assert 'logger_errors_total{error_type="store_unavailable",stage="store"}' in metrics
        assert 'logger_store_errors_total{operation="append"}' in metrics
