"""What the forward decoder hands to routing: one record per log event.

The fields are the few the logger reads; every other key of a Fluent Bit
record is skipped by the decoder without being built into Python objects,
which is what makes typed decoding several times cheaper than a dict.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, TypeAlias

import msgspec
from msgspec.msgpack import Ext


class PodLabels(msgspec.Struct, frozen=True, gc=False):
    """The two pod labels routing reads (Drycc sets both on every app pod)."""

    app: str | None = None
    type: str | None = None


class KubernetesMeta(msgspec.Struct, frozen=True, gc=False):
    """The part of Fluent Bit's `kubernetes` filter output that routing reads."""

    pod_name: str | None = None
    namespace_name: str | None = None
    container_name: str | None = None
    labels: PodLabels | None = None


# `kubernetes` is kept as its encoded msgpack bytes: routing looks the bytes
# up in a cache (every record of a pod carries the same ones) and decodes a
# `KubernetesMeta` only the first time it sees them.
NO_METADATA = msgspec.Raw(b"")


class Record(msgspec.Struct, gc=False):
    """A log record from the general path. `message` is already resolved when
    the record had neither `log` nor `message` as a string (compact JSON of it)."""

    log: str | None = None
    message: str | None = None
    stream: str | None = None
    kubernetes: msgspec.Raw = NO_METADATA


class LoggedRecord(msgspec.Struct, gc=False):
    """The fast path's record: `log` is required, so a record without one
    fails the typed decode and takes the general path, with no second check.
    `stream` is one of the two names container runtimes write, decoded as the
    literal's own string (no string made per record); any other stream name
    takes the general path too, which routes it the same way."""

    log: str
    message: str | None = None
    stream: Literal["stdout", "stderr"] | None = None
    kubernetes: msgspec.Raw = NO_METADATA


class TimeWithMetadata(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """`[time, metadata]`, the entry time Fluent Bit >= 5.0.5 sends (its
    out_forward default, with `{}` as the metadata).

    Decoded on the fast path with no list or dict built: `metadata` is the
    map's exact msgpack bytes (`b"\\x80"` for `{}`), kept but not read by
    routing. The general path gives the same pair as a plain list instead."""

    time: Ext | int | float | dt.datetime
    metadata: msgspec.Raw


AnyRecord: TypeAlias = Record | LoggedRecord
# An entry's time as the fast path types it: EventTime (msgpack Ext 0), an
# integer or float of seconds, or the `[time, metadata]` pair. A msgpack
# Timestamp (ext -1) decodes as a datetime, as it did untyped (routing counts
# it as an invalid time), and one of an impossible length fails the decode.
WireTime: TypeAlias = Ext | int | float | dt.datetime | TimeWithMetadata
# Any time as it was on the wire: the general path keeps whatever it found
# (a list for the pair, a string, ...) and routing decides whether it is one.
RawTime: TypeAlias = Any
Entry: TypeAlias = tuple[RawTime, AnyRecord]
