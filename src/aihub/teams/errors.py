"""Errors of teams, their members and invitations.

NotFoundError   -> TeamNotFoundError            404 (also a team you are not in)
NotFoundError   -> TeamMemberNotFoundError      404
NotFoundError   -> InvitationNotFoundError      404 (unknown token)
ForbiddenError  -> TeamPermissionError          403 (a member asking an owner's job)
ForbiddenError  -> InvitationEmailMismatchError 403
ConflictError   -> TeamNameTakenError           409
ConflictError   -> TeamMemberExistsError        409
ConflictError   -> LastOwnerError               409 (a team keeps one owner)
ConflictError   -> InvitationUsedError          409
GoneError       -> InvitationExpiredError       410
"""

from __future__ import annotations

from typing import ClassVar

from aihub.core.errors import AihubError, ConflictError, ForbiddenError, NotFoundError


class TeamNotFoundError(NotFoundError):
    default_message = "Team not found"


class TeamMemberNotFoundError(NotFoundError):
    default_message = "Team member not found"


class TeamPermissionError(ForbiddenError):
    default_message = "Only an owner of this team or an administrator may do this"


class TeamNameTakenError(ConflictError):
    default_message = "A team with this name exists"


class TeamMemberExistsError(ConflictError):
    default_message = "This user is already a member of the team"


class LastOwnerError(ConflictError):
    default_message = "A team keeps at least one owner"


class InvitationNotFoundError(NotFoundError):
    default_message = "Invitation not found"


class InvitationUsedError(ConflictError):
    default_message = "This invitation was already used"


class InvitationExpiredError(AihubError):
    status_code: ClassVar[int] = 410
    error_type: ClassVar[str] = "invitation_expired"
    default_message = "This invitation has expired"


class InvitationEmailMismatchError(ForbiddenError):
    default_message = "This invitation was sent to another email address"
