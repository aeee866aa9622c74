"""Commitment forms: shape only (the service checks kinds, dates against the signing, quantities and rights)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.services.commitments import KIND_LABELS, SIDE, SIDE_LABELS, STATUS_LABELS
from crm.web.forms import OnceForm, choices


def kind_choices():
    return choices((k.value, f"{SIDE_LABELS[SIDE[k]]} · {text}") for k, text in KIND_LABELS.items())


class CommitmentForm(OnceForm):
    kind = SelectField(_l("Commitment"), choices=[])
    title = StringField(_l("What is promised"), validators=[Optional(), Length(max=200)])
    due_on = DateField(_l("Due on"), validators=[DataRequired()])
    target_quantity = StringField(_l("Target (number)"), validators=[Optional(), Length(max=30)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])
    version = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = kind_choices()


class ActualForm(OnceForm):
    recorded_on = DateField(_l("Date"), validators=[DataRequired()])
    quantity = StringField(_l("Actual figure"), validators=[Optional(), Length(max=30)])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class MarkForm(FlaskForm):
    status = SelectField(_l("Mark as"), choices=choices(STATUS_LABELS.items()))
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])
    version = HiddenField()
