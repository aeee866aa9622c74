"""Project pages: list with filters, kanban by stage, detail with history and funds, create/edit, stage, funds."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.models import FundsArrival, Project
from crm.services import counties, funds, industries, project_health, projects, verification, versions
from crm.services.errors import ConfirmationNeeded, EditConflict, InvalidInput
from crm.services.permissions import can
from crm.web import pickers
from crm.web.forms import choices, create_once, edit_conflict, populate_errors
from crm.web.pagination import paginate
from crm.web.projects import labels
from crm.web.projects.forms import FundsForm, ProjectForm, StageForm

bp = Blueprint("projects", __name__, url_prefix="/projects")
FIELDS = ("name", "county_id", "industry_id", "investment_total", "is_foreign", "is_continuing", "signed_on",
          "started_on",
          "planned_start_on", "lead_ids", "source_channel", "referrer_id", "event_id", "notes")


@bp.before_request
@login_required
def _signed_in():
    pass


@bp.app_context_processor
def _globals():
    return labels.template_globals()


@bp.record_once
def _filters(state):
    state.app.jinja_env.filters.update(labels.FILTERS)


def _now() -> datetime:
    return datetime.now(UTC)


def industry_pairs(blank: str) -> list[tuple[int, str]]:
    pairs = [(0, blank)]
    for top, children in industries.industry_tree():
        pairs.append((top.id, top.name))
        pairs += [(c.id, f"— {c.name}") for c in children]
    return pairs


def _filters_from_args() -> dict:
    args = request.args
    foreign = args.get("foreign")
    return {"stage": args.get("stage") if args.get("stage") in projects.STAGES else None,
            "county_id": args.get("county_id", type=int), "industry_id": args.get("industry_id", type=int),
            "year": args.get("year", type=int) if 1900 <= (args.get("year", type=int) or 0) <= 2100 else None,
            "is_foreign": {"1": True, "0": False}.get(foreign), "q": (args.get("q") or "").strip() or None}


@bp.route("/")
def index():
    filters = _filters_from_args()
    page = paginate(projects.projects_query(**filters))
    return render_template("projects/index.html", page=page, filters=filters,
                           health=project_health.health_for(page.items, _now()),
                           counties=counties.all_counties(active_only=True),
                           industry_options=industry_pairs(_("All industries")),
                           overdue=projects.overdue_starts(_now(), county_id=filters["county_id"]),
                           deadline=projects.start_deadline_days())


@bp.route("/kanban")
def kanban():
    county_id = request.args.get("county_id", type=int)
    columns = projects.kanban(county_id=county_id)
    health = project_health.health_for([p for _stage, items, _n in columns for p in items], _now())
    return render_template("projects/kanban.html", columns=columns, county_id=county_id, health=health,
                           counties=counties.all_counties(active_only=True))


def _fill_choices(form: ProjectForm) -> None:
    form.county_id.choices = choices([(c.id, c.name) for c in projects.editable_counties(current_user)])
    form.industry_id.choices = choices(industry_pairs("—"))
    pickers.lead_choices(form.lead_ids)  # both searched on the server, not listed in full
    pickers.lead_choices(form.referrer_id, empty="—")
    form.event_id.choices = choices([(0, "—")] + [(e.id, f"{e.held_on} {e.name}") for e in projects.event_choices()])


def _data(form: ProjectForm) -> dict:
    return {name: getattr(form, name).data for name in FIELDS}


@bp.route("/new", methods=["GET", "POST"])
def create():
    if not can(current_user, "project.create"):
        abort(403)
    form = ProjectForm()
    _fill_choices(form)
    if form.validate_on_submit():
        try:
            project, replayed = create_once(form, Project, lambda: projects.create_project(
                current_user, {**_data(form), "stage": form.stage.data}, now=_now()))
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            if not replayed:
                flash(_("Project saved."), "success")
            return redirect(url_for("projects.detail", project_id=project.id))
    return render_template("projects/form.html", form=form, project=None)


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
def edit(project_id: int):
    project = projects.get_project(current_user, project_id)
    if not can(current_user, "project.edit", project):
        abort(403)
    form = ProjectForm(obj=project)
    if request.method == "GET":
        _prefill(form, project)
    _fill_choices(form)
    conflict = None
    if form.validate_on_submit():
        try:
            projects.update_project(current_user, project.id, _data(form), now=_now(),
                                    expected_version=versions.parse(form.version.data))
        except InvalidInput as error:
            populate_errors(form, error)
        except EditConflict as error:
            conflict = edit_conflict(form, error, _saved_form(project))
        else:
            flash(_("Project saved."), "success")
            return redirect(url_for("projects.detail", project_id=project.id))
    return render_template("projects/form.html", form=form, project=project,
                           conflict=conflict), 409 if conflict else 200


def _prefill(form: ProjectForm, project) -> None:
    form.lead_ids.data = [lead.id for lead in project.leads]
    for name in ("industry_id", "referrer_id", "event_id"):
        getattr(form, name).data = getattr(project, name) or 0
    form.source_channel.data = project.source_channel or ""


def _saved_form(project) -> ProjectForm:
    """The edit form as it would open now, to show what the project holds beside the user's input."""
    form = ProjectForm(formdata=None, obj=project)
    _prefill(form, project)
    _fill_choices(form)
    return form


@bp.route("/<int:project_id>")
def detail(project_id: int, stage_form: StageForm | None = None, funds_form: FundsForm | None = None,
           confirm_over: bool = False):
    project = projects.get_project(current_user, project_id)
    stage_form = stage_form or StageForm(stage=_next_stage(project.stage))
    live, withdrawn = funds.project_funds(project)
    return render_template("projects/detail.html", project=project, history=projects.stage_history(project),
                           stage_form=stage_form, funds_form=funds_form or FundsForm(), confirm_over=confirm_over,
                           may_edit=projects.may_edit(current_user, project), funds_rows=live,
                           withdrawn_funds=withdrawn, funds_total=funds.live_total(project),
                           usd_cny_rate=funds.usd_cny_rate(),
                           health=project_health.health_for([project], _now()).get(project.id),
                           # 撞单 (issue 15): warned here from the signing on, decided by a verifier
                           suspected_duplicates=verification.suspected_duplicates(project))


def _next_stage(stage: str) -> str:
    order = [s for s in projects.STAGES if s != "dropped"]
    return order[min(order.index(stage) + 1, len(order) - 1)] if stage in order else "negotiating"


@bp.route("/<int:project_id>/stage", methods=["POST"])
def stage(project_id: int):
    form = StageForm()
    if form.validate_on_submit():
        try:
            projects.change_stage(current_user, project_id, form.stage.data, on=form.on.data, now=_now(),
                                  allow_back=form.allow_back.data)
        except InvalidInput as error:
            populate_errors(form, error)
        else:
            flash(_("Stage changed."), "success")
            return redirect(url_for("projects.detail", project_id=project_id))
    return detail(project_id, stage_form=form), 422


@bp.route("/<int:project_id>/funds", methods=["POST"], endpoint="funds")
def record_funds(project_id: int):
    if not projects.may_edit(current_user, projects.get_project(current_user, project_id)):
        abort(403)
    form = FundsForm()
    ask_confirmation = bool(form.confirm_over.data)  # shown again, as typed, when the form comes back
    if form.validate_on_submit():
        try:
            _arrival, replayed = create_once(form, FundsArrival, lambda: funds.add_funds(
                current_user, project_id, form.amount.data, form.arrived_on.data, form.out_of_province.data,
                form.foreign_amount.data, note=form.note.data, confirm_over=form.confirm_over.data, now=_now()))
        except InvalidInput as error:
            populate_errors(form, error)
            ask_confirmation = ask_confirmation or isinstance(error, ConfirmationNeeded)
        else:
            if not replayed:
                flash(_("Funds recorded."), "success")
            return redirect(url_for("projects.detail", project_id=project_id))
    return detail(project_id, funds_form=form, confirm_over=ask_confirmation), 422


@bp.route("/<int:project_id>/delete", methods=["POST"])
def delete(project_id: int):
    projects.delete_project(current_user, project_id, now=_now())
    flash(_("Project deleted."), "success")
    return redirect(url_for("projects.index"))
