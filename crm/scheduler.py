"""The table of periodic jobs and the APScheduler 3 that runs them; jobs only call services.

Reminders are database rows (notifications and outbox messages with dedupe keys), never one APScheduler job
each: every job here is idempotent, so running it twice, late, or from two schedulers plans nothing twice,
and the outbox claim makes sure one worker sends each message. JobRun records each job's last successful
run; on start, a job whose run fell due while the process was down runs once at once (catch-up)."""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from flask_babel import force_locale

from crm.extensions import db
from crm.models import JobRun
from crm.services import (
    auth,
    commitments,
    delivery,
    idempotency,
    indexing,
    outreach,
    problem_oversight,
    project_health,
    reminders,
    snapshots,
)
from crm.transactions import reading

TZ = ZoneInfo("Asia/Shanghai")
log = logging.getLogger(__name__)
# Set on the scheduler, not per job: per-job values are ignored in places (DESIGN.md §11), and APScheduler's
# default grace of 1 s silently drops a run that was due while the process was busy or down.
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}


def _setting(cfg, key: str, default):
    try:
        return type(default)(cfg.get(key, default))
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Job:
    id: str
    run: Callable[[datetime, dict], object]  # (now, config) → a result to log
    every: timedelta | None = None  # interval jobs
    at: str | None = None  # daily jobs: "HH:MM" Asia/Shanghai, overridable by config key `at_setting`
    at_setting: str | None = None

    def trigger(self, cfg):
        if self.every is not None:
            return IntervalTrigger(seconds=int(self.every.total_seconds()), timezone=TZ)
        hour, minute = (int(p) for p in str(cfg.get(self.at_setting, self.at) if self.at_setting else self.at)
                        .split(":"))
        return CronTrigger(hour=hour, minute=minute, timezone=TZ)

    def missed(self, last_run: datetime | None, now: datetime, cfg) -> bool:
        """Did a run fall due after the last one and by `now`?"""
        if last_run is None:
            return True
        if self.every is not None:
            return last_run + self.every <= now
        due = self.trigger(cfg).get_next_fire_time(None, last_run.astimezone(TZ) + timedelta(seconds=1))
        return due is not None and due <= now


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


JOBS: tuple[Job, ...] = (
    Job("due_soon_reminders", every=timedelta(minutes=5),
        run=lambda now, cfg: reminders.plan_due_soon_reminders(
            now, hours=_setting(cfg, "FOLLOWUP_REMIND_HOURS", 24))),
    Job("overdue_notices", every=timedelta(minutes=30),
        run=lambda now, cfg: reminders.plan_overdue_notices(
            now, escalate_days=_setting(cfg, "FOLLOWUP_ESCALATE_DAYS", 3))),
    Job("morning_digest", at="08:30", at_setting="DIGEST_TIME",
        run=lambda now, cfg: reminders.plan_morning_digests(now)),
    # Problems past their deadline: the county head the day after, the city PROBLEM_CITY_ESCALATE_DAYS later; before
    # the morning digest, which lists them.
    Job("problem_escalation", at="08:00", at_setting="PROBLEM_ESCALATION_TIME",
        run=lambda now, cfg: problem_oversight.escalate_overdue(
            now, city_days=_setting(cfg, "PROBLEM_CITY_ESCALATE_DAYS", 7))),
    Job("silent_lead_alarms", at="09:00", at_setting="SILENT_LEAD_TIME",
        run=lambda now, cfg: reminders.plan_silent_lead_alarms(now, days=_setting(cfg, "SILENT_LEAD_DAYS", 30))),
    # Holiday outreach: until each holiday its lists follow the lead base (a 乡贤 registered after the list was made
    # joins it, a deleted or merged lead leaves), then each enabled holiday's campaign is created N days ahead
    # and each owner reminded once.
    Job("outreach_refresh", at="06:50", run=lambda now, cfg: outreach.refresh_due_campaigns(now)),
    Job("outreach_campaigns", at="07:00", at_setting="OUTREACH_TIME",
        run=lambda now, cfg: outreach.create_due_campaigns(now)),
    # 月报: the previous month's annual figures frozen once (a daily check, so a month missed while down is caught).
    Job("report_snapshot", at="01:30", run=lambda now, cfg: snapshots.freeze_previous_month(now)),
    Job("prune_login_attempts", at="03:15",
        run=lambda now, cfg: auth.prune_login_attempts(now)),
    # Create forms' one-time tokens and API Idempotency-Keys are honoured for a day, then forgotten.
    Job("purge_idempotency_keys", at="03:20", run=lambda now, cfg: idempotency.purge_keys(now)),
    # The search index is derived data: index what the outbox still lists (an update that failed or was cut off)
    # every minute, repair drift every 10 minutes, merge its segments at night.
    Job("search_outbox", every=timedelta(minutes=1), run=lambda now, cfg: indexing.drain()),
    Job("search_reconcile", every=timedelta(minutes=10), run=lambda now, cfg: indexing.reconcile(now)),
    Job("search_optimize", at="02:30", run=lambda now, cfg: indexing.optimize()),
    # 履约: a reminder to the project manager COMMITMENT_REMIND_DAYS (30, 7) before a commitment falls due, once
    # per threshold; each county's weekly health digest from HEALTH_DIGEST_WEEKDAY (0 = Monday), once a week.
    Job("commitment_reminders", at="08:10",
        run=lambda now, cfg: commitments.plan_commitment_reminders(now, days=commitments.remind_days(cfg))),
    Job("health_digest", at="08:40",
        run=lambda now, cfg: project_health.plan_weekly_digests(
            now, weekday=_setting(cfg, "HEALTH_DIGEST_WEEKDAY", 0))),
    # Last, so `run-jobs` sends what the jobs above planned in the same pass.
    Job("dispatch_outbox", every=timedelta(minutes=1),
        run=lambda now, cfg: delivery.dispatch_due(now, worker_id())),
)
JOBS_BY_ID = {job.id: job for job in JOBS}


def run_job(app: Flask, job: Job, now: datetime | None = None):
    """Run one job in an app context, recording when it last succeeded (or the error, to retry later)."""
    now = now or datetime.now(UTC)
    with app.app_context(), force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            result = job.run(now, app.config)
        except Exception as exc:
            db.session.rollback()
            log.exception("job %s failed", job.id)
            _record(job.id, now, error=f"{type(exc).__name__}: {exc}")
            raise
        _record(job.id, now, error=None)
        log.info("job %s at %s: %s", job.id, now.isoformat(), result)
        return result


def _record(job_id: str, now: datetime, *, error: str | None) -> None:
    row = db.session.get(JobRun, job_id) or JobRun(job_id=job_id)
    if error is None:
        row.last_run_at = now
    row.last_finished_at, row.last_error = now, error and error[:2000]
    db.session.add(row)
    db.session.commit()


def _scheduled(app: Flask, job_id: str) -> None:
    try:
        run_job(app, JOBS_BY_ID[job_id])
    except Exception:  # noqa: BLE001  (recorded in JobRun and the log; the scheduler keeps going)
        pass


def catch_up(app: Flask, now: datetime | None = None) -> list[str]:
    """Run once each job whose run fell due while nothing was running; returns their ids."""
    now = now or datetime.now(UTC)
    with app.app_context(), reading():  # no write lock wanted to look: a rebuild of the index may be reading
        last = {row.job_id: row.last_run_at for row in db.session.scalars(db.select(JobRun))}
    ran = []
    for job in JOBS:
        if job.missed(last.get(job.id), now, app.config):
            try:
                run_job(app, job, now)
            except Exception:  # noqa: BLE001  (recorded; the scheduler still starts)
                continue
            ran.append(job.id)
    return ran


def build_scheduler(app: Flask, *, blocking: bool = False):
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=TZ, job_defaults=dict(JOB_DEFAULTS))
    for job in JOBS:
        scheduler.add_job(_scheduled, trigger=job.trigger(app.config), args=[app, job.id], id=job.id,
                          name=job.id, replace_existing=True)
    return scheduler


def start(app: Flask, *, blocking: bool = False, now: datetime | None = None):
    """Catch up what was missed, then start the scheduler (BlockingScheduler.start returns on shutdown)."""
    ran = catch_up(app, now)
    if ran:
        log.info("caught up: %s", ", ".join(ran))
    scheduler = build_scheduler(app, blocking=blocking)
    scheduler.start()
    return scheduler
