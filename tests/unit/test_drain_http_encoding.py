"""The HTTP sink's encodings and header helpers, without a network."""

from __future__ import annotations

import base64
import json

import pytest

from logger.drains.base import Batch
from logger.drains.settings import DrainSettings
from logger.drains.sinks.http.transport import HttpSink, basic_auth, retry_after_seconds
from logger.drains.url import parse_drain_url
from logger.lines import JSON_FIELDS

TS = "2026-11-22T10:00:00.123456+00:00"
LINES = [
    f"o{TS} shop[web.x2x9z]: GET / 200".encode(),
    f"e{TS} shop[worker.a1]: boom\nat line 2".encode(),
    f"-{TS} shop[controller]: scaled".encode(),
]


def test_logplex_body_is_octet_counted_rfc5424() -> None:
    sink = HttpSink(parse_drain_url("https://h.example.com/in"), "shop", DrainSettings(), "d.x")
    first = f"<14>1 {TS} shop shop web.x2x9z - - GET / 200".encode()
    second = f"<11>1 {TS} shop shop worker.a1 - - boom\nat line 2".encode()
    third = f"<13>1 {TS} shop shop controller - - scaled".encode()
    assert sink.encode(Batch(LINES)) == b"".join(
        b"%d %b" % (len(message), message) for message in (first, second, third)
    )


def test_ndjson_body_has_one_object_per_line() -> None:
    url = parse_drain_url("https://h.example.com/in?format=ndjson")
    sink = HttpSink(url, "shop", DrainSettings(), "d.x")
    rows = [json.loads(row) for row in sink.encode(Batch(LINES)).splitlines()]
    assert rows == [
        {"time": TS, "app": "shop", "proc": "web", "instance": "x2x9z",
         "stream": "stdout", "message": "GET / 200"},
        {"time": TS, "app": "shop", "proc": "worker", "instance": "a1",
         "stream": "stderr", "message": "boom\nat line 2"},
        {"time": TS, "app": "shop", "proc": "controller", "instance": "",
         "stream": "", "message": "scaled"},
    ]  # fmt: skip
    # One owner for the names: the logs API's NDJSON has the same, after `seq`.
    assert list(rows[0]) == list(JSON_FIELDS)


def test_basic_auth_header() -> None:
    header = basic_auth("us@er", "pä:ss")
    assert header == "Basic " + base64.b64encode("us@er:pä:ss".encode()).decode()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (None, None),
        ("3", 3.0),
        (" 0.5 ", 0.5),
        ("-1", None),
        ("soon", None),
        # An HTTP date (RFC 9110 10.2.3), from "now" = 07:28:00 GMT that day.
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wednesday, 21-Oct-15 07:29:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: retry at once
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after_seconds(value, now) == seconds
