"""Password hashing with argon2id (argon2-cffi): memory-hard, salted, and
self-describing, so the parameters can be raised later without a migration."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from controller.auth.policy import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

__all__ = ["MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "Passwords"]


class Passwords:
    def __init__(self, memory_kib: int, time_cost: int) -> None:
        self._hasher = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=1)
        # Verified against when the user does not exist, so that an unknown
        # username costs the same argon2 work as a wrong password: a real hash
        # with this hasher's parameters, of a password nobody knows.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(32))

    async def hash(self, password: str) -> str:
        # Hashing takes tens of milliseconds of CPU: off the event loop.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored`; None (no such user) does the
        same work against the decoy and is always False."""
        return await asyncio.to_thread(self._verify, stored, password)

    def _verify(self, stored: str | None, password: str) -> bool:
        try:
            matched = self._hasher.verify(stored or self._decoy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return matched and stored is not None
