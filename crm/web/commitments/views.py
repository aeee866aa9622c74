"""履约 pages: a project's commitments with their actuals, variance and 履约率; the 三未 list and its export; the
"needs attention" list of red and amber projects."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.models import Commitment, CommitmentActual
from crm.services import commitments, counties, landing_warnings, project_health, projects, versions
from crm.services.errors import EditConflict, InvalidInput
from crm.services.permissions import can
from crm.web.commitments import labels
from crm.web.commitments.forms import ActualForm, CommitmentForm, MarkForm
from crm.web.forms import create_once, populate_errors

bp = Blueprint("commitments", __name__)
FIELDS = ("kind", "title", "due_on", "target_quantity", "notes")


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.app_context_processor
def _globals():
    return labels.template_globals()


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/projects/<int:project_id>/commitments")
def index(project_id: int, form: CommitmentForm | None = None, status: int = 200):
    project = projects.get_project(current_user, project_id)
    now = _now()
    return render_template("commitments/index.html", project=project, form=form or CommitmentForm(),
                           summary=commitments.project_progress(project, projects.today(now)),
                           health=project_health.health_for([project], now).get(project.id),
                           may_edit=can(current_user, "commitment.edit", project), actual_form=ActualForm,
                           mark_form=MarkForm), status


@bp.route("/projects/<int:project_id>/commitments", methods=["POST"])
def create(project_id: int):
    project = projects.get_project(current_user, project_id)
    if not can(current_user, "commitment.edit", project):
        abort(403)
    form = CommitmentForm()
    if form.validate_on_submit():
        try:
            _c, replayed = create_once(form, Commitment, lambda: commitments.create_commitment(
                current_user, project.id, {name: getattr(form, name).data for name in FIELDS}, now=_now()))
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            if not replayed:
                flash(_("Commitment saved."), "success")
            return redirect(url_for("commitments.index", project_id=project.id))
    return index(project.id, form=form, status=422)


def _editable(commitment_id: int) -> Commitment:
    commitment = commitments.get_commitment(current_user, commitment_id)
    if not can(current_user, "commitment.edit", commitment):
        abort(403)
    return commitment


@bp.route("/commitments/<int:commitment_id>/edit", methods=["GET", "POST"])
def edit(commitment_id: int):
    commitment = _editable(commitment_id)
    form = CommitmentForm(obj=commitment)
    if request.method == "GET":
        form.target_quantity.data = "" if commitment.target_quantity is None else str(commitment.target_quantity)
        form.version.data = str(commitment.version)
    conflict = False
    if form.validate_on_submit():
        try:
            commitments.update_commitment(current_user, commitment.id,
                                          {name: getattr(form, name).data for name in FIELDS if name != "kind"},
                                          now=_now(), expected_version=versions.parse(form.version.data))
        except InvalidInput as error:
            populate_errors(form, error)
        except EditConflict as error:
            conflict = True
            form.version.data = str(error.current_version)
            flash(str(error), "warning")
        else:
            flash(_("Commitment saved."), "success")
            return redirect(url_for("commitments.index", project_id=commitment.project_id))
    form.kind.render_kw = {"disabled": True}
    return render_template("commitments/form.html", form=form, commitment=commitment,
                           project=commitment.project), 409 if conflict else (422 if form.errors else 200)


@bp.route("/commitments/<int:commitment_id>/actuals", methods=["POST"])
def add_actual(commitment_id: int):
    commitment = _editable(commitment_id)
    form = ActualForm(prefix=f"a{commitment.id}")
    if form.validate_on_submit():
        try:
            _a, replayed = create_once(form, CommitmentActual, lambda: commitments.add_actual(
                current_user, commitment.id, {"recorded_on": form.recorded_on.data, "quantity": form.quantity.data,
                                              "note": form.note.data}, now=_now()))
        except InvalidInput as error:
            for messages in error.errors.values():
                for message in messages:
                    flash(str(message), "danger")
        else:
            if not replayed:
                flash(_("Actual recorded."), "success")
    else:
        for messages in form.errors.values():
            for message in messages:
                flash(str(message), "danger")
    return redirect(url_for("commitments.index", project_id=commitment.project_id, _anchor=f"c{commitment.id}"))


@bp.route("/commitments/<int:commitment_id>/mark", methods=["POST"])
def mark(commitment_id: int):
    commitment = _editable(commitment_id)
    form = MarkForm(prefix=f"m{commitment.id}")
    if form.validate_on_submit():
        try:
            commitments.mark_commitment(current_user, commitment.id, form.status.data, reason=form.reason.data,
                                        now=_now(), expected_version=versions.parse(form.version.data))
        except (InvalidInput, EditConflict) as error:
            messages = error.errors.values() if isinstance(error, InvalidInput) else [[str(error)]]
            for group in messages:
                for message in group:
                    flash(str(message), "danger")
        else:
            flash(_("Commitment marked."), "success")
    else:
        flash(_("Give a reason."), "danger")
    return redirect(url_for("commitments.index", project_id=commitment.project_id, _anchor=f"c{commitment.id}"))


def _warning_filters():
    return landing_warnings.clean_filters(request.args.get("county_id"), request.args.get("kind"))


@bp.route("/commitments/warnings")
def warnings():
    try:
        county_id, kind = _warning_filters()
    except InvalidInput as error:  # a hand-edited address: say so and show the whole list
        for messages in error.errors.values():
            for message in messages:
                flash(str(message), "warning")
        county_id, kind = None, None
    now = _now()
    return render_template("commitments/warnings.html", rows=landing_warnings.landing_warnings(
        now, county_id=county_id, kind=kind), county_id=county_id, kind=kind, limits=landing_warnings.limits(),
        counties=counties.all_counties(active_only=True))


@bp.route("/commitments/warnings/export")
def export_warnings():
    name, content, mime = landing_warnings.export_warnings(
        current_user, county_id=request.args.get("county_id"), kind=request.args.get("kind"), now=_now())
    from io import BytesIO

    return send_file(BytesIO(content), mimetype=mime, as_attachment=True, download_name=name)


@bp.route("/projects/attention")
def attention():
    """需关注: a saved list (its address is the filter); a county's staff start from their own county."""
    county_id = request.args.get("county_id", type=int)
    if "county_id" not in request.args and current_user.county_id:
        county_id = current_user.county_id
    colours = [c for c in request.args.getlist("colour") if c in project_health.COLOURS] or ["red", "amber"]
    now = _now()
    return render_template("commitments/attention.html", rows=project_health.attention(
        now, county_id=county_id or None, colours=colours), county_id=county_id, colours=colours,
        counts=project_health.colour_counts(now, county_id=county_id or None),
        counties=counties.all_counties(active_only=True))
