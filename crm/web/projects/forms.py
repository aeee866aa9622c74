"""Project forms: shape only (the service checks money, dates, stage moves and who may do what)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.web.forms import OnceForm, choices
from crm.web.pickers import optional_id
from crm.web.projects.labels import CHANNEL_LABELS, STAGE_LABELS


class ProjectForm(OnceForm):
    name = StringField(_l("Project name"), validators=[DataRequired(), Length(max=200)])
    county_id = SelectField(_l("Landing county"), coerce=int, choices=[])
    industry_id = SelectField(_l("Industry"), coerce=int, choices=[])
    investment_total = StringField(_l("Total investment (10k yuan)"), validators=[Optional(), Length(max=30)])
    is_foreign = BooleanField(_l("Foreign-invested"))
    is_continuing = BooleanField(_l("Continuing project (续建): funds may be recorded before signing"))
    stage = SelectField(_l("Stage reached"), choices=choices(
        (k, v) for k, v in STAGE_LABELS.items() if k != "dropped"), default="planned")
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    started_on = DateField(_l("Started on"), validators=[Optional()])
    planned_start_on = DateField(_l("Planned start"), validators=[Optional()])
    lead_ids = SelectMultipleField(_l("Investors (leads)"), coerce=int, choices=[])
    source_channel = SelectField(_l("Source channel"), choices=choices([("", "—")] + list(CHANNEL_LABELS.items())))
    referrer_id = SelectField(_l("Referred by"), coerce=optional_id, choices=[])
    event_id = SelectField(_l("Signed at event"), coerce=int, choices=[])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    version = HiddenField()  # the version the form was filled from; a save against a newer one is refused


class StageForm(FlaskForm):
    stage = SelectField(_l("New stage"), choices=choices(STAGE_LABELS.items()))
    on = DateField(_l("Date of the change"), validators=[Optional()])
    allow_back = BooleanField(_l("Yes, move the project back"))


class FundsForm(OnceForm):
    """One arrival (its hidden token makes a double submit save once); also the correction form of
    crm.web.funds (with its reason)."""

    amount = StringField(_l("Amount (10k yuan)"), validators=[DataRequired(), Length(max=30)])
    arrived_on = DateField(_l("Arrived on"), validators=[DataRequired()])
    out_of_province = BooleanField(_l("From outside the province"))
    foreign_amount = StringField(_l("Of which foreign capital (10k USD)"), validators=[Optional(), Length(max=30)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])
    confirm_over = BooleanField(_l("Yes, the amount is right although it exceeds the remaining investment"))
