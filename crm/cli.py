"""`flask crm …` commands for operators and scripts (API.md lists them); each calls services."""
from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from flask.cli import AppGroup
from flask_migrate import upgrade

from crm.services import counties, demo, departments, industries, leads, tokens, users
from crm.services.errors import InvalidInput

crm_cli = AppGroup("crm", help="招商客商管理平台 commands.")


def _system_actor():
    """Operator commands run with an admin's authority; the audit log shows no user (actor None)."""
    from crm.models import Role, User

    return User(id=None, username="cli", display_name="command line", role=Role.ADMIN.value,
                is_active_user=True, password_hash="!")


class _Steps:
    """Progress of a long command, one line per tenth of the way on stderr: readable in a terminal, the journal
    and `docker compose logs` alike (a bar redrawn in place is one garbled line there), and stdout keeps only
    the result."""

    def __init__(self, what: str):
        self.what, self.shown = what, -1

    def __call__(self, done: int, total: int) -> None:
        tenth = 10 * done // total if total else 10
        if tenth > self.shown:
            self.shown = tenth
            click.echo(f"  {done:,} / {total:,} {self.what} ({100 * done // total if total else 100}%)", err=True)


def _line(text: str) -> None:
    click.echo(text, err=True)


def _county_id(code: str | None) -> int | None:
    """The county a --county CODE option names (None without one); an unknown code stops the command."""
    if not code:
        return None
    county = counties.county_by_code(code)
    if county is None:
        raise click.ClickException(f"unknown county code {code}")
    return county.id


@crm_cli.command("init")
def init_command():
    """Create or upgrade the schema and load reference data (idempotent; no demo data)."""
    upgrade()
    added = counties.load_reference_counties()
    added_industries = industries.load_reference_industries()
    added_departments = departments.load_reference_departments()
    click.echo(f"schema up to date; {added} counties and {added_industries} industries added; "
               f"{added_departments} departments added")


@crm_cli.command("seed-demo")
@click.option("--size", type=click.Choice(["small", "large"]), default="small")
def seed_demo_command(size):
    """Add the demo city (idempotent): `small` ~400 leads with history; `large` adds leads up to 100,000."""
    import time

    started = time.perf_counter()
    result = demo.seed_demo(size, progress=_line)
    click.echo("demo city: " + ", ".join(f"{k} +{v}" for k, v in result.items())
               + f"  ({time.perf_counter() - started:.1f} s)")


@crm_cli.command("demo-logins")
def demo_logins_command():
    """Print the demo accounts."""
    click.echo("Demo logins (username / password / what the login is for):")
    for username, password, what in demo.demo_logins():
        click.echo(f"  {username:<9} {password}   {what}")


@crm_cli.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(users.ROLES))
@click.option("--county", "county_code", default=None, help="the county's code, e.g. 610902")
@click.option("--password", required=True)
@click.option("--display-name", default=None)
@click.option("--email", default=None)
def create_user_command(username, role, county_code, password, display_name, email):
    """Create a user."""
    county_id = _county_id(county_code)
    try:
        user = users.create_user(_system_actor(), {
            "username": username, "display_name": display_name or username, "role": role,
            "county_id": county_id, "password": password, "email": email}, now=datetime.now(UTC))
    except InvalidInput as error:
        for field, messages in error.errors.items():
            click.echo(f"{field}: {'; '.join(str(m) for m in messages)}", err=True)
        sys.exit(1)
    click.echo(f"created user {user.username} ({user.role})")


@crm_cli.command("create-token")
@click.argument("username")
@click.option("--name", default="cli")
def create_token_command(username, name):
    """Create an API token for USERNAME; the token is the last line printed (shown once)."""
    user = users.user_by_username(username)
    if user is None:
        raise click.ClickException(f"no user {username}")
    plain = tokens.create_token(_system_actor(), user, name=name, now=datetime.now(UTC))
    click.echo(f"API token for {username} (store it now; it is not shown again):")
    click.echo(plain)


@crm_cli.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, type=int)
@click.option("--connection-limit", default=500, type=click.IntRange(10, 10_000),
              help="open connections accepted at once (browsers keep several alive each; waitress's own default "
                   "of 100 left new connections waiting unanswered with 50 staff at work)")
@click.option("--scheduler/--no-scheduler", "with_scheduler", default=True,
              help="run the periodic jobs inside this process (off when `flask crm scheduler` runs them)")
def serve_command(host, port, threads, connection_limit, with_scheduler):
    """The embedded default: one process serving HTTP (waitress) with the scheduler inside."""
    from flask import current_app
    from waitress import serve

    from crm.services import indexing

    app = current_app._get_current_object()
    indexing.reconcile_in_background(app)  # a missing or stale index is repaired while requests are served
    scheduler = None
    if with_scheduler:
        from crm import scheduler as jobs

        app.config["SCHEDULER_ENABLED"] = True
        scheduler = jobs.start(app)
    click.echo(f"serving on http://{host}:{port}/  (Ctrl+C stops)")
    try:
        serve(app, host=host, port=port, threads=threads, ident="crm", connection_limit=connection_limit,
              asyncore_use_poll=True)  # poll(): select() cannot watch descriptors above 1023
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)


@crm_cli.command("scheduler")
def scheduler_command():
    """Run the periodic jobs alone (production: exactly one of these beside gunicorn's workers; a second
    one would not double-send — the outbox claim sees to that — but would do the planning twice)."""
    from flask import current_app

    from crm import scheduler as jobs
    from crm.services import indexing

    indexing.reconcile_in_background(current_app._get_current_object())
    click.echo("scheduler running (Ctrl+C stops)")
    try:
        jobs.start(current_app._get_current_object(), blocking=True)
    except (KeyboardInterrupt, SystemExit):
        pass


@crm_cli.command("run-jobs")
@click.option("--now", "now_text", default=None, help="ISO time to run the jobs as if at, e.g. 2027-03-10T08:30+08:00")
@click.option("--only", "only", default=None, help="run just this job (see the job table in crm/scheduler.py)")
def run_jobs_command(now_text, only):
    """Run every periodic job once (or just --only JOB), as if at --now (default: now)."""
    from flask import current_app

    from crm import scheduler as jobs

    now = datetime.now(UTC)
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            raise click.BadParameter("not an ISO date-time", param_hint="--now") from None
        if now.tzinfo is None:
            now = now.replace(tzinfo=jobs.TZ)
    selected = [j for j in jobs.JOBS if only in (None, j.id)]
    if not selected:
        raise click.BadParameter(f"unknown job; choose from {', '.join(jobs.JOBS_BY_ID)}", param_hint="--only")
    failed = False
    for job in selected:
        try:
            result = jobs.run_job(current_app._get_current_object(), job, now)
        except Exception as exc:  # noqa: BLE001  (reported; the other jobs still run)
            failed = True
            click.echo(f"{job.id}: FAILED {type(exc).__name__}: {exc}", err=True)
        else:
            click.echo(f"{job.id}: {result}")
    if failed:
        sys.exit(1)


@crm_cli.command("reindex")
@click.option("--check", is_flag=True, help="only report drift (missing, stale, extra); exit 1 when there is any")
@click.option("--procs", default=None, type=int, help="analysis processes for the rebuild (default: CPU count, max 4)")
def reindex_command(check, procs):
    """Rebuild the search index from the database, or with --check report how far it drifted. The rebuild first
    recomputes the leads' stored pinyin keys (typeahead, duplicate checks, sorting by name), which a change to the
    surname readings leaves stale; the index itself is rebuilt on start whenever its schema version changes."""
    import os
    import time

    from crm.services import indexing, search_outbox

    if check:
        found = indexing.drift()
        for what in ("missing", "stale", "extra"):
            sample = ", ".join(f"{t}:{i}" for t, i in found[what][:10])
            click.echo(f"{what}: {len(found[what])}" + (f"  ({sample}{' …' if len(found[what]) > 10 else ''})"
                                                          if sample else ""))
        click.echo(f"waiting in the outbox: {search_outbox.size()}  (indexed within a minute by the scheduler)")
        if any(found.values()):
            click.echo("the search index has drifted from the database; run `flask crm reindex`", err=True)
            sys.exit(1)
        click.echo("the search index matches the database")
        return
    started = time.perf_counter()
    refreshed = leads.refresh_pinyin_keys()
    click.echo(f"pinyin keys recomputed for {refreshed} leads")
    click.echo("reading leads and projects …", err=True)
    count = indexing.rebuild(procs=procs or min(4, os.cpu_count() or 1), progress=_Steps("leads and projects"))
    click.echo(f"indexed {count} documents in {time.perf_counter() - started:.1f}s")


@crm_cli.command("backup")
@click.argument("folder", type=click.Path(file_okay=False))
def backup_command(folder):
    """Back up the database into FOLDER (SQLite online backup; PostgreSQL pg_dump), with a manifest."""
    from crm.services import backups

    try:
        path = backups.create_backup(folder, now=datetime.now(UTC))
    except backups.BackupError as error:
        click.echo(f"backup failed: {error}", err=True)
        sys.exit(1)
    counts = backups.read_manifest(path)["counts"]
    click.echo(f"backup written: {path}  ({counts.get('leads', 0)} leads, {sum(counts.values())} rows)")


@crm_cli.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path, yes):
    """Replace the database with the backup at PATH, then rebuild the search index. Stop the server first."""
    from crm.services import backups, indexing

    if not yes:
        click.confirm(f"Replace everything in the database with {path}? Stop the web server and scheduler first.",
                      abort=True)
    try:
        result = backups.restore_backup(path)
    except backups.BackupError as error:
        click.echo(f"restore failed: {error}", err=True)
        sys.exit(1)
    differ = {t: (n, result["found"].get(t)) for t, n in result["expected"].items() if result["found"].get(t) != n}
    if differ:
        click.echo(f"restored, but row counts differ from the manifest: {differ}", err=True)
        sys.exit(1)
    click.echo(f"restored {sum(result['found'].values())} rows; rebuilding the search index …")
    click.echo(f"indexed {indexing.rebuild(progress=_Steps('leads and projects'))} documents")


@crm_cli.command("import")
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False, exists=True))
@click.option("--county", "county_code", default=None,
              help="code of the county the leads belong to, e.g. 610902 (default: the user's county, else the city)")
@click.option("--mode", type=click.Choice(["skip", "update", "create"]), default="skip",
              help="what a row matching an existing lead does (as on the import page)")
@click.option("--as", "username", default=None,
              help="import as this user (their permissions, their name on the leads); default: the command line")
def import_command(path, county_code, mode, username):
    """Import leads from a CSV or XLSX FILE with the columns guessed from its headers, as the import page would."""
    from pathlib import Path

    from crm.services import imports
    from crm.services.errors import Conflict, PermissionDenied

    actor = _system_actor()
    if username:
        actor = users.user_by_username(username)
        if actor is None:
            raise click.ClickException(f"no user {username}")
    county_id = _county_id(county_code)
    file = Path(path)
    try:
        batch = imports.start_import(actor, file.name, file.read_bytes(), duplicate_mode=mode,
                                     owner_county_id=county_id, now=datetime.now(UTC))
        headers = imports.preview(actor, batch.id)["headers"]
        click.echo(f"import #{batch.id}: {batch.total_rows:,} rows; columns "
                   + ", ".join(f"{field} <- {headers[column]}" for field, column in batch.mapping.items()), err=True)
        batch = imports.launch_import(actor, batch.id, now=datetime.now(UTC), progress=_Steps("rows"))
    except InvalidInput as error:
        for field, messages in error.errors.items():
            click.echo(f"{field}: {'; '.join(str(m) for m in messages)}", err=True)
        sys.exit(1)
    except (Conflict, PermissionDenied) as error:
        raise click.ClickException(str(error) or type(error).__name__) from None
    click.echo(f"import #{batch.id} {batch.status}: {batch.created_count} created, {batch.updated_count} updated, "
               f"{batch.skipped_count} skipped, {batch.error_count} rejected"
               + (f" ({batch.error})" if batch.error else ""))
    if batch.status != "done":
        sys.exit(1)
