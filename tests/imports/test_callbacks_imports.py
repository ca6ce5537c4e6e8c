"""Roster (users, callers, teams, roles), attendance, and candidates' 回访员工号 pre-assignment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from admissions.models import Candidate
from callback_office.importing import import_file
from callback_office.roles import Role, roles_of
from callbacks.choices import AssignmentSource, CallerKind, QualificationStatus, TeamKind
from callbacks.models import Assignment, Attendance, Caller, Team
from tests.factories import AssignmentFactory, CallerFactory, UserFactory
from tests.imports.conftest import candidate_row, kind_xlsx, roster_row

pytestmark = pytest.mark.django_db


def run(kind, rows, *, year=2023, dry_run=False, **kwargs):
    return import_file(kind, kind_xlsx(kind, rows, **kwargs), season_year=year, dry_run=dry_run)


def errors(result) -> list[str]:
    return [str(e) for e in result.errors]


def group_names(username: str) -> set[str]:
    return set(User.objects.get(username=username).groups.values_list("name", flat=True))


def team_rows(team: str, prefix: str, size: int = 8, *, leader_index: int | None = 0) -> list[list]:
    return [
        roster_row(f"{prefix}{i:02d}", f"{team}成员{i}", team, leader="是" if i == leader_index else "否")
        for i in range(size)
    ]


ROSTER = [
    *team_rows("第一组", "A"),
    *team_rows("第二组", "B"),
    roster_row("S01", "督查甲", "第一组、第二组", supervisor="是"),
    roster_row("S02", "督查乙", "第二组", supervisor="是"),
    roster_row(
        "K01", "突击甲", "突击组", strike="是", kind="职工", u_rate=0.975, j_rate="93.5%", excellent="是"
    ),
]
ROSTER[3][8] = 0.99  # A03's last-year undergraduate rate as an Excel percent cell
ROSTER[3][9] = "95%"


@pytest.mark.sqlite
def test_roster_creates_users_callers_teams_and_roles():
    result = run("roster", ROSTER, formats={(5, 9): "0.0%"})
    assert result.committed, errors(result)
    assert (result.created, result.details["新建账号"], result.details["新建小组"]) == (19, 19, 3)
    assert result.warnings == []

    season_teams = {t.name: t for t in Team.objects.filter(season__year=2023)}
    assert {n: t.kind for n, t in season_teams.items()} == {
        "第一组": TeamKind.REGULAR,
        "第二组": TeamKind.REGULAR,
        "突击组": TeamKind.STRIKE,
    }
    first = season_teams["第一组"]
    assert first.leader.staff_no == "A00"
    assert first.members.count() == 8
    assert set(first.supervisors.values_list("staff_no", flat=True)) == {"S01"}
    assert set(season_teams["第二组"].supervisors.values_list("staff_no", flat=True)) == {"S01", "S02"}

    supervisor = Caller.objects.get(staff_no="S01")
    assert (supervisor.team, supervisor.is_supervisor) == (None, True)
    striker = Caller.objects.get(staff_no="K01")
    assert (striker.team.name, striker.is_strike, striker.kind, striker.prev_excellent) == (
        "突击组",
        True,
        CallerKind.STAFF,
        True,
    )
    assert (striker.prev_undergrad_rate, striker.prev_junior_rate) == (Decimal("0.975"), Decimal("0.935"))
    a03 = Caller.objects.get(staff_no="A03")
    assert (a03.prev_undergrad_rate, a03.prev_junior_rate) == (Decimal("0.99"), Decimal("0.95"))
    assert a03.qualification_status == QualificationStatus.PENDING
    assert (a03.user.username, a03.user.first_name, a03.user.has_usable_password()) == (
        "A03",
        "第一组成员3",
        False,
    )

    assert group_names("A00") == {Role.CALLER, Role.LEADER}
    assert group_names("A01") == {Role.CALLER}
    assert group_names("S01") == {Role.SUPERVISOR}
    assert group_names("K01") == {Role.CALLER, Role.STRIKE}
    assert roles_of(User.objects.get(username="A00")) == frozenset({Role.CALLER, Role.LEADER})


@pytest.mark.sqlite
def test_roster_reimport_is_idempotent_and_keeps_roles_in_step():
    run("roster", ROSTER)
    again = run("roster", ROSTER)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 19)
    assert (again.details["新建账号"], again.details["新建小组"]) == (0, 0)
    assert (User.objects.count(), Caller.objects.count(), Team.objects.count()) == (19, 19, 3)
    assert User.groups.through.objects.count() == 19 + 2 + 1  # everyone one role, leaders and the striker two

    changed = [list(r) for r in ROSTER]
    changed[0][5] = "否"  # A00 is no longer leader of 第一组 ...
    changed[1][5] = "是"  # ... A01 is
    changed[2][4] = "第二组"  # A02 moves to 第二组
    changed[16] = roster_row("S01", "督查甲", "第一组", supervisor="是")  # S01 keeps only 第一组
    result = run("roster", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 4, 15)  # A00, A01, A02, S01
    assert Team.objects.get(name="第一组").leader.staff_no == "A01"
    assert group_names("A00") == {Role.CALLER}
    assert group_names("A01") == {Role.CALLER, Role.LEADER}
    assert Caller.objects.get(staff_no="A02").team.name == "第二组"
    assert set(Team.objects.get(name="第二组").supervisors.values_list("staff_no", flat=True)) == {"S02"}
    assert result.warnings == ["小组“第一组”名单中有 7 人，通常为 8–13 人"]  # 第二组 has 9: fine


def test_roster_never_touches_the_office_role_and_reuses_existing_users():
    UserFactory(username="A00", first_name="旧名", roles=[Role.OFFICE])
    run("roster", ROSTER)
    assert group_names("A00") == {Role.OFFICE, Role.CALLER, Role.LEADER}
    assert User.objects.get(username="A00").first_name == "第一组成员0"
    assert User.objects.count() == 19


def test_roster_errors_two_leaders_unknown_supervised_team_missing_team():
    rows = [
        *team_rows("第一组", "A"),
        roster_row("A99", "第二个组长", "第一组", leader="是"),
        roster_row("S01", "督查甲", "第一组、第九组", supervisor="是"),
        roster_row("X01", "无组", ""),
        roster_row("X02", "两组", "第一组、第二组"),
    ]
    result = run("roster", rows)
    assert errors(result) == [
        "第10行「是否组长」：小组“第一组”已有组长（第2行）",
        "第11行「小组」：督查的小组“第九组”不存在（名单中没有该组的组员）",
        "第12行「小组」：应填写且只填写一个小组",
        "第13行「小组」：应填写且只填写一个小组",
    ]
    assert (User.objects.count(), Caller.objects.count(), Team.objects.count()) == (0, 0, 0)


def test_duplicate_staff_no_in_roster():
    result = run("roster", [roster_row("A1", "甲", "第一组"), roster_row("A1", "乙", "第一组")])
    assert errors(result) == ["第3行「工号」：工号“A1”与第2行重复"]


# --- attendance -------------------------------------------------------------------------------------


@pytest.fixture
def roster_2023(db):
    result = run("roster", ROSTER)
    assert result.committed
    return result


@pytest.mark.sqlite
def test_attendance_happy_path_and_reimport(roster_2023):
    rows = [["A00", "2023-07-15"], ["A00", dt.date(2023, 7, 16)], ["K01", "2023-07-15"]]
    result = run("attendance", rows)
    assert (result.created, result.unchanged) == (3, 0)
    assert set(Attendance.objects.values_list("caller__staff_no", "day")) == {
        ("A00", dt.date(2023, 7, 15)),
        ("A00", dt.date(2023, 7, 16)),
        ("K01", dt.date(2023, 7, 15)),
    }
    again = run("attendance", [*rows, ["A01", "2023-07-15"]])
    assert (again.created, again.unchanged) == (1, 3)
    assert Attendance.objects.count() == 4


def test_attendance_unknown_staff_no_and_duplicate_day(roster_2023):
    rows = [["A00", "2023-07-15"], ["Z99", "2023-07-15"], ["A00", "2023-07-15"]]
    result = run("attendance", rows)
    assert errors(result) == [
        "第3行「工号」：未知工号“Z99”：2023年度回访人员名单中没有，请先导入回访人员名单",
        "第4行「工号」：工号+日期“A00 2023-07-15”与第2行重复",
    ]
    assert Attendance.objects.count() == 0


def test_attendance_checks_staff_no_against_the_given_season(roster_2023):
    result = run("attendance", [["A00", "2023-07-15"]], year=2024)
    assert [e.column for e in result.errors] == ["工号"]


# --- pre-assignment ---------------------------------------------------------------------------------


@pytest.fixture
def ready_2023(roster_2023, policies_2023):
    """The roster imported and every caller through the qualification review (资格审查)."""
    Caller.objects.update(qualification_status=QualificationStatus.QUALIFIED)
    return roster_2023


@pytest.mark.sqlite
def test_candidates_with_staff_no_are_preassigned(ready_2023):
    rows = [candidate_row(1, staff_no="A01"), candidate_row(2, staff_no="A02"), candidate_row(3)]
    result = run("candidates", rows)
    assert result.committed, errors(result)
    assert (result.details["新预分配"], result.details["预分配未变"]) == (2, 0)
    assert result.warnings == []
    got = set(
        Assignment.objects.values_list("candidate__exam_number", "caller__staff_no", "source", "active")
    )
    assert got == {
        ("23510101000001", "A01", AssignmentSource.IMPORT, True),
        ("23510101000002", "A02", AssignmentSource.IMPORT, True),
    }

    again = run("candidates", rows)
    assert (again.details["新预分配"], again.details["预分配未变"]) == (0, 2)
    assert Assignment.objects.count() == 2


@pytest.mark.sqlite
def test_preassigned_candidates_leave_the_pool(ready_2023):
    """A released candidate pre-assigned by a later import is no longer claimable."""
    from admissions.models import Candidate

    run("candidates", [candidate_row(1), candidate_row(2)])
    Candidate.objects.update(in_pool=True)  # released into the pool
    result = run("candidates", [candidate_row(1, staff_no="A01"), candidate_row(2)])
    assert result.committed, errors(result)
    assert dict(Candidate.objects.values_list("exam_number", "in_pool")) == {
        "23510101000001": False,
        "23510101000002": True,
    }


def test_preassignment_moves_import_assignments_but_keeps_others(ready_2023):
    run("candidates", [candidate_row(1, staff_no="A01"), candidate_row(2)])
    office_assigned = AssignmentFactory(
        candidate=Candidate.objects.get(exam_number="23510101000002"),
        caller=Caller.objects.get(staff_no="B01"),
        source=AssignmentSource.OFFICE,
    )
    result = run("candidates", [candidate_row(1, staff_no="A05"), candidate_row(2, staff_no="A05")])
    assert result.committed
    assert result.details["新预分配"] == 1
    assert "第3行：考生已由其他方式分配给回访员，保持原分配" in result.warnings
    first = Assignment.objects.filter(candidate__exam_number="23510101000001")
    assert set(first.values_list("caller__staff_no", "active", "ended_reason")) == {
        ("A01", False, "名单重新分配"),
        ("A05", True, ""),
    }
    office_assigned.refresh_from_db()
    assert office_assigned.active


def test_unknown_caller_staff_no_rejects_the_whole_file(ready_2023):
    result = run("candidates", [candidate_row(1, staff_no="A01"), candidate_row(2, staff_no="NOPE")])
    assert errors(result) == [
        "第3行「回访员工号」：未知工号“NOPE”：2023年度回访人员名单中没有，请先导入回访人员名单"
    ]
    assert Candidate.objects.count() == 0
    assert Assignment.objects.count() == 0


def test_qualified_callers_give_no_warning(ready_2023):
    CallerFactory(season=Caller.objects.first().season, user__username="Q01", team=None)
    result = run("candidates", [candidate_row(1, staff_no="Q01")])
    assert result.warnings == []
    assert Group.objects.filter(name=Role.CALLER).exists()


def test_preassignment_to_unreviewed_or_rejected_callers_rejects_the_whole_file(ready_2023):
    """The qualification gate (issue 5): pre-assignment is an assignment, so a caller who has not
    passed the review gets none — an error naming the row and the column, in both languages."""
    Caller.objects.filter(staff_no="A01").update(qualification_status=QualificationStatus.PENDING)
    Caller.objects.filter(staff_no="A02").update(qualification_status=QualificationStatus.REJECTED)
    rows = [
        candidate_row(1, staff_no="A05"),
        candidate_row(2, staff_no="A01"),
        candidate_row(3, staff_no="A02"),
    ]
    result = run("candidates", rows)
    assert not result.committed
    assert errors(result) == [
        "第3行「回访员工号」：回访员“A01”尚未完成资格审查，不能预分配考生：请先完成资格审查，或改填已通过审查的回访员",
        "第4行「回访员工号」：回访员“A02”资格审查未通过，不能预分配考生：请先完成资格审查，或改填已通过审查的回访员",
    ]
    english = [e.as_english() for e in result.errors]
    assert english[0].startswith("row 3")
    assert "'A01' has not been through the qualification review yet" in english[0]
    assert "'A02' failed the qualification review" in english[1]
    assert Candidate.objects.count() == 0
    assert Assignment.objects.count() == 0

    Caller.objects.filter(staff_no__in=["A01", "A02"]).update(
        qualification_status=QualificationStatus.QUALIFIED
    )
    assert run("candidates", rows).committed
    assert Assignment.objects.filter(active=True).count() == 3


def test_preassigning_200_candidates_uses_a_constant_number_of_queries(ready_2023):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(numbers):
        rows = [candidate_row(n, staff_no=f"A{n % 8:02d}") for n in numbers]
        with CaptureQueriesContext(connection) as ctx:
            result = run("candidates", rows)
        assert result.committed, errors(result)
        assert result.details["新预分配"] == len(rows)
        return len(ctx.captured_queries)

    assert count(range(1, 21)) == count(range(1001, 1201)) <= 20
    assert Assignment.objects.filter(active=True, source=AssignmentSource.IMPORT).count() == 220
