"""Load: N simulated staff doing a realistic mix for D seconds against the embedded server and gunicorn + PostgreSQL.

Usage: .venv/bin/python bench/load.py [--users 50] [--duration 60] [--target embedded|gunicorn|both]
                                      [--gunicorn-workers 4] [--gunicorn-threads 4] [--think 0]
                                      [--notes /tmp/bench-notes/load.md]

Each target gets its own scratch instance folder (and, for gunicorn, a scratch PostgreSQL database on
127.0.0.1:5432 that is dropped afterwards), `crm init` + `crm seed-demo` + `crm reindex`, and a server on a free
loopback port. Each simulated staff member signs in through the web login form (CSRF token and all) and
also holds its user's API token. The mix:

    search        GET  /search/?q=<industry word>                 web page (session)
    lead_list     GET  /leads?page=<1..3>                          web page (session)
    lead_detail   GET  /leads/<id>                                 web page (session)
    log_visit     POST /api/v1/leads/<id>/interactions             API (bearer), half with an inline next step
    complete_fu   POST /api/v1/followups/<id>/complete             API (bearer), the user's own open follow-ups

No think time by default (closed loop: each staff member sends the next request when the last one answers),
so this is the most the machine gives, not a working day. Client and server share the machine's cores.

Afterwards every acknowledged write is looked up: the interaction row with its unique summary, the completed
follow-up (status done, its result interaction), and in the search index the document of the lead or project
it belongs to must carry a version at least as new as the write; then indexing.drift() over the whole index
must be empty. Any 5xx or lost write makes the exit status 1.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
PG = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "anKang-2027"
STAFF = ["city", "city2", "hanbin", "hanbin2", "hanyin", "shiquan", "ningshan", "ziyang", "langao", "pingli",
         "zhenping", "baihe", "xunyang", "gaoxin", "hengkou"]
MIX = {"search": 30, "lead_list": 15, "lead_detail": 25, "log_visit": 18, "complete_fu": 12}
ACTIONS = list(MIX)
EXTRA_WORDS = ["富硒茶", "生物医药", "新型建材", "茶叶", "魔芋", "装备制造", "新能源", "文旅", "丝绸", "医药", "富硒", "绿色食品"]

# Runs inside the target's environment (same CRM_* variables as the server): tokens, ids and words as JSON.
PREPARE = r"""
import json, sys
from datetime import UTC, datetime
from sqlalchemy import select
from crm import create_app
from crm.cli import _system_actor
from crm.extensions import db
from crm.models import Followup, Industry, Lead, User
from crm.services import tokens
app = create_app()
with app.app_context():
    names = json.loads(sys.argv[1])
    out = {"users": {}, "tokens": {}, "followups": {}, "leads": [], "words": []}
    for name in names:
        user = db.session.scalar(select(User).where(User.username == name))
        if user is None:
            continue
        out["users"][name] = user.id
        out["tokens"][name] = tokens.create_token(_system_actor(), user, name="load", now=datetime.now(UTC))
        user = db.session.scalar(select(User).where(User.username == name))
        out["followups"][name] = list(db.session.scalars(select(Followup.id).where(
            Followup.assignee_id == user.id, Followup.status == "open").order_by(Followup.id)))
    out["leads"] = list(db.session.scalars(select(Lead.id).where(Lead.deleted_at.is_(None),
                                                                 Lead.merged_into_id.is_(None))))
    out["words"] = [n for n in db.session.scalars(select(Industry.name)) if n]
    print(json.dumps(out))
"""

# Every acknowledged write in the database and in the index; then the whole index against the database.
VERIFY = r"""
import json, sys
from sqlalchemy import select
from crm import create_app
from crm.extensions import db
from crm.models import Followup, Interaction
from crm.services import indexing
app = create_app()
with app.app_context():
    acked = json.load(open(sys.argv[1]))
    rows = {}
    ids = [w["id"] for w in acked["interactions"]] + [w["interaction_id"] for w in acked["completions"]]
    for start in range(0, len(ids), 500):
        for iid, summary, lead_id, project_id in db.session.execute(select(
                Interaction.id, Interaction.summary, Interaction.lead_id, Interaction.project_id)
                .where(Interaction.id.in_(ids[start:start + 500]))):
            rows[iid] = (summary, lead_id, project_id)
    lost_db = [w for w in acked["interactions"] if rows.get(w["id"], (None,))[0] != w["summary"]]
    fus = {}
    fu_ids = [w["followup_id"] for w in acked["completions"]] + [w["followup_id"] for w in acked["interactions"]
                                                                   if w.get("followup_id")]
    for start in range(0, len(fu_ids), 500):
        for fid, status, result in db.session.execute(select(Followup.id, Followup.status,
                Followup.result_interaction_id).where(Followup.id.in_(fu_ids[start:start + 500]))):
            fus[fid] = (status, result)
    lost_db += [w for w in acked["completions"] if fus.get(w["followup_id"]) != ("done", w["interaction_id"])
                or w["interaction_id"] not in rows]
    lost_db += [w for w in acked["interactions"] if w.get("followup_id") and w["followup_id"] not in fus]
    newest = {}
    for iid, (_s, lead_id, project_id) in rows.items():
        key = ("lead", lead_id) if lead_id else ("project", project_id)
        newest[key] = max(newest.get(key, 0), iid)
    stored = indexing.search_index().stored_versions()
    def indexed_latest(key):
        version = stored.get(key)
        return int(version.split("/")[1] or 0) if version else -1
    lost_index = sorted([list(k), v, indexed_latest(k)] for k, v in newest.items() if indexed_latest(k) < v)
    drift = {k: len(v) for k, v in indexing.drift().items()}
    print(json.dumps({"writes": len(acked["interactions"]) + len(acked["completions"]),
                      "interactions_checked": len(rows), "docs_checked": len(newest),
                      "lost_db": lost_db[:20], "lost_db_count": len(lost_db),
                      "lost_index": lost_index[:20], "lost_index_count": len(lost_index), "drift": drift}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


class Target:
    """A scratch instance (folder, database) and a server process on a loopback port."""

    def __init__(self, kind: str, args):
        self.kind, self.args = kind, args
        self.dir = Path(tempfile.mkdtemp(prefix=f"crm-load-{kind}-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
        self.env.update(CRM_INSTANCE_PATH=str(self.dir), CRM_SECRET_KEY="load-bench-secret", PYTHONUNBUFFERED="1")
        self.database = None
        if kind == "gunicorn":
            self.database = f"crm_load_{os.getpid()}"
            psql(f"DROP DATABASE IF EXISTS {self.database}")
            psql(f"CREATE DATABASE {self.database}")
            self.env["CRM_DATABASE_URL"] = f"{PG}/{self.database}"
        self.proc = None
        self.log = self.dir / "server.log"

    def flask(self, *argv: str) -> str:
        result = subprocess.run([PY, "-m", "flask", "--app", "wsgi", *argv], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=600)
        if result.returncode:
            raise SystemExit(f"flask {' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def python(self, code: str, *argv: str) -> dict:
        result = subprocess.run([PY, "-c", code, *argv], cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=600)
        if result.returncode:
            raise SystemExit(f"helper failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def setup(self) -> dict:
        started = time.perf_counter()
        self.flask("crm", "init")
        self.flask("crm", "seed-demo")
        self.flask("crm", "reindex")
        info = self.python(PREPARE, json.dumps(STAFF))
        info["setup_s"] = time.perf_counter() - started
        return info

    def start(self) -> None:
        if self.kind == "embedded":
            argv = [PY, "-m", "flask", "--app", "wsgi", "crm", "serve", "--port", str(self.port)]
        else:
            argv = [PY, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", str(self.args.gunicorn_workers),
                    "-k", "gthread", "--threads", str(self.args.gunicorn_threads), "--timeout", "60", "wsgi:app"]
        self.command = " ".join(argv[1:])
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"server exited:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(self.base + "/login", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit("server did not answer within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cleanup(self) -> None:
        self.stop()
        if self.database:
            psql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        if not self.args.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql, "postgres"], check=True,
                   capture_output=True, timeout=60)


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = session.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                          timeout=30, allow_redirects=False)
    if answer.status_code not in (302, 303):
        raise SystemExit(f"login of {username} failed: {answer.status_code}")
    return session


class Staff(threading.Thread):
    """One simulated staff member: a web session, its user's API token, its own share of open follow-ups."""

    def __init__(self, n: int, target: Target, info: dict, session: requests.Session, username: str,
                 followups: list[int], deadline: float, think: float, stats, acked, lock):
        super().__init__(daemon=True)
        self.n, self.base, self.info, self.web, self.username = n, target.base, info, session, username
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Bearer {info['tokens'][username]}"
        self.user_id = info["users"][username]
        self.followups, self.deadline, self.think = followups, deadline, think
        self.stats, self.acked, self.lock = stats, acked, lock
        self.rng = random.Random(n)
        self.count = 0

    def run(self) -> None:
        while time.monotonic() < self.deadline:
            action = self.rng.choices(ACTIONS, weights=[MIX[a] for a in ACTIONS])[0]
            if action == "complete_fu" and not self.followups:
                action = "log_visit"
            started = time.perf_counter()
            try:
                status, write = getattr(self, action)()
            except requests.RequestException as exc:
                status, write = f"error:{type(exc).__name__}", None
                with self.lock:
                    self.stats["_errors"].append((action, f"{type(exc).__name__}: {exc}"[:300]))
            elapsed = time.perf_counter() - started
            with self.lock:
                self.stats[action].append((elapsed, status))
                if write is not None:
                    self.acked[write[0]].append(write[1])
            if self.think:
                time.sleep(self.rng.expovariate(1 / self.think))

    def search(self):
        word = self.rng.choice(self.info["words"])
        return self.web.get(f"{self.base}/search/", params={"q": word}, timeout=60).status_code, None

    def lead_list(self):
        return self.web.get(f"{self.base}/leads", params={"page": self.rng.randint(1, 3)},
                            timeout=60).status_code, None

    def lead_detail(self):
        return self.web.get(f"{self.base}/leads/{self.rng.choice(self.info['leads'])}", timeout=60).status_code, None

    def log_visit(self):
        self.count += 1
        summary = f"压测拜访 S{self.n}-{self.count} 洽谈扩产与用地需求"
        body = {"kind": "visit", "summary": summary, "outcome": "对方有意向，约定下次面谈", "location": "安康"}
        if self.rng.random() < 0.5:
            due = (datetime.now(UTC) + timedelta(days=self.rng.randint(1, 14))).isoformat()
            body["followup"] = {"title": f"回访 S{self.n}-{self.count}", "due_at": due, "assignee_id": self.user_id}
        lead_id = self.rng.choice(self.info["leads"])
        answer = self.api.post(f"{self.base}/api/v1/leads/{lead_id}/interactions", json=body, timeout=60)
        if answer.status_code != 201:
            return answer.status_code, None
        data = answer.json()
        followup_id = (data.get("followup") or {}).get("id")
        if followup_id:
            self.followups.append(followup_id)
        return 201, ("interactions", {"id": data["id"], "summary": summary, "lead_id": lead_id,
                                      "followup_id": followup_id})

    def complete_fu(self):
        followup_id = self.followups.pop(0)
        answer = self.api.post(f"{self.base}/api/v1/followups/{followup_id}/complete",
                               json={"outcome": f"已电话沟通 S{self.n}"}, timeout=60)
        if answer.status_code != 200:
            return answer.status_code, None
        data = answer.json()
        return 200, ("completions", {"followup_id": followup_id, "interaction_id": data["result_interaction_id"]})


def run_target(kind: str, args) -> dict:
    target = Target(kind, args)
    try:
        print(f"== {kind}: setting up {target.dir}", flush=True)
        info = target.setup()
        info["words"] = sorted(set(info["words"]) | set(EXTRA_WORDS))
        target.start()
        print(f"   server: {target.command}  (setup {info['setup_s']:.1f} s)", flush=True)
        usernames = [STAFF[i % len(STAFF)] for i in range(args.users)]
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(8) as pool:
            sessions = list(pool.map(lambda u: login(target.base, u), usernames))
        shares = defaultdict(list)  # split each user's open follow-ups between the staff sharing that login
        for i, username in enumerate(usernames):
            shares[username].append(i)
        stats, acked, lock = defaultdict(list), defaultdict(list), threading.Lock()
        staff = []
        for i, username in enumerate(usernames):
            mine = [f for k, f in enumerate(info["followups"].get(username, []))
                    if shares[username][k % len(shares[username])] == i]
            staff.append(Staff(i, target, info, sessions[i], username, mine, 0, args.think, stats, acked, lock))
        print(f"   {args.users} staff signed in; running {args.duration} s", flush=True)
        started = time.monotonic()
        for s in staff:
            s.deadline = started + args.duration
            s.start()
        for s in staff:
            s.join(args.duration + 120)
        wall = time.monotonic() - started
        hung = sum(s.is_alive() for s in staff)
        log_text = target.log.read_text(errors="replace")
        target.stop()
        acked_path = target.dir / "acked.json"
        acked_path.write_text(json.dumps({"interactions": acked["interactions"], "completions": acked["completions"]}))
        check = target.python(VERIFY, str(acked_path))
        return {"kind": kind, "command": target.command, "stats": dict(stats), "wall": wall, "hung": hung,
                "check": check, "index_failures": log_text.count("search index update"),
                "tracebacks": log_text.count("Traceback"),
                "connection_limit": log_text.count("reached the connection limit")}
    finally:
        target.cleanup()


def report(result: dict, args) -> tuple[str, bool]:
    stats, wall = dict(result["stats"]), min(result["wall"], args.duration)  # rates over the run, not stragglers
    errors = stats.pop("_errors", [])
    total = sum(len(v) for v in stats.values())
    lines = [f"### {result['kind']}: `{result['command']}`", "",
             f"{args.users} staff, {args.duration} s, think time {args.think} s: **{total} requests, "
             f"{total / wall:.1f} req/s**", "",
             "| action | count | req/s | p50 ms | p95 ms | p99 ms | max ms | 5xx | other non-2xx / errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    fivexx = 0
    for action in ACTIONS:
        rows = stats.get(action, [])
        times = [t * 1000 for t, _s in rows]
        bad = defaultdict(int)
        n5 = 0
        for _t, status in rows:
            if isinstance(status, int) and status >= 500:
                n5 += 1
            elif not (isinstance(status, int) and status < 400):
                bad[str(status)] += 1
        fivexx += n5
        other = ", ".join(f"{k}×{v}" for k, v in sorted(bad.items())) or "0"
        lines.append(f"| {action} | {len(rows)} | {len(rows) / wall:.1f} | {percentile(times, 50):.0f} | "
                     f"{percentile(times, 95):.0f} | {percentile(times, 99):.0f} | "
                     f"{max(times, default=float('nan')):.0f} | {n5} | {other} |")
    check = result["check"]
    ok = (fivexx == 0 and check["lost_db_count"] == 0 and check["lost_index_count"] == 0
          and not any(check["drift"].values()) and result["hung"] == 0)
    lines += ["", f"Writes acknowledged: {check['writes']} (interactions checked {check['interactions_checked']}, "
              f"documents checked {check['docs_checked']}); lost in the database: **{check['lost_db_count']}**; "
              f"index behind an acknowledged write: **{check['lost_index_count']}**; "
              f"drift() afterwards: {check['drift']}; server log: {result['index_failures']} failed index "
              f"updates, {result['tracebacks']} tracebacks; staff threads still hung: {result['hung']}.",
              f"Verdict: {'OK — zero 5xx, zero lost writes' if ok else 'FAILED'}", ""]
    if errors:
        lines.append("Client-side errors (first 3): " + "; ".join(f"{a}: {e}" for a, e in errors[:3]))
    if result["kind"] == "embedded":
        lines.append(f"Server log: {result['connection_limit']} × waitress 'reached the connection limit'.")
    if check["lost_db"] or check["lost_index"]:
        lines.append(f"lost samples: {check['lost_db'][:5]} {check['lost_index'][:5]}")
    return "\n".join(lines), ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--target", choices=["embedded", "gunicorn", "both"], default="both")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--gunicorn-threads", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.0, help="mean think time between requests (s)")
    parser.add_argument("--notes", default="/tmp/bench-notes/load.md")
    parser.add_argument("--keep", action="store_true", help="keep the scratch instance folders")
    args = parser.parse_args()
    kinds = ["embedded", "gunicorn"] if args.target == "both" else [args.target]
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    sections, all_ok = [], True
    for kind in kinds:
        text, ok = report(run_target(kind, args), args)
        print(text, flush=True)
        sections.append(text)
        all_ok &= ok
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    header = [f"## Load ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "",
              f"Command: `.venv/bin/python bench/load.py {' '.join(sys.argv[1:])}`".replace("py `", "py`"),
              f"Machine: {os.cpu_count()} cores; uptime before: `{uptime_before}`; after: `{uptime_after}`",
              "Reads are web pages with a signed-in session (search, lead list, lead detail); writes go through the "
              "API with bearer tokens (log a visit, half with a next step; complete an own follow-up). "
              "The load generator runs on the same cores as the server.", ""]
    if args.notes:
        Path(args.notes).parent.mkdir(parents=True, exist_ok=True)
        Path(args.notes).write_text("\n".join(header + sections) + "\n")
        print(f"notes written to {args.notes}")
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
