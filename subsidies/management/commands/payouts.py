"""python manage.py payouts --season 2023 --xlsx out.xlsx: compute a payout run, write the workbook."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from admissions.models import Season
from subsidies.exports import write_payout_workbook
from subsidies.services import payout_run_create


class Command(BaseCommand):
    help = "核算一个年度的补贴（新建一次核算）并导出 Excel。"

    def add_arguments(self, parser):
        parser.add_argument("--season", type=int, required=True, help="招生年度，例如 2023")
        parser.add_argument("--xlsx", required=True, help="输出的 Excel 文件路径")
        parser.add_argument("--user", default="", help="记为核算人的用户名（可选）")

    def handle(self, *args, season: int, xlsx: str, user: str, **options):
        try:
            season_obj = Season.objects.get(year=season)
        except Season.DoesNotExist as exc:
            raise CommandError(f"没有 {season} 年度") from exc
        who = None
        if user:
            who = get_user_model().objects.filter(username=user).first()
            if who is None:
                raise CommandError(f"没有用户 {user}")
        run = payout_run_create(season=season_obj, user=who)
        write_payout_workbook(run, xlsx)
        self.stdout.write(
            f"{season} 年度第 {run.number} 次核算：{run.person_count} 人，合计 {run.total} 元 → {xlsx}"
        )
