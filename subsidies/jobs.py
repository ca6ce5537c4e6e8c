"""RQ jobs: a payout run and its workbook for large seasons (thin: load by id, call one service)."""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _

from admissions.models import Season
from callback_office.export_log import export_log_record
from callback_office.jobs import report_progress, save_result_file, set_result_url
from subsidies.exports import write_payout_workbook
from subsidies.models import PayoutRun
from subsidies.services import payout_run_create


def payout_run_job(*, season_id: int, user_id: int | None) -> int:
    season = Season.objects.get(pk=season_id)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    report_progress(0, 2)
    run = payout_run_create(season=season, user=user)
    report_progress(1, 2)
    set_result_url(reverse("subsidies:run_detail", args=[run.pk]))
    return run.pk


def payout_workbook_job(*, run_id: int, user_id: int | None = None) -> str:
    run = PayoutRun.objects.select_related("season").defer("facts").get(pk=run_id)  # streamed by the writer
    buf = io.BytesIO()
    write_payout_workbook(run, buf)
    stored = save_result_file(
        buf.getvalue(),
        name=f"payouts/payout-{run.season.year}-{run.number}-{run.pk}.xlsx",
        filename=f"补贴发放表-{run.season.year}-第{run.number}次.xlsx",
    )
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    export_log_record(
        user=user,
        season=run.season,
        what=_("补贴发放表"),
        row_count=run.person_count,
        filters={"run": run.number},
    )
    return stored
