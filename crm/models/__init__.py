"""The schema: one module per noun; importing this package registers every table."""
from crm.models.audit import AuditEntry
from crm.models.county import County, CountyKind
from crm.models.user import ApiToken, LoginAttempt, Role, User

__all__ = ["ApiToken", "AuditEntry", "County", "CountyKind", "LoginAttempt", "Role", "User"]
