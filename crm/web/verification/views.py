"""认定 pages: the verifier's queue, a project's verification and evidence page, verify / return / resubmit /
撞单 decisions (one POST each), evidence upload and permission-checked download."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from crm.services import attachments, counties, projects, verification, verification_queue
from crm.services.errors import InvalidInput
from crm.services.funds import project_funds
from crm.services.permissions import can, require
from crm.web.forms import flash_errors
from crm.web.verification.forms import EVIDENCE_KINDS, ActionForm, DuplicateForm, ReturnForm, UploadForm

bp = Blueprint("verification", __name__, url_prefix="/verification")


@bp.before_request
@login_required
def _signed_in():
    pass


def _now() -> datetime:
    return datetime.now(UTC)


def _back(project_id: int):
    target = request.form.get("next")
    if target == "queue":
        return redirect(url_for("verification.index", **{k: v for k, v in request.args.items()
                                                          if k in ("kind", "county_id", "status")}))
    return redirect(url_for("verification.project", project_id=project_id))


@bp.route("/")
def index():
    require(current_user, "result.queue")
    try:
        filters = verification_queue.clean_filters(request.args)
    except InvalidInput:
        filters = verification_queue.clean_filters({})
    items = verification_queue.queue(**filters)
    return render_template("verification/index.html", items=items, filters=filters,
                           counties=counties.all_counties(active_only=True), counts=verification_queue.pending_counts(),
                           may_verify=can(current_user, "result.verify"), action_form=ActionForm(),
                           return_form=ReturnForm(), duplicate_form=DuplicateForm())


@bp.route("/projects/<int:project_id>")
def project(project_id: int):
    item = projects.get_project(current_user, project_id)
    live, _withdrawn = project_funds(item)
    signing = (verification.Subject("signing", item) if item.signed_on and item.stage != "dropped" else None)
    rows = [(verification.Subject("funds", item, f)) for f in live]
    states = {sub.key: verification.state(sub) for sub in ([signing] if signing else []) + rows}
    verified = {sub.funds.id if sub.funds is not None else None for sub in ([signing] if signing else []) + rows
                if getattr(states[sub.key], "status", None) == "verified"}
    files = attachments.project_attachments(current_user, item)
    upload = UploadForm()
    upload.funds_id.choices = [("", _("The signing"))] + [(str(f.id), f"{f.arrived_on} {f.amount}") for f in live]
    return render_template("verification/project.html", project=item, signing=signing, rows=rows, states=states,
                           files=files, locked={f.id for f in files if f.funds_id in verified},
                           may_see_files=can(current_user, "attachment.view", item),
                           may_upload=can(current_user, "attachment.upload", item),
                           may_verify=can(current_user, "result.verify"),
                           may_resubmit=can(current_user, "result.submit", item),
                           duplicates=verification.suspected_duplicates(item) if signing else [],
                           entered=lambda sub: verification.entered_by(sub),
                           upload_form=upload, action_form=ActionForm(), return_form=ReturnForm(),
                           duplicate_form=DuplicateForm(), max_mb=round(attachments.max_bytes() / 1_000_000, 1))


def _decide(kind: str, ident: int, project_id: int, call):
    form = ActionForm() if call != "return" else ReturnForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if call == "verify":
            verification.verify(current_user, kind, ident, now=_now())
            flash(_("Verified: it now counts in the annual figures."), "success")
        elif call == "return":
            verification.return_item(current_user, kind, ident, reason=form.reason.data, now=_now())
            flash(_("Returned to its editors with your reason."), "success")
        else:
            verification.resubmit(current_user, kind, ident, now=_now())
            flash(_("Resubmitted for verification."), "success")
    except InvalidInput as error:
        flash_errors(error)
    return _back(project_id)


def _funds_project(funds_id: int) -> int:
    from crm.services.funds import get_funds

    return get_funds(current_user, funds_id).project_id


@bp.route("/signings/<int:project_id>/verify", methods=["POST"])
def verify_signing(project_id: int):
    require(current_user, "result.verify")
    return _decide("signing", project_id, project_id, "verify")


@bp.route("/signings/<int:project_id>/return", methods=["POST"])
def return_signing(project_id: int):
    require(current_user, "result.verify")
    return _decide("signing", project_id, project_id, "return")


@bp.route("/signings/<int:project_id>/resubmit", methods=["POST"])
def resubmit_signing(project_id: int):
    require(current_user, "result.submit", projects.get_project(current_user, project_id))
    return _decide("signing", project_id, project_id, "resubmit")


@bp.route("/funds/<int:funds_id>/verify", methods=["POST"])
def verify_funds(funds_id: int):
    require(current_user, "result.verify")
    return _decide("funds", funds_id, _funds_project(funds_id), "verify")


@bp.route("/funds/<int:funds_id>/return", methods=["POST"])
def return_funds(funds_id: int):
    require(current_user, "result.verify")
    return _decide("funds", funds_id, _funds_project(funds_id), "return")


@bp.route("/funds/<int:funds_id>/resubmit", methods=["POST"])
def resubmit_funds(funds_id: int):
    project_id = _funds_project(funds_id)
    require(current_user, "result.submit", projects.get_project(current_user, project_id))
    return _decide("funds", funds_id, project_id, "resubmit")


@bp.route("/signings/<int:project_id>/duplicates", methods=["POST"])
def decide_duplicate(project_id: int):
    require(current_user, "result.verify")
    form = DuplicateForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        verification.resolve_duplicate(current_user, project_id, form.other_id.data, form.decision.data,
                                       reason=form.reason.data, now=_now())
    except InvalidInput as error:
        flash_errors(error)
    else:
        flash(_("Decision recorded."), "success")
    return _back(project_id)


@bp.route("/projects/<int:project_id>/attachments", methods=["POST"])
def upload(project_id: int):
    item = projects.get_project(current_user, project_id)
    require(current_user, "attachment.upload", item)
    form = UploadForm()
    form.funds_id.choices = []
    if not form.validate_on_submit():
        abort(400)
    file = form.file.data
    try:
        attachments.add_attachment(current_user, item.id, getattr(file, "filename", "") or "",
                                   file.read() if file else b"", kind=form.kind.data, funds_id=form.funds_id.data,
                                   content_type=getattr(file, "mimetype", None), now=_now())
    except InvalidInput as error:
        flash_errors(error)
    else:
        flash(_("Evidence attached."), "success")
    return redirect(url_for("verification.project", project_id=item.id))


@bp.route("/attachments/<int:attachment_id>")
def download(attachment_id: int):
    attachment, data = attachments.read_attachment(current_user, attachment_id)
    extension = attachment.content_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    return Response(data, mimetype=attachment.content_type, headers={
        "Content-Disposition": f"attachment; filename=evidence-{attachment.id}.{extension}; "
                               f"filename*=UTF-8''{quote(attachment.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@bp.route("/attachments/<int:attachment_id>/delete", methods=["POST"])
def delete_attachment(attachment_id: int):
    attachment = attachments.get_attachment(current_user, attachment_id)
    require(current_user, "attachment.delete", attachment)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        attachments.delete_attachment(current_user, attachment.id, now=_now())
    except InvalidInput as error:
        flash_errors(error)
    else:
        flash(_("Attachment removed."), "success")
    return redirect(url_for("verification.project", project_id=attachment.project_id))


STATUS_LABELS = {"pending": _l("Awaiting verification"), "verified": _l("Verified"), "returned": _l("Returned")}
KIND_LABELS = {"signing": _l("Signing"), "funds": _l("Funds in place")}
REASON_LABELS = {"same_lead": _l("same investor"), "same_investment": _l("same investment"),
                 "similar_name": _l("similar name"), "other_county": _l("another county"),
                 "other_event": _l("another event")}
EVIDENCE_LABELS = dict(EVIDENCE_KINDS)


@bp.context_processor
def _labels():
    return {"status_labels": STATUS_LABELS, "kind_labels": KIND_LABELS, "reason_labels": REASON_LABELS,
            "evidence_labels": EVIDENCE_LABELS}
