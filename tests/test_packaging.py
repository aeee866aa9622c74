"""A wheel carries everything the app needs (templates, static, migrations, compiled catalog, reference data):
build it from a copy of the tree (no compiled catalog in it, as in a fresh clone), install it into a new
virtualenv, `flask --app crm crm init`, serve, and a page renders in Chinese (issue 16 item 1).

The new virtualenv gets the wheel only (--no-deps); its dependencies are the ones this run already has, made
visible through a .pth file, so the test needs no network."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
from pathlib import Path

import pytest

from tests.faults.harness import free_port

ROOT = Path(__file__).resolve().parents[1]
TREE = ["crm", "templates", "static", "migrations", "pyproject.toml", "setup.py", "setup.cfg", "README.md"]

pytestmark = pytest.mark.slow


def _copy_tree(target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "*.egg-info")
    for name in TREE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def test_the_wheel_installs_into_a_fresh_venv_migrates_and_serves_a_page(tmp_path):
    src, dist, env_dir, run = (tmp_path / d for d in ("src", "dist", "venv", "run"))
    src.mkdir()
    _copy_tree(src)
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist)], cwd=src, check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("crm-*.whl"))
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   capture_output=True, timeout=300)
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "deps-of-this-run.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")} | {
        "CRM_INSTANCE_PATH": str(run / "instance"), "PYTHONPATH": ""}
    init = subprocess.run([python, "-m", "flask", "--app", "crm", "crm", "init"], cwd=run, env=env,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr[-2000:]
    where = subprocess.run([python, "-c", "import crm; print(crm.__file__, crm.SITE)"], cwd=run, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert purelib in where and "crm_site" in where  # the installed copy, not this checkout
    port = free_port()
    log = (run / "serve.log").open("w")
    server = subprocess.Popen([python, "-m", "flask", "--app", "crm", "crm", "serve", "--port", str(port)], cwd=run,
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        page = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(0.5)
        assert page is not None, "the installed app did not answer: " + (run / "serve.log").read_text()[-2000:]
        assert "登录" in page and "/static/vendor/bootstrap/css/bootstrap.min.css" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/bootstrap/css/bootstrap.min.css") as css:
            assert css.status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
