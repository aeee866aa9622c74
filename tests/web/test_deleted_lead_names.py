"""A deleted lead's name never shows through a form that re-displays a posted lead_id/referrer_id (issue 13
item 8): the form comes back with the choice empty, not with the deleted lead named."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm.extensions import db
from crm.models import User
from crm.services import leads

NOW = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)
SECRET = "已删除的保密客商有限公司"


@pytest.fixture
def deleted_id(app, make_user):
    owner = make_user("county_staff", "610902")
    with app.test_request_context():
        actor = db.session.get(User, owner.id)
        lead = leads.create_lead(actor, {"name": SECRET}, now=NOW)
        leads.delete_lead(actor, lead.id, now=NOW)
        return lead.id


@pytest.mark.parametrize("path,data", [
    ("/leads/new", {"name": "", "kind": "enterprise", "status": "new", "referrer_id": "{id}"}),
    ("/followups/new", {"title": "", "lead_id": "{id}"}),
    ("/interactions/new", {"summary": "", "kind": "visit", "lead_id": "{id}"}),
])
def test_form_redisplay_with_a_deleted_leads_id_does_not_name_it(login_as, deleted_id, path, data):
    client = login_as("county_staff", "610902")
    posted = {k: (v.format(id=deleted_id) if isinstance(v, str) else v) for k, v in data.items()}
    for page in (client.post(path, data=posted), client.get(f"{path}?lead_id={deleted_id}")):
        assert page.status_code in (200, 422)
        assert SECRET not in page.get_data(as_text=True)
