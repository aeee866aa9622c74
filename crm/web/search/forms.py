"""Search page forms: saving a search, and a bulk action on the selected results or list rows (shape only; the
services judge each lead)."""
from datetime import UTC, datetime

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from crm.services import bulk, leads, outreach
from crm.services.permissions import can
from crm.web.forms import choices

BULK_LABELS = {"owner": _l("Assign an owner"), "tag": _l("Add a tag"), "outreach": _l("Add to an outreach list"),
               "event": _l("Invite to an event"), "export": _l("Export")}


class SaveSearchForm(FlaskForm):
    name = StringField(_l("Name of this search"), validators=[DataRequired(), Length(max=80)])
    scope = SelectField(_l("Shared with"), choices=[], validators=[DataRequired()])
    query = HiddenField()  # the search's query string, as the page shows it


class BulkForm(FlaskForm):
    action = SelectField(_l("Action"), choices=[], validators=[DataRequired()])
    all_results = BooleanField(_l("All results of this search"))
    query = HiddenField()
    next = HiddenField()  # the list page the selection came from (the search page when empty)
    owner_id = SelectField(_l("New owner"), coerce=int, choices=[], validators=[Optional()])
    tag = StringField(_l("Tag"), validators=[Optional(), Length(max=40)])
    campaign_id = SelectField(_l("Outreach list"), coerce=int, choices=[], validators=[Optional()])
    event_id = SelectField(_l("Event"), coerce=int, choices=[], validators=[Optional()])
    fmt = SelectField(_l("Format"), choices=[], validators=[Optional()])


def bulk_form(query: str = "", next_url: str = "") -> BulkForm:
    """The bulk form with only the actions this user may take, and their choices (owners, lists, events)."""
    form = BulkForm(query=query, next=next_url) if request.method == "GET" else BulkForm()
    may_edit = can(current_user, "lead.edit")
    campaigns = bulk.campaign_choices(current_user, datetime.now(UTC))
    events = bulk.event_choices(current_user)
    actions = [a for a, ok in (("owner", may_edit), ("tag", may_edit), ("outreach", bool(campaigns)),
                               ("event", bool(events)), ("export", can(current_user, "export.run"))) if ok]
    form.action.choices = choices([(a, str(BULK_LABELS[a])) for a in actions])
    form.owner_id.choices = choices([(0, "—")] + [
        (u.id, f"{u.display_name}（{u.county.name if u.county else _('City-wide')}）")
        for u in (leads.owner_choices(current_user) if may_edit else [])])
    form.campaign_id.choices = choices([(0, "—")] + [(c.id, outreach.campaign_title(c)) for c in campaigns])
    form.fmt.choices = choices([("xlsx", "XLSX"), ("csv", "CSV")])
    form.event_id.choices = choices([(0, "—")] + [(e.id, f"{e.held_on:%Y-%m-%d} {e.name}") for e in events])
    return form
