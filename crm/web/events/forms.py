"""Event form: shape only."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.web.forms import OnceForm


class EventForm(OnceForm):
    name = StringField(_l("Event name"), validators=[DataRequired(), Length(max=200)])
    held_on = DateField(_l("Held on"), validators=[DataRequired()])
    city = StringField(_l("Held in (city)"), validators=[Optional(), Length(max=100)])
    county_id = SelectField(_l("Organised by"), coerce=int, choices=[])
    leaders = StringField(_l("Leaders present"), validators=[Optional(), Length(max=300)])
    lead_ids = SelectMultipleField(_l("Invited leads"), coerce=int, choices=[])
    attended_ids = SelectMultipleField(_l("Leads who came"), coerce=int, choices=[])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    version = HiddenField()  # the version the form was filled from; a save against a newer one is refused
