"""Tables, one module per aggregate. Import this package to register them all."""

from workspace.models.agency import AgencyAlert, AgencyEvent, Contact, ContactPhoto, ContactPhotoKey
from workspace.models.audit import AuditCheckpoint, AuditEvent, AuditHead
from workspace.models.child import Child, ChildKey
from workspace.models.chronology import ChronologyEntry
from workspace.models.epoch import AccessEpoch
from workspace.models.file import EncryptedFile, SealedKey, UserKeys
from workspace.models.flag import FlagReview
from workspace.models.invitation import Invitation
from workspace.models.message import Mention, Message, MessageEdit, ReadMarker
from workspace.models.notice import Notice
from workspace.models.organisation import Organisation, Team, TeamManager
from workspace.models.outbox import OutboxEmail
from workspace.models.plan import Plan, PlanSnapshot, PlanUpdate, PlanVersion
from workspace.models.preferences import EmailPreference, MutedRoom, NotificationLog
from workspace.models.room import BreakGlass, Membership, Room
from workspace.models.sharing import SharingDecision
from workspace.models.sso import OrganisationSso, SsoAttempt, SsoIdentity, SsoLogoutSeen
from workspace.models.user import ApiToken, PasswordLink, User, WebSession

__all__ = [
    "AccessEpoch",
    "AgencyAlert",
    "AgencyEvent",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "AuditHead",
    "BreakGlass",
    "Child",
    "ChildKey",
    "ChronologyEntry",
    "Contact",
    "ContactPhoto",
    "ContactPhotoKey",
    "EmailPreference",
    "EncryptedFile",
    "FlagReview",
    "Invitation",
    "Membership",
    "Mention",
    "Message",
    "MessageEdit",
    "MutedRoom",
    "Notice",
    "NotificationLog",
    "Organisation",
    "OrganisationSso",
    "OutboxEmail",
    "PasswordLink",
    "Plan",
    "PlanSnapshot",
    "PlanUpdate",
    "PlanVersion",
    "ReadMarker",
    "Room",
    "SealedKey",
    "SharingDecision",
    "SsoAttempt",
    "SsoIdentity",
    "SsoLogoutSeen",
    "Team",
    "TeamManager",
    "User",
    "UserKeys",
    "WebSession",
]
