"""Problem pages (问题督办): the list, raising one (from a visit, a follow-up, a project or a lead), the detail with
its timeline and the step each reader may take, the 联席会议 agenda, the 督办单 per department (print and XLSX), and
the admin's list of departments."""
from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.models import Problem
from crm.services import counties, departments, problem_oversight, problems, versions
from crm.services.errors import EditConflict, InvalidInput
from crm.services.permissions import can
from crm.spreadsheets.writing import write_xlsx
from crm.web.forms import choices, create_once, populate_errors
from crm.web.pagination import paginate
from crm.web.problems import labels
from crm.web.problems.forms import (
    AdvanceForm,
    ConfirmForm,
    DecideForm,
    DepartmentForm,
    InstructionForm,
    ProblemForm,
    ReopenForm,
    RouteForm,
)

bp = Blueprint("problems", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def _signed_in():
    if not can(current_user, "problem.list"):
        abort(403)


@bp.app_context_processor
def _globals():
    return labels.template_globals()


def _now() -> datetime:
    return datetime.now(UTC)


def _flash(error: InvalidInput) -> None:
    for messages in error.errors.values():
        for message in messages:
            flash(str(message), "danger")


def _back(problem_id: int, anchor: str = ""):
    return redirect(url_for("problems.detail", problem_id=problem_id) + anchor)


def _department_choices(actor, problem=None, blank=None):
    pairs = [(d.id, d.name) for d in problems.routable_departments(actor, problem)]
    return choices(([(0, blank)] if blank else []) + pairs)


# --- list, raise, edit --------------------------------------------------------------------------------

@bp.route("/problems/")
def index():
    args = request.args
    filters = {"status": args.get("status") if args.get("status") in (*problems.UNCLOSED, "open", "confirmed")
               else None,
               "county_id": args.get("county_id", type=int), "department_id": args.get("department_id", type=int),
               "category": args.get("category") if args.get("category") in problems.CATEGORIES else None,
               "overdue": args.get("overdue") == "1", "q": (args.get("q") or "").strip()[:100] or None}
    now = _now()
    page = paginate(problems.problems_query(current_user, now=now, **filters))
    return render_template("problems/index.html", page=page, filters=filters, now=now,
                           counts=problems.counts(current_user, now), today=problems.today(now),
                           counties=counties.all_counties(active_only=True),
                           departments=departments.all_departments(active_only=True),
                           department_user=problems.department_scope(current_user) is not None,
                           names={p.id: problems.target_name(p) for p in page.items})


def _fill(form: ProblemForm, problem: Problem | None = None) -> None:
    project_list, lead_list = problems.raisable_targets(current_user)
    form.project_id.choices = choices([(0, "—")] + [(p.id, p.name) for p in project_list])
    form.lead_id.choices = choices([(0, "—")] + [(lead.id, lead.name) for lead in lead_list])
    form.department_id.choices = _department_choices(current_user, problem, blank=_("Route later"))


def _prefill(form: ProblemForm) -> None:
    start = problems.prefill(current_user, {key: request.args.get(arg, type=int) for key, arg in (
        ("project_id", "project_id"), ("lead_id", "lead_id"), ("source_interaction_id", "interaction_id"),
        ("source_followup_id", "followup_id"))})
    for key in ("project_id", "lead_id"):
        value = start[key]
        if value:
            getattr(form, key).data = value
            if value not in [c.value for c in getattr(form, key).choices]:
                getattr(form, key).choices += choices([(value, problems.target_name(
                    Problem(project_id=value) if key == "project_id" else Problem(lead_id=value)))])
    form.source_interaction_id.data = request.args.get("interaction_id", type=int) or ""
    form.source_followup_id.data = request.args.get("followup_id", type=int) or ""


@bp.route("/problems/new", methods=["GET", "POST"])
def create():
    if not can(current_user, "problem.raise"):
        abort(403)
    form = ProblemForm()
    _fill(form)
    if request.method == "GET":
        _prefill(form)
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("title", "category", "severity", "deadline_on", "project_id",
                                                   "lead_id", "department_id", "detail", "source_interaction_id",
                                                   "source_followup_id")}
        try:
            problem, replayed = create_once(form, Problem, lambda: problems.raise_problem(current_user, data,
                                                                                          now=_now()))
        except InvalidInput as error:
            populate_errors(form, error)
            if "source_interaction_id" in error.errors or "source_followup_id" in error.errors:
                _flash(error)
        else:
            if not replayed:
                flash(_("Problem raised; deadline %(day)s.", day=problem.deadline_on.isoformat()), "success")
            return _back(problem.id)
    return render_template("problems/form.html", form=form, problem=None)


@bp.route("/problems/<int:problem_id>/edit", methods=["GET", "POST"])
def edit(problem_id: int):
    problem = problems.get_problem(current_user, problem_id)
    if not problems.may(current_user, problem)["edit"]:
        abort(403)
    form = ProblemForm(obj=problem)
    for name in ("project_id", "lead_id", "department_id"):  # fixed once raised; routing is its own step
        delattr(form, name)
    conflict = None
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("title", "category", "severity", "detail")}
        if form.deadline_on.data and form.deadline_on.data != problem.deadline_on:
            data["deadline_on"] = form.deadline_on.data
        try:
            problems.update_problem(current_user, problem.id, data, now=_now(),
                                    expected_version=versions.parse(form.version.data))
        except InvalidInput as error:
            populate_errors(form, error)
        except EditConflict as error:
            conflict = error
            flash(_("Someone changed this problem while you were editing it: reload and try again."), "warning")
        else:
            flash(_("Problem saved."), "success")
            return _back(problem.id)
    return render_template("problems/form.html", form=form, problem=problem, conflict=conflict), \
        409 if conflict else 200


# --- the detail and its steps -------------------------------------------------------------------------

@bp.route("/problems/<int:problem_id>")
def detail(problem_id: int):
    problem = problems.get_problem(current_user, problem_id)
    route_form = RouteForm()
    route_form.department_id.choices = _department_choices(current_user, problem)
    return render_template("problems/detail.html", problem=problem, may=problems.may(current_user, problem),
                           target=problems.target_name(problem), timeline=problems.timeline(problem), now=_now(),
                           overdue=problems.days_overdue(problem, _now()), route_form=route_form,
                           advance_form=AdvanceForm(), confirm_form=ConfirmForm(),
                           reopen_form=ReopenForm(prefix="reopen"), instruct_form=InstructionForm(prefix="instruct"))


def _step(problem_id: int, action: str):
    """Load (404 if not visible) and check the permission (403) before judging the form."""
    problem = problems.get_problem(current_user, problem_id)
    if not can(current_user, action, problem):
        abort(403)
    return problem


@bp.route("/problems/<int:problem_id>/route", methods=["POST"])
def route(problem_id: int):
    problem = _step(problem_id, "problem.route")
    form = RouteForm()
    form.department_id.choices = _department_choices(current_user, problem)
    if not form.validate_on_submit():
        flash(_("Choose the responsible department."), "danger")
        return _back(problem.id)
    try:
        problems.route_problem(current_user, problem.id, form.department_id.data, form.note.data, now=_now())
    except InvalidInput as error:
        _flash(error)
    else:
        flash(_("Routed to %(name)s.", name=problem.department.name), "success")
    return _back(problem.id)


@bp.route("/problems/<int:problem_id>/advance", methods=["POST"])
def advance(problem_id: int):
    problem = _step(problem_id, "problem.handle")
    form = AdvanceForm()
    if not form.validate_on_submit():
        flash(_("Say what was done."), "danger")
        return _back(problem.id, "#handle")
    try:
        problems.advance_problem(current_user, problem.id, form.status.data, form.text.data, now=_now())
    except InvalidInput as error:
        _flash(error)
    else:
        flash(_("Recorded."), "success")
    return _back(problem.id)


@bp.route("/problems/<int:problem_id>/confirm", methods=["POST"])
def confirm(problem_id: int):
    problem = _step(problem_id, "problem.confirm")
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash(_("Give the enterprise's satisfaction from 1 to 5."), "danger")
        return _back(problem.id, "#confirm")
    try:
        problems.confirm_problem(current_user, problem.id, form.satisfaction.data, form.text.data, now=_now())
    except InvalidInput as error:
        _flash(error)
    else:
        flash(_("The enterprise's confirmation is recorded: the problem is closed."), "success")
    return _back(problem.id)


@bp.route("/problems/<int:problem_id>/reopen", methods=["POST"])
def reopen(problem_id: int):
    problem = _step(problem_id, "problem.confirm")
    form = ReopenForm(prefix="reopen")
    if not form.validate_on_submit():
        flash(_("Say why the enterprise is not satisfied."), "danger")
        return _back(problem.id, "#confirm")
    try:
        problems.reopen_problem(current_user, problem.id, form.text.data, now=_now())
    except InvalidInput as error:
        _flash(error)
    else:
        flash(_("Sent back to the department."), "success")
    return _back(problem.id)


@bp.route("/problems/<int:problem_id>/instruct", methods=["POST"])
def instruct(problem_id: int):
    problem = _step(problem_id, "problem.instruct")
    form = InstructionForm(prefix="instruct")
    if not form.validate_on_submit():
        flash(_("Write the instruction."), "danger")
        return _back(problem.id, "#instruct")
    try:
        problems.instruct_problem(current_user, problem.id, form.text.data, now=_now())
    except InvalidInput as error:
        _flash(error)
    else:
        flash(_("Instruction recorded."), "success")
    return _back(problem.id)


# --- 联席会议 and 督办单 --------------------------------------------------------------------------------

def _meeting_day() -> date:
    raw = (request.args.get("on") or "").strip()
    try:
        day = date.fromisoformat(raw) if raw else None
    except ValueError:
        day = None
    if day is None or not (2000 <= day.year <= 2100):
        day = problems.today(_now())
    return day


@bp.route("/problems/meeting")
def meeting():
    if not can(current_user, "problem.oversee"):
        abort(403)
    day = _meeting_day()
    county_id = request.args.get("county_id", type=int)
    groups = problem_oversight.agenda(current_user, day, county_id=county_id)
    forms = {}
    may_decide = can(current_user, "problem.decide")
    if may_decide:
        for group in groups:
            for dept in group["departments"]:
                for item in dept["items"]:
                    form = DecideForm(prefix=f"p{item['problem'].id}")
                    form.department_id.choices = _department_choices(current_user, item["problem"],
                                                                     blank=_("(unchanged)"))
                    forms[item["problem"].id] = form
    return render_template("problems/meeting.html", groups=groups, day=day, county_id=county_id, forms=forms,
                           counties=counties.all_counties(active_only=True), may_decide=may_decide)


@bp.route("/problems/<int:problem_id>/decide", methods=["POST"])
def decide(problem_id: int):
    problem = problems.get_problem(current_user, problem_id)
    if not can(current_user, "problem.decide", problem):
        abort(403)
    form = DecideForm(prefix=f"p{problem.id}")
    form.department_id.choices = _department_choices(current_user, problem, blank=_("(unchanged)"))
    back = redirect(request.form.get("back_to") if (request.form.get("back_to") or "").startswith("/problems/meeting")
                    else url_for("problems.meeting"))
    if not form.validate_on_submit():
        flash(_("Write the decision."), "danger")
        return back
    data = {"decision": form.decision.data, "text": form.text.data, "department_id": form.department_id.data,
            "deadline_on": form.deadline_on.data,
            "due_at": f"{form.due_at.data.isoformat()}T18:00" if form.due_at.data else None}
    try:
        problem_oversight.decide(current_user, problem.id, data, now=_now())
    except InvalidInput as error:
        _flash(error)
    else:
        flash(_("Decision recorded on: %(title)s", title=problem.title), "success")
    return back


@bp.route("/problems/sheets")
def sheets():
    if not can(current_user, "problem.oversee"):
        abort(403)
    return render_template("problems/sheets.html", rows=problem_oversight.sheet_counts(current_user, _now()))


def _sheet(department_id: int):
    if not can(current_user, "problem.oversee"):
        abort(403)
    return problem_oversight.sheet(current_user, department_id, _now())


@bp.route("/problems/sheets/<int:department_id>")
def sheet(department_id: int):
    department, rows = _sheet(department_id)
    return render_template("problems/sheet.html", department=department, rows=rows, now=_now(),
                           today=problems.today(_now()))


@bp.route("/problems/sheets/<int:department_id>.xlsx")
def sheet_xlsx(department_id: int):
    department, rows = _sheet(department_id)
    headers, table = problem_oversight.sheet_table(rows, labels.label)
    from crm.services import audit

    audit.record_read(current_user, "export", "department", department.id, summary=f"督办单 {department.name}")
    body = write_xlsx(headers, table, sheet_title=department.name)
    return Response(body, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="duban-{department.code}-{problems.today(_now())}.xlsx"'})


# --- departments (admin) ------------------------------------------------------------------------------

def _admin():
    if not can(current_user, "department.manage"):
        abort(403)


@bp.route("/admin/departments")
def departments_index():
    _admin()
    return render_template("problems/departments.html", items=departments.all_departments())


@bp.route("/admin/departments/new", methods=["GET", "POST"])
@bp.route("/admin/departments/<int:department_id>/edit", methods=["GET", "POST"])
def departments_form(department_id: int | None = None):
    _admin()
    department = departments.get_department(department_id) if department_id else None
    form = DepartmentForm(obj=department)
    form.county_id.choices = choices([(0, _("— city department —"))] + [
        (c.id, c.name) for c in counties.all_counties() if not c.is_city])
    if request.method == "GET" and department is not None:
        form.county_id.data = department.county_id or 0
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("code", "name", "county_id", "sort_order", "is_active")}
        try:
            if department is None:
                department = departments.create_department(current_user, data)
            else:
                departments.update_department(current_user, department.id, data,
                                              expected_version=versions.parse(form.version.data))
        except InvalidInput as error:
            populate_errors(form, error)
        except EditConflict:
            flash(_("Someone changed this department while you were editing it: reload and try again."), "warning")
        else:
            flash(_("Department %(name)s saved.", name=department.name), "success")
            return redirect(url_for("problems.departments_index"))
    return render_template("problems/department_form.html", form=form, department=department)

