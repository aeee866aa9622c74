"""Search page forms: saving a search, and a bulk action on the selected results (shape only; the services judge)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional


class SaveSearchForm(FlaskForm):
    name = StringField(_l("Name of this search"), validators=[DataRequired(), Length(max=80)])
    scope = SelectField(_l("Shared with"), choices=[], validators=[DataRequired()])
    query = HiddenField()  # the search's query string, as the page shows it


class BulkForm(FlaskForm):
    action = SelectField(_l("Action"), choices=[], validators=[DataRequired()])
    all_results = BooleanField(_l("All results of this search"))
    query = HiddenField()
    owner_id = SelectField(_l("New owner"), coerce=int, choices=[], validators=[Optional()])
    tag = StringField(_l("Tag"), validators=[Optional(), Length(max=40)])
    campaign_id = SelectField(_l("Outreach list"), coerce=int, choices=[], validators=[Optional()])
    event_id = SelectField(_l("Event"), coerce=int, choices=[], validators=[Optional()])
    fmt = SelectField(_l("Format"), choices=[], validators=[Optional()])
