"""Holiday-outreach forms: shape only (the service checks meaning: which holiday, whose item)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.holidays import MAX_YEAR, MIN_YEAR


class CampaignForm(FlaskForm):
    holiday_key = SelectField(_l("Holiday"), choices=[], validators=[DataRequired()])
    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(MIN_YEAR, MAX_YEAR)])
    kinds = SelectMultipleField(_l("Kinds of lead"), choices=[], validators=[Optional()],
                                widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    include_key = BooleanField(_l("Also key investors of any kind"), default=True)
    county_id = SelectField(_l("County"), coerce=int, choices=[], validators=[Optional()])
    industry_id = SelectField(_l("Industry (with its sub-industries)"), coerce=int, choices=[],
                              validators=[Optional()])
    tag = StringField(_l("Tag"), validators=[Optional(), Length(max=40)])
    statuses = SelectMultipleField(_l("Lead status"), choices=[], validators=[Optional()],
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    saved_search_id = SelectField(_l("Or: the leads a saved search finds"), coerce=int, choices=[],
                                  validators=[Optional()])


class SettingForm(FlaskForm):
    is_enabled = BooleanField(_l("Run a campaign"))
    days_before = IntegerField(_l("Days ahead"), validators=[DataRequired(), NumberRange(1, 60)])
    template = TextAreaField(_l("Greeting text"), validators=[Optional(), Length(max=1000)])


class MarkForm(FlaskForm):
    status = SelectField(_l("Result"), choices=[], validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
