"""Import rules: file checks, mapping, every rejection reason, duplicates per mode, conflicts, revert, background."""
from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import (
    AuditEntry,
    ClaimConflict,
    Contact,
    ImportBatch,
    ImportRowResult,
    Interaction,
    Lead,
    Role,
    User,
)
from crm.services import exports, imports  # noqa: F401  (exports registers export.run)
from crm.services.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from crm.services.permissions import can
from tests.conftest import county_id

COVERED_ACTIONS = {"import.create", "import.view", "import.revert", "export.run"}
NOW = datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
USCC = "91610900MA70000001"  # made valid below
HEADER = "企业名称,类型,统一社会信用代码,所属行业,籍贯,联系人,职务,手机,邮箱,备注\n"


def valid_uscc(body: str) -> str:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(charset.index(c) * w for c, w in zip(body[:17], weights, strict=True))
    return body[:17] + charset[(31 - total % 31) % 31]


GOOD_USCC = valid_uscc("91610900MA7000000")
OTHER_USCC = valid_uscc("91110000MA0000001")


def csv_bytes(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + "".join(line + "\n" for line in lines)).encode(encoding)


def xlsx_bytes(headers, rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def user(uid: int) -> User:
    return db.session.get(User, uid)


def do_import(app, actor_ref, data: bytes, filename="leads.csv", **kw):
    with app.app_context():
        actor = user(actor_ref.id)
        batch = imports.start_import(actor, filename, data, now=NOW, **kw)
        batch = imports.launch_import(actor, batch.id, now=NOW)
        return batch.id


def results(app, batch_id):
    with app.app_context():
        return {r.row_number: (r.outcome, r.reason) for r in db.session.scalars(
            select(ImportRowResult).where(ImportRowResult.batch_id == batch_id))}


def lead_names(app, **where):
    with app.app_context():
        stmt = select(Lead.name).where(Lead.deleted_at.is_(None))
        for key, value in where.items():
            stmt = stmt.where(getattr(Lead, key) == value)
        return sorted(db.session.scalars(stmt))


def add_lead(app, name, code="610902", uscc=None, mobile=None):
    owner = county_id(app, code)
    with app.app_context():
        lead = Lead(name=name, name_key=imports.identity.normalise_company_name(name), uscc=uscc,
                    owner_county_id=owner, created_at=NOW, updated_at=NOW)
        if mobile:
            lead.contacts.append(Contact(name="老张", mobile=mobile, mobile_key=mobile))
        db.session.add(lead)
        db.session.commit()
        return lead.id


@pytest.fixture(autouse=True)
def _import_folder(app, tmp_path):
    app.config["IMPORT_FOLDER"] = str(tmp_path / "imports")


# --- permissions ---------------------------------------------------------------------------------------------

MATRIX = {"import.create": {"admin", "city_staff", "county_staff"},
          "import.view": {"admin", "city_staff", "county_staff"},
          "import.revert": {"admin"},
          "export.run": {"admin", "city_staff", "county_staff", "viewer"}}


@pytest.mark.parametrize("action", sorted(MATRIX))
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_role_action_matrix(role, action):
    actor = User(id=1, username="u", display_name="u", role=role, county_id=1, is_active_user=True, password_hash="!")
    assert can(actor, action) is (role in MATRIX[action])


def test_revert_by_creator_within_their_county_only_is_allowed():
    creator = User(id=5, role="county_staff", county_id=2, is_active_user=True)
    batch = ImportBatch(created_by_id=5, owner_county_id=2)
    assert can(creator, "import.revert", batch)
    assert not can(User(id=6, role="county_staff", county_id=2, is_active_user=True), "import.revert", batch)
    assert not can(User(id=5, role="county_staff", county_id=3, is_active_user=True), "import.revert", batch)
    assert not can(User(id=7, role="city_staff", is_active_user=True), "import.revert", batch)


def test_view_batch_of_other_county_is_not_found(app, make_user):
    hanbin, ziyang = make_user("county_staff", "610902"), make_user("county_staff", "610924")
    batch_id = do_import(app, hanbin, csv_bytes("安康甲公司,,,,,,,,,"))
    with app.app_context(), pytest.raises(NotFound):
        imports.get_batch(user(ziyang.id), batch_id)


def test_start_import_by_viewer_is_forbidden(app, make_user):
    viewer = make_user("viewer", None)
    with app.app_context(), pytest.raises(PermissionDenied):
        imports.start_import(user(viewer.id), "a.csv", csv_bytes("甲公司,,,,,,,,,"), now=NOW)


def test_start_import_by_county_staff_for_another_county_is_refused(app, make_user):
    staff, ziyang = make_user("county_staff", "610902"), county_id(app, "610924")
    with app.app_context(), pytest.raises(InvalidInput) as error:
        imports.start_import(user(staff.id), "a.csv", csv_bytes("甲公司,,,,,,,,,"), now=NOW, owner_county_id=ziyang)
    assert "owner_county_id" in error.value.errors


# --- files ---------------------------------------------------------------------------------------------------

def test_import_gbk_csv_creates_leads_with_contacts(app, make_user):
    staff = make_user("county_staff", "610902")
    data = csv_bytes(f"安康富硒茶业有限公司,企业,{GOOD_USCC},富硒茶,紫阳,王经理,总经理,13800000001,w@x.cn,老客户",
                     "陕西秦巴商会,商会,,,,李会长,,,,", encoding="gbk")
    batch_id = do_import(app, staff, data)
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        assert (batch.status, batch.created_count, batch.error_count) == ("done", 2, 0)
        lead = db.session.scalar(select(Lead).where(Lead.uscc == GOOD_USCC))
        assert lead.name == "安康富硒茶业有限公司" and lead.owner_county_id == staff.county_id
        assert lead.industry.name == "富硒茶" and lead.home_county.name == "紫阳县"
        assert lead.import_batch_id == batch_id and lead.pinyin_initials.startswith("akfx")
        assert [(c.name, c.title, c.mobile_key) for c in lead.contacts] == [("王经理", "总经理", "13800000001")]
        chamber = db.session.scalar(select(Lead).where(Lead.name == "陕西秦巴商会"))
        assert chamber.kind == "chamber"


def test_manual_mapping_overrides_the_guess(app, make_user):
    staff = make_user("county_staff", "610902")
    data = csv_bytes("甲公司,乙备注", header="单位,说明\n")
    with app.app_context():
        actor = user(staff.id)
        batch = imports.start_import(actor, "a.csv", data, now=NOW)
        assert batch.mapping == {"name": 0, "notes": 1}
        preview = imports.preview(actor, batch.id)
        assert preview["headers"] == ["单位", "说明"] and preview["rows"] == [["甲公司", "乙备注"]]
        imports.launch_import(actor, batch.id, mapping={"name": 1, "notes": 0}, now=NOW)
    assert lead_names(app) == ["乙备注"]


def test_mapping_without_name_is_refused(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.app_context():
        actor = user(staff.id)
        batch = imports.start_import(actor, "a.csv", csv_bytes("x,y", header="甲,乙\n"), now=NOW)
        with pytest.raises(InvalidInput):
            imports.launch_import(actor, batch.id, now=NOW)
        with pytest.raises(InvalidInput):
            imports.launch_import(actor, batch.id, mapping={"notes": 0, "tags": 0}, now=NOW)


def _zip_bomb() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", "<a>" + " " * 150_000_000 + "</a>")
    return buf.getvalue()


@pytest.mark.parametrize(("filename", "data", "expected"), [
    ("a.xlsx", b"PK\x03\x04 not really a zip", "不是"),
    ("a.xlsx", b"plain text pretending", "不是"),
    ("a.xls", bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 600, "XLS"),
    ("a.csv", b"", "没有"),
    ("a.pdf", b"%PDF-1.4\x00\x01\x02\x03" * 100, "不是"),
])
def test_start_import_of_bad_file_is_refused_with_a_message(app, make_user, filename, data, expected):
    staff = make_user("county_staff", "610902")
    with app.app_context(), pytest.raises(InvalidInput) as error:
        imports.start_import(user(staff.id), filename, data, now=NOW)
    assert expected in str(error.value.errors["file"][0])


def test_start_import_of_zip_bomb_is_refused(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.app_context(), pytest.raises(InvalidInput) as error:
        imports.start_import(user(staff.id), "bomb.xlsx", _zip_bomb(), now=NOW)
    assert "解压" in str(error.value.errors["file"][0]) or "远超" in str(error.value.errors["file"][0])


def test_start_import_over_the_limits_is_refused(app, make_user):
    staff = make_user("county_staff", "610902")
    app.config.update(IMPORT_MAX_BYTES=100, IMPORT_MAX_ROWS=3)
    with app.app_context():
        with pytest.raises(InvalidInput, match="file"):
            imports.start_import(user(staff.id), "a.csv", csv_bytes(*["甲公司,,,,,,,,,"] * 5), now=NOW)
        app.config["IMPORT_MAX_BYTES"] = 10_000
        with pytest.raises(InvalidInput) as error:
            imports.start_import(user(staff.id), "a.csv", csv_bytes(*[f"公司{i},,,,,,,,," for i in range(5)]), now=NOW)
        assert "3" in str(error.value.errors["file"][0])


def test_uploaded_file_is_stored_under_the_batch_id_never_the_given_name(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.app_context():
        batch = imports.start_import(user(staff.id), "../../etc/passwd\x00.csv", csv_bytes("甲公司,,,,,,,,,"), now=NOW)
        assert batch.filename == "passwd.csv"
        stored = list((__import__("pathlib").Path(app.config["IMPORT_FOLDER"])).iterdir())
        assert [p.name for p in stored] == [str(batch.id)]


def test_xlsx_import_works(app, make_user):
    staff = make_user("county_staff", "610902")
    data = xlsx_bytes(["企业名称", "手机"], [["安康甲公司", 13800000009], ["安康乙公司", None]])
    batch_id = do_import(app, staff, data, filename="leads.xlsx")
    assert lead_names(app) == ["安康乙公司", "安康甲公司"]
    with app.app_context():
        assert db.session.get(ImportBatch, batch_id).file_format == "xlsx"
        assert db.session.scalar(select(Contact.mobile_key)) == "13800000009"


# --- rejection reasons ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "code"), [
    (",企业,,,,,,,,", "name_missing"),
    ("甲公司,企业,91610900MA70000000,,,,,,,", "bad_uscc"),
    ("甲公司,企业,,,,张三,,12345,,", "bad_mobile"),
    ("甲公司,企业,,,,张三,,,not-an-email,", "bad_email"),
    ("甲公司,宇宙飞船,,,,,,,,", "unknown_kind"),
    ("甲公司,企业,,量子养猪,,,,,,", "unknown_industry"),
    ("甲公司,企业,,,火星县,,,,,", "unknown_county"),
    ("甲" * 201 + ",企业,,,,,,,,", "too_long"),
    ("甲公司\x01,企业,,,,,,,,", "control_chars"),
])
def test_import_rejects_bad_row_with_its_reason(app, make_user, line, code):
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes("安康好公司,企业,,,,,,,,", line))
    outcome, reason = results(app, batch_id)[3]
    assert outcome == "rejected" and reason.split(":")[0] == code
    assert lead_names(app) == ["安康好公司"]
    with app.app_context():
        assert imports.reason_text(reason) and imports.reason_text(reason) != reason


@pytest.mark.parametrize(("header", "line", "code"), [
    ("企业名称,状态\n", "甲公司,不知道", "unknown_status"),
    ("企业名称,来源\n", "甲公司,天上掉的", "unknown_channel"),
    ("企业名称,所属县区\n", "甲公司,紫阳县", "not_your_county"),
    ("企业名称,电话\n", "甲公司,call me", "bad_phone"),
])
def test_import_rejects_unknown_values_with_reason(app, make_user, header, line, code):
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes(line, header=header))
    assert results(app, batch_id)[2][1].split(":")[0] == code


def test_import_maps_chinese_values(app, make_user):
    city = make_user("city_staff", None)
    data = csv_bytes("张乡贤,乡贤,有意向,乡贤推荐,光伏,紫阳县,是", "某顾问,顾问,签约,叩门,茶叶,汉滨区,否",
                     header="客商名称,类型,状态,来源,行业,所属县区,重点客商\n")
    do_import(app, city, data)
    with app.app_context():
        rows = {lead.name: lead for lead in db.session.scalars(select(Lead))}
        first = rows["张乡贤"]
        assert (first.kind, first.status, first.source_channel, first.is_key) == (
            "hometown_entrepreneur", "interested", "hometown", True)
        assert first.industry.name == "光伏发电" and first.owner_county.name == "紫阳县"
        second = rows["某顾问"]
        assert (second.kind, second.status, second.source_channel, second.industry.name) == (
            "adviser", "signed", "visit", "富硒茶")


# --- duplicates ----------------------------------------------------------------------------------------------

def test_duplicates_in_file_skip_mode_skips_later_rows(app, make_user):
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes("安康甲科技有限公司,,,,,,,13800000001,,",
                                               "甲科技公司,,,,,,,,,",
                                               "安康乙公司,,,,,,,13800000001,,"))
    res = results(app, batch_id)
    assert res[3][0] == "skipped" and '"row": 2' in res[3][1] and "name" in res[3][1]
    assert res[4][0] == "skipped" and "mobile" in res[4][1]
    assert lead_names(app) == ["安康甲科技有限公司"]


def test_duplicates_against_database_skip_mode(app, make_user):
    staff = make_user("county_staff", "610902")
    existing = add_lead(app, "安康甲公司", uscc=GOOD_USCC)
    batch_id = do_import(app, staff, csv_bytes(f"别的名字,,{GOOD_USCC},,,,,,,"))
    outcome, reason = results(app, batch_id)[2]
    assert outcome == "skipped" and f'"lead": {existing}' in reason
    assert lead_names(app) == ["安康甲公司"]


def test_duplicates_update_mode_updates_and_revert_restores(app, make_user):
    staff = make_user("county_staff", "610902")
    existing = add_lead(app, "安康甲公司", mobile="13800000002")
    batch_id = do_import(app, staff, csv_bytes("安康甲公司,商会,,富硒茶,,赵六,,13900000003,,新备注",
                                               "安康新公司,,,,,,,,,"), duplicate_mode="update")
    with app.app_context():
        lead = db.session.get(Lead, existing)
        assert (lead.kind, lead.notes, lead.industry.name) == ("chamber", "新备注", "富硒茶")
        assert sorted(c.mobile_key for c in lead.contacts) == ["13800000002", "13900000003"]
        batch = db.session.get(ImportBatch, batch_id)
        assert (batch.created_count, batch.updated_count) == (1, 1)
        imports.revert_import(user(staff.id), batch_id, now=NOW)
    with app.app_context():
        lead = db.session.get(Lead, existing)
        assert (lead.kind, lead.notes, lead.industry_id) == ("enterprise", None, None)
        assert [c.mobile_key for c in lead.contacts] == ["13800000002"]
        assert db.session.get(ImportBatch, batch_id).status == "reverted"
    assert lead_names(app) == ["安康甲公司"]


def test_update_mode_against_another_countys_lead_is_skipped(app, make_user):
    staff = make_user("county_staff", "610902")
    other = add_lead(app, "紫阳甲公司", code="610924", uscc=GOOD_USCC)
    batch_id = do_import(app, staff, csv_bytes(f"改个名,,{GOOD_USCC},,,,,,,备注"), duplicate_mode="update")
    assert results(app, batch_id)[2][1].startswith("other_county")
    with app.app_context():
        assert db.session.get(Lead, other).notes is None


def test_update_mode_in_file_duplicate_folds_into_the_first_row(app, make_user):
    staff = make_user("county_staff", "610902")
    do_import(app, staff, csv_bytes("安康甲公司,,,,,,,,,", "安康甲公司,,,,,,,,,第二行的备注"), duplicate_mode="update")
    with app.app_context():
        assert db.session.scalars(select(Lead.notes)).all() == ["第二行的备注"]


def test_create_anyway_against_another_county_opens_a_claim_conflict(app, make_user):
    staff = make_user("county_staff", "610902")
    other = add_lead(app, "紫阳甲公司", code="610924", mobile="13800000004")
    batch_id = do_import(app, staff, csv_bytes("汉滨甲公司,,,,,,,13800000004,,"), duplicate_mode="create")
    with app.app_context():
        conflict = db.session.scalar(select(ClaimConflict))
        mine = db.session.scalar(select(Lead).where(Lead.import_batch_id == batch_id))
        assert (conflict.lead_id, conflict.claimant_lead_id, conflict.reason, conflict.status) == (
            other, mine.id, "mobile", "open")
        assert conflict.claimant_county_id == staff.county_id
        imports.revert_import(user(staff.id), batch_id, now=NOW)
        assert db.session.scalar(select(func.count(ClaimConflict.id))) == 0


def test_create_anyway_with_same_uscc_is_rejected(app, make_user):
    staff = make_user("county_staff", "610902")
    add_lead(app, "安康甲公司", uscc=GOOD_USCC)
    batch_id = do_import(app, staff, csv_bytes(f"安康乙公司,,{GOOD_USCC},,,,,,,"), duplicate_mode="create")
    assert results(app, batch_id)[2][0] == "rejected" and results(app, batch_id)[2][1].startswith("uscc_taken")


def test_create_anyway_same_county_creates_without_conflict(app, make_user):
    staff = make_user("county_staff", "610902")
    add_lead(app, "安康甲公司")
    do_import(app, staff, csv_bytes("安康甲公司,,,,,,,,,"), duplicate_mode="create")
    assert lead_names(app) == ["安康甲公司", "安康甲公司"]
    with app.app_context():
        assert db.session.scalar(select(func.count(ClaimConflict.id))) == 0


# --- revert --------------------------------------------------------------------------------------------------

def test_revert_deletes_untouched_leads_and_keeps_one_visited_since(app, make_user):
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes("安康甲公司,,,,,张三,,13800000005,,", "安康乙公司,,,,,,,,,"))
    with app.app_context():
        visited = db.session.scalar(select(Lead.id).where(Lead.name == "安康乙公司"))
        db.session.add(Interaction(lead_id=visited, kind="visit", occurred_at=NOW, summary="拜访",
                                   created_by_id=staff.id))
        db.session.commit()
        imports.revert_import(user(staff.id), batch_id, now=NOW)
    with app.app_context():
        assert db.session.scalars(select(Lead.name)).all() == ["安康乙公司"]
        assert db.session.get(Lead, visited).deleted_at is None  # kept as it is, not deleted
        assert db.session.scalar(select(func.count(Contact.id))) == 0
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "revert"))
        assert (entry.after["deleted"], entry.after["restored"], entry.after["kept"]) == (1, 0, 1)
        assert entry.after["kept_leads"] == [{"lead_id": visited, "name": "安康乙公司", "was": "created",
                                              "reason": "interactions"}]
        with pytest.raises(Conflict):
            imports.revert_import(user(staff.id), batch_id, now=NOW)


def test_revert_by_other_county_staff_is_refused(app, make_user):
    staff, colleague = make_user("county_staff", "610902"), make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes("安康甲公司,,,,,,,,,"))
    with app.app_context(), pytest.raises(PermissionDenied):
        imports.revert_import(user(colleague.id), batch_id, now=NOW)
    admin = make_user("admin", None)
    with app.app_context():
        assert imports.revert_import(user(admin.id), batch_id, now=NOW).status == "reverted"


def test_rejected_rows_download_has_reason_column(app, make_user):
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes("安康甲公司,,,,,,,,,", ",企业,,,,,,,,"))
    with app.app_context():
        headers, rows = imports.rejected_rows(user(staff.id), batch_id)
        assert headers[:3] == ["行", "结果", "原因"] and headers[3] == "企业名称"
        assert rows == [[3, "已拒绝", "缺少名称。", "", "企业", "", "", "", "", "", "", "", ""]]


# --- background ----------------------------------------------------------------------------------------------

def wait_for(app, batch_id, statuses=("done", "failed"), timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            batch = db.session.get(ImportBatch, batch_id)
            if batch.status in statuses:
                return batch.status, batch.processed_rows, batch.created_count, batch.error
        time.sleep(0.2)
    raise AssertionError("import did not finish")


def test_large_import_runs_in_background_with_progress(app, make_user):
    staff = make_user("county_staff", "610902")
    app.config["IMPORT_INLINE_ROWS"] = 100
    lines = [f"安康测试{i}有限公司,,,,,联系人{i},,139{i:08d},," for i in range(3000)]
    with app.app_context():
        actor = user(staff.id)
        batch = imports.start_import(actor, "big.csv", csv_bytes(*lines), now=NOW)
        batch_id = batch.id
        assert batch.total_rows == 3000
        started = imports.launch_import(actor, batch_id, now=NOW)
        assert started.status == "running"
        db.session.rollback()  # a read left open would hold SQLite's write lock (BEGIN IMMEDIATE)
    assert wait_for(app, batch_id) == ("done", 3000, 3000, None)
    with app.app_context():
        assert db.session.scalar(select(func.count(Contact.id))) == 3000
        from crm.services import indexing

        assert indexing.search_index().doc_count() == 3000  # "done" once searchable, not before


def test_stale_running_batch_is_marked_failed(app, make_user):
    staff = make_user("county_staff", "610902")
    with app.app_context():
        batch = imports.start_import(user(staff.id), "a.csv", csv_bytes("甲公司,,,,,,,,,"), now=NOW)
        batch.status, batch.error = "running", "runner:" + __import__("socket").gethostname() + ":999999999"
        db.session.commit()
        assert imports.fail_stale_imports() == 1
        assert db.session.get(ImportBatch, batch.id).status == "failed"


# --- search index --------------------------------------------------------------------------------------------

def searched(app, q):
    from crm.services import indexing

    with app.app_context():
        found, page = set(), 1
        while items := indexing.search_index().search(q, per_page=100, page=page).items:
            found |= {item["id"] for item in items}
            page += 1
        return found


def drift(app):
    from crm.services import indexing

    with app.app_context():
        return {k: v for k, v in indexing.drift().items() if v}


def test_imported_leads_are_searchable_and_revert_takes_them_out_of_the_index(app, make_user):
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes(*[f"汉江富硒{i}茶业公司,,,,,联系人{i},,139{i:08d},," for i in range(30)]))
    with app.app_context():
        ids = set(db.session.scalars(select(Lead.id).where(Lead.import_batch_id == batch_id)))
    assert len(ids) == 30 and searched(app, "富硒") == ids and searched(app, "汉江富硒7茶业") >= {min(ids) + 7}
    assert drift(app) == {}  # the versions are those reconcile expects: nothing to redo
    with app.app_context():
        imports.revert_import(user(staff.id), batch_id, now=NOW)
    assert searched(app, "富硒") == set() and drift(app) == {}


def test_large_import_is_indexed_in_batches_by_worker_processes(app, make_user, monkeypatch):
    from crm.services import import_index, indexing

    monkeypatch.setattr(import_index, "INDEX_BATCH", 40)  # 130 new leads: three batches in workers, one more
    staff = make_user("county_staff", "610902")
    lines = [f"紫阳秦巴{i}药业公司,,,,,联系人{i},,138{i:08d},," for i in range(130)]
    lines += [f"紫阳重复{i},,,,,,,138{i:08d},," for i in range(5)]  # duplicates by mobile: skipped
    batch_id = do_import(app, staff, csv_bytes(*lines))
    with app.app_context():
        batch = db.session.get(ImportBatch, batch_id)
        assert (batch.status, batch.created_count, batch.skipped_count) == ("done", 130, 5)
        ids = set(db.session.scalars(select(Lead.id).where(Lead.import_batch_id == batch_id)))
        assert indexing.search_index().doc_count() == 130
    assert searched(app, "秦巴") == ids and drift(app) == {}
    with app.app_context():
        imports.revert_import(user(staff.id), batch_id, now=NOW)
        assert indexing.search_index().doc_count() == 0
    assert drift(app) == {}


def test_bulk_add_keeps_a_document_indexed_meanwhile_and_never_doubles_it(tmp_path):
    from crm.search import SearchIndex

    def doc(i, name):
        return {"type": "lead", "id": i, "name": name, "company": name, "version": name, "county_id": 1}

    index = SearchIndex(tmp_path / "ix")
    index.upsert([doc(1, "改过的名字"), doc(2, "已删除")])
    index.delete("lead", [2])  # a deleted document does not count as present
    assert index.add_new([doc(1, "导入时的名字"), doc(2, "新的二号"), doc(3, "三号")]) == 2
    assert index.stored_versions() == {("lead", 1): "改过的名字", ("lead", 2): "新的二号", ("lead", 3): "三号"}
    assert index.search("导入时").total == 0 and index.search("改过").total == 1
    assert not [name for name in (tmp_path).iterdir() if name.name.startswith(".staging")]


# --- another county's masked contact data (PIPL) -------------------------------------------------------------

def test_import_matching_another_countys_mobile_names_only_the_county_and_is_audited(app, make_user):
    from crm.models import AuditEntry

    other = add_lead(app, "紫阳甲公司", code="610924", mobile="13800000004")
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes("汉滨新公司,,,,,,,13800000004,,"))
    outcome, reason = results(app, batch_id)[2]
    assert outcome == "skipped" and reason.startswith("duplicate_masked") and str(other) not in reason
    with app.app_context():
        row = db.session.scalar(select(ImportRowResult).where(ImportRowResult.batch_id == batch_id))
        assert row.lead_id is None
        assert "紫阳县" in imports.reason_text(row.reason) and "#" not in imports.reason_text(row.reason)
        probes = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal.probe")).all()
        assert [(p.actor_id, p.object_id) for p in probes] == [(staff.id, other)]


def test_import_with_a_known_name_and_a_candidate_mobile_answers_by_the_name_alone(app, make_user):
    add_lead(app, "紫阳甲公司", code="610924", mobile="13800000004")
    staff = make_user("county_staff", "610902")
    hit = do_import(app, staff, csv_bytes("紫阳甲公司,,,,,,,13800000004,,"))
    miss = do_import(app, staff, csv_bytes("紫阳甲公司,,,,,,,13900000009,,"))
    assert results(app, hit)[2] == results(app, miss)[2]
    assert '"key": "name"' in results(app, hit)[2][1]


def test_import_past_the_probe_limit_no_longer_names_the_county(app, make_user):
    app.config["DUPLICATE_PROBE_LIMIT"] = 1
    add_lead(app, "紫阳甲公司", code="610924", mobile="13800000004")
    add_lead(app, "紫阳乙公司", code="610924", mobile="13800000005")
    staff = make_user("county_staff", "610902")
    batch_id = do_import(app, staff, csv_bytes("汉滨一,,,,,,,13800000004,,", "汉滨二,,,,,,,13800000005,,"))
    reasons = [reason for _outcome, reason in results(app, batch_id).values()]
    assert reasons[0].startswith("duplicate_masked:") and reasons[1] == "duplicate_masked_limited"
