"""Import benchmark: generate an N-row XLSX (or CSV) of leads with contacts, import it (duplicate checks and
search indexing included), then revert it; prints rows/s for each phase.

    .venv/bin/python bench/import_bench.py [--rows 100000] [--format xlsx|csv] [--database-url URL] [--no-index]

Runs on a scratch instance folder (a temporary SQLite file unless --database-url is given; that database is
emptied). A tenth of the rows repeat an earlier row's mobile, so the duplicate path is exercised too. New leads
are indexed 10,000 at a time in two worker processes while the rows are written (see import_index.IndexFeed).
"""
from __future__ import annotations

import argparse
import io
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
WORDS = ("富硒", "秦巴", "汉江", "安康", "紫阳", "瀛湖", "天柱", "凤凰", "金州", "兴安", "恒信", "华茂", "永泰", "鼎盛",
         "中科", "新源", "绿谷", "天佑", "博雅", "宏达")
TRADES = ("茶业", "食品", "生物科技", "新材料", "能源", "旅游开发", "药业", "电子", "物流", "建设", "农业", "纺织")
INDUSTRIES = ("富硒茶", "富硒食品", "生物医药", "新型材料", "清洁能源", "文化旅游", "装备制造", "")
REGIONS = ("北京", "深圳", "苏州", "雄安", "西安", "上海", "杭州", "广州", "成都", "武汉")
HEADERS = ["企业名称", "类型", "所属行业", "所在地", "联系人", "职务", "手机", "邮箱", "备注"]


def rows(n: int, seed: int = 7):
    rng = random.Random(seed)
    mobiles = []
    for i in range(n):
        name = f"{rng.choice(REGIONS)}{rng.choice(WORDS)}{rng.choice(WORDS)}{rng.choice(TRADES)}{i}有限公司"
        if mobiles and i % 10 == 9:
            mobile = rng.choice(mobiles)  # a duplicate by mobile
        else:
            mobile = f"1{rng.choice('3589')}{i:09d}"
            mobiles.append(mobile)
        person = rng.choice(SURNAMES) + rng.choice("伟芳娜敏静丽强磊军洋勇艳杰涛明超")
        yield [name, "企业", rng.choice(INDUSTRIES), rng.choice(REGIONS), person, "总经理", mobile,
               f"u{i}@example.cn", "台账导入"]


def xlsx(n: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADERS)
    for row in rows(n):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(n: int) -> bytes:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    writer.writerows(rows(n))
    return buf.getvalue().encode("gb18030")  # what Chinese Excel writes


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (the index worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--no-index", action="store_true", help="skip search indexing (to see its share)")
    parser.add_argument("--sql", action="append", default=[], help="extra SQL to run after the migrations")
    parser.add_argument("--keep", action="store_true", help="keep the scratch instance folder (printed)")
    args = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="import-bench-")
    if args.keep:
        print("instance folder:", instance)
    os.environ["CRM_INSTANCE_PATH"] = instance
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from crm import create_app
    from crm.extensions import db
    from crm.models import Contact, Lead, User
    from crm.services import counties, imports, industries
    from crm.services.passwords import hash_password

    url = args.database_url or f"sqlite:///{instance}/bench.sqlite3"
    app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "SEARCH_INDEX_PATH": os.path.join(instance, "search-index"), "WTF_CSRF_ENABLED": False,
                      "IMPORT_MAX_ROWS": max(args.rows, 100_000)})
    if args.no_index:
        import crm.services.import_index as import_index

        import_index.indexing = None
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade()
        for statement in args.sql:
            db.session.execute(text(statement))
        counties.load_reference_counties()
        industries.load_reference_industries()
        admin = User(username="bench", display_name="bench", role="admin", password_hash=hash_password("x" * 12))
        db.session.add(admin)
        db.session.commit()
        admin_id = admin.id

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, "
          f"{os.cpu_count()} CPUs")
    started = time.perf_counter()
    data = xlsx(args.rows) if args.format == "xlsx" else csv_bytes(args.rows)
    print(f"generated {args.rows} rows as {args.format}: {len(data) / 1e6:.1f} MB in "
          f"{time.perf_counter() - started:.1f} s")

    now = datetime.now(UTC)
    with app.app_context():
        actor = db.session.get(User, admin_id)
        started = time.perf_counter()
        batch = imports.start_import(actor, f"bench.{args.format}", data, duplicate_mode="skip", now=now)
        batch_id = batch.id
        upload = time.perf_counter() - started
        print(f"upload check + store: {upload:.1f} s (declared rows: {batch.total_rows})")
        started, cpu = time.perf_counter(), cpu_seconds()
        batch = imports.run_import(batch_id)
        took, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        print(f"import: {batch.status} {batch.processed_rows} rows in {took:.1f} s = "
              f"{batch.processed_rows / took:,.0f} rows/s (created {batch.created_count}, skipped "
              f"{batch.skipped_count}, rejected {batch.error_count}; indexing {'off' if args.no_index else 'on'})")
        print(f"  CPU {cpu:.1f} s (this process and the index workers) = {cpu / batch.processed_rows * 1000:.2f} ms "
              f"per row: {(os.cpu_count() or 1) / (cpu / batch.processed_rows):,.0f} rows/s at most on "
              f"{os.cpu_count()} idle cores")
        print(f"  leads {db.session.scalar(select(func.count(Lead.id)))}, "
              f"contacts {db.session.scalar(select(func.count(Contact.id)))}")
        if batch.error:
            print("  error:", batch.error)
        started = time.perf_counter()
        imports.revert_import(db.session.get(User, admin_id), batch_id, now=datetime.now(UTC))
        took = time.perf_counter() - started
        print(f"revert: {took:.1f} s = {batch.created_count / took:,.0f} leads/s; "
              f"leads left {db.session.scalar(select(func.count(Lead.id)))}")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.keep:
        shutil.rmtree(instance, ignore_errors=True)  # a 100,000-row run leaves ~400 MB of SQLite and index


if __name__ == "__main__":
    main()
