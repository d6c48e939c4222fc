"""History's parts that need no index: settings, the queue, query checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from logger.errors import SettingsError
from logger.history.backend import BadQuery, HistorySearch
from logger.history.document import HistoryDoc
from logger.history.query import checked_query, quickwit_query
from logger.history.queue import IndexQueue
from logger.history.quickwit import _ndjson_chunks, index_config
from logger.history.settings import HistoryBackendKind, HistorySettings
from logger.lines import platform_line, timestamp_us


def test_settings_default_to_the_embedded_index_under_the_state_directory() -> None:
    settings = HistorySettings.from_env({"XDG_STATE_HOME": "/var/lib/wf"})
    assert settings.backend is HistoryBackendKind.EMBEDDED
    assert settings.index_dir == Path("/var/lib/wf/workflow/history")
    quickwit = HistorySettings.from_env({"WF_QUICKWIT_URL": "http://qw:7280/"})
    assert quickwit.backend is HistoryBackendKind.QUICKWIT
    assert quickwit.quickwit_url == "http://qw:7280"
    assert HistorySettings.from_env({"WF_HISTORY": "off"}).backend is HistoryBackendKind.OFF
    assert HistorySettings().backend is HistoryBackendKind.OFF  # built in code: off


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WF_QUICKWIT_URL", "qw:7280"),
        ("WF_QUICKWIT_COMMIT", "later"),
        ("WF_QUICKWIT_INDEX", "a b"),
        ("WF_HISTORY_QUEUE_LINES", "0"),
        ("WF_HISTORY_MAX_BYTES", "1k"),
        ("WF_HISTORY", "maybe"),
    ],
)
def test_bad_settings_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        HistorySettings.from_env({name: value})


def test_queue_sheds_the_oldest_with_a_count_and_takes_in_order() -> None:
    shed: list[tuple[str, int]] = []
    lost: list[tuple[str, str, int]] = []
    queue = IndexQueue(
        10,
        lambda app, count: shed.append((app, count)),
        lambda component, reason, count: lost.append((component, reason, count)),
    )
    queue.offer("a", 100, [b"o1"] * 6)
    queue.offer("b", 200, [b"o2"] * 6)
    assert shed == [("a", 2)]
    assert lost == [("history", "queue_full", 2)]
    assert len(queue) == 10
    assert [seq for seq, _ in queue.pending("a")] == [102, 103, 104, 105]
    batch = queue.take(5, 1 << 20)
    assert [(entry.app, entry.first_seq, len(entry.lines)) for entry in batch.entries] == [
        ("a", 102, 4),
        ("b", 200, 1),
    ]
    assert [seq for seq, _ in queue.pending("b")] == [201, 202, 203, 204, 205]
    queue.offer("c", 0, [b"o3"] * 25)  # larger than the whole queue
    # b's 5 lines (the oldest) go whole, then the head of c's.
    assert shed[-2:] == [("b", 5), ("c", 15)]
    assert lost[-1] == ("history", "queue_full", 20)
    assert len(queue) == 10
    assert [seq for seq, _ in queue.pending("c")] == list(range(15, 25))


@pytest.mark.parametrize("text", ["(a", "a)", 'a "b', "a) OR (app:x", "a\\", "x\x00"])
def test_queries_that_could_leave_their_group_are_refused(text: str) -> None:
    with pytest.raises(BadQuery):
        checked_query(text)


def test_quickwit_query_puts_the_user_text_in_one_group_after_the_app() -> None:
    search = HistorySearch(
        app="shop",
        limit=10,
        query="status:500 OR app:other",
        proc="web.x2",
        since_us=1,
        until_us=2,
        before_seq=99,
    )
    assert quickwit_query(search) == (
        'app:"shop" AND proc:"web" AND instance:x2* AND time_us:[1 TO 2] '
        "AND seq:[* TO 99} AND (status:500 OR app:other)"
    )
    assert checked_query('"a ) b" (c)') == '"a ) b" (c)'


def test_documents_keep_every_field_and_chunks_stay_under_the_limit() -> None:
    line = platform_line("shop", "web.x2", "ERROR boom", 1_700_000_000_123_456_000)
    doc = HistoryDoc.from_stored("shop", 7, line)
    assert (doc.proc, doc.instance, doc.level, doc.seq) == ("web", "x2", "error", 7)
    assert doc.time_us == 1_700_000_000_123_456 == timestamp_us("2023-11-14T22:13:20.123456+00:00")
    chunks = list(_ndjson_chunks([doc] * 100, 2000))
    assert sum(count for _, count in chunks) == 100
    assert all(len(body) <= 2000 for body, _ in chunks)
    fields = {f["name"] for f in index_config(HistorySettings())["doc_mapping"]["field_mappings"]}
    assert set(doc.to_json()) == fields
