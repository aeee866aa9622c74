"""The import's template and the 台账 words it must understand: 类别 as the type column, 外企 as 外商, and a
landline refused in the 手机 column with a row error that says where it belongs."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from crm.extensions import db
from crm.models import Contact, ImportRowResult, Lead
from crm.services import import_template, imports
from crm.services.errors import PermissionDenied
from crm.spreadsheets import guess_mapping
from tests.services.test_imports import do_import, results, user, xlsx_bytes


@pytest.fixture(autouse=True)
def _import_folder(app, tmp_path):
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


def test_template_has_the_recognised_headers_and_an_example_that_imports(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.app_context():
        name, content, mimetype = import_template.template_file(user(staff.id))
    assert name.endswith(".xlsx") and mimetype.startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert len(rows) == 2
    headers = [str(h) for h in rows[0]]
    assert set(guess_mapping(headers)) == set(imports.FIELD_LABELS)  # every header maps to its own field
    batch_id = do_import(app, staff, content, filename="template.xlsx")
    assert results(app, batch_id) == {}  # no row rejected
    with app.app_context():
        lead = db.session.scalar(select(Lead))
        assert (lead.name, lead.kind, lead.status, lead.is_key) == ("安康富硒茶业有限公司", "enterprise", "engaged", True)
        contact = db.session.scalar(select(Contact))
        assert (contact.mobile, contact.phone) == ("13912345678", "0915-3212345")


def test_template_is_for_those_who_may_import(app, make_user):
    viewer = make_user("viewer", None)
    with app.app_context(), pytest.raises(PermissionDenied):
        import_template.template_file(user(viewer.id))


def test_category_header_and_foreign_enterprise_synonyms(app, make_user):
    staff = make_user("county_staff", "610902")
    assert guess_mapping(["企业名称", "类别"]) == {"name": 0, "kind": 1}
    assert guess_mapping(["企业名称", "行业类别"]) == {"name": 0, "industry": 1}
    data = xlsx_bytes(["企业名称", "类别"], [["香港某外企", "外企"], ["台资电子厂", "台资"], ["某商会", "商会"]])
    batch_id = do_import(app, staff, data, filename="leads.xlsx")
    assert results(app, batch_id) == {}
    with app.app_context():
        kinds = dict(db.session.execute(select(Lead.name, Lead.kind)).all())
    assert kinds == {"香港某外企": "foreign_investor", "台资电子厂": "foreign_investor", "某商会": "chamber"}


def test_landline_in_the_mobile_column_is_a_clear_row_error(app, make_user):
    staff = make_user("county_staff", "610902")
    data = xlsx_bytes(["企业名称", "手机", "电话"], [["甲公司", "0915-3212345", ""], ["乙公司", "13800000002",
                                                                                   "0915-3212345"],
                                                   ["丙公司", "1380000", ""]])
    batch_id = do_import(app, staff, data, filename="leads.xlsx")
    with app.app_context():
        rows = {r.row_number: r for r in db.session.scalars(select(ImportRowResult).where(
            ImportRowResult.batch_id == batch_id))}
        assert sorted(rows) == [2, 4]
        assert rows[2].outcome == "rejected"
        message = imports.reason_text(rows[2].reason)
        assert "0915-3212345" in message and "电话" in message
        assert rows[4].reason.startswith("bad_mobile")
        assert db.session.scalar(select(Lead.name)) == "乙公司"
