"""JSON-in-HTML: data rendered into a page's <script> must not be able to close the script (stored XSS)."""
from __future__ import annotations

from crm.extensions import db
from crm.models import County
from tests.conftest import county_id
from tests.web.test_reports import _seed

HOSTILE = "</script><script>alert(1)</script>\"'&"


def test_annual_report_with_hostile_county_name_does_not_close_the_script(app, login_as):
    admin = login_as("admin", None)
    _seed(app, admin.user)
    with app.app_context():
        db.session.get(County, county_id(app, "610902")).name = HOSTILE
        db.session.commit()
    page = admin.get("/reports/annual?year=2019").get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)" in page  # still in the chart data, escaped
