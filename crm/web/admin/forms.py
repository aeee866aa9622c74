"""Admin forms for users and counties: shape only."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.web.forms import choices

ROLE_CHOICES = [("county_staff", _l("County staff")), ("city_staff", _l("City staff")),
                ("viewer", _l("Leader (read-only)")), ("department", _l("Department contact")),
                ("admin", _l("Administrator"))]
COUNTY_KIND_CHOICES = [("city", _l("City")), ("district", _l("District")), ("county", _l("County")),
                       ("county_city", _l("County-level city")), ("zone", _l("Development zone"))]


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Display name"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("Role"), choices=choices(ROLE_CHOICES))
    county_id = SelectField(_l("County"), coerce=int, choices=[])
    department_id = SelectField(_l("Department (department contacts)"), coerce=int, choices=[], default=0)
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    language = SelectField(_l("Language"), choices=choices([("zh", "简体中文"), ("en", "English")]))
    is_active_user = BooleanField(_l("Active"), default=True)
    can_verify = BooleanField(_l("Verifier (may verify signings and funds in place)"), default=False)
    password = PasswordField(_l("Initial password"), validators=[Optional(), Length(max=128)])
    version = HiddenField()  # the version the form was filled from; a save against a newer one is refused


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])


class CountyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    kind = SelectField(_l("Kind"), choices=choices(COUNTY_KIND_CHOICES))
    sort_order = IntegerField(_l("Order"), validators=[Optional()])
    is_active = BooleanField(_l("Active"))
    version = HiddenField()  # the version the form was filled from; a save against a newer one is refused
