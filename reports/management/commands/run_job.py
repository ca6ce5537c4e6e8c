"""Run a scheduled job now, in this process: `manage.py run_job nightly_reconciliation --season 2023`."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from reports.jobs import RUNNABLE


class Command(BaseCommand):
    help = "Run a scheduled job now (nightly_reconciliation, snapshots, weekly_reports)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", choices=sorted(RUNNABLE))
        parser.add_argument("--season", type=int, default=None, help="season year (default: the latest)")
        parser.add_argument("--day", type=dt.date.fromisoformat, default=None, help="snapshots: YYYY-MM-DD")
        parser.add_argument(
            "--week",
            type=dt.date.fromisoformat,
            default=None,
            help="weekly_reports: the week's Monday, YYYY-MM-DD",
        )

    def handle(self, *args, name: str, season: int | None, day, week, **options) -> None:
        kwargs: dict = {"season_year": season}
        if name == "snapshots" and day:
            kwargs["day"] = day
        if name == "weekly_reports" and week:
            if week.weekday() != 0:
                raise CommandError("--week must be a Monday")
            kwargs["week_start"] = week
        if name == "nightly_reconciliation":
            kwargs["trigger"] = "command"
        result = RUNNABLE[name](**kwargs)
        self.stdout.write(self.style.SUCCESS(f"{name}: {result}"))
