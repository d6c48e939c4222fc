"""Typed keys of the controller's application and request state."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from controller.auth.passwords import Passwords
from controller.auth.ratelimit import AttemptLimiter
from controller.auth.sealing import Sealer
from controller.db.models import Token, User
from controller.logger_client import LoggerClient
from controller.platform_log import PlatformLog
from controller.scheduler.base import Scheduler
from controller.settings import ControllerSettings

SETTINGS = web.AppKey("controller_settings", ControllerSettings)
SESSIONS = web.AppKey("controller_sessions", async_sessionmaker[AsyncSession])
SCHEDULER = web.AppKey("controller_scheduler", Scheduler)
LOGGER = web.AppKey("controller_logger", LoggerClient)
PLATFORM_LOG = web.AppKey("controller_platform_log", PlatformLog)
PASSWORDS = web.AppKey("controller_passwords", Passwords)
SEALER = web.AppKey("controller_sealer", Sealer)
LIMITER = web.AppKey("controller_attempt_limiter", AttemptLimiter)
# The drains reconciliation started at start-up (awaitable by whoever cares).
RECONCILED = web.AppKey("controller_reconciled", asyncio.Task[None])

# Set by the auth middleware on each request that presents a valid token.
USER_KEY = web.RequestKey("wf_user", User)
TOKEN_KEY = web.RequestKey("wf_token", Token)


def request_user(request: web.Request) -> User | None:
    return request.get(USER_KEY)


def request_token(request: web.Request) -> Token | None:
    return request.get(TOKEN_KEY)
