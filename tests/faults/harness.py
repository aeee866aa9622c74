"""Real processes for the fault tests and bench/faults.py: a scratch instance, the server and the scheduler as
subprocesses (each in its own process group, so kill -9 takes the whole of it), an SMTP server that counts
messages by their X-CRM-Outbox header, and direct reads of the SQLite file."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from email import message_from_bytes
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float, what: str, every: float = 0.1):
    """Poll until predicate() is truthy (returns it) or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Instance:
    """A scratch instance folder with its own SQLite database (or CRM_DATABASE_URL), seeded with the demo city."""

    def __init__(self, *, database_url: str | None = None, mail_port: int | None = None, extra_env=None):
        self.dir = Path(tempfile.mkdtemp(prefix="crm-faults-"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
        self.env.update(CRM_INSTANCE_PATH=str(self.dir), CRM_SECRET_KEY="faults-secret", PYTHONUNBUFFERED="1",
                        CRM_ARGON2_TIME_COST="1", CRM_ARGON2_MEMORY_COST="8")
        if database_url:
            self.env["CRM_DATABASE_URL"] = database_url
        if mail_port:
            self.env.update(CRM_MAIL_SERVER="127.0.0.1", CRM_MAIL_PORT=str(mail_port), CRM_MAIL_TIMEOUT="5")
        self.env.update(extra_env or {})
        self.processes: list[subprocess.Popen] = []

    @property
    def sqlite_path(self) -> Path:
        return self.dir / "crm.sqlite3"

    def flask(self, *argv: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run([PY, "-m", "flask", "--app", "wsgi", *argv], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode:
            raise AssertionError(f"flask {' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n"
                                 f"{result.stderr[-4000:]}")
        return result

    def seed(self) -> None:
        self.flask("crm", "init")
        self.flask("crm", "seed-demo")

    def token(self, username: str) -> str:
        return self.flask("crm", "create-token", username).stdout.strip().splitlines()[-1]

    def spawn(self, argv: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.dir / log_name, "ab")  # noqa: SIM115  (closed with the process in stop())
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        proc.log_file = log
        self.processes.append(proc)
        return proc

    def log_text(self, log_name: str) -> str:
        path = self.dir / log_name
        return path.read_text(errors="replace") if path.exists() else ""

    def serve(self, port: int, *, scheduler: bool = False, log_name: str = "server.log") -> subprocess.Popen:
        argv = [PY, "-m", "flask", "--app", "wsgi", "crm", "serve", "--port", str(port),
                "--scheduler" if scheduler else "--no-scheduler"]
        proc = self.spawn(argv, log_name)
        wait_for(lambda: proc.poll() is not None or http_status(f"http://127.0.0.1:{port}/login") == 200,
                 timeout=90, what="the server to answer")
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}:\n{self.log_text(log_name)[-4000:]}")
        return proc

    def gunicorn(self, port: int, *, workers: int = 2, threads: int = 4, log_name: str = "gunicorn.log"):
        argv = [PY, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(workers), "-k", "gthread",
                "--threads", str(threads), "--timeout", "60", "wsgi:app"]
        proc = self.spawn(argv, log_name)
        wait_for(lambda: proc.poll() is not None or http_status(f"http://127.0.0.1:{port}/login") == 200,
                 timeout=90, what="gunicorn to answer")
        return proc

    def scheduler(self, log_name: str = "scheduler.log") -> subprocess.Popen:
        return self.spawn([PY, "-m", "flask", "--app", "wsgi", "crm", "scheduler"], log_name)

    @staticmethod
    def kill9(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    @staticmethod
    def stop(proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=20)
        proc.log_file.close()

    def close(self, *, keep: bool = False) -> None:
        for proc in self.processes:
            try:
                self.stop(proc)
            except Exception:  # noqa: BLE001  (clean up the rest regardless)
                pass
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def query(self, sql: str, params=()) -> list[tuple]:
        """Read the SQLite database directly (its own connection, closed at once)."""
        conn = sqlite3.connect(self.sqlite_path, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def execute(self, sql: str, params=()) -> None:
        conn = sqlite3.connect(self.sqlite_path, timeout=30)
        try:
            conn.execute(sql, params)
            conn.commit()
        finally:
            conn.close()

    def drift(self) -> dict:
        """`flask crm reindex --check` in its own process: {missing, stale, extra} counts and the exit code."""
        result = self.flask("crm", "reindex", "--check", check=False)
        counts = {}
        for line in result.stdout.splitlines():
            what, _sep, rest = line.partition(":")
            if what in ("missing", "stale", "extra"):
                counts[what] = int(rest.split()[0])
        counts["exit"] = result.returncode
        return counts


def http_status(url: str, timeout: float = 2) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def api(base: str, token: str, method: str, path: str, body=None, timeout: float = 30):
    """(status, parsed JSON or None); raises OSError/URLError when the connection fails."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, None


class CountingSMTP:
    """aiosmtpd on a loopback port. Messages count when the server accepts them (250 after DATA), by the
    X-CRM-Outbox header. hold_next makes the next DATA wait until release() and then refuse (421): the client
    died before the server took the message."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: Counter = Counter()
        self.lock = threading.Lock()
        self.hold_next = False
        self.held = threading.Event()
        self._release = threading.Event()
        self.controller = None

    def start(self) -> CountingSMTP:
        from aiosmtpd.controller import Controller

        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's name)
                import asyncio

                if outer.hold_next:
                    outer.hold_next = False
                    outer.held.set()
                    while not outer._release.is_set():
                        await asyncio.sleep(0.05)
                    return "421 service going down, try again later"
                message = message_from_bytes(envelope.content)
                with outer.lock:
                    outer.received[message.get("X-CRM-Outbox", "?")] += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def counts(self) -> Counter:
        with self.lock:
            return Counter(self.received)


def write_stream(base: str, token: str, lead_ids: list[int], acked: list, failures: list, stop: threading.Event,
                 n: int) -> None:
    """Log visits until stopped or the connection fails; keep (id, summary) of each acknowledged one, and the
    status of each refused one (or the exception's name where the connection broke) in `failures`."""
    count = 0
    while not stop.is_set():
        count += 1
        summary = f"故障演练拜访 W{n}-{count}"
        try:
            status, body = api(base, token, "POST", f"/api/v1/leads/{lead_ids[count % len(lead_ids)]}/interactions",
                               {"kind": "visit", "summary": summary}, timeout=30)
        except OSError as exc:
            failures.append(type(exc).__name__)
            return  # the server is gone
        if status == 201:
            acked.append((body["id"], summary))
        else:
            failures.append(status)
