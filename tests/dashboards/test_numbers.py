"""Each dashboard's numbers against independent counts from the database (a factory-built season),
and a constant number of queries whatever the number of teams."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from admissions.choices import CallbackStatus, Level
from admissions.models import Candidate
from callback_office.roles import Role
from callbacks.models import Assignment, Caller
from reports import dashboards
from subsidies.engine.scheme import DEFAULT_STANDARDS
from supervision.choices import FindingStatus
from supervision.models import Finding
from tests.dashboards.factories import assigned_to, build_season, team_candidates
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def is_withdrawn(c: Candidate) -> bool:
    return c.status == CallbackStatus.WITHDRAWN or c.withdrawn_on is not None


def q5(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.00001"))


def standard(c: Candidate, which: str) -> Fraction:
    s = DEFAULT_STANDARDS[c.level]
    if c.province.withdrawable:
        value = s.withdrawable_basic if which == "basic" else s.withdrawable_target
    else:
        value = s.fixed_basic if which == "basic" else s.fixed_target
    return Fraction(value)


@pytest.fixture
def office(db):
    return UserFactory(username="office", roles=[Role.OFFICE])


# --- team lead dashboard ---------------------------------------------------------------------


def test_team_dashboard_members_match_the_database(built):
    leader = built.leaders[0]
    now = timezone.now()
    data = dashboards.team_dashboard(user=leader.user, season=built.season, now=now)
    assert data.team == built.teams[0]
    assert [t.id for t in data.teams] == [built.teams[0].id]
    assert [m.caller_id for m in data.members] == [built.members[0].id, leader.id]  # by staff number
    by_id = {m.caller_id: m for m in data.members}
    assert set(by_id) == {leader.id, built.members[0].id}
    cutoff = now - dt.timedelta(hours=24)
    for caller in (leader, built.members[0]):
        m = by_id[caller.id]
        mine = assigned_to(caller)
        admitted = [c for c in mine if not is_withdrawn(c)]
        assert m.candidates == len(mine)
        assert m.contacted == sum(1 for c in mine if c.contact_count > 0)
        assert m.contacts == sum(c.contact_count for c in mine)
        assert m.seconds == sum(c.contact_seconds for c in mine)
        assert m.status == dict(Counter(c.status for c in mine))
        assert m.admitted == len(admitted)
        assert m.paid == sum(1 for c in admitted if c.paid_on)
        assert m.enrolled == sum(1 for c in admitted if c.enrolled_on)
        assert (
            m.overdue
            == Assignment.objects.filter(caller=caller, active=True, next_call_at__lt=cutoff).count()
        )
        assert (
            m.open_findings
            == Finding.objects.filter(caller=caller, status__in=FindingStatus.unresolved()).count()
        )
        assert m.payment_rate == q5(m.paid, m.admitted)
        assert m.enrollment_rate == q5(m.enrolled, m.admitted)
        basic = sum(standard(c, "basic") for c in admitted) / len(admitted)
        target = sum(standard(c, "target") for c in admitted) / len(admitted)
        assert m.basic == (Decimal(basic.numerator) / basic.denominator).quantize(Decimal("0.00001"))
        assert m.target == (Decimal(target.numerator) / target.denominator).quantize(Decimal("0.00001"))

    leader_row = by_id[leader.id]
    # the leader: 6 candidates (4 本科 admitted, 1 enrolled; 2 专科, 1 withdrawn)
    assert (leader_row.candidates, leader_row.contacted, leader_row.contacts) == (6, 5, 15)
    assert leader_row.minutes == Decimal("61.0")
    assert leader_row.avg_contacts == Decimal("2.5") and leader_row.avg_minutes == Decimal("10.2")
    assert (leader_row.admitted, leader_row.paid, leader_row.enrolled, leader_row.overdue) == (5, 2, 1, 2)
    ug = next(t for t in leader_row.tiers if t.level == Level.UNDERGRADUATE)
    # 1 of 4 enrolled (25%) is below every tier; 3 more make 100%: tier >99.00% at 55 yuan +
    # 10 steps of 0.1% × 0.5 yuan = 60 yuan × 4 = 240 yuan
    assert (ug.tier, ug.amount, ug.more, ug.next_tier, ug.gain) == (
        "",
        Decimal("0.00"),
        3,
        ">99.00%",
        Decimal("240.00"),
    )
    assert "再报到 3 人升至 >99.00%" in ug.describe()

    total = data.total
    team = list(team_candidates(built.teams[0]))
    assert total.candidates == len(team) == 10
    assert total.overdue == 3
    assert total.open_findings == 1
    assert total.status == dict(Counter(c.status for c in team))


def test_team_dashboard_trend_is_the_weekly_snapshots(built):
    data = dashboards.team_dashboard(user=built.leaders[1].user, season=built.season)
    assert data.team == built.teams[1]
    assert [s.day for s in data.trend] == [dt.date(2023, 8, 6), dt.date(2023, 8, 13), dt.date(2023, 8, 19)]
    last = data.trend[-1]
    team = list(team_candidates(built.teams[1]))
    admitted = [c for c in team if not is_withdrawn(c)]
    assert last.admitted == len(admitted)
    assert last.enrolled == sum(1 for c in admitted if c.enrolled_on)
    trend_table = next(t for t in data.tables if t.key == "trend")
    assert [row[0] for row in trend_table.rows] == [s.day for s in data.trend]
    assert data.charts["team-trend"]["labels"] == ["2023-08-06", "2023-08-13", "2023-08-19"]
    member_trend = next(t for t in data.tables if t.key == "member_trend")
    assert [c.label for c in member_trend.columns[1:]] == ["2023-08-06", "2023-08-13", "2023-08-19"]
    for m, row in zip(data.members, member_trend.rows, strict=True):
        mine = [c for c in assigned_to(Caller.objects.get(pk=m.caller_id)) if not is_withdrawn(c)]
        enrolled_by_19 = sum(1 for c in mine if c.enrolled_on and c.enrolled_on <= dt.date(2023, 8, 19))
        assert row[0] == m.name
        assert row[-1] == q5(enrolled_by_19, len(mine))
        assert row[1] == Decimal("0")  # nobody had registered on 08-06


def test_team_dashboard_scope(built, office):
    sup = built.supervisor.user
    assert [t.id for t in dashboards.team_dashboard(user=sup, season=built.season).teams] == [
        built.teams[0].id
    ]
    assert dashboards.team_dashboard(user=sup, season=built.season, team_id=built.teams[1].id) is None
    assert (
        dashboards.team_dashboard(user=built.leaders[0].user, season=built.season, team_id=built.teams[1].id)
        is None
    )
    assert dashboards.team_dashboard(user=built.members[0].user, season=built.season) is None
    data = dashboards.team_dashboard(user=office, season=built.season, team_id=built.teams[1].id)
    assert data.team == built.teams[1] and len(data.teams) == 2


# --- office dashboard ------------------------------------------------------------------------


def test_office_dashboard_matches_the_database(built):
    season = built.season
    data = dashboards.office_dashboard(season=season, today=dt.date(2023, 8, 20))
    all_c = list(Candidate.objects.filter(season=season).select_related("province"))
    admitted = [c for c in all_c if not is_withdrawn(c)]
    reached = [c for c in all_c if c.status not in (CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE)]
    f = data.funnel
    assert f.filed == len(all_c) == 22
    assert f.reached == len(reached)
    assert f.confirmed == sum(1 for c in all_c if c.status == CallbackStatus.CONFIRMED)
    assert f.paid == sum(1 for c in admitted if c.paid_on)
    assert f.enrolled == sum(1 for c in admitted if c.enrolled_on)
    assert (f.filed, f.reached, f.confirmed, f.paid, f.enrolled) == (22, 15, 7, 7, 5)

    for lv in data.levels:
        mine = [c for c in admitted if c.level == lv["level"]]
        assert lv["admitted"] == len(mine)
        assert lv["enrolled"] == sum(1 for c in mine if c.enrolled_on)
        assert lv["enrollment_rate"] == q5(lv["enrolled"], lv["admitted"])
        assert (lv["basic"], lv["target"]) == season.targets(lv["level"])
    ug = next(lv for lv in data.levels if lv["level"] == Level.UNDERGRADUATE)
    assert (ug["basic"], ug["target"]) == (Decimal("0.98"), Decimal("0.985"))

    # 2023-08-20 is more than a week after admission ends (08-10) and more than a week before
    # payment closes (09-01): stage 2, target 60%
    assert data.stage == (2, Decimal("0.60"))
    assert [s[2] for s in data.stages] == [False, True, False]
    assert data.payment_rate == q5(len([c for c in admitted if c.paid_on]), len(admitted))

    prev = Candidate.objects.filter(season=built.previous)
    assert data.previous == built.previous
    assert data.previous_funnel.filed == prev.count() == 6
    assert (
        data.previous_funnel.enrolled
        == prev.filter(enrolled_on__isnull=False).exclude(status=CallbackStatus.WITHDRAWN).count()
    )

    teams = {row[0]: row for row in next(t for t in data.tables if t.key == "teams").rows}
    for team in built.teams:
        row = teams[team.name]
        tc = list(team_candidates(team))
        ta = [c for c in tc if not is_withdrawn(c)]
        assert row[1] == len(tc) and row[3] == len(ta) and row[5] == sum(1 for c in ta if c.enrolled_on)
    assert teams["第1组"][7:10] == [2, 1, 0]  # audited records, open findings, incidents
    assert teams["第2组"][7:10] == [0, 0, 0]

    provinces = {row[0]: row for row in next(t for t in data.tables if t.key == "provinces").rows}
    for name in ("四川", "河南"):
        pc = [c for c in all_c if c.province.province == name]
        pa = [c for c in pc if not is_withdrawn(c)]
        row = provinces[name]
        assert row[2] == len(pc)
        assert row[4] == len(pc) - len(pa)
        assert row[6] == sum(1 for c in pa if c.enrolled_on)
        assert row[7] == sum(1 for c in pa if not c.enrolled_on)

    assert data.withdrawals_open == 1
    assert data.withdrawals_completed == sum(1 for c in all_c if is_withdrawn(c)) == 4
    assert data.strike == {"pending": 1, "awaiting_verification": 0, "queue": 1, "taken": 0, "closed": 0}
    funnel_chart = data.charts["funnel"]
    assert funnel_chart["datasets"][0]["data"] == [22.0, 15.0, 7.0, 7.0, 5.0]
    assert funnel_chart["datasets"][1]["label"] == "2022"


def test_office_dashboard_without_previous_season(db):
    built = build_season(previous=False, casework=False)
    data = dashboards.office_dashboard(season=built.season)
    assert data.previous is None and data.previous_funnel is None
    assert len(data.charts["funnel"]["datasets"]) == 1
    assert data.withdrawals_open == 0 and data.strike["queue"] == 0


# --- supervisor dashboard --------------------------------------------------------------------


def test_supervisor_dashboard_matches_the_database(built):
    data = dashboards.supervisor_dashboard(user=built.supervisor.user, season=built.season)
    assert data.teams == [built.teams[0]]
    samples = {row[0]: row for row in data.tables[0].rows}
    assert samples["第1组"] == ["第1组", 2, 2, Decimal("85.0")]
    weeks = data.tables[1].rows
    assert [row[1] for row in weeks] == [1, 1]
    assert [row[2] for row in weeks] == [Decimal("90.0"), Decimal("80.0")]
    categories = {row[0]: row[1:] for row in data.tables[2].rows}
    assert categories == {"政策讲解": [1, 1], "禁用语": [1, 0]}
    repeated = data.tables[3].rows
    member = built.members[0]
    assert repeated == [[member.staff_no, member.name, "第1组", 2, 1, 2]]
    assert (data.scored, data.findings, data.open_findings) == (2, 2, 1)


def test_supervisor_of_no_team_sees_nothing(built):
    from tests.supervision.factories import SupervisorFactory

    other = SupervisorFactory(season=built.season, user__username="s9002")
    data = dashboards.supervisor_dashboard(user=other.user, season=built.season)
    assert data.teams == [] and data.findings == 0 and all(not t.rows for t in data.tables)


# --- province lists --------------------------------------------------------------------------


def test_no_show_list_is_admitted_not_enrolled(built, office):
    rows = list(dashboards.no_shows(user=office, season=built.season, province="河南"))
    expected = (
        Candidate.objects.filter(season=built.season, province__province="河南", enrolled_on__isnull=True)
        .exclude(status=CallbackStatus.WITHDRAWN)
        .exclude(withdrawn_on__isnull=False)
        .order_by("exam_number")
    )
    assert [c.exam_number for c in rows] == [c.exam_number for c in expected]
    assert len(rows) == 6
    table = dashboards.candidate_table("x", rows, user=office)
    assert table.rows[0][2] == rows[0].id_number  # office: full ID number
    assert table.rows[0][8]  # the caller's name


# --- query counts ----------------------------------------------------------------------------


def _selector(kind: str, built, user):
    season = built.season
    if kind == "team":
        return dashboards.team_dashboard(user=user, season=season, team_id=built.teams[-1].id)
    if kind == "office":
        return dashboards.office_dashboard(season=season)
    if kind == "supervisor":
        return dashboards.supervisor_dashboard(user=user, season=season)
    return dashboards.province_summary(user=user, season=season)


@pytest.mark.parametrize(("kind", "limit"), [("team", 9), ("office", 9), ("supervisor", 7), ("provinces", 3)])
def test_constant_queries_for_2_and_6_teams(kind, limit, django_assert_max_num_queries):
    counts = []
    for n_teams, year in ((2, 2023), (6, 2025)):
        built = build_season(n_teams, previous=year == 2023, year=year)
        office = UserFactory(username=f"office{n_teams}", roles=[Role.OFFICE])
        with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(limit):
            _selector(kind, built, office)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# page: (url, queries including session, user, roles and menu)
PAGES = {
    "team": ("/reports/dashboards/team/?season={year}", 12),
    "office": ("/reports/dashboards/office/?season={year}", 13),
    "supervisor": ("/reports/dashboards/supervision/?season={year}", 10),
    "provinces": ("/reports/provinces/?season={year}", 7),
    "drilldown": ("/reports/dashboards/candidates/?season={year}&stage=noshow", 7),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_pages_take_the_same_queries_for_2_and_6_teams(name, client, django_assert_max_num_queries):
    counts = []
    for n_teams, year in ((2, 2023), (6, 2025)):
        build_season(n_teams, previous=year == 2023, year=year)
        office = UserFactory(username=f"office{n_teams}", roles=[Role.OFFICE])
        client.force_login(office)
        url, limit = PAGES[name]
        with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(limit):
            response = client.get(url.format(year=year))
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_office_counts_are_cached_and_refreshable(built, django_assert_max_num_queries):
    first = dashboards.office_dashboard(season=built.season)
    confirmed_unenrolled = Candidate.objects.filter(
        season=built.season, status=CallbackStatus.CONFIRMED, enrolled_on__isnull=True
    )
    newly = confirmed_unenrolled.update(enrolled_on=dt.date(2023, 8, 21))
    assert newly == 2
    with django_assert_max_num_queries(8):  # season-wide: the snapshot's; last season's: cached
        again = dashboards.office_dashboard(season=built.season)
    assert again.funnel.enrolled == first.funnel.enrolled
    fresh = dashboards.office_dashboard(season=built.season, refresh=True)
    assert fresh.funnel.enrolled == first.funnel.enrolled + 2


def test_cache_can_be_switched_off(built, settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    first = dashboards.office_dashboard(season=built.season)
    Candidate.objects.filter(season=built.season, status=CallbackStatus.UNCONTACTED).update(
        status=CallbackStatus.CONFIRMED
    )
    assert dashboards.office_dashboard(season=built.season).funnel.confirmed == first.funnel.confirmed + 3
