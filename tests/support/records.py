"""Decoded records seen as plain values, whichever path decoded them."""

from __future__ import annotations

from dataclasses import dataclass

from logger.forward.protocol import decode_kubernetes
from logger.model import AnyRecord, KubernetesMeta


@dataclass(frozen=True)
class RecordView:
    log: str | None = None
    message: str | None = None
    stream: str | None = None
    kubernetes: KubernetesMeta | None = None


def view(record: AnyRecord) -> RecordView:
    """The record with its `kubernetes` bytes decoded as routing decodes them."""
    meta = decode_kubernetes(bytes(record.kubernetes)) if record.kubernetes else None
    return RecordView(record.log, record.message, record.stream, meta)
