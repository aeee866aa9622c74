"""Forms of 认定 and 月报: shape only (crm.services.verification, attachments and snapshots judge the meaning)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import Length, Optional

from crm.web.forms import choices

EVIDENCE_KINDS = [("contract", _l("Contract")), ("licence", _l("Business licence")),
                  ("bank_slip", _l("Bank slip")), ("other", _l("Other evidence"))]


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (verify, resubmit, delete)."""


class ReturnForm(FlaskForm):
    reason = StringField(_l("Reason for returning"), validators=[Optional(), Length(max=300)])


class DuplicateForm(FlaskForm):
    other_id = HiddenField()
    decision = HiddenField()
    reason = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class UploadForm(FlaskForm):
    # Optional: the service says what is wrong with a missing, empty or mislabelled file, in one message.
    file = FileField(_l("File (PDF, JPEG or PNG)"))
    kind = SelectField(_l("Evidence"), choices=choices(EVIDENCE_KINDS))
    funds_id = SelectField(_l("For"), choices=[], validate_choice=False)


class FreezeForm(FlaskForm):
    year = IntegerField(_l("Year"), validators=[Optional()])
    month = IntegerField(_l("Month"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
