"""Lead forms: shape only (the service checks meaning: duplicates, owners, county rights)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.web.forms import OnceForm, choices
from crm.web.leads.labels import CHANNEL_LABELS, KIND_LABELS, STATUS_LABELS

CONTACT_ROWS = 3


class ContactForm(Form):
    id = HiddenField()
    name = StringField(_l("Contact name"), validators=[Optional(), Length(max=60)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=60)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Length(max=32)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)])
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    wechat = StringField(_l("WeChat"), validators=[Optional(), Length(max=64)])
    is_primary = BooleanField(_l("Primary"))


class LeadForm(OnceForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Type"), choices=choices(KIND_LABELS.items()), default="enterprise")
    uscc = StringField(_l("Unified social credit code"), validators=[Optional(), Length(max=40)])
    industry_id = SelectField(_l("Industry"), coerce=int, choices=[], validate_choice=False)
    status = SelectField(_l("Status"), choices=choices(STATUS_LABELS.items()), default="new")
    owner_county_id = SelectField(_l("County"), coerce=int, choices=[], validate_choice=False)
    owner_id = SelectField(_l("Owner"), coerce=int, choices=[], validate_choice=False)
    origin_region = StringField(_l("Based in (region)"), validators=[Optional(), Length(max=100)])
    home_county_id = SelectField(_l("Home county (for hometown entrepreneurs)"), coerce=int, choices=[], validate_choice=False)
    source_channel = SelectField(_l("Source"), choices=choices([("", "—")] + list(CHANNEL_LABELS.items())))
    referrer_id = SelectField(_l("Referred by"), coerce=int, choices=[], validate_choice=False)
    is_key = BooleanField(_l("Key investor"))
    tags = StringField(_l("Tags (separated by commas)"), validators=[Optional(), Length(max=500)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    contacts = FieldList(FormField(ContactForm), label=_l("Contacts"), min_entries=CONTACT_ROWS, max_entries=20)
    force = BooleanField(_l("It is not the same: save anyway"))
    version = HiddenField()  # the version the form was filled from; a save against a newer one is refused


class MergeForm(FlaskForm):
    drop_id = SelectField(_l("Lead to merge into this one"), coerce=int, choices=[], validate_choice=False,
                          validators=[DataRequired()])
