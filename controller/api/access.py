"""Who may touch an app: its owner, its collaborators, and admins.

An app the user may not see answers 404, exactly as one that does not
exist, so app names owned by others are not revealed through reads. An
app the user sees but may not change in that way (a collaborator
destroying it or managing its collaborators) answers 403.
"""

from __future__ import annotations

from enum import Enum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from controller.db.models import App, Permission, User
from controller.errors import BadRequest, Forbidden, NotFound
from logger.app_names import app_name_problem


class Access(Enum):
    USE = "use"
    """Read the app, its logs and drains; add and remove drains."""
    ADMINISTER = "administer"
    """Destroy the app, manage its collaborators: owner or admin only."""


def check_app_id(app_id: str) -> str:
    """The app id, or BadRequest: the one app-name rule (`logger.app_names`)."""
    problem = app_name_problem(app_id)
    if problem is not None:
        raise BadRequest(problem)
    return app_id


async def is_collaborator(session: AsyncSession, app_id: str, user_id: int) -> bool:
    found = await session.execute(
        select(Permission.user_id).where(Permission.app_id == app_id, Permission.user_id == user_id)
    )
    return found.first() is not None


async def load_app(session: AsyncSession, app_id: str, user: User, access: Access) -> App:
    check_app_id(app_id)
    app = await session.get(App, app_id)
    if app is None:
        raise NotFound(f"app {app_id} not found")
    if user.is_admin or app.owner_id == user.id:
        return app
    if not await is_collaborator(session, app_id, user.id):
        raise NotFound(f"app {app_id} not found")
    if access is Access.ADMINISTER:
        raise Forbidden(f"only the owner of {app_id} or an admin may do this")
    return app
