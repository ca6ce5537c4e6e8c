"""The cron module registers the periodic jobs with rq's cron, at Asia/Shanghai times."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from rq.cron import CronScheduler

from reports.jobs import nightly_reconciliation_enqueue, weekly_reports

pytestmark = pytest.mark.redis
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_cron_module_registers_the_periodic_jobs(redis_conn):
    scheduler = CronScheduler(connection=redis_conn)
    scheduler.load_config_from_file("callback_office.cron")
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"nightly_reconciliation", "weekly_reports", "recordings_retention"}

    nightly = jobs["nightly_reconciliation"]
    assert (nightly.cron, nightly.queue_name) == ("0 2 * * *", "nightly")
    assert nightly.func is nightly_reconciliation_enqueue
    assert nightly.job_options["job_timeout"] == 60
    at = nightly.next_enqueue_time.astimezone(SHANGHAI)
    assert (at.hour, at.minute) == (2, 0)

    weekly = jobs["weekly_reports"]
    assert (weekly.cron, weekly.queue_name) == ("0 7 * * 1", "nightly")
    assert weekly.func is weekly_reports
    assert weekly.job_options["job_timeout"] == 1800
    at = weekly.next_enqueue_time.astimezone(SHANGHAI)
    assert (at.weekday(), at.hour, at.minute) == (0, 7, 0)

    retention = jobs["recordings_retention"]
    assert retention.cron == "30 3 * * *"
    assert retention.kwargs == {"older_than_days": 150}
    assert retention.func.__name__ == "attachments_archive"


def test_cron_launcher_enqueues_the_nightly_job_with_retries(redis_conn):
    import django_rq
    from rq.job import Job

    job_id = nightly_reconciliation_enqueue()
    job = Job.fetch(job_id, connection=redis_conn)
    assert job.func_name == "reports.jobs.nightly_reconciliation"
    assert job.retries_left == 3
    assert job.timeout == 3600
    assert django_rq.get_queue("nightly").job_ids == [job_id]
