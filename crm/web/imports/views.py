"""Import pages (upload → preview and mapping → progress → result, batch list, revert) and list exports."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.extensions import db
from crm.models import ImportBatch
from crm.services import counties, exports, import_template, imports
from crm.services.errors import InvalidInput
from crm.services.permissions import is_city_level, require
from crm.spreadsheets import LEAD_FIELDS, write_csv, write_xlsx
from crm.web.forms import choices, create_once, populate_errors
from crm.web.imports.forms import UploadForm
from crm.web.pagination import paginate

bp = Blueprint("imports", __name__)
RESULT_ROWS = 200


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.app_context_processor
def _labels():
    return {"import_labels": imports}


def _now() -> datetime:
    return datetime.now(UTC)


def _download(name: str, content: bytes, mimetype: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response


@bp.route("/imports/")
def index():
    page = paginate(imports.batches_query(current_user))
    return render_template("imports/index.html", page=page)


@bp.route("/imports/template.xlsx")
def template():
    return _download(*import_template.template_file(current_user))


@bp.route("/imports/new", methods=["GET", "POST"])
def create():
    require(current_user, "import.create")  # leaders (read-only) do not even get the form
    form = UploadForm()
    form.duplicate_mode.choices = choices([(k, str(v)) for k, v in imports.MODE_LABELS.items()])
    form.owner_county_id.choices = choices([(0, _("City bureau"))] + [
        (c.id, c.name) for c in counties.all_counties(active_only=True) if c.kind != "city"])
    if form.validate_on_submit():
        upload = form.file.data
        try:
            batch, _replayed = create_once(form, ImportBatch, lambda: imports.start_import(
                current_user, upload.filename or "", upload.read(), duplicate_mode=form.duplicate_mode.data,
                owner_county_id=form.owner_county_id.data or None, now=_now()))
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            return redirect(url_for("imports.preview", batch_id=batch.id))
    status = 400 if request.method == "POST" else 200
    return render_template("imports/upload.html", form=form, city_level=is_city_level(current_user),
                           limits=imports.limits()), status


@bp.route("/imports/<int:batch_id>/preview", methods=["GET", "POST"])
def preview(batch_id: int):
    data = imports.preview(current_user, batch_id)
    if data["batch"].status != "pending":
        return redirect(url_for("imports.detail", batch_id=batch_id))
    errors = []
    if request.method == "POST":
        chosen = {}
        for column in range(len(data["headers"])):
            field = request.form.get(f"col_{column}") or ""
            if field in LEAD_FIELDS:
                if field in chosen:
                    errors.append(_("%(field)s is chosen for two columns.",
                                    field=str(imports.FIELD_LABELS[field])))
                chosen[field] = column
        if not errors:
            try:
                imports.launch_import(current_user, batch_id, mapping=chosen,
                                      duplicate_mode=request.form.get("duplicate_mode"), now=_now())
            except InvalidInput as error:
                errors += [str(m) for messages in error.errors.values() for m in messages]
            else:
                return redirect(url_for("imports.detail", batch_id=batch_id))
        data["mapping"] = chosen
    column_fields = {column: field for field, column in data["mapping"].items()}
    return render_template("imports/preview.html", **data, column_fields=column_fields, errors=errors), (
        400 if errors else 200)


@bp.route("/imports/<int:batch_id>")
def detail(batch_id: int):
    batch = imports.get_batch(current_user, batch_id)
    results = imports.row_results(current_user, batch_id, limit=RESULT_ROWS)
    return render_template("imports/detail.html", batch=batch, results=results, result_limit=RESULT_ROWS,
                           lead_links="leads.detail" in current_app.view_functions,
                           revert=imports.revert_result(batch))


@bp.route("/imports/<int:batch_id>/progress")
def progress(batch_id: int):
    batch = imports.get_batch(current_user, batch_id)
    response = Response(render_template("imports/_progress.html", batch=batch))
    if batch.status != "running" and request.headers.get("HX-Request"):
        response.headers["HX-Refresh"] = "true"  # finished: show the whole result page
    return response


@bp.route("/imports/<int:batch_id>/rows.<any(xlsx, csv):fmt>")
def rows(batch_id: int, fmt: str):
    outcome = request.args.get("outcome", "rejected")
    headers, rows_ = imports.rejected_rows(current_user, batch_id, outcome=outcome if outcome != "all" else None)
    content = write_xlsx(headers, rows_, sheet_title=_("Rejected rows")) if fmt == "xlsx" else write_csv(headers, rows_)
    imports.record_rows_download(current_user, batch_id, outcome=outcome, fmt=fmt, total=len(rows_))
    return _download(f"import-{batch_id}-{outcome}.{fmt}", content, exports.FORMATS[fmt])


@bp.route("/imports/<int:batch_id>/revert", methods=["POST"])
def revert(batch_id: int):
    batch = imports.revert_import(current_user, batch_id, now=_now())
    done = batch.revert_summary or {}
    flash(_("Import %(name)s reverted: %(deleted)d new leads deleted, %(restored)d updated leads given their old "
            "values back, %(kept)d kept (see why below).", name=batch.filename, deleted=done.get("deleted", 0),
            restored=done.get("restored", 0), kept=done.get("kept", 0)), "success")
    return redirect(url_for("imports.detail", batch_id=batch_id))


@bp.route("/exports/leads.<any(xlsx, csv):fmt>")
def export_leads(fmt: str):
    return _export(exports.export_leads, fmt)


@bp.route("/exports/followups.<any(xlsx, csv):fmt>")
def export_followups(fmt: str):
    return _export(exports.export_followups, fmt)


@bp.route("/exports/projects.<any(xlsx, csv):fmt>")
def export_projects(fmt: str):
    return _export(exports.export_projects, fmt)


@bp.route("/exports/outreach/<int:campaign_id>.<any(xlsx, csv):fmt>")
def export_outreach(campaign_id: int, fmt: str):
    try:
        name, content, mimetype = exports.export_outreach(
            current_user, campaign_id, fmt, county_id=request.args.get("county_id", type=int),
            mine=bool(request.args.get("mine")), now=_now())
    except InvalidInput as error:
        return _refused(error)
    return _download(name, content, mimetype)


def _export(service, fmt: str):
    try:
        name, content, mimetype = service(current_user, request.args.to_dict(), fmt, now=_now())
    except InvalidInput as error:
        return _refused(error)
    return _download(name, content, mimetype)


def _refused(error: InvalidInput):
    db.session.rollback()
    for messages in error.errors.values():
        for message in messages:
            flash(str(message), "warning")
    back = request.referrer or ""
    return redirect(back if back.startswith(request.host_url) else url_for("home.index"))
