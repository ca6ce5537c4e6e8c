"""Demo data for the nightly and weekly work: a first reconciliation run, today's snapshots, last
week's team reports, and a payment list waiting in the drop folder for “立即对账”.

Called by the demo generator (settings.DEMO_SEEDERS) after the core season exists.
"""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from admissions.models import Candidate, Season
from admissions.reconciliation import drop_dir, reconcile
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from reports.services import snapshot_take, week_start_before, weekly_report_generate


def _drop_payment_list(season: Season, rng: random.Random) -> None:
    unpaid = list(
        Candidate.objects.filter(season=season, paid_on__isnull=True).values_list("exam_number", flat=True)[
            :400
        ]
    )
    rows = rng.sample(unpaid, min(30, len(unpaid)))
    day = min(timezone.localdate(), season.payment_close or timezone.localdate())
    wb = new_workbook()
    sheet = SheetWriter(wb, "缴费名单", ["考生号", "缴费日期", "金额"])
    for number in rows:
        sheet.append([number, day, 5000])
    if rows:
        sheet.append([rows[0], day, 5000])  # a duplicate row
    sheet.append([f"{season.year % 100}99999999", day, 5000])  # an unknown 考生号
    folder = drop_dir(season.year, "payments")
    folder.mkdir(parents=True, exist_ok=True)
    save_workbook(wb, str(folder / f"demo-payments-{day:%Y%m%d}.xlsx"))


def seed(season: Season, rng: random.Random) -> None:
    today = timezone.localdate()
    reconcile(season_year=season.year, sources=[], trigger="demo", progress=lambda done, total: None)
    for back in (2, 1, 0):
        snapshot_take(season=season, day=today - dt.timedelta(days=back))
    weekly_report_generate(season=season, week_start=week_start_before(today))
    _drop_payment_list(season, rng)
