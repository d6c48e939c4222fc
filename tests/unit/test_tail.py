from __future__ import annotations

from logger.lines import platform_line
from logger.tail import Batch, TailHub

T0 = 1_795_341_600_000_000_000


def batch(start: int, count: int) -> list[bytes]:
    return [platform_line("shop", "web", f"m{i}", T0) for i in range(start, start + count)]


async def test_published_batches_reach_followers_of_that_app_only() -> None:
    hub = TailHub(max_queued_lines=100)
    shop = hub.subscribe("shop")
    other = hub.subscribe("other")
    hub.publish("shop", 10, batch(0, 3))
    assert await shop.wait(0.1) is True
    assert await other.wait(0.01) is False
    notice, batches = shop.take()
    assert notice is None
    assert [(b.first_seq, len(b.lines)) for b in batches] == [(10, 3)]
    assert hub.follower_count == 2
    hub.unsubscribe(shop)
    hub.unsubscribe(other)
    assert hub.follower_count == 0


async def test_slow_follower_gets_one_notice_with_the_exact_drop_count() -> None:
    hub = TailHub(max_queued_lines=10)
    follower = hub.subscribe("shop")
    for start in range(0, 25, 5):  # 25 lines into a queue of 10
        hub.publish("shop", 100 + start, batch(start, 5))
    notice, batches = follower.take()
    assert notice is not None
    assert b"shop[logger]: 15 lines dropped since " in notice
    assert [b.first_seq for b in batches] == [115, 120]
    assert hub.dropped_lines == 15
    assert follower.take() == (None, [])


async def test_one_batch_larger_than_the_queue_keeps_its_newest_lines() -> None:
    hub = TailHub(max_queued_lines=4)
    follower = hub.subscribe("shop")
    hub.publish("shop", 1, batch(0, 10))
    notice, batches = follower.take()
    assert notice is not None
    assert b" 6 lines dropped" in notice
    assert len(batches) == 1
    assert batches[0].first_seq == 7
    assert batches[0].lines == batch(6, 4)


async def test_followers_share_one_byte_budget_and_the_fullest_loses() -> None:
    losses: list[tuple[str, str, int]] = []
    line_bytes = len(batch(0, 1)[0])
    hub = TailHub(
        max_queued_lines=1000,
        on_loss=lambda component, reason, count: losses.append((component, reason, count)),
        max_total_bytes=10 * line_bytes,
    )
    stuck = hub.subscribe("shop")
    reader = hub.subscribe("other")
    for start in range(0, 20, 2):  # 20 lines for a follower that never reads
        hub.publish("shop", start, batch(start, 2))
    assert hub.queued_bytes <= 10 * line_bytes
    hub.publish("other", 0, batch(0, 2))
    assert hub.queued_bytes <= 10 * line_bytes
    # The reader holding little keeps its lines; the one holding most lost its oldest.
    assert sum(len(b) for b in reader.take()[1]) == 2
    notice, kept = stuck.take()
    assert notice is not None
    assert b"followers_over_budget" in notice
    assert kept[-1].last_seq == 19
    assert losses
    assert all(c == "follower" and r == "followers_over_budget" for c, r, _ in losses)
    assert sum(n for _, _, n in losses) + sum(len(b) for b in kept) == 20
    hub.unsubscribe(stuck)
    hub.unsubscribe(reader)
    assert hub.queued_bytes == 0


async def test_an_attached_sink_takes_batches_until_it_refuses_one() -> None:
    hub = TailHub(max_queued_lines=100)
    follower = hub.subscribe("shop")
    delivered: list[int] = []
    accepting = True

    def sink(batch: Batch) -> bool:
        if accepting:
            delivered.append(batch.first_seq)
        return accepting

    assert follower.attach(sink)
    hub.publish("shop", 1, batch(0, 2))
    hub.publish("shop", 3, batch(2, 2))
    assert delivered == [1, 3]
    assert await follower.wait(0.01) is False  # nothing queued, nobody woken
    accepting = False
    hub.publish("shop", 5, batch(4, 2))  # refused: queued, and the sink is let go
    assert not follower.attached
    accepting = True
    hub.publish("shop", 7, batch(6, 2))  # queued after it, not around it
    assert delivered == [1, 3]
    assert await follower.wait(0.01) is True
    assert not follower.attach(sink)  # not while batches wait: they come first
    assert [b.first_seq for b in follower.take()[1]] == [5, 7]
    assert follower.attach(sink)
    hub.unsubscribe(follower)  # let go with the follower
    assert not follower.attached
