"""月报 pages: the frozen monthly snapshots, one shown exactly as reported, its diff against the live figures
(changed cells highlighted), its XLSX in the annual report's layout, and freezing on demand (city users)."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm.services import reports, snapshots
from crm.services.errors import InvalidInput
from crm.services.permissions import can, require
from crm.spreadsheets.writing import write_xlsx
from crm.web.reports.tables import figure_headers, figure_rows, ranking_headers, ranking_rows
from crm.web.verification.forms import FreezeForm

bp = Blueprint("snapshots", __name__, url_prefix="/reports/snapshots")
TABLES = ("figures", "ranking")


@bp.before_request
@login_required
def _signed_in():
    require(current_user, "snapshot.view")


def _now() -> datetime:
    return datetime.now(UTC)


@bp.route("/")
def index():
    local = _now().astimezone(snapshots.TZ)
    form = FreezeForm(formdata=None, data={"year": local.year, "month": local.month})
    return render_template("snapshots/index.html", items=snapshots.list_snapshots(current_user), form=form,
                           may_freeze=can(current_user, "snapshot.freeze"))


@bp.route("/freeze", methods=["POST"])
def freeze():
    require(current_user, "snapshot.freeze")
    form = FreezeForm()
    if not form.validate_on_submit():
        flash(_("Give the year and the month as numbers."), "danger")
        return redirect(url_for("snapshots.index"))
    try:
        snap = snapshots.freeze(current_user, form.year.data, form.month.data, note=form.note.data, now=_now())
    except InvalidInput as error:
        for messages in error.errors.values():
            for message in messages:
                flash(str(message), "danger")
        return redirect(url_for("snapshots.index"))
    flash(_("Monthly report frozen."), "success")
    return redirect(url_for("snapshots.detail", snapshot_id=snap.id))


@bp.route("/<int:snapshot_id>")
def detail(snapshot_id: int):
    snap = snapshots.get_snapshot(current_user, snapshot_id)
    frozen = snapshots.figures(snap)
    changed = snapshots.diff(snap) if request.args.get("diff") else None
    live = reports.annual_report(snap.year) if changed is not None else None
    live_rows = figure_rows(live) if live else None
    return render_template("snapshots/detail.html", snap=snap, report=frozen["report"], ranking=frozen["ranking"],
                           rows=figure_rows(frozen["report"]), live_rows=live_rows, headers=figure_headers(),
                           changed=changed, changed_paths={d["path"] for d in changed or []},
                           ranking_headers=ranking_headers(), ranking_rows=ranking_rows(frozen["ranking"]),
                           live_ranking={row[1]: row for row in ranking_rows(reports.county_ranking(snap.year))}
                           if live else None)


@bp.route("/<int:snapshot_id>.xlsx")
def export(snapshot_id: int):
    snap = snapshots.get_snapshot(current_user, snapshot_id)
    name = request.args.get("table", "figures")
    if name not in TABLES:
        abort(404)
    frozen = snapshots.figures(snap)
    headers, rows = ((figure_headers(), figure_rows(frozen["report"])) if name == "figures"
                     else (ranking_headers(), ranking_rows(frozen["ranking"])))
    reports.record_export(current_user, snap.year, None, f"snapshot {snap.id} {name}")
    body = write_xlsx(headers, rows, sheet_title=f"{snap.year}-{snap.month:02d}")
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition":
                             f"attachment; filename=monthly-{snap.year}-{snap.month:02d}-{snap.id}-{name}.xlsx"})
