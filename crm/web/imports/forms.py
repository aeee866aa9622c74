"""Forms of the import pages: the upload (file, duplicate mode, county for city staff)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField

from crm.web.forms import OnceForm


class UploadForm(OnceForm):
    file = FileField(_l("Spreadsheet (XLSX or CSV)"), validators=[FileRequired()])
    duplicate_mode = SelectField(_l("When a row matches an existing lead"), default="skip")
    owner_county_id = SelectField(_l("Leads belong to"), coerce=int, default=0)
