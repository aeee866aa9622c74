"""Evidence attachments of 认定 (contract, business licence, bank slip): checked by size and by content (PDF,
JPEG, PNG — the bytes must be what the name and the claimed type say), kept once per SHA-256 under the
attachments folder (instance/attachments), and read only by the city and the project's own county."""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import tempfile
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from crm.extensions import db
from crm.models import EvidenceAttachment, EvidenceKind, FundsArrival, Project, User, VerificationStatus
from crm.services import audit, verification
from crm.services.errors import InvalidInput, NotFound
from crm.services.imports import display_filename
from crm.services.permissions import can, is_city_level, require, rule, same_county
from crm.services.validation import Errors, clean_choice

log = logging.getLogger(__name__)
KINDS = [k.value for k in EvidenceKind]
DEFAULT_MAX_BYTES = 10_000_000
# What each accepted type starts with, its extensions and its MIME type.
TYPES = {
    "pdf": (b"%PDF-", ("pdf",), "application/pdf"),
    "jpeg": (b"\xff\xd8\xff", ("jpg", "jpeg"), "image/jpeg"),
    "png": (b"\x89PNG\r\n\x1a\n", ("png",), "image/png"),
}
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


# --- permissions -------------------------------------------------------------------------------------------

@rule("attachment.view")
def _view(actor: User, attachment) -> bool:
    """Evidence is a firm's contract and bank slips: the city, and the project's own county, never another."""
    if is_city_level(actor):
        return True
    project = getattr(attachment, "project", attachment)
    return project is None or same_county(actor, getattr(project, "county_id", None))


@rule("attachment.upload")
def _upload(actor: User, project) -> bool:
    return can(actor, "project.edit", project)


@rule("attachment.delete")
def _delete(actor: User, attachment) -> bool:
    return attachment is None or can(actor, "project.edit", attachment.project)


# --- bounds and storage ------------------------------------------------------------------------------------

def max_bytes() -> int:
    """ATTACHMENT_MAX_BYTES (default 10 MB), never above the request bound MAX_CONTENT_LENGTH."""
    try:
        limit = int(current_app.config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)
    except (TypeError, ValueError):
        limit = DEFAULT_MAX_BYTES
    request_bound = current_app.config.get("MAX_CONTENT_LENGTH")
    return min(limit, int(request_bound)) if request_bound else limit


def folder() -> Path:
    path = Path(current_app.config.get("ATTACHMENT_FOLDER") or Path(current_app.instance_path) / "attachments")
    path.mkdir(parents=True, exist_ok=True)
    return path


def stored_path(attachment: EvidenceAttachment) -> Path:
    return folder() / attachment.sha256


def sniff(data: bytes) -> str | None:
    for name, (magic, _exts, _mime) in TYPES.items():
        if data.startswith(magic):
            return name
    return None


def check_file(filename: str | None, data: bytes | None, content_type: str | None = None) -> tuple[str, str]:
    """(display name, type) of an acceptable file; InvalidInput with the reason otherwise."""
    data = data or b""
    name = display_filename(filename)
    if not data:
        raise InvalidInput({"file": [_l("The file is empty.")]})
    limit = max_bytes()
    if len(data) > limit:
        raise InvalidInput({"file": [_l("The file is %(size)s MB; an attachment may be at most %(limit)s MB.",
                                        size=round(len(data) / 1_000_000, 1), limit=round(limit / 1_000_000, 1))]})
    found = sniff(data)
    if found is None:
        raise InvalidInput({"file": [_l("Only PDF, JPEG and PNG files are accepted, and this file's content is "
                                        "none of them.")]})
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in TYPES[found][1]:
        raise InvalidInput({"file": [_l("The file is called %(name)s but its content is %(kind)s: it is not what "
                                        "it claims to be. Check the file and upload it again.",
                                        name=name, kind=found.upper())]})
    claimed = (content_type or "").split(";")[0].strip().lower()
    if claimed not in GENERIC_TYPES and claimed != TYPES[found][2]:
        raise InvalidInput({"file": [_l("The file was sent as %(claimed)s but its content is %(kind)s: it is not "
                                        "what it claims to be.", claimed=claimed[:40], kind=found.upper())]})
    return name, found


def _keep(data: bytes, digest: str) -> Path:
    """Write the bytes whole under their digest (or find them there already); a full disk leaves nothing."""
    target = folder() / digest
    if target.exists():
        return target
    try:
        fd, part = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder())
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, target)
        finally:
            Path(part).unlink(missing_ok=True)
    except OSError as error:
        log.error("an attachment could not be stored under %s: %s", folder(), error)
        message = (_l("The server's disk is full, so the file could not be kept; nothing was saved.")
                   if error.errno in (errno.ENOSPC, errno.EDQUOT) else
                   _l("The server could not keep the file; nothing was saved. Ask the administrator to check the "
                      "attachments folder."))
        raise InvalidInput({"file": [message]}) from None
    return target


# --- commands and queries ----------------------------------------------------------------------------------

def add_attachment(actor: User, project_id, filename, data: bytes, *, kind, funds_id=None, content_type=None,
                   now: datetime) -> EvidenceAttachment:
    """Attach evidence to a project's signing (funds_id None) or to one of its funds arrivals."""
    project = db.session.get(Project, int(project_id)) if str(project_id).isdigit() else None
    if project is None or project.deleted_at is not None:
        raise NotFound("project")
    require(actor, "attachment.upload", project)
    errors = Errors()
    kind = clean_choice(kind or None, KINDS, field="kind", errors=errors)
    funds = None
    if funds_id not in (None, "", 0, "0"):
        funds = db.session.get(FundsArrival, int(funds_id)) if str(funds_id).isdigit() else None
        if funds is None or funds.project_id != project.id or funds.withdrawn_at is not None:
            errors.add("funds_id", _l("Not a funds arrival of this project."))
    if errors:
        raise InvalidInput(errors)
    name, found = check_file(filename, data, content_type)
    digest = hashlib.sha256(data).hexdigest()
    _keep(data, digest)
    attachment = EvidenceAttachment(project_id=project.id, funds_id=funds.id if funds else None, kind=kind,
                                    filename=name, content_type=TYPES[found][2], size=len(data), sha256=digest,
                                    uploaded_by_id=actor.id, uploaded_at=now)
    db.session.add(attachment)
    db.session.flush()
    audit.record(actor, "attach", "project", project.id, summary=f"{project.name}: {name}",
                 after={"attachment_id": attachment.id, "kind": kind, "funds_id": attachment.funds_id,
                        "size": len(data), "sha256": digest})
    db.session.commit()
    return attachment


def get_attachment(actor: User, attachment_id: int) -> EvidenceAttachment:
    attachment = db.session.get(EvidenceAttachment, attachment_id)
    if attachment is None or attachment.deleted_at is not None or attachment.project.deleted_at is not None:
        raise NotFound("attachment")
    require(actor, "attachment.view", attachment)
    return attachment


def read_attachment(actor: User, attachment_id: int) -> tuple[EvidenceAttachment, bytes]:
    """The file, for a reader allowed to see it; each download is audited."""
    attachment = get_attachment(actor, attachment_id)
    try:
        data = stored_path(attachment).read_bytes()
    except OSError:
        raise NotFound("attachment") from None
    audit.record_read(actor, "download", "attachment", attachment.id, summary=attachment.filename)
    return attachment, data


def delete_attachment(actor: User, attachment_id: int, *, now: datetime) -> EvidenceAttachment:
    """Remove an attachment from its record (the file stays for the audit); never from a verified record."""
    attachment = get_attachment(actor, attachment_id)
    require(actor, "attachment.delete", attachment)
    funds = db.session.get(FundsArrival, attachment.funds_id) if attachment.funds_id else None
    sub = verification.Subject("funds" if funds else "signing", attachment.project, funds)
    if verification.status_of(sub) == VerificationStatus.VERIFIED:
        raise InvalidInput({"attachment": [_l("This evidence belongs to a verified record and cannot be removed.")]})
    attachment.deleted_at, attachment.deleted_by_id = now, actor.id
    audit.record(actor, "detach", "project", attachment.project_id, summary=attachment.filename,
                 before={"attachment_id": attachment.id, "kind": attachment.kind, "funds_id": attachment.funds_id})
    db.session.commit()
    return attachment


def project_attachments(actor: User, project: Project) -> list[EvidenceAttachment]:
    """The live attachments of a project (signing and funds), or [] for a reader who may not see them."""
    if not can(actor, "attachment.view", project):
        return []
    return list(db.session.scalars(select(EvidenceAttachment).where(
        EvidenceAttachment.project_id == project.id, EvidenceAttachment.deleted_at.is_(None))
        .order_by(EvidenceAttachment.id)))
