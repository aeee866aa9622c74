"""Admin pages: users, counties and the audit log."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.services import audit_log, counties, users, versions
from crm.services.errors import EditConflict, InvalidInput
from crm.services.permissions import can
from crm.web.admin.forms import CountyForm, ResetPasswordForm, UserForm
from crm.web.forms import choices, edit_conflict, populate_errors
from crm.web.pagination import paginate

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admins_only():
    if not can(current_user, "user.manage"):
        abort(403)


def _county_choices():
    return choices([(0, _("— none —"))] + [(c.id, c.name) for c in counties.all_counties()])


def _department_choices():
    from crm.services.departments import all_departments

    return choices([(0, _("— none —"))] + [(d.id, d.name) for d in all_departments()])


@bp.route("/users")
def users_index():
    page = paginate(users.users_query(role=request.args.get("role") or None,
                                      county_id=request.args.get("county_id", type=int)))
    return render_template("admin/users.html", page=page, counties=counties.all_counties())


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
def users_form(user_id: int | None = None):
    user = users.get_user(user_id) if user_id else None
    form = UserForm(obj=user)
    form.county_id.choices = _county_choices()
    form.department_id.choices = _department_choices()
    if form.department_id.data is None:  # most users have none; a form sent without the field means none
        form.department_id.data = 0
    if request.method == "GET" and user is not None:
        form.county_id.data = user.county_id or 0
        form.department_id.data = user.department_id or 0
    conflict = None
    if form.validate_on_submit():
        data = {k: v for k, v in form.data.items() if k not in ("csrf_token", "version")}
        try:
            if user is None:
                user = users.create_user(current_user, data, now=datetime.now(UTC))
            else:
                data.pop("username"), data.pop("password")
                users.update_user(current_user, user.id, data, expected_version=versions.parse(form.version.data))
        except InvalidInput as error:
            populate_errors(form, error)
        except EditConflict as error:
            saved = UserForm(formdata=None, obj=user)
            saved.county_id.choices, saved.county_id.data = _county_choices(), user.county_id or 0
            saved.department_id.choices, saved.department_id.data = _department_choices(), user.department_id or 0
            conflict = edit_conflict(form, error, saved)
        else:
            flash(_("User %(name)s saved.", name=user.username), "success")
            return redirect(url_for("admin.users_index"))
    return render_template("admin/user_form.html", form=form, user=user, conflict=conflict,
                           reset_form=ResetPasswordForm() if user else None), 409 if conflict else 200


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def users_reset_password(user_id: int):
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            users.reset_password(current_user, user_id, form.password.data, now=datetime.now(UTC))
        except InvalidInput as error:
            for messages in error.errors.values():
                for message in messages:
                    flash(str(message), "danger")
        else:
            flash(_("Password reset; the user's sessions were signed out."), "success")
    return redirect(url_for("admin.users_form", user_id=user_id))


@bp.route("/counties")
def counties_index():
    return render_template("admin/counties.html", counties=counties.all_counties())


@bp.route("/counties/<int:county_id>/edit", methods=["GET", "POST"])
def counties_form(county_id: int):
    county = counties.get_county(county_id)
    form = CountyForm(obj=county)
    conflict = None
    if form.validate_on_submit():
        try:
            counties.update_county(current_user, county.id, form.data,
                                   expected_version=versions.parse(form.version.data))
        except InvalidInput as error:
            populate_errors(form, error)
        except EditConflict as error:
            conflict = edit_conflict(form, error, CountyForm(formdata=None, obj=county))
        else:
            flash(_("County saved."), "success")
            return redirect(url_for("admin.counties_index"))
    return render_template("admin/county_form.html", form=form, county=county,
                           conflict=conflict), 409 if conflict else 200


AUDIT_ARGS = ("object_type", "action", "actor_id", "object_id", "since", "until")


@bp.route("/audit")
def audit_index():
    raw = {k: request.args.get(k) for k in AUDIT_ARGS}
    try:
        filters = audit_log.clean_filters(raw)
    except InvalidInput as error:
        for messages in error.errors.values():
            for message in messages:
                flash(str(message), "danger")
        filters = {}
    page = paginate(audit_log.entries_query(filters), per_page=50)
    return render_template("admin/audit.html", page=page, log=audit_log, actions=audit_log.known_actions(),
                           object_types=sorted(audit_log.OBJECT_LABELS, key=audit_log.object_label),
                           export_args={k: v for k, v in raw.items() if v})


@bp.route("/audit/export.<any(xlsx, csv):fmt>")
def audit_export(fmt: str):
    raw = {k: request.args.get(k) for k in AUDIT_ARGS}
    try:
        name, content, mimetype = audit_log.export_entries(current_user, raw, fmt, now=datetime.now(UTC))
    except InvalidInput as error:
        for messages in error.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return redirect(url_for("admin.audit_index", **{k: v for k, v in raw.items() if v}))
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
