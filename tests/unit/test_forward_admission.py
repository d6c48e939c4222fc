"""Connection slots, the shared memory budget and the descriptor limits."""

from __future__ import annotations

import resource
import subprocess
import sys

from logger.forward.admission import ConnectionSlots, MemoryBudget, Slot, SlotLimits
from logger.forward.fd_limits import connection_cap


class Closed:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def admit(slots: ConnectionSlots, address: str, closed: Closed) -> Slot:
    slot, _, refusal = slots.admit(address, closed)
    assert slot is not None, refusal
    return slot


def test_oldest_unproven_is_reaped_when_full() -> None:
    slots = ConnectionSlots(SlotLimits(3, 10, 10))
    closes = [Closed() for _ in range(4)]
    first, second, third = (admit(slots, "a", closes[index]) for index in range(3))
    second.prove()
    fourth, reaped, _ = slots.admit("b", closes[3])
    assert fourth is not None
    assert reaped == [first]
    assert closes[0].count == 1
    assert first.released
    assert slots.open == 3
    first.release()  # its task ends later: nothing counted twice
    assert slots.open == 3
    del third


def test_full_of_proven_connections_refuses() -> None:
    slots = ConnectionSlots(SlotLimits(2, 10, 10))
    for _ in range(2):
        admit(slots, "a", Closed()).prove()
    slot, reaped, refusal = slots.admit("b", Closed())
    assert slot is None
    assert reaped == []
    assert refusal == "too_many_connections"


def test_unproven_cap_reaps_before_the_total_cap() -> None:
    slots = ConnectionSlots(SlotLimits(100, 100, 2))
    first = admit(slots, "a", Closed())
    admit(slots, "a", Closed())
    _, reaped, _ = slots.admit("a", Closed())
    assert reaped == [first]
    assert slots.unproven == 2


def test_per_address_cap() -> None:
    slots = ConnectionSlots(SlotLimits(100, 2, 100))
    held = [admit(slots, "10.0.0.1", Closed()) for _ in range(2)]
    assert slots.admit("10.0.0.1", Closed())[2] == "too_many_connections_from_address"
    assert slots.admit("10.0.0.2", Closed())[0] is not None
    held[0].release()
    assert slots.admit("10.0.0.1", Closed())[0] is not None


def test_memory_budget() -> None:
    budget = MemoryBudget(100)
    assert budget.resize(0, 60)
    assert not budget.resize(0, 50)
    assert budget.used == 60
    assert budget.resize(60, 10)
    assert budget.resize(0, 90)
    assert budget.resize(0, 10, force=True)
    assert budget.used == 110


def test_connection_cap_leaves_descriptors_for_the_rest() -> None:
    assert connection_cap(1024, 1024, 256) == 768
    assert connection_cap(1024, 1 << 20, 256) == 1024
    assert connection_cap(1024, 100, 256) == 1
    assert connection_cap(50, resource.RLIM_INFINITY, 256) == 50


def test_soft_fd_limit_is_raised_to_the_hard_limit() -> None:
    script = (
        "import resource\n"
        "from logger.forward.fd_limits import raise_fd_limit\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))\n"
        "reported = raise_fd_limit()\n"
        "in_force = resource.getrlimit(resource.RLIMIT_NOFILE)[0]\n"
        "print(reported, in_force, min(hard, 1 << 20))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    reported, in_force, expected = out.stdout.split()
    assert reported == in_force == expected
