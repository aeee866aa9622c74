"""The deployment files (deploy/, gunicorn.conf.py) parse and agree with the app: the commands they run exist in
the CLI, the settings they set are settings the app knows, one scheduler only, the health check asks a real
endpoint, and forwarded headers are believed by exactly one layer (the app's ProxyFix), never by gunicorn too.
No image is built and no unit is started here."""
from __future__ import annotations

import ast
import configparser
import json
import shlex
from pathlib import Path

import click
import pytest
from flask import request

from crm import create_app
from crm.config import DEFAULTS
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
# CRM_* variables the app reads that are not DEFAULTS keys (crm/config.py and crm/__init__.py read them)
ENV_ONLY = {"DATABASE_URL", "INSTANCE_PATH"}


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((UNITS / name).read_text(encoding="utf-8"))
    assert {"Unit", "Service"} <= set(parser.sections()) or {"Unit", "Timer"} <= set(parser.sections()), name
    return parser


def _cli_command(app, argv: list[str]) -> click.Command:
    """The command `flask --app wsgi crm …` would run, found in the app's CLI (fails if there is none)."""
    assert Path(argv[0]).name == "flask" and argv[1:3] == ["--app", "wsgi"], argv
    command: click.Command = app.cli
    ctx = click.Context(app.cli)
    for name in argv[3:]:
        assert isinstance(command, click.Group), argv
        command = command.get_command(ctx, name)
        assert command is not None, f"no such command: {' '.join(argv[3:])}"
    return command


def _gunicorn_argv_is_ours(argv: list[str]) -> None:
    assert Path(argv[0]).name == "gunicorn", argv
    assert Path(argv[argv.index("-c") + 1]).name == "gunicorn.conf.py", argv
    assert argv[-1] == "wsgi:app", argv


def _shell_steps(command: list[str]) -> list[list[str]]:
    """["sh", "-c", "a && exec b"] → [argv of a, argv of b]."""
    assert command[:2] == ["sh", "-c"], command
    return [[w for w in shlex.split(step) if w != "exec"] for step in command[2].split("&&")]


def test_wsgi_module_defines_the_app_gunicorn_and_flask_load():
    tree = ast.parse((ROOT / "wsgi.py").read_text(encoding="utf-8"))
    assert any(isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["app"]
               for node in tree.body)


def test_systemd_web_unit_migrates_then_runs_gunicorn_with_the_repository_config(app):
    unit = _unit("crm-web.service")
    service = unit["Service"]
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    _cli_command(app, shlex.split(service["ExecStartPre"]))
    assert shlex.split(service["ExecStartPre"])[3:] == ["crm", "init"]
    _gunicorn_argv_is_ours(shlex.split(service["ExecStart"]))
    assert service["Type"] == "notify" and service["EnvironmentFile"] == "/etc/crm/crm.env"


def test_systemd_scheduler_unit_runs_the_one_scheduler_after_the_web_unit(app):
    unit = _unit("crm-scheduler.service")
    service = unit["Service"]
    argv = shlex.split(service["ExecStart"])
    _cli_command(app, argv)
    assert argv[3:] == ["crm", "scheduler"]
    assert "crm-web.service" in unit["Unit"]["After"].split()
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert service["KillSignal"] == "SIGINT"  # the command ends cleanly on it (KeyboardInterrupt)
    web = _unit("crm-web.service")["Service"]
    for key in ("User", "WorkingDirectory", "EnvironmentFile", "StateDirectory"):
        assert service[key] == web[key], key
    units = [p.name for p in UNITS.glob("*.service")]  # the scheduler runs in exactly one unit
    assert [n for n in units if "crm scheduler" in (UNITS / n).read_text(encoding="utf-8")] == [
        "crm-scheduler.service"]


def test_systemd_backup_timer_starts_the_backup_unit_which_runs_crm_backup(app):
    assert _unit("crm-backup.timer")["Timer"]["OnCalendar"]
    service = _unit("crm-backup.service")["Service"]
    argv = shlex.split(service["ExecStart"])
    _cli_command(app, argv[:-1])
    assert argv[3:] == ["crm", "backup", "/var/backups/crm"] and service["Type"] == "oneshot"
    assert service["EnvironmentFile"] == _unit("crm-web.service")["Service"]["EnvironmentFile"]


def test_every_unit_the_readme_installs_is_in_deploy():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("crm-web", "crm-scheduler", "crm-backup.timer"):
        assert f" {name}" in readme, name
    assert sorted(p.name for p in UNITS.iterdir()) == [
        "crm-backup.service", "crm-backup.timer", "crm-scheduler.service", "crm-web.service", "crm.env.example"]


def _env_example() -> dict[str, str]:
    values = {}
    for line in (UNITS / "crm.env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip().removeprefix("#")  # the commented-out optional settings must be right too
        if "=" in line and line.split("=", 1)[0].isupper() and " " not in line.split("=", 1)[0]:
            key, value = line.split("=", 1)
            values[key] = value
    return values


def test_environment_file_names_only_settings_the_app_or_gunicorn_reads(monkeypatch, tmp_path):
    values = _env_example()
    gunicorn_conf = (ROOT / "gunicorn.conf.py").read_text(encoding="utf-8")
    for key in values:
        if key.startswith("CRM_"):
            assert key[4:] in DEFAULTS or key[4:] in ENV_ONLY, key
        else:
            assert f'"{key}"' in gunicorn_conf, key
    assert int(values["CRM_PROXY_FIX_X_FOR"]) == 1 and values["CRM_ENV_NAME"] == "production"
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("CRM_INSTANCE_PATH", str(tmp_path))
    configured = create_app()  # every value has the type its setting wants, or this raises ConfigError
    assert configured.config["PROXY_FIX_X_FOR"] == 1 and configured.config["SESSION_COOKIE_SECURE"] is True
    assert configured.config["MAIL_USE_SSL"] is True


def _compose() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_postgresql_web_and_exactly_one_scheduler(app):
    services = _compose()["services"]
    assert set(services) == {"db", "web", "scheduler"}
    assert services["db"]["image"].startswith("postgres:")
    web_steps = _shell_steps(services["web"]["command"])
    _cli_command(app, web_steps[0])
    assert web_steps[0][3:] == ["crm", "init"]
    _gunicorn_argv_is_ours(web_steps[1])
    scheduler = services["scheduler"]["command"]
    _cli_command(app, scheduler)
    assert scheduler[3:] == ["crm", "scheduler"]
    assert [n for n, s in services.items() if "scheduler" in json.dumps(s.get("command", ""))] == ["scheduler"]
    assert "replicas" not in json.dumps(services["scheduler"].get("deploy", {}))
    assert services["scheduler"]["stop_signal"] == "SIGINT"
    assert services["scheduler"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_compose_health_check_asks_a_health_endpoint_on_gunicorns_port(app):
    compose = _compose()
    web = compose["services"]["web"]
    probe = " ".join(web["healthcheck"]["test"])
    path = next(p for p in ("/readyz", "/healthz") if p in probe)
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        assert adapter.match(path)[0].startswith("health.")
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "GUNICORN_BIND=0.0.0.0:8000" in dockerfile and "127.0.0.1:8000/" in probe
    assert web["ports"] == ["127.0.0.1:8000:8000"]  # published for the host's HTTPS proxy only
    for key in web["environment"]:
        assert not key.startswith("CRM_") or key[4:] in DEFAULTS or key[4:] in ENV_ONLY, key
    assert "CRM_PROXY_FIX_X_FOR" in web["environment"]
    # the web and scheduler containers share one instance folder (the search index they both write)
    assert web["volumes"] == compose["services"]["scheduler"]["volumes"]


def test_dockerfile_installs_the_package_and_by_default_migrates_then_serves(app):
    lines = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines()
    cmd = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    steps = _shell_steps(cmd)
    _cli_command(app, steps[0])
    assert steps[0][3:] == ["crm", "init"]
    _gunicorn_argv_is_ours(steps[1])
    assert "COPY wsgi.py gunicorn.conf.py ./" in lines
    assert any("pip wheel" in line for line in lines) and any("pip install /tmp/dist/crm-" in line for line in lines)
    # pg_dump (crm backup) comes from the base image's Debian release; it must not be older than the server
    assert "bookworm" in next(line for line in lines if line.startswith("FROM "))
    assert _compose()["services"]["db"]["image"] == "postgres:15"


# --- gunicorn.conf.py ---------------------------------------------------------------------------------------

def _gunicorn_config(path: Path | None):
    from gunicorn.app.base import Application
    from gunicorn.config import Config

    class Loaded(Application):
        def load_config(self):
            self.cfg = Config()
            if path is not None:
                self.load_config_from_file(str(path))

        def load(self):  # pragma: no cover  (never served)
            raise AssertionError

    return Loaded().cfg


def test_gunicorn_config_loads_with_sane_workers_timeouts_and_access_log(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    cfg = _gunicorn_config(ROOT / "gunicorn.conf.py")
    assert 2 <= cfg.workers <= 4 and cfg.threads >= 2 and cfg.worker_class_str == "gthread"
    assert 0 < cfg.graceful_timeout < cfg.timeout <= 120
    stop = int(_unit("crm-web.service")["Service"]["TimeoutStopSec"])
    assert stop > cfg.graceful_timeout  # systemd waits for the workers' graceful stop before it kills
    # the app logs one access line per request itself; gunicorn's own one only on request (no line twice)
    assert cfg.accesslog is None and callable(cfg.post_worker_init)
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    cfg = _gunicorn_config(ROOT / "gunicorn.conf.py")
    assert (cfg.workers, cfg.threads, cfg.accesslog) == (3, 6, "-")


FORWARDED = (b"GET /whoami HTTP/1.1\r\nHost: crm.example.gov.cn\r\nX-Forwarded-Proto: https\r\n"
             b"X-Forwarded-For: 203.0.113.7\r\n\r\n")


def _environ(cfg, peer=("127.0.0.1", 40000)) -> dict:
    """The WSGI environ gunicorn builds for a request the local proxy forwarded."""
    from gunicorn.http import wsgi
    from gunicorn.http.message import Request
    from gunicorn.http.unreader import IterUnreader

    class Socket:
        def sendall(self, data):
            pass

    _response, environ = wsgi.create(Request(cfg, IterUnreader([FORWARDED]), peer), Socket(), peer,
                                     ("127.0.0.1", 8000), cfg)
    return environ


def test_gunicorn_itself_believes_no_forwarded_header_from_any_peer():
    assert _environ(_gunicorn_config(None))["wsgi.url_scheme"] == "https"  # gunicorn's default would
    cfg = _gunicorn_config(ROOT / "gunicorn.conf.py")
    assert cfg.forwarded_allow_ips == [] and cfg.secure_scheme_headers == {}
    for peer in (("127.0.0.1", 40000), "/run/crm/gunicorn.sock"):  # a unix-socket peer is trusted by default
        environ = _environ(cfg, peer)
        assert environ["wsgi.url_scheme"] == "http" and environ["HTTP_X_FORWARDED_PROTO"] == "https"


@pytest.mark.parametrize(("hops", "seen"), [(0, "http 127.0.0.1"), (1, "https 203.0.113.7")])
def test_the_app_alone_applies_the_proxy_headers_gunicorn_passes_on(database_url, tmp_path, hops, seen):
    served = create_app({**base_config(database_url, str(tmp_path)), "PROXY_FIX_X_FOR": hops})
    served.add_url_rule("/whoami", "whoami", lambda: f"{request.scheme} {request.remote_addr}")
    cfg = _gunicorn_config(ROOT / "gunicorn.conf.py")
    body = b"".join(served(_environ(cfg), lambda status, headers, exc_info=None: None))
    assert body.decode() == seen
