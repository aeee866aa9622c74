"""Report pages: the annual report with targets, ranking and charts; XLSX export of its tables; the targets grid."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.services import counties, reports, targets
from crm.services.errors import InvalidInput
from crm.services.permissions import can, require
from crm.spreadsheets.writing import write_xlsx
from crm.web.projects.labels import METRIC_LABELS
from crm.web.reports.tables import TABLES, chart_data, report_tables

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.before_request
@login_required
def _signed_in():
    require(current_user, "report.view")


def _now() -> datetime:
    return datetime.now(UTC)


def _year() -> int:
    year = request.args.get("year", type=int)
    return year if year and targets.MIN_YEAR <= year <= targets.MAX_YEAR else _now().astimezone(reports.TZ).year


@bp.route("/")
@bp.route("/annual")
def annual():
    year, county_id = _year(), request.args.get("county_id", type=int) or None
    report = reports.annual_report(year, county_id)
    return render_template("reports/annual.html", report=report, year=year, county_id=county_id,
                           counties=counties.all_counties(active_only=True), ranking=reports.county_ranking(year),
                           weights=reports.ranking_weights(), charts=chart_data(year, county_id),
                           metric_labels=METRIC_LABELS, tables=TABLES)


@bp.route("/annual.xlsx")
def export():
    year, county_id = _year(), request.args.get("county_id", type=int) or None
    name = request.args.get("table", "figures")
    if name not in TABLES:
        abort(404)
    title, headers, rows = report_tables(name, year, county_id)
    reports.record_export(current_user, year, county_id, name)
    body = write_xlsx(headers, rows, sheet_title=title)
    filename = f"annual-{year}-{name}.xlsx"
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.route("/targets", methods=["GET", "POST"])
def targets_grid():
    if not can(current_user, "target.manage"):
        abort(403)
    year = _year() if request.method == "GET" else request.form.get("year", type=int)
    if year is None or not 1950 <= year <= 2100:
        year = _year()  # a post without a usable year edits the year on screen, never a 500
    rows = [(None, _("Whole city"))] + [(c.id, c.name) for c in counties.all_counties(active_only=True)
                                         if not c.is_city]
    errors = {}
    if request.method == "POST":
        items = [_cell(cid, m) for cid, _name in rows for m in targets.METRICS]
        try:
            targets.set_targets(current_user, year, items, now=_now())
        except InvalidInput as error:
            errors = error.errors
            flash(_("Some targets were not saved: check the marked cells."), "danger")
        else:
            flash(_("Targets saved."), "success")
            return redirect(url_for("reports.targets_grid", year=year))
    values = targets.target_map(year) if year else {}
    return render_template("reports/targets.html", year=year, rows=rows, metrics=targets.METRICS, values=values,
                           metric_labels=METRIC_LABELS, errors=errors, form=request.form, shown=targets.shown,
                           count_metrics=targets.COUNT_METRICS), 422 if errors else 200


def _cell(county_id: int | None, metric: str) -> dict:
    """One posted cell, with the value it showed when the grid was opened (`was-…`) when the page sent it."""
    key = f"{county_id or 0}-{metric}"
    cell = {"county_id": county_id, "metric": metric, "value": request.form.get(f"t-{key}")}
    if f"was-{key}" in request.form:
        cell["was"] = request.form[f"was-{key}"]
    return cell
