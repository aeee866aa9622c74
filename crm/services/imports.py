"""Importing leads with contacts from XLSX/CSV: upload, preview and mapping, row-by-row import (inline or in a
background thread), rejected rows, and revert. Rows are validated here; duplicate keys are those of
crm.services.duplicates (USCC, mobile, normalised name), checked in bulk against keys loaded once per batch."""
from __future__ import annotations

import errno
import json
import logging
import os
import re
import socket
import tempfile
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select, update

from crm.extensions import db
from crm.models import (
    AuditEntry,
    ClaimConflict,
    ConflictStatus,
    Contact,
    County,
    ImportBatch,
    ImportRowResult,
    Industry,
    Lead,
    LeadKind,
    LeadTag,
    Role,
    User,
)
from crm.services import audit, identity, versions
from crm.services.errors import Conflict, InvalidInput, NotFound
from crm.services.leads import leads_changed
from crm.services.permissions import can, is_admin, is_city_level, require, rule, same_county
from crm.spreadsheets import LEAD_FIELDS, SpreadsheetError, guess_mapping, read_table
from crm.transactions import reading, writing

try:  # the search index is another feature; imports work without it
    from crm.services import indexing
except ImportError:  # pragma: no cover
    indexing = None

log = logging.getLogger(__name__)

MODES = ("skip", "update", "create")
PREVIEW_ROWS = 10
CHUNK = 1000
STAFF = (Role.ADMIN, Role.CITY_STAFF, Role.COUNTY_STAFF)
# Statuses: pending (uploaded, mapping not confirmed) → running → done | failed; done/failed → reverted.
REVERTIBLE = ("done", "failed")

FIELD_LABELS = {
    "name": _l("Name"), "kind": _l("Type"), "uscc": _l("Unified social credit code"), "industry": _l("Industry"),
    "tags": _l("Tags"), "origin_region": _l("Region"), "home_county": _l("Hometown county"),
    "owner_county": _l("Owning county"), "source_channel": _l("Source"), "status": _l("Status"),
    "is_key": _l("Key lead"), "notes": _l("Notes"), "contact_name": _l("Contact"), "contact_title": _l("Job title"),
    "mobile": _l("Mobile"), "phone": _l("Phone"), "email": _l("E-mail"), "wechat": _l("WeChat"),
}
MAX_LENGTHS = {"name": 200, "origin_region": 100, "notes": 5000, "contact_name": 60, "contact_title": 60,
               "mobile": 32, "phone": 40, "email": 254, "wechat": 64, "tags": 40}
MODE_LABELS = {"skip": _l("Skip duplicates"), "update": _l("Update the existing lead"),
               "create": _l("Create anyway (opens a claim conflict with another county)")}
STATUS_LABELS = {"pending": _l("Waiting for confirmation"), "running": _l("Running"), "done": _l("Done"),
                 "failed": _l("Failed"), "reverted": _l("Reverted")}
OUTCOME_LABELS = {"rejected": _l("Rejected"), "updated": _l("Updated"), "skipped": _l("Skipped")}
KEY_LABELS = {"uscc": _l("same credit code"), "mobile": _l("same mobile"), "name": _l("same name")}
REASONS = {
    "name_missing": _l("The name is missing."),
    "bad_uscc": _l("Not a valid unified social credit code: %(value)s"),
    "bad_mobile": _l("Not a valid mobile number: %(value)s"),
    "landline_as_mobile": _l("Not a mobile number: %(value)s — the mobile column takes 11-digit mobiles; put a "
                             "landline in the phone column."),
    "bad_phone": _l("Not a valid phone number: %(value)s"),
    "bad_email": _l("Not a valid e-mail address: %(value)s"),
    "unknown_kind": _l("Unknown lead type: %(value)s"),
    "unknown_industry": _l("Unknown industry: %(value)s"),
    "unknown_county": _l("Unknown county: %(value)s"),
    "unknown_status": _l("Unknown status: %(value)s"),
    "unknown_channel": _l("Unknown source: %(value)s"),
    "too_long": _l("%(field)s is too long (at most %(n)s characters)."),
    "control_chars": _l("%(field)s contains characters that are not allowed."),
    "too_many_tags": _l("At most %(n)s tags."),
    "not_your_county": _l("County staff import leads for their own county only."),
    "duplicate_in_file": _l("Duplicate of row %(row)s in this file (%(key)s)."),
    "duplicate": _l("Already in the system as lead #%(lead)s (%(key)s)."),
    "duplicate_masked": _l("A lead owned by %(county)s may match (contact details) — ask the city."),
    "duplicate_masked_limited": _l("May match another county's lead (contact details) — ask the city."),
    "uscc_taken": _l("Lead #%(lead)s already has this credit code."),
    "other_county": _l("Lead #%(lead)s (%(key)s) belongs to another county; only its county can update it."),
}
FILE_ERRORS = {
    "too_large": _l("The file is too large (at most %(limit_mb)s MB)."),
    "too_many_rows": _l("The file has too many rows (at most %(limit)s)."),
    "too_many_sheets": _l("The workbook has too many sheets (at most %(limit)s): keep the sheet to import."),
    "cell_too_large": _l("A cell holds more than %(limit)s characters, more than a spreadsheet cell can hold; "
                         "the file was refused."),
    "unpacked_too_large": _l("The workbook unpacks to far more data than a spreadsheet holds; it was refused."),
    "not_a_spreadsheet": _l("This file is not a readable XLSX or CSV spreadsheet."),
    "unsupported_format": _l("%(format)s files are not supported: save the sheet as XLSX or CSV."),
    "empty": _l("The file has no rows."),
    "encoding": _l("The CSV's text encoding is not recognised: save it as UTF-8 or GBK."),
    "encrypted": _l("The workbook is password-protected: remove the password and upload it again."),
}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_MULTILINE_OK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_PHONE = re.compile(r"^[0-9０-９+＋()（）\-\s转#*xX]{3,40}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{2,63}$")
_TAG_SPLIT = re.compile(r"[,，;；、\s]+")
_TRUE = {"是", "y", "yes", "true", "1", "√", "✓", "重点", "key", "x"}

KIND_WORDS = {
    "enterprise": ("企业", "公司", "企业客商", "民营企业", "国有企业", "国企", "央企", "enterprise", "company"),
    "chamber": ("商会", "协会", "异地商会", "行业协会", "商协会", "chamber", "chamber of commerce"),
    "adviser": ("顾问", "高级顾问", "开放发展高级顾问", "招商顾问", "专家", "adviser", "advisor"),
    "hometown_entrepreneur": ("乡贤", "在外乡贤", "乡贤企业家", "安康籍企业家", "hometown entrepreneur"),
    "intermediary": ("中介", "中介机构", "投资咨询", "投资咨询机构", "咨询机构", "基金", "intermediary"),
    "foreign_investor": ("外商", "外资", "外企", "外资企业", "外商企业", "外商投资", "外商投资企业", "外国企业",
                         "港资", "台资", "港澳台", "港澳台企业", "foreign investor", "foreign"),
}
STATUS_WORDS = {
    "new": ("新", "新线索", "新建", "新增", "未接洽", "new"),
    "engaged": ("接洽", "已接洽", "洽谈", "对接中", "跟进中", "engaged"),
    "interested": ("有意向", "意向", "意向明确", "在谈", "interested"),
    "signed": ("签约", "已签约", "signed"),
    "dormant": ("休眠", "沉寂", "暂缓", "dormant"),
    "dropped": ("放弃", "终止", "无意向", "dropped"),
}
CHANNEL_WORDS = {
    "chamber": ("商会", "商会推荐", "协会", "以商招商"), "adviser": ("顾问", "顾问推荐"),
    "hometown": ("乡贤", "乡贤推荐", "返乡"), "intermediary": ("中介", "中介机构", "投资咨询"),
    "event": ("推介会", "活动", "招商活动", "展会", "博览会"), "self": ("自荐", "主动上门", "来访"),
    "superior": ("上级推送", "上级", "省上推送", "市上推送"), "visit": ("叩门", "拜访", "叩门招商", "外出拜访"),
}


def _folded(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out = {}
    for code, synonyms in words.items():
        out[_fold(code)] = code
        for word in synonyms:
            out.setdefault(_fold(word), code)
    return out


def _fold(text: str) -> str:
    return re.sub(r"[\s_\-·]", "", unicodedata.normalize("NFKC", text).casefold())


_KINDS, _STATUSES, _CHANNELS = _folded(KIND_WORDS), _folded(STATUS_WORDS), _folded(CHANNEL_WORDS)


# --- permissions ---------------------------------------------------------------------------------------------

@rule("import.create")
def _create(actor: User, _obj) -> bool:
    return actor.role in STAFF


@rule("import.view")
def _view(actor: User, batch) -> bool:
    if actor.role not in STAFF:
        return False
    if batch is None or is_city_level(actor):
        return True
    return batch.created_by_id == actor.id or same_county(actor, batch.owner_county_id)


@rule("import.revert")
def _revert(actor: User, batch) -> bool:
    if is_admin(actor):
        return True
    if batch is None or actor.role not in STAFF or batch.created_by_id != actor.id:
        return False
    return is_city_level(actor) or same_county(actor, batch.owner_county_id)


# --- messages ------------------------------------------------------------------------------------------------

def reason_code(code: str, **params) -> str:
    """A rejected row's reason as stored: a stable code and its parameters (translated when shown)."""
    return (code + ":" + json.dumps(params, ensure_ascii=False))[:300] if params else code


def reason_text(stored: str | None) -> str:
    if not stored:
        return ""
    code, _sep, raw = stored.partition(":")
    try:
        params = json.loads(raw) if raw else {}
    except ValueError:
        params = {}
    if "field" in params:
        params["field"] = str(FIELD_LABELS.get(params["field"], params["field"]))
    if "key" in params:
        params["key"] = str(KEY_LABELS.get(params["key"], params["key"]))
    message = REASONS.get(code)
    if message is None:
        return stored
    try:
        return str(message) % params if params else str(message).replace("%%", "%")
    except (KeyError, TypeError, ValueError):
        return str(message)


def file_error_message(error: SpreadsheetError) -> str:
    params = dict(error.params)
    if "limit" in params:
        params["limit_mb"] = round(params["limit"] / 1_000_000, 1)
    params.setdefault("format", params.get("format", "").upper())
    try:
        return str(FILE_ERRORS[error.code]) % params
    except (KeyError, TypeError, ValueError):
        return str(FILE_ERRORS.get(error.code, error.code))


def _config(name: str, default: int) -> int:
    try:
        return int(current_app.config.get(name) or default)
    except (TypeError, ValueError):
        return default


def limits() -> dict[str, int]:
    return {"max_bytes": _config("IMPORT_MAX_BYTES", 20_000_000), "max_rows": _config("IMPORT_MAX_ROWS", 100_000),
            "max_unpacked_bytes": _config("IMPORT_MAX_UNPACKED_BYTES", 200_000_000)}


# --- files ---------------------------------------------------------------------------------------------------

def _folder() -> Path:
    folder = Path(current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path) / "imports")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _stored_path(batch: ImportBatch) -> Path:
    return _folder() / str(int(batch.id))


def display_filename(name: str | None) -> str:
    """The upload's name for display only (it never becomes a path): last path part, no control characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = _CONTROL.sub("", unicodedata.normalize("NFC", name)).strip()
    if len(name) > 200:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[:190] + dot + suffix[:9]) if dot else name[:200]
    return name or "upload"


def _open_table(batch: ImportBatch):
    """The batch's stored upload as a Table. Opened outside any transaction (a large workbook's header and
    shared strings take seconds): the read in progress is ended, so nothing may be pending in the session."""
    path, file_format = _stored_path(batch), batch.file_format
    with reading():
        try:
            data = path.read_bytes()
        except OSError:
            raise Conflict(_("The uploaded file of this import is no longer available.")) from None
        return read_table(f"upload.{file_format}", data, **limits())


# --- upload, preview, mapping --------------------------------------------------------------------------------

def _clean_mode(value, errors: dict) -> str:
    if value in (None, ""):
        return "skip"
    if value not in MODES:
        errors["duplicate_mode"] = [_l("Not a valid choice.")]
        return "skip"
    return value


def _clean_owner_county(actor: User, county_id, errors: dict) -> int | None:
    if not is_city_level(actor):
        if county_id not in (None, "", 0, "0") and str(county_id) != str(actor.county_id):
            errors["owner_county_id"] = [_l("County staff import leads for their own county only.")]
        return actor.county_id
    if county_id in (None, "", 0, "0"):
        city = db.session.scalar(select(County).where(County.kind == "city").order_by(County.id))
        return actor.county_id or (city.id if city else None)
    try:
        county = db.session.get(County, int(county_id))
    except (TypeError, ValueError):
        county = None
    if county is None:
        errors["owner_county_id"] = [_l("Unknown county.")]
        return None
    return county.id


def clean_mapping(mapping, headers: list[str]) -> dict[str, int]:
    """field → column index; accepts {field: index} or {field: header text}; raises InvalidInput."""
    if isinstance(mapping, str):
        try:
            mapping = json.loads(mapping)
        except ValueError:
            raise InvalidInput({"mapping": [_l("Not a valid column mapping.")]}) from None
    if not isinstance(mapping, dict):
        raise InvalidInput({"mapping": [_l("Not a valid column mapping.")]})
    out: dict[str, int] = {}
    for key, value in mapping.items():
        if key not in LEAD_FIELDS:
            raise InvalidInput({"mapping": [_l("Unknown field: %(field)s", field=str(key)[:40])]})
        if value in (None, "", -1, "-1"):
            continue
        if isinstance(value, str) and not value.lstrip("-").isdigit():
            if value not in headers:
                raise InvalidInput({"mapping": [_l("No column named %(name)s.", name=value[:60])]})
            value = headers.index(value)
        try:
            column = int(value)
        except (TypeError, ValueError):
            raise InvalidInput({"mapping": [_l("Not a valid column mapping.")]}) from None
        if not 0 <= column < len(headers):
            raise InvalidInput({"mapping": [_l("No column number %(n)s.", n=column + 1)]})
        if column in out.values():
            raise InvalidInput({"mapping": [_l("A column can feed only one field.")]})
        out[key] = column
    if "name" not in out:
        raise InvalidInput({"mapping": [_l("Choose the column that holds the name.")]})
    return out


def start_import(actor: User, filename: str, data: bytes, *, mapping=None, duplicate_mode: str | None = "skip",
                 owner_county_id=None, now: datetime) -> ImportBatch:
    """Check the file, keep it under instance/imports/<batch id>, and create a pending batch with a mapping
    (the given one, or the one guessed from the headers). Nothing is imported yet: see launch_import."""
    require(actor, "import.create")
    errors: dict[str, list] = {}
    mode = _clean_mode(duplicate_mode, errors)
    county_id = _clean_owner_county(actor, owner_county_id, errors)
    if errors:
        raise InvalidInput(errors)
    # The parse and the file's write take seconds for a large file: no transaction is open meanwhile (on SQLite
    # this request's first read took the write lock, and every other user waited behind it: issue 13, item 10).
    with reading():
        table, sample, total = _read_upload(filename or "", data or b"")
        fields = clean_mapping(mapping, table.headers) if mapping else guess_mapping(table.headers, sample)
        part = _keep_upload(data)
    path = None
    try:
        batch = ImportBatch(filename=display_filename(filename), file_format=table.format, status="pending",
                            duplicate_mode=mode, mapping=fields, total_rows=total or 0, owner_county_id=county_id,
                            created_by_id=actor.id, created_at=now)
        db.session.add(batch)
        db.session.flush()
        path = _stored_path(batch)
        os.replace(part, path)
        _remember(batch.id, table.headers, sample[:PREVIEW_ROWS])
        audit.record(actor, "upload", "import_batch", batch.id, summary=batch.filename,
                     after={"rows": total, "format": table.format, "duplicate_mode": mode,
                            "owner_county_id": county_id})
        db.session.commit()
    except BaseException:
        part.unlink(missing_ok=True)
        if path is not None:
            path.unlink(missing_ok=True)
        raise
    return batch


def _read_upload(filename: str, data: bytes):
    """(table, first rows, row total) of an upload; InvalidInput for a file refused."""
    bounds = limits()
    try:
        table = read_table(filename, data, **bounds)
        sample = [row for _i, row in zip(range(50), table.rows(), strict=False)]
        total = table.row_count
        if table.format == "csv":
            total = sum(1 for _row in table.rows())  # cheap for text, and refuses too many rows now
    except SpreadsheetError as error:
        raise InvalidInput({"file": [file_error_message(error)]}) from None
    if total is not None and total > bounds["max_rows"]:
        raise InvalidInput({"file": [file_error_message(SpreadsheetError("too_many_rows",
                                                                         limit=bounds["max_rows"]))]})
    return table, sample, total


def _keep_upload(data: bytes) -> Path:
    """The upload in a new file of the imports folder, written whole or not at all: on a full disk the part
    written is removed and the user told so (a 500 left a partial file behind: issue 13, item 12)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=_folder())
    except OSError as error:
        raise _not_stored(error) from None
    try:
        try:
            view = memoryview(data)
            while view:  # one OS write at a time: a short write goes on, a refused one (ENOSPC) raises here
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        Path(name).unlink(missing_ok=True)
        raise _not_stored(error) from None
    return Path(name)


def _not_stored(error: OSError) -> InvalidInput:
    log.error("an upload could not be stored under %s: %s", _folder_name(), error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        message = _l("The server's disk is full, so the file could not be kept. Nothing was imported; ask the "
                     "administrator to free some space, then upload the file again.")
    else:
        message = _l("The server could not keep the file (%(error)s). Nothing was imported; ask the "
                     "administrator to check the imports folder, then upload the file again.",
                     error=os.strerror(error.errno) if error.errno else type(error).__name__)
    return InvalidInput({"file": [message]})


def _folder_name() -> str:
    return str(current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path) / "imports")


# Headers and first rows of recent uploads: re-opening a 100,000-row XLSX costs seconds (its shared-string
# table is parsed whole), and the preview and the start both need them. Per process; the file is the fallback.
_HEADS: OrderedDict[int, tuple[list[str], list[list[str]]]] = OrderedDict()
_HEADS_KEPT = 16


def _remember(batch_id: int, headers: list[str], rows: list[list[str]]) -> None:
    _HEADS[batch_id] = (list(headers), [list(r) for r in rows])
    while len(_HEADS) > _HEADS_KEPT:
        _HEADS.popitem(last=False)


def _head(batch: ImportBatch) -> tuple[list[str], list[list[str]]]:
    """Headers and first rows; on a miss the file is parsed with no transaction open (see _open_table)."""
    batch_id = batch.id
    if batch_id not in _HEADS:
        with reading():
            try:
                table = _open_table(batch)
                rows = [row for _i, row in zip(range(PREVIEW_ROWS), table.rows(), strict=False)]
            except SpreadsheetError as error:
                raise InvalidInput({"file": [file_error_message(error)]}) from None
        _remember(batch_id, table.headers, rows)
    return _HEADS[batch_id]


def get_batch(actor: User, batch_id: int) -> ImportBatch:
    fail_stale_imports()
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None or not can(actor, "import.view", batch):
        raise NotFound("import")
    return batch


def batches_query(actor: User):
    require(actor, "import.view")
    stmt = select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc())
    if not is_city_level(actor):
        stmt = stmt.where((ImportBatch.owner_county_id == actor.county_id) | (ImportBatch.created_by_id == actor.id))
    return stmt


def preview(actor: User, batch_id: int) -> dict:
    """Headers, the mapping in force (guessed or chosen) and the first rows, for the mapping page."""
    batch = get_batch(actor, batch_id)
    headers, rows = _head(batch)
    return {"batch": batch, "headers": headers, "mapping": dict(batch.mapping or {}), "rows": rows,
            "fields": list(LEAD_FIELDS)}


def launch_import(actor: User, batch_id: int, *, mapping=None, duplicate_mode: str | None = None,
                  now: datetime, progress: Callable[[int, int], None] | None = None) -> ImportBatch:
    """Confirm a pending batch (optionally with a new mapping or mode) and run it: inline when small,
    else in this process's background worker (the page polls the batch's progress). With `progress` (the
    CLI) it runs inline whatever its size, and progress(processed_rows, total_rows) hears after each chunk."""
    batch = get_batch(actor, batch_id)
    require(actor, "import.create")
    if batch.status != "pending":
        raise Conflict(_("This import has already been started."))
    errors: dict[str, list] = {}
    mode = _clean_mode(duplicate_mode, errors) if duplicate_mode is not None else None
    if errors:
        raise InvalidInput(errors)
    # Before any change: a miss in the cache of headers parses the file, outside the transaction.
    headers = _head(batch)[0] if mapping is not None else None
    if batch.status != "pending":  # read again: another request may have started it meanwhile
        raise Conflict(_("This import has already been started."))
    if mode is not None:
        batch.duplicate_mode = mode
    if mapping is not None:
        batch.mapping = clean_mapping(mapping, headers)
    elif "name" not in (batch.mapping or {}):
        raise InvalidInput({"mapping": [_l("Choose the column that holds the name.")]})
    batch_id, total = batch.id, batch.total_rows
    db.session.commit()
    if progress is not None or (total and total <= _config("IMPORT_INLINE_ROWS", 2000)):
        return run_import(batch_id, progress=progress)
    if _claim(batch_id):
        _submit(current_app._get_current_object(), batch_id)
    return db.session.get(ImportBatch, batch_id)


# --- running -------------------------------------------------------------------------------------------------

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()
_active: set[int] = set()


def _runner_tag() -> str:
    return f"runner:{socket.gethostname()}:{os.getpid()}"


def _claim(batch_id: int) -> bool:
    """pending → running, once: the batch row is the source of truth, whoever runs it. While running, `error`
    names the process doing the work, so a restart can tell its interrupted batches from live ones."""
    result = db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id,
                                                          ImportBatch.status == "pending")
                                .values(status="running", error=_runner_tag(), processed_rows=0))
    db.session.commit()
    if result.rowcount == 1:
        _active.add(batch_id)
        return True
    return False


def _submit(app, batch_id: int) -> None:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-import")
    _executor.submit(_run_in_app, app, batch_id)


def _run_in_app(app, batch_id: int) -> None:
    with app.app_context():
        try:
            _execute(batch_id)
        except Exception:  # noqa: BLE001  (recorded on the batch; a worker thread has nobody else to tell)
            log.exception("import %s failed", batch_id)
        finally:
            db.session.remove()


def run_import(batch_id: int, progress: Callable[[int, int], None] | None = None) -> ImportBatch:
    """Run a pending batch in this thread (the CLI, tests and small uploads); returns the finished batch."""
    if _claim(batch_id):
        _execute(batch_id, progress)
    db.session.expire_all()
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound("import")
    return batch


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_stale_imports(now: datetime | None = None) -> int:
    """Batches left 'running' by a process that has gone (a restart, a crash) are marked failed."""
    host, pid = socket.gethostname(), os.getpid()
    stale = []
    for batch_id, tag in db.session.execute(select(ImportBatch.id, ImportBatch.error)
                                            .where(ImportBatch.status == "running")):
        _prefix, tag_host, tag_pid = (tag or "runner::0").split(":", 2) if (tag or "").count(":") >= 2 \
            else ("runner", "", "0")
        if tag_host != host:
            continue  # another machine's worker: it alone can tell
        runner = int(tag_pid) if tag_pid.isdigit() else 0
        if (runner == pid and batch_id not in _active) or (runner != pid and not _pid_alive(runner)):
            stale.append(batch_id)
    if stale:
        with writing():  # the pages that call this are reads (crm.transactions); the update re-checks the status
            db.session.execute(update(ImportBatch).where(ImportBatch.id.in_(stale), ImportBatch.status == "running")
                               .values(status="failed", finished_at=now or datetime.now(UTC),
                                       error=str(_l("Interrupted by a restart of the server; the rows imported "
                                                    "so far are kept and can be reverted."))))
            db.session.commit()
    return len(stale)


def _execute(batch_id: int, progress: Callable[[int, int], None] | None = None) -> None:
    from crm.services.import_runner import Importer  # the engine imports this module's row rules

    batch = db.session.get(ImportBatch, batch_id)
    try:
        Importer(batch, progress=progress).run()
    except SpreadsheetError as error:
        _finish_failed(batch_id, file_error_message(error))
    except Exception as error:  # noqa: BLE001  (any failure must end the batch, not leave it 'running')
        log.exception("import %s failed", batch_id)
        _finish_failed(batch_id, str(_l("The import stopped with an internal error: %(error)s",
                                        error=type(error).__name__)))
        raise
    finally:
        _active.discard(batch_id)


def _finish_failed(batch_id: int, message: str) -> None:
    db.session.rollback()
    db.session.execute(update(ImportBatch).where(ImportBatch.id == batch_id)
                       .values(status="failed", error=message[:2000], finished_at=datetime.now(UTC)))
    db.session.commit()


# --- one row -------------------------------------------------------------------------------------------------

class RowRejected(Exception):
    def __init__(self, code: str, **params):
        super().__init__(code)
        self.reason = reason_code(code, **params)


class Reference:
    """Industries and counties by every name a sheet may use; loaded once per batch."""

    def __init__(self):
        self.industries: dict[str, int] = {}
        rows = list(db.session.scalars(select(Industry).where(Industry.is_active.is_(True))))
        # Names beat synonyms; a sub-industry's synonym beats its parent's (光伏 → 光伏发电, not 清洁能源).
        for industry in rows:
            self.industries.setdefault(_fold(industry.name), industry.id)
            self.industries.setdefault(_fold(industry.code), industry.id)
        for industry in sorted(rows, key=lambda i: i.parent_id is None):
            for word in industry.synonyms or []:
                self.industries.setdefault(_fold(word), industry.id)
        self.counties: dict[str, int] = {}
        self.county_names: list[tuple[str, int]] = []
        for county in db.session.scalars(select(County)):
            for word in {county.name, county.code, re.sub(r"（.*?）|\(.*?\)", "", county.name)}:
                self.counties.setdefault(_fold(word), county.id)
            short = re.sub(r"（.*?）|\(.*?\)", "", county.name)
            if len(short) > 2 and short[-1] in "区县市":
                self.counties.setdefault(_fold(short[:-1]), county.id)
                self.county_names.append((short[:-1], county.id))
            self.county_names.append((short, county.id))
        self.county_names.sort(key=lambda pair: -len(pair[0]))

    def county(self, value: str) -> int | None:
        found = self.counties.get(_fold(value))
        if found is None:
            # 籍贯 is written 陕西安康紫阳 or 安康市紫阳县: the county's name inside it is enough.
            found = next((cid for name, cid in self.county_names if len(name) >= 2 and name in value
                          and not name.startswith("安康")), None)
        return found


def _text(row: list[str], mapping: dict[str, int], key: str, *, multiline: bool = False) -> str:
    column = mapping.get(key)
    if column is None or column >= len(row):
        return ""
    value = row[column]
    if not value:
        return ""
    if multiline:
        value = value.replace("\r\n", "\n")
    if (_CONTROL_MULTILINE_OK if multiline else _CONTROL).search(value):
        raise RowRejected("control_chars", field=key)
    limit = MAX_LENGTHS.get(key)
    if limit and key != "tags" and len(value) > limit:
        raise RowRejected("too_long", field=key, n=limit)
    return value


def _choice(table: dict[str, str], value: str, code: str, default: str | None) -> str | None:
    if not value:
        return default
    found = table.get(_fold(value))
    if found is None:
        raise RowRejected(code, value=value[:40])
    return found


@dataclass
class Cleaned:
    lead: dict
    contact: dict | None
    tags: list[str]
    keys: list[tuple[str, str]]  # (reason, key) strongest first, as crm.services.duplicates orders them


def clean_row(row: list[str], mapping: dict[str, int], ref: Reference, *, county_id: int,
              city_level: bool) -> Cleaned:
    """One sheet row as lead fields, a contact and duplicate keys; raises RowRejected with the reason."""
    name = _text(row, mapping, "name")
    if not name:
        raise RowRejected("name_missing")
    kind = _choice(_KINDS, _text(row, mapping, "kind"), "unknown_kind", LeadKind.ENTERPRISE.value)
    raw_uscc = _text(row, mapping, "uscc")
    uscc = identity.normalise_uscc(raw_uscc) or None
    if uscc and not identity.uscc_is_valid(uscc):
        raise RowRejected("bad_uscc", value=raw_uscc[:40])
    industry_id = None
    industry = _text(row, mapping, "industry")
    if industry:
        industry_id = ref.industries.get(_fold(industry))
        if industry_id is None:
            raise RowRejected("unknown_industry", value=industry[:40])
    home_county_id = None
    home = _text(row, mapping, "home_county")
    if home:
        home_county_id = ref.county(home)
        if home_county_id is None:
            raise RowRejected("unknown_county", value=home[:40])
    owner = _text(row, mapping, "owner_county")
    owner_county_id = county_id
    if owner:
        owner_county_id = ref.county(owner)
        if owner_county_id is None:
            raise RowRejected("unknown_county", value=owner[:40])
        if not city_level and owner_county_id != county_id:
            raise RowRejected("not_your_county")
    status = _choice(_STATUSES, _text(row, mapping, "status"), "unknown_status", "new")
    channel = _choice(_CHANNELS, _text(row, mapping, "source_channel"), "unknown_channel", None)
    tags: list[str] = []
    for tag in _TAG_SPLIT.split(_text(row, mapping, "tags")):
        if len(tag) > MAX_LENGTHS["tags"]:
            raise RowRejected("too_long", field="tags", n=MAX_LENGTHS["tags"])
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > 20:
        raise RowRejected("too_many_tags", n=20)
    lead = {"kind": kind, "name": name, "uscc": uscc, "industry_id": industry_id,
            "origin_region": _text(row, mapping, "origin_region") or None, "home_county_id": home_county_id,
            "owner_county_id": owner_county_id, "source_channel": channel, "status": status,
            "is_key": _fold(_text(row, mapping, "is_key")) in _TRUE,
            "notes": _text(row, mapping, "notes", multiline=True) or None}
    contact = _clean_contact(row, mapping, name)
    keys = [("uscc", uscc)] if uscc else []
    if contact and contact["mobile_key"]:
        keys.append(("mobile", contact["mobile_key"]))
    name_key = identity.normalise_company_name(name)[:200]
    lead["name_key"] = name_key
    if name_key:
        keys.append(("name", name_key))
    return Cleaned(lead, contact, tags, keys)


def _clean_contact(row: list[str], mapping: dict[str, int], lead_name: str) -> dict | None:
    values = {key: _text(row, mapping, key) for key in ("contact_name", "contact_title", "mobile", "phone",
                                                         "email", "wechat")}
    if not any(values.values()):
        return None
    mobile_key = None
    if values["mobile"]:
        mobile_key = identity.normalise_mobile(values["mobile"])
        if mobile_key is None and (not _PHONE.match(values["mobile"])
                                   or re.sub(r"\D", "", values["mobile"]).startswith("1")):
            raise RowRejected("bad_mobile", value=values["mobile"][:40])
        if mobile_key is None:  # a well-formed number that is no mobile: a landline in the wrong column
            raise RowRejected("landline_as_mobile", value=values["mobile"][:40])
    if values["phone"] and not _PHONE.match(values["phone"]):
        raise RowRejected("bad_phone", value=values["phone"][:40])
    if values["email"] and not _EMAIL.match(values["email"]):
        raise RowRejected("bad_email", value=values["email"][:40])
    return {"name": values["contact_name"] or lead_name[:60], "title": values["contact_title"] or None,
            "mobile": values["mobile"] or None, "mobile_key": mobile_key, "phone": values["phone"] or None,
            "email": values["email"] or None, "wechat": values["wechat"] or None, "is_primary": True}



# --- revert --------------------------------------------------------------------------------------------------

def revert_import(actor: User, batch_id: int, *, now: datetime) -> ImportBatch:
    """Undo what is still the batch's: leads it updated get their values back (its added contacts and tags
    removed), leads it created are deleted, its open conflicts closed. A lead someone has since made theirs is
    kept, with its reason (crm.services.import_revert); batch.revert_summary says what was done and kept."""
    from crm.services import import_revert

    batch = get_batch(actor, batch_id)
    require(actor, "import.revert", batch)
    if batch.status not in REVERTIBLE:
        raise Conflict(_("Only a finished or failed import can be reverted."))
    # Its open conflicts, by a subquery on the batch (an id list of every created lead in each of 100 chunk
    # statements made a 100,000-lead revert quadratic).
    db.session.execute(delete(ClaimConflict).where(
        ClaimConflict.claimant_lead_id.in_(select(Lead.id).where(Lead.import_batch_id == batch.id)
                                           .scalar_subquery()),
        ClaimConflict.status == ConflictStatus.OPEN.value).execution_options(synchronize_session=False))
    kept_updated, restored = _restore_updated(batch, now=now)
    created = list(db.session.scalars(select(Lead.id).where(Lead.import_batch_id == batch.id).order_by(Lead.id)))
    kept_created = import_revert.kept_created(batch, created)
    hard = [i for i in created if i not in kept_created]
    summary = import_revert.summary(hard, restored, kept_created, kept_updated)
    _delete_created(batch, hard, everything=not kept_created)
    batch.status, batch.reverted_at, batch.reverted_by_id = "reverted", now, actor.id
    batch.revert_summary = summary
    audit.record(actor, "revert", "import_batch", batch.id, summary=batch.filename, after=summary)
    db.session.commit()
    leads_changed(restored)
    if indexing is not None:
        indexing.leads_removed(hard)
    else:
        leads_changed(hard)
    return batch


def _delete_created(batch: ImportBatch, hard: list[int], *, everything: bool) -> None:
    quick = {"synchronize_session": False}  # nothing of these rows is loaded in the session
    if everything:  # the usual case: every lead of the batch goes, in three statements
        of_batch = select(Lead.id).where(Lead.import_batch_id == batch.id).scalar_subquery()
        db.session.execute(delete(Contact).where(Contact.lead_id.in_(of_batch)).execution_options(**quick))
        db.session.execute(delete(LeadTag).where(LeadTag.lead_id.in_(of_batch)).execution_options(**quick))
        db.session.execute(delete(Lead).where(Lead.import_batch_id == batch.id).execution_options(**quick))
        return
    for start in range(0, len(hard), 900):
        part = hard[start:start + 900]
        db.session.execute(delete(Contact).where(Contact.lead_id.in_(part)).execution_options(**quick))
        db.session.execute(delete(LeadTag).where(LeadTag.lead_id.in_(part)).execution_options(**quick))
        db.session.execute(delete(Lead).where(Lead.id.in_(part)).execution_options(**quick))


def _restore_updated(batch: ImportBatch, *, now: datetime) -> tuple[dict[int, str], list[int]]:
    """Give the leads the batch updated their old values back, newest row first; one changed since (by anyone:
    an edit, a transfer, a merge, a later import) keeps what it has. Returns ({kept id: reason}, restored ids)."""
    from crm.services import import_revert

    results = list(db.session.scalars(select(ImportRowResult).where(
        ImportRowResult.batch_id == batch.id, ImportRowResult.outcome == "updated",
        ImportRowResult.before.is_not(None)).order_by(ImportRowResult.row_number.desc())))
    kept = import_revert.edits_since(select(ImportRowResult.lead_id).where(
        ImportRowResult.batch_id == batch.id, ImportRowResult.outcome == "updated").scalar_subquery(), batch)
    restored: list[int] = []
    for result in results:
        lead = db.session.get(Lead, result.lead_id) if result.lead_id else None
        if lead is None or lead.id in kept:
            continue
        if lead.deleted_at is not None:
            kept[lead.id] = "deleted"
            continue
        versions.bump(lead, "lead")  # an edit form opened before the revert must not put the import back
        before = result.before or {}
        for key, value in (before.get("fields") or {}).items():
            setattr(lead, key, value)
        if before.get("contact_ids"):
            db.session.execute(delete(Contact).where(Contact.id.in_(before["contact_ids"]),
                                                     Contact.lead_id == lead.id))
        if before.get("tag_ids"):
            db.session.execute(delete(LeadTag).where(LeadTag.id.in_(before["tag_ids"]), LeadTag.lead_id == lead.id))
        lead.updated_at = now
        if lead.id not in restored:
            restored.append(lead.id)
    db.session.flush()
    db.session.expire_all()
    return kept, restored


def revert_result(batch: ImportBatch) -> dict | None:
    """What the revert did, each kept lead's reason in words (for the batch page and the API)."""
    from crm.services import import_revert

    return import_revert.result(batch)


def rejected_rows(actor: User, batch_id: int, *, outcome: str | None = "rejected") -> tuple[list[str], list[list]]:
    """(headers, rows) of a batch's rejected (or all recorded) rows: row number, reason, then the row's cells."""
    batch = get_batch(actor, batch_id)
    stmt = select(ImportRowResult).where(ImportRowResult.batch_id == batch.id).order_by(ImportRowResult.row_number)
    if outcome:
        stmt = stmt.where(ImportRowResult.outcome == outcome)
    results = list(db.session.scalars(stmt))
    cells: list[str] = []
    for result in results:
        cells += [k for k in (result.data or {}) if k not in cells]
    headers = [_("Row"), _("Result"), _("Reason"), *cells]
    rows = [[r.row_number, str(OUTCOME_LABELS.get(r.outcome, r.outcome)), reason_text(r.reason),
             *[(r.data or {}).get(k, "") for k in cells]] for r in results]
    return headers, rows


def record_rows_download(actor: User, batch_id: int, *, outcome: str, fmt: str, total: int) -> None:
    """The rows carry personal data (names, mobiles): each download leaves a trace (DESIGN.md §4)."""
    get_batch(actor, batch_id)
    audit.record_read(actor, "export", "import_batch", batch_id, summary=f"rows.{fmt} {outcome} ({total})")


def row_results(actor: User, batch_id: int, *, limit: int | None = None, audited: bool = False
                ) -> list[ImportRowResult]:
    """The batch's row outcomes. Their messages quote the rows' cells (a bad mobile, a name), so an API read
    (audited=True) leaves a trace like a download — once per user and batch, not once per poll."""
    batch = get_batch(actor, batch_id)
    stmt = select(ImportRowResult).where(ImportRowResult.batch_id == batch.id).order_by(ImportRowResult.row_number)
    results = list(db.session.scalars(stmt.limit(limit) if limit else stmt))
    if audited and results and batch.status != "running" and not db.session.scalar(
            select(AuditEntry.id).where(AuditEntry.actor_id == actor.id, AuditEntry.action == "export",
                                        AuditEntry.object_type == "import_batch", AuditEntry.object_id == batch.id,
                                        AuditEntry.summary.startswith("rows.api")).limit(1)):
        audit.record_read(actor, "export", "import_batch", batch.id, summary=f"rows.api ({len(results)})")
    return results
