"""The logger's processes tune the cyclic collector once, before serving."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from logger.gc_tuning import FIRST_GENERATION_THRESHOLD, tune_garbage_collector


@pytest.fixture
def collector_restored() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector_restored")
def test_the_first_threshold_is_above_a_frame_and_start_up_is_frozen() -> None:
    _, second, third = gc.get_threshold()
    tune_garbage_collector()
    assert gc.get_threshold() == (FIRST_GENERATION_THRESHOLD, second, third)
    assert gc.get_freeze_count() > 0
    # A frame of 1,000 entries (one tracked tuple each) no longer sets off a collection.
    before = gc.get_stats()[0]["collections"]
    entries = [(n, str(n)) for n in range(1000)]
    assert gc.get_stats()[0]["collections"] == before
    del entries
