"""Who gets a forward connection slot, and how much memory the connections
may hold between them.

A connection is *unproven* until it has authenticated (with a shared key)
or sent its first valid frame (without one). Unproven connections are
capped on their own and, when a slot is needed, the oldest of them is closed
first: sockets that never said anything cannot keep a real client out. Each
peer address has its own cap as well.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class SlotLimits:
    max_connections: int
    max_per_address: int
    max_unproven: int


class Slot:
    """One admitted connection's place; `prove()` once it has shown it is a
    real client, `release()` when it ends (both idempotent)."""

    __slots__ = ("_close", "_slots", "address", "proven", "released")

    def __init__(self, slots: ConnectionSlots, address: str, close: Callable[[], None]) -> None:
        self._slots = slots
        self._close = close
        self.address = address
        self.proven = False
        self.released = False

    def prove(self) -> None:
        if not self.proven and not self.released:
            self.proven = True
            self._slots._proved(self)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._slots._released(self)

    def reap(self) -> None:
        self.release()
        self._close()


class ConnectionSlots:
    def __init__(self, limits: SlotLimits) -> None:
        self.limits = limits
        self._per_address: dict[str, int] = {}
        self._unproven: OrderedDict[Slot, None] = OrderedDict()
        self.open = 0

    @property
    def unproven(self) -> int:
        return len(self._unproven)

    def admit(self, address: str, close: Callable[[], None]) -> tuple[Slot | None, list[Slot], str]:
        """A slot for a new connection from `address` (None and the reason
        when refused), and the unproven connections closed to make room."""
        limits = self.limits
        if self._per_address.get(address, 0) >= limits.max_per_address:
            return None, [], "too_many_connections_from_address"
        reaped: list[Slot] = []
        if len(self._unproven) >= limits.max_unproven:
            reaped.append(self._oldest_unproven())
        if self.open - len(reaped) >= limits.max_connections:
            if len(self._unproven) <= len(reaped):
                return None, [], "too_many_connections"
            reaped.append(self._oldest_unproven(skip=len(reaped)))
        for slot in reaped:
            slot.reap()
        slot = Slot(self, address, close)
        self.open += 1
        self._per_address[address] = self._per_address.get(address, 0) + 1
        self._unproven[slot] = None
        return slot, reaped, ""

    def _oldest_unproven(self, skip: int = 0) -> Slot:
        iterator = iter(self._unproven)
        for _ in range(skip):
            next(iterator)
        return next(iterator)

    def _proved(self, slot: Slot) -> None:
        self._unproven.pop(slot, None)

    def _released(self, slot: Slot) -> None:
        self._unproven.pop(slot, None)
        self.open -= 1
        remaining = self._per_address[slot.address] - 1
        if remaining:
            self._per_address[slot.address] = remaining
        else:
            del self._per_address[slot.address]


class MemoryBudget:
    """The bytes every connection's unfinished frames may hold together
    (Fluent Bit's in_forward `buffer_max_size`, across connections)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def resize(self, held: int, wanted: int, *, force: bool = False) -> bool:
        """Change one connection's share from `held` to `wanted` bytes; False
        (and nothing changed) when growing it would pass the limit."""
        growth = wanted - held
        if growth > 0 and not force and self.used + growth > self.limit:
            return False
        self.used += growth
        return True
