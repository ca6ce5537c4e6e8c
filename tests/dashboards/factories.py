"""A small, fully known season for the dashboard tests (built with the shared factories)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from admissions.choices import CallbackStatus, Level
from admissions.models import Candidate, Season
from callback_office.roles import Role
from callbacks.casework_models import StrikeCaseKind, StrikeCaseStatus, WithdrawalStatus
from callbacks.models import Assignment, Caller, Team
from reports.services import snapshot_take
from supervision.choices import FindingCategory, FindingStatus
from supervision.models import AuditScore
from supervision.services import scorecard_current
from tests.casework.factories import StrikeCaseFactory, WithdrawalRequestFactory
from tests.factories import (
    AssignmentFactory,
    CallerFactory,
    CandidateFactory,
    ContactFactory,
    ProvinceFactory,
    SeasonFactory,
    TeamFactory,
)
from tests.supervision.factories import FindingFactory, ItemFactory, SampleFactory, SupervisorFactory

NOW = dt.datetime(2023, 8, 20, 10, 0, tzinfo=dt.UTC)

# (level, province, status, paid, enrolled, withdrawn, contacts, seconds, overdue follow-up)
PROFILE = [
    (Level.UNDERGRADUATE, "四川", CallbackStatus.CONFIRMED, True, True, False, 5, 1500, False),
    (Level.UNDERGRADUATE, "河南", CallbackStatus.HESITANT, False, False, False, 2, 300, True),
    (Level.JUNIOR, "四川", CallbackStatus.UNREACHABLE, False, False, False, 1, 60, False),
    (Level.JUNIOR, "河南", CallbackStatus.WITHDRAWN, False, False, True, 3, 600, False),
    (Level.UNDERGRADUATE, "四川", CallbackStatus.UNCONTACTED, False, False, False, 0, 0, False),
    (Level.UNDERGRADUATE, "河南", CallbackStatus.CONFIRMED, True, False, False, 4, 1200, True),
]


@dataclass
class Built:
    season: Season
    teams: list[Team]
    leaders: list[Caller]
    members: list[Caller]
    supervisor: Caller
    candidates: list[Candidate] = field(default_factory=list)
    previous: Season | None = None


def _candidate(season: Season, caller: Caller | None, i: int, spec: tuple, n: int) -> Candidate:
    level, province, status, paid, enrolled, withdrawn, contacts, seconds, overdue = spec
    c = CandidateFactory(
        season=season,
        province=ProvinceFactory(season=season, province=province, withdrawable=province == "河南"),
        level=level,
        status=status,
        exam_number=f"{season.year}51{n:08d}",
        batch="本科一批" if level == Level.UNDERGRADUATE else "专科批",
        major="计算机科学与技术",
        paid_on=dt.date(2023, 8, 12) if paid else None,
        enrolled_on=dt.date(2023, 8, 15) if enrolled else None,
        withdrawn_on=dt.date(2023, 8, 5) if withdrawn else None,
        contact_count=contacts,
        contact_seconds=seconds,
        last_contact_at=NOW - dt.timedelta(days=1) if contacts else None,
    )
    if caller is not None:
        AssignmentFactory(
            candidate=c,
            caller=caller,
            next_call_at=timezone.now() - dt.timedelta(hours=30)
            if overdue
            else timezone.now() + dt.timedelta(hours=5),
        )
    return c


def build_season(
    n_teams: int = 2, *, previous: bool = True, casework: bool = True, year: int = 2023
) -> Built:
    season = SeasonFactory(year=year)
    teams, leaders, members = [], [], []
    supervisor = SupervisorFactory(season=season, user__username=f"s9{year}", user__first_name="督查甲")
    n = 0
    candidates = []
    for t in range(n_teams):
        team = TeamFactory(season=season, name=f"第{t + 1}组")
        leader = CallerFactory(
            season=season,
            team=team,
            user__username=f"l{year}{t:03d}",
            user__first_name=f"组长{t + 1}",
            user__roles=[Role.CALLER, Role.LEADER],
        )
        team.leader = leader
        team.save(update_fields=["leader"])
        member = CallerFactory(
            season=season, team=team, user__username=f"c{year}{t:03d}", user__first_name=f"组员{t + 1}"
        )
        teams.append(team)
        leaders.append(leader)
        members.append(member)
        for who, specs in ((leader, PROFILE), (member, PROFILE[:4])):
            for i, spec in enumerate(specs):
                n += 1
                candidates.append(_candidate(season, who, i, spec, n))
    teams[0].supervisors.add(supervisor)
    # two unassigned candidates in the pool (the office sees them, nobody else)
    for spec in (PROFILE[4], PROFILE[0]):
        n += 1
        candidates.append(_candidate(season, None, 0, spec, n))
    built = Built(season, teams, leaders, members, supervisor, candidates)

    # supervision: two findings for team 1's member (one open, one closed), one scored record
    member = members[0]
    sample = SampleFactory(supervisor=supervisor, season=season)
    card = scorecard_current(season=season)
    items = []
    for k, (category, status) in enumerate(
        [
            (FindingCategory.POLICY, FindingStatus.OPEN),
            (FindingCategory.FORBIDDEN_PHRASE, FindingStatus.CLOSED),
        ]
    ):
        contact = ContactFactory(
            candidate=candidates[6 + k], caller=member, contacted_at=NOW - dt.timedelta(days=3 + k)
        )
        item = ItemFactory(sample=sample, contact_log=contact)
        items.append(item)
        FindingFactory(item=item, category=category, status=status)
    for k, item in enumerate(items):
        score = AuditScore.objects.create(
            item=item, supervisor=supervisor, scorecard=card, marks={}, total=Decimal("80.00") + 10 * k
        )
        AuditScore.objects.filter(pk=score.pk).update(submitted_at=NOW - dt.timedelta(days=7 * k))

    if casework:
        withdrawn = [c for c in candidates if c.status == CallbackStatus.WITHDRAWN]
        WithdrawalRequestFactory(candidate=withdrawn[0], status=WithdrawalStatus.COMPLETED)
        hesitant = [c for c in candidates if c.status == CallbackStatus.HESITANT]
        WithdrawalRequestFactory(candidate=hesitant[0], status=WithdrawalStatus.COLLECTING)
        unreachable = [c for c in candidates if c.status == CallbackStatus.UNREACHABLE]
        StrikeCaseFactory(
            candidate=unreachable[0], kind=StrikeCaseKind.UNREACHABLE, status=StrikeCaseStatus.APPROVED
        )
        StrikeCaseFactory(
            candidate=unreachable[1], kind=StrikeCaseKind.UNREACHABLE, status=StrikeCaseStatus.PENDING
        )

    for day in (dt.date(2023, 8, 6), dt.date(2023, 8, 13), dt.date(2023, 8, 19)):
        snapshot_take(season=season, day=day)

    if previous:
        prev = SeasonFactory(year=2022)
        for k, spec in enumerate(PROFILE):
            _candidate(prev, None, k, spec, 900 + k)
        snapshot_take(season=prev)  # its last nightly snapshot (the office compares with it)
        built.previous = prev
    return built


def assigned_to(caller: Caller) -> list[Candidate]:
    return list(Candidate.objects.filter(assignments__caller=caller, assignments__active=True))


def team_candidates(team: Team):
    return Candidate.objects.filter(
        id__in=Assignment.objects.filter(active=True, caller__team=team).values("candidate_id")
    )
