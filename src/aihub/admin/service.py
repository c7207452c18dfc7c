"""Administration: every user's account (request history joins in a later issue).

The rules on accounts live in the users domain; this module is the admin API's
one entry point to them, so the admin router never reaches past it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aihub.audit.service import AuditContext
from aihub.infra.events import EventBus
from aihub.users import service as users_service
from aihub.users.models import User
from aihub.users.schemas import UserAdminUpdate


async def list_users(
    session: AsyncSession, *, skip: int, limit: int, search: str | None
) -> tuple[list[User], int]:
    """A page of users in id order, and how many match in all."""
    return await users_service.list_users(
        session, skip=skip, limit=limit, search=search
    )


async def get_user(session: AsyncSession, *, user_id: int) -> User:
    return await users_service.get_user(session, user_id=user_id)


async def update_user(
    session: AsyncSession,
    *,
    admin: User,
    user_id: int,
    data: UserAdminUpdate,
    events: EventBus,
    audit: AuditContext | None = None,
) -> User:
    """Every process hears of the change (its cached gateway keys go)."""
    return await users_service.admin_update_user(
        session, admin=admin, user_id=user_id, data=data, events=events, audit=audit
    )
