"""Periodic jobs, registered with rq's built-in cron (run by exactly one `manage.py rqcron`).

    python manage.py rqcron callback_office.cron

Times follow TIME_ZONE (Asia/Shanghai): Django sets the process's TZ from it, and rq's cron
reads cron strings in local time. `manage.py run_job NAME` runs the reports' jobs now.
"""

from rq import cron

from reports.jobs import WEEKLY_TIMEOUT, nightly_reconciliation_enqueue, weekly_reports
from supervision.services import attachments_archive

# 02:00 every night: reconciliation of payment/registration lists, then progress snapshots.
# The cron entry only enqueues the real job, which carries Retry(max=3) and a 1 h timeout.
cron.register(
    nightly_reconciliation_enqueue,
    queue_name="nightly",
    cron="0 2 * * *",
    job_timeout=60,
    name="nightly_reconciliation",
)
# Monday 07:00: every team's weekly report for the week that just ended.
cron.register(
    weekly_reports,
    queue_name="nightly",
    cron="0 7 * * 1",
    job_timeout=WEEKLY_TIMEOUT,
    name="weekly_reports",
)
# 03:30 every night: recordings older than 150 days (five months) go to the archive.
cron.register(
    attachments_archive,
    queue_name="nightly",
    cron="30 3 * * *",
    kwargs={"older_than_days": 150},
    job_timeout=1800,
    name="recordings_retention",
)
