"""Imports every domain's ORM models so metadata (Alembic, tests) sees all tables."""

from aihub.audit.models import AuditEntry
from aihub.auth.models import AuthSession, RefreshToken, UserIdentity
from aihub.categories.models import Category
from aihub.core.db import Base
from aihub.files.models import StoredFile
from aihub.gateway.models import GatewayKey
from aihub.media.models import MediaJob, MediaJobEvent
from aihub.preferences.models import ModelPreference
from aihub.prompts.models import Prompt
from aihub.provider_keys.models import ProviderKey
from aihub.teams.models import Team, TeamInvitation, TeamMember
from aihub.threads.models import Message, Thread
from aihub.usage.models import RequestLog
from aihub.users.models import User
from aihub.voice.models import VoiceFeedback, VoiceSession

__all__ = [
    "AuditEntry",
    "AuthSession",
    "Base",
    "Category",
    "GatewayKey",
    "MediaJob",
    "MediaJobEvent",
    "Message",
    "ModelPreference",
    "Prompt",
    "ProviderKey",
    "RefreshToken",
    "RequestLog",
    "StoredFile",
    "Team",
    "TeamInvitation",
    "TeamMember",
    "Thread",
    "User",
    "UserIdentity",
    "VoiceFeedback",
    "VoiceSession",
]
