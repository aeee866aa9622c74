"""Visit and trip forms: shape only (the service checks meaning)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.web.forms import OnceForm, choices
from crm.web.leads.labels import INTERACTION_KIND_LABELS, KIND_LABELS, LEADER_LEVEL_LABELS

DT = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class ContactForm(FlaskForm):
    """What happened: the part of a visit that can be corrected later."""

    kind = SelectField(_l("How"), choices=choices(INTERACTION_KIND_LABELS.items()), default="visit")
    occurred_at = DateTimeLocalField(_l("When"), format=DT, validators=[Optional()])
    location = StringField(_l("Where"), validators=[Optional(), Length(max=200)])
    leader_level = SelectField(_l("Led by"), choices=choices(LEADER_LEVEL_LABELS.items()), default="none")
    leader_name = StringField(_l("Leader's name"), validators=[Optional(), Length(max=60)])
    participant_ids = SelectMultipleField(_l("Who went"), coerce=int, choices=[], validate_choice=False)
    visitor_count = IntegerField(_l("Visitors (人次)"), validators=[Optional()])
    summary = TextAreaField(_l("What was discussed"), validators=[DataRequired(), Length(max=5000)])
    outcome = TextAreaField(_l("Outcome"), validators=[Optional(), Length(max=5000)])
    trip_id = SelectField(_l("Trip"), coerce=int, choices=[], validate_choice=False)


class VisitForm(OnceForm, ContactForm):
    lead_id = IntegerField(_l("Lead"), validators=[Optional()])
    new_lead = BooleanField(_l("New lead"))
    new_name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    new_kind = SelectField(_l("Type"), choices=choices(KIND_LABELS.items()), default="enterprise")
    new_industry_id = SelectField(_l("Industry"), coerce=int, choices=[], validate_choice=False)
    new_contact = StringField(_l("Contact name"), validators=[Optional(), Length(max=60)])
    new_mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=32)])
    force = BooleanField(_l("It is not the same: save anyway"))
    next_title = StringField(_l("Next step"), validators=[Optional(), Length(max=200)])
    next_due_at = DateTimeLocalField(_l("Due"), format=DT, validators=[Optional()])
    next_assignee_id = SelectField(_l("Who does it"), coerce=int, choices=[], validate_choice=False)


class WithdrawForm(FlaskForm):
    reason = TextAreaField(_l("Why it is withdrawn"), validators=[DataRequired(), Length(max=500)])


class TripForm(OnceForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    leader_level = SelectField(_l("Led by"), choices=choices(LEADER_LEVEL_LABELS.items()), default="none")
    leader_name = StringField(_l("Leader's name"), validators=[Optional(), Length(max=60)])
    starts_on = DateField(_l("From"), validators=[DataRequired()])
    ends_on = DateField(_l("To"), validators=[DataRequired()])
    cities = StringField(_l("Cities"), validators=[Optional(), Length(max=200)])
    participant_ids = SelectMultipleField(_l("Who went"), coerce=int, choices=[])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
