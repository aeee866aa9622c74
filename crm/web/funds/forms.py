"""Forms to correct or withdraw one funds row: shape only (crm.services.funds judges amounts and reasons)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, Optional

from crm.web.projects.forms import FundsForm


class FundsEditForm(FundsForm):
    # Optional here: the service says "required" after checking who may correct the row.
    reason = StringField(_l("Reason for the correction"), validators=[Optional(), Length(max=300)])


class WithdrawForm(FlaskForm):
    reason = StringField(_l("Reason for withdrawing"), validators=[Optional(), Length(max=300)])
