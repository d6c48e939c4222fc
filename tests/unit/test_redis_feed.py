"""The feed's hand-over of what the subscription read: in order, an app's
consecutive batches joined (no Redis needed: the messages are built here,
as `wf2_append` publishes them)."""

from __future__ import annotations

import msgpack
from prometheus_client import CollectorRegistry

from logger.store.memory import StoreSettings
from logger.store.redis import RedisStore, feed_channel
from logger.store.redis_feed import RedisFeed
from logger.store.redis_settings import RedisSettings


def published(app: str, replica: bytes, first_seq: int, lines: list[bytes]) -> dict[str, object]:
    data = b"".join(
        msgpack.packb(value, use_bin_type=False) for value in (replica, first_seq, lines)
    )
    return {"type": "message", "channel": feed_channel(app).encode(), "data": data}


def feed_at(cursors: dict[str, int]) -> tuple[RedisFeed, list[tuple[str, int, list[bytes]]]]:
    store = RedisStore(
        StoreSettings(), RedisSettings(url="redis://127.0.0.1:1/0"), CollectorRegistry(), "b"
    )
    delivered: list[tuple[str, int, list[bytes]]] = []
    feed = RedisFeed(store, lambda app, first, lines: delivered.append((app, first, list(lines))))
    for app, cursor in cursors.items():
        feed.watch(app)
        state = feed._apps[app]
        state.cursor = cursor
        state.live.set()
    return feed, delivered


def test_a_backlog_of_one_app_reaches_the_hub_as_one_batch() -> None:
    feed, delivered = feed_at({"shop": 100, "cart": 7})
    feed._hand_over(
        [
            published("shop", b"a", 101, [b"s1", b"s2"]),
            published("cart", b"a", 8, [b"c1"]),
            published("shop", b"a", 103, [b"s3"]),
            published("shop", b"b", 104, [b"own"]),  # this replica's: ingest gave it already
            published("shop", b"a", 104, [b"s4", b"s5"]),
        ]
    )
    assert delivered == [("shop", 101, [b"s1", b"s2", b"s3", b"s4", b"s5"]), ("cart", 8, [b"c1"])]
    assert feed._apps["shop"].cursor == 105


def test_batches_that_do_not_follow_each_other_are_not_joined() -> None:
    feed, delivered = feed_at({"shop": 100})
    feed._hand_over(
        [
            published("shop", b"a", 101, [b"s1"]),
            published("shop", b"a", 101, [b"s1"]),  # a repeat: dropped by sequence number
            published("shop", b"a", 102, [b"s2"]),
        ]
    )
    assert delivered == [("shop", 101, [b"s1"]), ("shop", 102, [b"s2"])]
    assert feed._apps["shop"].cursor == 102


def test_a_subscription_message_hands_over_what_came_before_it_first() -> None:
    feed, delivered = feed_at({"shop": 100})
    order: list[str] = []
    feed._on_subscription = lambda app, kind: order.append(f"{kind} {app} after {len(delivered)}")  # type: ignore[method-assign]
    feed._hand_over(
        [
            published("shop", b"a", 101, [b"s1"]),
            {"type": "unsubscribe", "channel": feed_channel("shop").encode(), "data": 0},
            published("shop", b"a", 102, [b"s2"]),
        ]
    )
    assert order == ["unsubscribe shop after 1"]
    assert delivered == [("shop", 101, [b"s1"]), ("shop", 102, [b"s2"])]
