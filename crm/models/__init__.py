"""The schema: one module per noun; importing this package registers every table."""
from crm.models.audit import AuditEntry
from crm.models.commitment import (
                                    Commitment,
                                    CommitmentActual,
                                    CommitmentKind,
                                    CommitmentSide,
                                    CommitmentStatus,
)
from crm.models.county import County, CountyKind
from crm.models.followup import Followup, FollowupStatus, Handoff, Priority
from crm.models.idempotency import IdempotencyKey
from crm.models.importing import ImportBatch, ImportRowResult
from crm.models.industry import Industry
from crm.models.interaction import (
                                    Interaction,
                                    InteractionKind,
                                    LeaderLevel,
                                    Trip,
                                    interaction_participants,
                                    trip_participants,
)
from crm.models.lead import (
                                    ClaimConflict,
                                    ConflictStatus,
                                    Contact,
                                    Lead,
                                    LeadKind,
                                    LeadStatus,
                                    LeadTag,
                                    SourceChannel,
)
from crm.models.notification import JobRun, Notification, OutboxMessage
from crm.models.outreach import Campaign, HolidaySetting, ItemStatus, OutreachItem
from crm.models.problem import (
                                    Department,
                                    EntryKind,
                                    Problem,
                                    ProblemCategory,
                                    ProblemEntry,
                                    ProblemStatus,
                                    Severity,
)
from crm.models.project import (
                                    Event,
                                    FundsArrival,
                                    Project,
                                    Stage,
                                    StageChange,
                                    Target,
                                    event_leads,
                                    project_leads,
)
from crm.models.saved_search import SavedSearch, SearchScope
from crm.models.search_outbox import SearchOutboxEntry
from crm.models.user import ApiToken, LoginAttempt, Role, User
from crm.models.verification import (
                                    EvidenceAttachment,
                                    EvidenceKind,
                                    ReportSnapshot,
                                    Verification,
                                    VerificationKind,
                                    VerificationStatus,
)

__all__ = [
    "ApiToken", "AuditEntry", "Campaign", "Commitment", "CommitmentActual", "CommitmentKind", "CommitmentSide",
    "CommitmentStatus", "ClaimConflict", "ConflictStatus", "Contact", "County", "CountyKind", "Department",
    "EntryKind", "Event", "EvidenceAttachment", "EvidenceKind", "Followup", "FollowupStatus", "FundsArrival",
    "Handoff", "HolidaySetting", "IdempotencyKey", "ImportBatch", "ImportRowResult", "Industry", "Interaction",
    "InteractionKind", "ItemStatus", "JobRun", "Lead", "LeadKind", "LeadStatus", "LeadTag", "LeaderLevel",
    "LoginAttempt", "Notification", "OutboxMessage", "OutreachItem", "Priority", "Problem", "ProblemCategory",
    "ProblemEntry", "ProblemStatus", "Project", "ReportSnapshot", "Role", "SavedSearch", "SearchOutboxEntry",
    "SearchScope", "Severity", "SourceChannel", "Stage", "StageChange", "Target", "Trip", "User", "Verification",
    "VerificationKind", "VerificationStatus",
    "event_leads", "interaction_participants", "project_leads", "trip_participants",
]
