"""Other users' latency while hostile workbooks are uploaded (issue 13, item 10). A benchmark, not a test.

Usage: .venv/bin/python bench/hostile_upload.py [--users 4] [--seconds 30] [--think 0.1] [--attackers 1]
                                                [--files 1,2,3] [--code DIR] [--notes /tmp/bench-notes/hostile.md]

A scratch instance (its own folder and SQLite file: `crm init`, `crm seed-demo`, `crm reindex`) is served by
`crm serve --no-scheduler` on a free loopback port. `--users` staff each sign in through the login form and loop
over a normal mix with `--think` seconds (exponential) between requests: the lead list, a lead's page, a search
(web pages, session) and logging a visit (API, bearer token: a write). For each hostile workbook, two phases of
`--seconds` each: `idle` (the staff alone), then the same while `--attackers` clients upload that workbook back to
back through the API (closed loop: one always in flight). Each hostile phase is compared with the idle phase
just before it, so that drift in the machine's load (other work on shared cores) counts less.

The hostile workbooks are those of the issue: 40 sheets x ~1 MB of <row/> (a 70 KB file), 190 such sheets
(320 KB), and one that stays under the compression-ratio limit: 60 sheets of 20,000 numbered blank rows (2.8 MB).
Printed: per phase p50 / p95 / p99 / max of the staff's requests and their statuses, and the attackers' answers
(status, time). `--code DIR` serves another checkout of the code (e.g. `git archive <commit> | tar -x -C DIR`),
to compare with the code before a change. Traffic goes to 127.0.0.1 only; the run stops by itself.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
PASSWORD = "anKang-2027"
STAFF = ["city", "hanbin", "hanyin", "shiquan", "ziyang", "langao", "pingli", "xunyang"]
WORDS = ["富硒茶", "生物医药", "新型建材", "茶叶", "魔芋", "装备制造"]
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def workbook(sheets: list[bytes]) -> bytes:
    """A minimal XLSX whose sheets hold the given sheetData contents."""
    parts = {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                               b'2006/content-types"/>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
                       f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'.encode(),
    }
    rels, entries = [], []
    for n, data in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{n}.xml"] = (f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"><sheetData>'
                                                .encode() + data + b"</sheetData></worksheet>")
        rels.append(f'<Relationship Id="rId{n}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>')
        entries.append(f'<sheet name="S{n}" sheetId="{n}" r:id="rId{n}"/>')
    parts["xl/_rels/workbook.xml.rels"] = (f'<?xml version="1.0"?><Relationships xmlns="{PKG_REL}">'
                                           f'{"".join(rels)}</Relationships>').encode()
    parts["xl/workbook.xml"] = (f'<?xml version="1.0"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
                                f'{"".join(entries)}</sheets></workbook>').encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def hostile_files() -> dict[str, bytes]:
    blank = b"<row/>" * 166_000  # ~1 MB
    numbered = b"".join(b'<row r="%d"/>' % n for n in range(1, 20_001))
    return {"40 sheets x 1 MB of <row/>": workbook([blank] * 40),
            "190 sheets x 1 MB of <row/>": workbook([blank] * 190),
            "60 sheets x 20,000 numbered blank rows": workbook([numbered] * 60)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))]


class Server:
    def __init__(self, code: Path):
        self.code = code
        self.dir = Path(tempfile.mkdtemp(prefix="crm-hostile-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
        self.env.update(CRM_INSTANCE_PATH=str(self.dir), CRM_SECRET_KEY="hostile-bench", PYTHONUNBUFFERED="1")
        self.proc = None

    def flask(self, *argv: str) -> str:
        result = subprocess.run([PY, "-m", "flask", "--app", "wsgi", *argv], cwd=self.code, env=self.env,
                                capture_output=True, text=True, timeout=900)
        if result.returncode:
            raise SystemExit(f"flask {' '.join(argv)} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self) -> None:
        self.flask("crm", "init")
        self.flask("crm", "seed-demo")
        self.flask("crm", "reindex")
        self.log = open(self.dir / "server.log", "wb")  # noqa: SIM115  (closed in stop())
        self.proc = subprocess.Popen([PY, "-m", "flask", "--app", "wsgi", "crm", "serve", "--no-scheduler",
                                      "--port", str(self.port)], cwd=self.code, env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("server exited:\n" + (self.dir / "server.log").read_text()[-3000:])
            try:
                if requests.get(self.base + "/login", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not answer within 90 s")

    def lead_ids(self) -> list[int]:
        conn = sqlite3.connect(self.dir / "crm.sqlite3")
        try:
            return [r[0] for r in conn.execute("SELECT id FROM leads WHERE deleted_at IS NULL LIMIT 200")]
        finally:
            conn.close()

    def stop(self, keep: bool) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login", timeout=60).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    answer = session.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                          timeout=60, allow_redirects=False)
    if answer.status_code not in (302, 303):
        raise SystemExit(f"login of {username} failed: {answer.status_code}")
    return session


def staff_loop(n, base, web, token, leads, think, phase, stop, samples, lock):
    rng = random.Random(n)
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    count = 0
    while not stop.is_set():
        action = rng.choice(["lead_list", "lead_detail", "search", "log_visit"])
        started = time.perf_counter()
        try:
            if action == "lead_list":
                status = web.get(f"{base}/leads", timeout=120).status_code
            elif action == "lead_detail":
                status = web.get(f"{base}/leads/{rng.choice(leads)}", timeout=120).status_code
            elif action == "search":
                status = web.get(f"{base}/search/", params={"q": rng.choice(WORDS)}, timeout=120).status_code
            else:
                count += 1
                status = api.post(f"{base}/api/v1/leads/{rng.choice(leads)}/interactions", timeout=120,
                                  json={"kind": "visit", "summary": f"基准拜访 {n}-{count}"}).status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        elapsed = time.perf_counter() - started
        with lock:
            samples[phase[0]].append((action, elapsed, status))
        time.sleep(rng.expovariate(1 / think) if think else 0)


def attacker_loop(base, token, files, stop, refusals, lock):
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"
    names = list(files)
    n = 0
    while not stop.is_set():
        name = names[n % len(names)]
        n += 1
        started = time.perf_counter()
        try:
            answer = api.post(f"{base}/api/v1/imports", files={"file": ("台账.xlsx", files[name])}, timeout=600)
            status = answer.status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with lock:
            refusals[name].append((time.perf_counter() - started, status))


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))) / 1024 / 1024
    return (f"{os.cpu_count()} vCPU {cpu}, {mem:.0f} GiB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version} (WAL)")


def report(args, files, samples, refusals, loads) -> str:
    lines = [f"### {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — code: {args.code or 'this checkout'}", "",
             f"Machine: {machine()}. {args.users} staff, think time {args.think} s, {args.seconds:.0f} s a phase, "
             f"{args.attackers} attacker(s) in a closed loop.", "",
             "| phase | load avg | staff requests | p50 ms | p95 ms | p99 ms | max ms | statuses | p95 / idle before |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    idle_p95 = float("nan")
    for phase, _name in phases(files):
        times = [t * 1000 for _a, t, _s in samples[phase]]
        statuses = Counter(str(s) for _a, _t, s in samples[phase])
        p95 = percentile(times, 95)
        ratio = ""
        if phase.startswith("idle"):
            idle_p95 = p95
        else:
            ratio = f"**{p95 / idle_p95:.2f}×**"
        lines.append(f"| {phase} | {loads.get(phase, float('nan')):.1f} | {len(times)} | {percentile(times, 50):.0f} | "
                     f"{p95:.0f} | {percentile(times, 99):.0f} | {max(times, default=float('nan')):.0f} | "
                     + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())) + f" | {ratio} |")
    lines += ["", "| hostile upload | size | uploads answered | statuses | time to answer (median / max) |",
              "|---|---:|---:|---|---|"]
    for name, data in files.items():
        got = refusals.get(name, [])
        times = sorted(t for t, _s in got)
        statuses = Counter(str(s) for _t, s in got)
        lines.append(f"| {name} | {len(data) / 1024:.0f} KB | {len(got)} | "
                     + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items()))
                     + f" | {percentile(times, 50) * 1000:.0f} ms / {max(times, default=float('nan')) * 1000:.0f} ms |")
    return "\n".join(lines) + "\n"


def phases(files: dict[str, bytes]) -> list[tuple[str, str | None]]:
    out = []
    for n, name in enumerate(files, 1):
        out += [(f"idle {n}", None), (f"hostile {n}: {name}", name)]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--think", type=float, default=0.1)
    parser.add_argument("--attackers", type=int, default=1)
    parser.add_argument("--code", default=None, help="serve this checkout instead (default: this one)")
    parser.add_argument("--notes", default=None, help="also append the markdown block to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch instance folder")
    parser.add_argument("--files", default=None, help="only these hostile workbooks, by number: 1,3")
    args = parser.parse_args()
    files = hostile_files()
    if args.files:
        wanted = {int(n) for n in args.files.split(",")}
        files = {name: data for n, (name, data) in enumerate(files.items(), 1) if n in wanted}
    server = Server(Path(args.code).resolve() if args.code else ROOT)
    try:
        print(f"setting up {server.dir} …", flush=True)
        server.start()
        leads = server.lead_ids()
        token = server.flask("crm", "create-token", "hanbin").strip().splitlines()[-1]
        webs = [login(server.base, STAFF[i % len(STAFF)]) for i in range(args.users)]
        samples, refusals, lock = defaultdict(list), defaultdict(list), threading.Lock()
        plan = phases(files)
        phase, stop, loads = [plan[0][0]], threading.Event(), {}
        staff = [threading.Thread(target=staff_loop, daemon=True,
                                  args=(n, server.base, webs[n], token, leads, args.think, phase, stop, samples, lock))
                 for n in range(args.users)]
        for thread in staff:
            thread.start()
        for name, hostile in plan:
            with lock:
                phase[0] = name
            loads[name] = os.getloadavg()[0]
            print(f"  {name} …", flush=True)
            stop_attack = threading.Event()
            attackers = [threading.Thread(target=attacker_loop, daemon=True,
                                          args=(server.base, token, {hostile: files[hostile]}, stop_attack,
                                                refusals, lock))
                         for _ in range(args.attackers if hostile else 0)]
            for thread in attackers:
                thread.start()
            time.sleep(args.seconds)
            stop_attack.set()
            for thread in attackers:  # an upload still being answered is waited for, within the same phase
                thread.join(timeout=600)
        stop.set()
        for thread in staff:
            thread.join(timeout=150)
        text = report(args, files, samples, refusals, loads)
        print(text)
        if args.notes:
            Path(args.notes).parent.mkdir(parents=True, exist_ok=True)
            with open(args.notes, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        return 0
    finally:
        server.stop(args.keep)


if __name__ == "__main__":
    raise SystemExit(main())
