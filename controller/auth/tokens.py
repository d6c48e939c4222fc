"""API tokens: random, shown once, stored only as a SHA-256 digest.

A fast hash is right here (unlike passwords): a token has 256 bits of
entropy, so its digest cannot be reversed by guessing."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from controller.db.models import Token, User, utcnow

PREFIX = "wf_"


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue(session: AsyncSession, user: User, ttl: float) -> str:
    token = new_token()
    expires = utcnow() + timedelta(seconds=ttl) if ttl > 0 else None
    session.add(Token(user_id=user.id, digest=digest(token), expires_at=expires))
    await session.flush()
    return token


async def resolve(session: AsyncSession, token: str) -> tuple[Token, User] | None:
    """The token's row and user, or None when unknown, revoked or expired."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = (await session.execute(select(Token).where(Token.digest == digest(token)))).scalar()
    if row is None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return row, row.user


async def revoke(session: AsyncSession, token_id: int) -> None:
    await session.execute(delete(Token).where(Token.id == token_id))


async def revoke_all(session: AsyncSession, user_id: int) -> int:
    result = await session.execute(delete(Token).where(Token.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)
