"""RQ jobs of the nightly and weekly work: thin, idempotent, load by key and call one service.

Queues and timeouts: the nightly work runs on the "nightly" queue (timeout 1 h), office-started
runs and exports on "default" (10 min) — see settings.RQ_QUEUES and the explicit timeouts below.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

import django_rq
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from rq import Retry

from admissions.models import Season
from admissions.reconciliation import reconcile
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callback_office.export_log import export_log_record
from callback_office.jobs import report_progress, save_result_file, set_result_url

logger = logging.getLogger(__name__)

NIGHTLY_TIMEOUT = 3600
WEEKLY_TIMEOUT = 1800
EXPORT_TIMEOUT = 600
NIGHTLY_RETRY = Retry(max=3, interval=[60, 300, 900])


def _season(season_year: int | None) -> Season:
    qs = Season.objects.all()
    season = qs.filter(year=season_year).first() if season_year else qs.order_by("-year").first()
    if season is None:
        raise ValidationError(_("没有找到招生年度 %(year)s。") % {"year": season_year or ""})
    return season


def nightly_reconciliation(*, season_year: int | None = None, trigger: str = "nightly") -> dict[str, Any]:
    """Reconcile the dropped lists, then take the day's snapshots (both idempotent)."""
    from rq import get_current_job

    from reports.services import snapshot_take

    season = _season(season_year)
    job = get_current_job()
    run = reconcile(season_year=season.year, trigger=trigger, job_id=job.id if job else "")
    snapshots = snapshot_take(season=season)
    set_result_url(reverse("reports:reconciliation_run", args=[run.pk]))
    return {
        "run": run.pk,
        "rows_read": run.rows_read,
        "rows_changed": run.rows_changed,
        "discrepancies_new": run.discrepancies_new,
        "snapshots": snapshots,
    }


def nightly_reconciliation_enqueue() -> str:
    """The cron entry (02:00): enqueue the nightly run with retries (rq Retry(max=3))."""
    job = django_rq.get_queue("nightly", commit_mode="auto").enqueue(
        nightly_reconciliation, job_timeout=NIGHTLY_TIMEOUT, retry=NIGHTLY_RETRY
    )
    return job.id


def snapshots(*, season_year: int | None = None, day: dt.date | None = None) -> int:
    from reports.services import snapshot_take

    return snapshot_take(season=_season(season_year), day=day)


def office_dashboard_refresh(*, season_year: int) -> int:
    """立即刷新 on the office dashboard: the season's snapshots taken now, then back to it."""
    from reports.services import snapshot_take

    season = _season(season_year)
    written = snapshot_take(season=season)
    set_result_url(reverse("reports:office_dashboard") + f"?season={season.year}")
    return written


def weekly_reports(*, season_year: int | None = None, week_start: dt.date | None = None) -> list[int]:
    """Every team's report for the last full week (or the week starting `week_start`)."""
    from reports.services import week_start_before, weekly_report_generate

    season = _season(season_year)
    week_start = week_start or week_start_before(timezone.localdate())
    reports = weekly_report_generate(season=season, week_start=week_start, progress=report_progress)
    set_result_url(reverse("reports:weekly_list"))
    return [r.pk for r in reports]


def discrepancies_export(*, season_year: int, user_id: int) -> str:
    """An Excel file of the discrepancies the user may see (a tracked job with a download)."""
    from django.contrib.auth import get_user_model

    from reports.selectors import discrepancies_for

    season = _season(season_year)
    user = get_user_model().objects.get(pk=user_id)
    rows = list(discrepancies_for(user=user, season=season))
    wb = new_workbook()
    sheet = SheetWriter(
        wb, _("对账差异"), [_("类型"), _("考生号"), _("说明"), _("回访员"), _("小组"), _("组长"), _("已处理")]
    )
    total = len(rows)
    report_progress(0, total)
    for i, d in enumerate(rows, 1):
        sheet.append(
            [
                d.get_kind_display(),
                d.exam_number,
                d.details,
                d.caller_name or "",
                d.team_name or "",
                d.leader_name or "",
                _("是") if d.resolved else _("否"),
            ]
        )
        if i % 200 == 0 or i == total:
            report_progress(i, total)
    buf = io.BytesIO()
    save_workbook(wb, buf)
    stored = save_result_file(
        buf.getvalue(),
        name=f"reports/exports/discrepancies-{season.year}-{timezone.now():%Y%m%d%H%M%S%f}.xlsx",
        filename=f"对账差异-{season.year}.xlsx",
    )
    export_log_record(user=user, season=season, what=_("对账差异"), row_count=total)
    return stored


# What `manage.py run_job NAME` runs (synchronously, in the command's process).
RUNNABLE = {
    "nightly_reconciliation": nightly_reconciliation,
    "snapshots": snapshots,
    "weekly_reports": weekly_reports,
}
