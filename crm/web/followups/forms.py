"""Follow-up forms: shape only (the service checks meaning: who may be assigned, which lead)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.web.followups.labels import INTERACTION_KIND_LABELS, PRIORITY_LABELS
from crm.web.forms import OnceForm, choices

DT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class FollowupForm(OnceForm):
    title = StringField(_l("What to do"), validators=[DataRequired(), Length(max=200)])
    lead_id = IntegerField(_l("Lead"), validators=[Optional()])  # a searchable picker; the service checks the id
    due_at = DateTimeLocalField(_l("Due"), format=DT, validators=[DataRequired()])
    priority = SelectField(_l("Priority"), choices=choices(PRIORITY_LABELS.items()), default="normal")
    assignee_id = SelectField(_l("Assignee"), coerce=int, choices=[])
    county_id = SelectField(_l("Or a county's inbox"), coerce=int, choices=[])
    detail = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])
    version = HiddenField()  # the version the form was filled from; a save against a newer one is refused


class CompleteForm(FlaskForm):
    outcome = TextAreaField(_l("Outcome"), validators=[DataRequired(), Length(max=5000)])
    kind = SelectField(_l("How"), choices=choices(INTERACTION_KIND_LABELS.items()), default="call")
    schedule_next = BooleanField(_l("Done and schedule the next step"))
    next_title = StringField(_l("Next step"), validators=[Optional(), Length(max=200)])
    next_due_at = DateTimeLocalField(_l("Next step due"), format=DT, validators=[Optional()])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)])


class HandoffForm(FlaskForm):
    county_id = SelectField(_l("County"), coerce=int, choices=[])
