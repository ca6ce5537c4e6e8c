"""season_rollover: teams, scheme, province policies and targets into the next year."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from admissions.models import ProvincePolicy, Season
from callbacks.choices import CallerKind, QualificationStatus, TeamKind
from callbacks.models import Caller, Team
from subsidies.models import SubsidyScheme
from tests.factories import CallerFactory, CandidateFactory, ProvinceFactory, SeasonFactory, TeamFactory

pytestmark = pytest.mark.sqlite


@pytest.fixture
def last_year(db):
    season = SeasonFactory(year=2023, undergrad_target=Decimal("0.99"), stage1_payment_target=Decimal("0.25"))
    ProvinceFactory(season=season, province="四川", withdrawable=False, phones_shielded=False)
    ProvinceFactory(season=season, province="江苏", withdrawable=True, phones_shielded=True, new_gaokao=True)
    SubsidyScheme.objects.create(season=season, version=1, params={"v": 1})
    SubsidyScheme.objects.create(season=season, version=2, params={"v": 2, "daily": "30"})
    first = TeamFactory(season=season, name="第一组")
    supervision = TeamFactory(season=season, name="督查组", kind=TeamKind.SUPERVISION)
    leader = CallerFactory(season=season, team=first, user__username="1001", department="文学院")
    CallerFactory(season=season, team=first, user__username="1002", kind=CallerKind.STUDENT)
    CallerFactory(season=season, team=first, user__username="1003", qualification_status="rejected")
    supervisor = CallerFactory(season=season, team=supervision, user__username="9001", is_supervisor=True)
    first.leader = leader
    first.save()
    first.supervisors.add(supervisor)
    CandidateFactory(season=season)
    return season


def run(*args: str) -> str:
    out = StringIO()
    call_command("season_rollover", *args, stdout=out)
    return out.getvalue()


def test_rollover_into_a_new_season(last_year):
    output = run("--from", "2023", "--to", "2024")
    assert "年度 season 1，省份政策 policies 2，补贴方案 scheme 1，小组 teams 2，回访员 callers 2" in output

    new = Season.objects.get(year=2024)
    assert new.undergrad_target == Decimal("0.99")
    assert new.stage1_payment_target == Decimal("0.25")
    assert new.junior_target == last_year.junior_target
    assert (new.admission_start, new.admission_end, new.payment_close, new.registration_date) == (
        None,
        None,
        None,
        None,
    )
    assert list(
        ProvincePolicy.objects.filter(season=new)
        .order_by("province")
        .values_list("province", "withdrawable", "phones_shielded", "new_gaokao")
    ) == [("四川", False, False, False), ("江苏", True, True, True)]
    scheme = SubsidyScheme.objects.get(season=new)
    assert (scheme.version, scheme.params) == (1, {"v": 2, "daily": "30"})
    assert scheme.note == "沿用 2023 年方案 v2"

    teams = {t.name: t for t in Team.objects.filter(season=new)}
    assert {n: t.kind for n, t in teams.items()} == {"第一组": "regular", "督查组": "supervision"}
    leader = teams["第一组"].leader
    assert (leader.staff_no, leader.season, leader.team, leader.department) == (
        "1001",
        new,
        teams["第一组"],
        "文学院",
    )
    assert leader.qualification_status == QualificationStatus.PENDING
    assert leader.user == Caller.objects.get(season=last_year, staff_no="1001").user
    [supervisor] = teams["第一组"].supervisors.all()
    assert (supervisor.staff_no, supervisor.is_supervisor, supervisor.team) == ("9001", True, teams["督查组"])
    assert supervisor.qualification_status == QualificationStatus.PENDING
    # members are not copied without --members, and nothing of the season's work is
    assert sorted(Caller.objects.filter(season=new).values_list("staff_no", flat=True)) == ["1001", "9001"]
    assert new.candidates.count() == 0


def test_existing_callers_are_matched_by_staff_no(last_year):
    new = SeasonFactory(year=2024, admission_start=dt.date(2024, 7, 9), undergrad_target=Decimal("0.97"))
    existing = CallerFactory(season=new, team=None, user__username="1001-2024", staff_no="1001")
    ProvinceFactory(season=new, province="四川", withdrawable=True)

    run("--from", "2023", "--to", "2024")

    new.refresh_from_db()
    # an existing season keeps its own dates and targets, and its own policies
    assert new.admission_start == dt.date(2024, 7, 9)
    assert new.undergrad_target == Decimal("0.97")
    assert ProvincePolicy.objects.get(season=new, province="四川").withdrawable is True
    assert ProvincePolicy.objects.filter(season=new).count() == 2
    team = Team.objects.get(season=new, name="第一组")
    assert team.leader == existing
    existing.refresh_from_db()
    assert existing.qualification_status == QualificationStatus.QUALIFIED


def test_members_rollover_and_idempotence(last_year):
    run("--from", "2023", "--to", "2024", "--members")
    new = Season.objects.get(year=2024)
    callers = {c.staff_no: c for c in Caller.objects.filter(season=new).select_related("team")}
    assert sorted(callers) == ["1001", "1002", "1003", "9001"]
    assert {c.qualification_status for c in callers.values()} == {QualificationStatus.PENDING}
    assert callers["1002"].kind == CallerKind.STUDENT
    assert callers["1002"].team.name == "第一组"

    counts = (
        Season.objects.count(),
        ProvincePolicy.objects.count(),
        SubsidyScheme.objects.count(),
        Team.objects.count(),
        Caller.objects.count(),
    )
    output = run("--from", "2023", "--to", "2024", "--members")
    assert "年度 season 0，省份政策 policies 0，补贴方案 scheme 0，小组 teams 0，回访员 callers 0" in output
    assert counts == (
        Season.objects.count(),
        ProvincePolicy.objects.count(),
        SubsidyScheme.objects.count(),
        Team.objects.count(),
        Caller.objects.count(),
    )


def test_dry_run_saves_nothing(last_year):
    output = run("--from", "2023", "--to", "2024", "--dry-run")
    assert "试运行" in output
    assert "小组 teams 2" in output
    assert not Season.objects.filter(year=2024).exists()


def test_unknown_source_season(db):
    with pytest.raises(CommandError, match="2019"):
        run("--from", "2019", "--to", "2020")
    SeasonFactory(year=2023)
    with pytest.raises(CommandError):
        run("--from", "2023", "--to", "2023")
