"""Problem forms: shape only (the service checks deadlines, routing, ratings and who may do what)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.web.forms import OnceForm, choices
from crm.web.problems.labels import CATEGORY_LABELS, SEVERITY_LABELS


class ProblemForm(OnceForm):
    title = StringField(_l("Problem"), validators=[DataRequired(), Length(max=200)])
    category = SelectField(_l("Category"), choices=choices(CATEGORY_LABELS.items()))
    severity = SelectField(_l("Severity"), choices=choices(SEVERITY_LABELS.items()), default="normal")
    deadline_on = DateField(_l("Deadline"), validators=[Optional()])
    # The lists offer the county's own (at most 500 each); the service judges any id sent.
    project_id = SelectField(_l("Project"), coerce=int, choices=[], default=0, validate_choice=False)
    lead_id = SelectField(_l("Lead"), coerce=int, choices=[], default=0, validate_choice=False)
    department_id = SelectField(_l("Responsible department"), coerce=int, choices=[], default=0)
    detail = TextAreaField(_l("What the enterprise needs"), validators=[Optional(), Length(max=5000)])
    source_interaction_id = HiddenField()
    source_followup_id = HiddenField()
    version = HiddenField()


class RouteForm(FlaskForm):
    department_id = SelectField(_l("Responsible department"), coerce=int, choices=[])
    note = TextAreaField(_l("Note to the department"), validators=[Optional(), Length(max=2000)])


class AdvanceForm(FlaskForm):
    status = SelectField(_l("Step"), choices=choices([("in_progress", _l("Handling (办理): record what was done")),
                                                      ("resolved", _l("Resolved (办结): the problem is solved"))]))
    text = TextAreaField(_l("What was done"), validators=[DataRequired(), Length(max=5000)])


class ConfirmForm(FlaskForm):
    satisfaction = SelectField(_l("Enterprise's satisfaction (回访)"), choices=choices(
        [("", "—"), ("5", _l("5 — very satisfied")), ("4", _l("4 — satisfied")), ("3", _l("3 — acceptable")),
         ("2", _l("2 — dissatisfied")), ("1", _l("1 — very dissatisfied"))]))
    text = TextAreaField(_l("What the enterprise said"), validators=[Optional(), Length(max=5000)])


class InstructionForm(FlaskForm):
    text = TextAreaField(_l("Instruction"), validators=[DataRequired(), Length(max=2000)])


class ReopenForm(FlaskForm):
    text = TextAreaField(_l("Why the enterprise is not satisfied"), validators=[DataRequired(), Length(max=5000)])


class DecideForm(FlaskForm):
    decision = SelectField(_l("Decision becomes"), choices=choices(
        [("followup", _l("A follow-up for the county")), ("update", _l("A problem update"))]))
    text = StringField(_l("Decision of the meeting"), validators=[DataRequired(), Length(max=2000)])
    due_at = DateField(_l("Follow-up due"), validators=[Optional()])
    department_id = SelectField(_l("Department"), coerce=int, choices=[], default=0)
    deadline_on = DateField(_l("New deadline"), validators=[Optional()])


class DepartmentForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=60)])
    county_id = SelectField(_l("County (none: a city department)"), coerce=int, choices=[])
    sort_order = IntegerField(_l("Order"), validators=[Optional()])
    is_active = BooleanField(_l("Active"), default=True)
    version = HiddenField()
