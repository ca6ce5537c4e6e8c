"""`manage.py season_rollover --from 2023 --to 2024`: prepare next year's season from this one.

Copies into the new season (created if missing, its dates left blank for the office to fill):
- the season's targets (enrollment and early-payment rates);
- the province policies (可退档 / 屏蔽电话 / 新高考), keeping any the new season already has;
- the subsidy scheme (the latest version becomes the new season's version 1);
- the teams (name, kind) with their leader and supervisors, matched by 工号 to the new season's
  callers; a leader or supervisor not yet in the new season is created from last year's profile
  with the qualification review reset to pending (资格审查重新进行). `--members` does the same
  for every member of the teams.

Candidates, contacts, assignments, payouts and findings are never copied. Running it twice adds
nothing the second time. `--dry-run` shows the counts and rolls back.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

TARGET_FIELDS = (
    "undergrad_basic_target",
    "undergrad_target",
    "junior_basic_target",
    "junior_target",
    "stage1_payment_target",
    "stage2_payment_target",
    "stage3_payment_target",
)
CALLER_FIELDS = ("user_id", "name", "kind", "department", "phone", "is_supervisor", "is_strike", "capacity")


class _DryRun(Exception):
    pass


def season_rollover(*, from_year: int, to_year: int, members: bool = False) -> Counter:
    """Copy teams, scheme and province policies from `from_year` into `to_year` (one transaction);
    returns what was created, by kind."""
    from admissions.models import ProvincePolicy, Season
    from callbacks.choices import QualificationStatus
    from callbacks.models import TEAM_ORDER, Caller, Team
    from subsidies.models import SubsidyScheme

    if from_year == to_year:
        raise CommandError("--from 与 --to 不能相同 / the two years must differ")
    source = Season.objects.filter(year=from_year).first()
    if source is None:
        raise CommandError(f"招生年度 {from_year} 不存在 / season {from_year} does not exist")
    created: Counter = Counter()
    with transaction.atomic():
        target, new = Season.objects.get_or_create(
            year=to_year, defaults={f: getattr(source, f) for f in TARGET_FIELDS}
        )
        created["season"] += int(new)

        have = set(ProvincePolicy.objects.filter(season=target).values_list("province", flat=True))
        policies = [
            ProvincePolicy(
                season=target,
                province=p.province,
                withdrawable=p.withdrawable,
                phones_shielded=p.phones_shielded,
                new_gaokao=p.new_gaokao,
            )
            for p in ProvincePolicy.objects.filter(season=source).order_by("province")
            if p.province not in have
        ]
        ProvincePolicy.objects.bulk_create(policies)
        created["province_policies"] += len(policies)

        scheme = SubsidyScheme.objects.filter(season=source).order_by("-version").first()
        if scheme is not None and not SubsidyScheme.objects.filter(season=target).exists():
            SubsidyScheme.objects.create(
                season=target,
                version=1,
                params=scheme.params,
                note=f"沿用 {from_year} 年方案 v{scheme.version}",
            )
            created["subsidy_scheme"] += 1

        old_teams = list(
            Team.objects.filter(season=source)
            .select_related("leader")
            .prefetch_related("supervisors", "members")
            .order_by(*TEAM_ORDER)
        )
        team_for: dict[int, Team] = {}
        for old_team in old_teams:
            team, new = Team.objects.get_or_create(
                season=target,
                name=old_team.name,
                defaults={"kind": old_team.kind, "sort_order": old_team.sort_order},
            )
            team_for[old_team.pk] = team
            created["teams"] += int(new)

        new_callers = {c.staff_no: c for c in Caller.objects.filter(season=target)}
        users_taken = {c.user_id for c in new_callers.values()}

        def carry(old: Caller) -> Caller | None:
            """The new season's caller for `old` (matched by 工号), created if missing, in the
            team of the same name."""
            found = new_callers.get(old.staff_no)
            if found is not None:
                return found
            if old.user_id in users_taken:
                return None  # the same account already works under another 工号 this year
            values: dict[str, Any] = {f: getattr(old, f) for f in CALLER_FIELDS}
            caller = Caller.objects.create(
                season=target,
                staff_no=old.staff_no,
                team=team_for.get(old.team_id),
                qualification_status=QualificationStatus.PENDING,
                **values,
            )
            new_callers[old.staff_no] = caller
            users_taken.add(old.user_id)
            created["callers"] += 1
            return caller

        for old_team in old_teams:
            team = team_for[old_team.pk]
            if old_team.leader is not None and team.leader_id is None:
                leader = carry(old_team.leader)
                if leader is not None:
                    team.leader = leader
                    team.save(update_fields=["leader"])
            supervisors = [carry(s) for s in old_team.supervisors.all()]
            team.supervisors.add(*[s for s in supervisors if s is not None])
            if members:
                for member in sorted(old_team.members.all(), key=lambda c: c.staff_no):
                    carry(member)
    return created


class Command(BaseCommand):
    help = "新年度准备：复制小组、补贴方案、省份政策与年度目标 / Roll teams, scheme and policies over."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="from_year", type=int, required=True, help="source season year")
        parser.add_argument("--to", dest="to_year", type=int, required=True, help="new season year")
        parser.add_argument(
            "--members", action="store_true", help="也复制各组全部成员（资格审查重置为待审查）"
        )
        parser.add_argument("--dry-run", action="store_true", help="只统计，不保存")

    def handle(self, *args, from_year: int, to_year: int, members: bool, dry_run: bool, **options) -> None:
        try:
            with transaction.atomic():
                created = season_rollover(from_year=from_year, to_year=to_year, members=members)
                if dry_run:
                    raise _DryRun
        except _DryRun:
            pass
        summary = "，".join(
            f"{label} {created[key]}"
            for key, label in (
                ("season", "年度 season"),
                ("province_policies", "省份政策 policies"),
                ("subsidy_scheme", "补贴方案 scheme"),
                ("teams", "小组 teams"),
                ("callers", "回访员 callers"),
            )
        )
        prefix = "（试运行，未保存 dry run）" if dry_run else ""
        self.stdout.write(self.style.SUCCESS(f"{prefix}{from_year} → {to_year}：新建 {summary}"))
