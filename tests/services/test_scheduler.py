"""The job table and its scheduler: idempotent jobs, catch-up after downtime, exactly-once reminders across
a restart and with two schedulers, the job defaults, and `flask crm run-jobs`."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

from crm import create_app, scheduler
from crm.extensions import db
from crm.models import JobRun, Notification, OutboxMessage
from tests.conftest import base_config
from tests.services.test_delivery import mail_config, smtp  # noqa: F401 (fixture)
from tests.services.test_followups import NOW, lead_id, make_followup  # noqa: F401 (fixture)

# Other features add their own jobs to the table; these tests speak about the follow-up and delivery ones.
MINE = {"due_soon_reminders", "overdue_notices", "morning_digest", "silent_lead_alarms", "prune_login_attempts",
        "dispatch_outbox"}


def mine(job_ids) -> set:
    return set(job_ids) & MINE


def job_runs(app) -> dict:
    with app.app_context():
        return {r.job_id: r.last_run_at for r in db.session.scalars(db.select(JobRun))}


def test_scheduler_sets_job_defaults_on_the_scheduler_in_shanghai_time(app):
    sched = scheduler.build_scheduler(app)
    assert sched._job_defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    assert str(sched.timezone) == "Asia/Shanghai"
    digest = sched.get_job("morning_digest")
    assert str(digest.trigger) == "cron[hour='8', minute='30']"
    assert {j.id for j in sched.get_jobs()} == set(scheduler.JOBS_BY_ID)


def test_job_run_is_recorded_and_missed_jobs_are_caught_up_on_start(app):
    start = NOW  # 10:00 Shanghai
    assert mine(scheduler.catch_up(app, start)) == MINE  # never run: run all once
    assert {job_runs(app)[j] for j in MINE} == {start}
    # restart five minutes later: nothing is due yet except the minute-by-minute dispatch
    assert mine(scheduler.catch_up(app, start + timedelta(minutes=5))) == {"due_soon_reminders", "dispatch_outbox"}
    # down overnight until 09:00 next day: the 03:15 prune and the 08:30 digest were missed; 09:00 alarm is due
    later = datetime(2027, 3, 11, 1, 0, tzinfo=UTC)
    assert mine(scheduler.catch_up(app, later)) == MINE
    # back at 08:00 the day after: the 08:30 digest is not due yet
    early = datetime(2027, 3, 12, 0, 0, tzinfo=UTC)
    assert "morning_digest" not in scheduler.catch_up(app, early)
    assert "morning_digest" in scheduler.catch_up(app, early + timedelta(minutes=31))


def test_failed_job_keeps_its_last_success_and_records_the_error(app, monkeypatch):
    scheduler.catch_up(app, NOW)
    job = scheduler.JOBS_BY_ID["overdue_notices"]

    def boom(now, **_kw):
        raise RuntimeError("database went away")

    monkeypatch.setattr("crm.services.reminders.plan_overdue_notices", boom)
    scheduler._scheduled(app, job.id)
    with app.app_context():
        row = db.session.get(JobRun, job.id)
        assert row.last_run_at == NOW and "database went away" in row.last_error


def test_reminder_sent_once_across_restart_and_two_schedulers(app, make_user, smtp, lead_id,  # noqa: F811
                                                              database_url, tmp_path):
    mail_config(app, smtp.port)
    staff = make_user("county_staff", email="chen@ankang.test")
    make_followup(app, staff.id, lead_id, assignee_id=staff.id, due_at=NOW + timedelta(hours=3))
    smtp.messages.clear()  # the assignment itself went to the creator's own list (no mail to oneself)

    def instance(name):
        other = create_app(base_config(database_url, str(tmp_path / name)))
        mail_config(other, smtp.port)
        return other

    # first process runs the due-soon job and dispatches
    scheduler.catch_up(app, NOW)
    assert len(smtp.messages) == 2  # the due-soon reminder and the morning digest (never run before)
    # "restart": a new process catches up and runs every job again, an hour later
    restarted = instance("restart")
    scheduler.catch_up(restarted, NOW + timedelta(hours=1))
    for job in scheduler.JOBS:
        scheduler.run_job(restarted, job, NOW + timedelta(hours=1, minutes=1))
    # two schedulers running the same jobs at the same moment
    a, b, barrier = instance("a"), instance("b"), threading.Barrier(2)

    def run(worker_app):
        barrier.wait()
        for job in scheduler.JOBS:
            scheduler.run_job(worker_app, job, NOW + timedelta(hours=2))
        with worker_app.app_context():
            db.engine.dispose()

    threads = [threading.Thread(target=run, args=(x,)) for x in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    with app.app_context():
        kinds = sorted(db.session.scalars(db.select(Notification.kind)))
        assert kinds == ["digest", "due_soon"]
        outbox_ids = sorted(db.session.scalars(db.select(OutboxMessage.id)))
    sent_ids = sorted(int(message_from_bytes(m.content)["X-CRM-Outbox"]) for m in smtp.messages)
    assert sent_ids == outbox_ids and len(outbox_ids) == 2
    assert all(m.rcpt_tos == ["chen@ankang.test"] for m in smtp.messages)
    for other in (restarted,):
        with other.app_context():
            db.engine.dispose()


def test_run_jobs_command_runs_every_job_as_of_given_time(app, runner):
    result = runner.invoke(args=["crm", "run-jobs", "--now", "2027-03-10T08:30+08:00"])
    assert result.exit_code == 0, result.output
    assert "morning_digest: 0" in result.output and "dispatch_outbox:" in result.output
    assert {job_runs(app)[j] for j in MINE} == {datetime(2027, 3, 10, 0, 30, tzinfo=UTC)}


def test_run_jobs_command_only_one_job_and_unknown_job(app, runner):
    result = runner.invoke(args=["crm", "run-jobs", "--only", "overdue_notices", "--now", "2027-03-10T10:00"])
    assert result.exit_code == 0 and list(job_runs(app)) == ["overdue_notices"]
    assert runner.invoke(args=["crm", "run-jobs", "--only", "nope"]).exit_code != 0
    assert runner.invoke(args=["crm", "run-jobs", "--now", "yesterday"]).exit_code != 0
