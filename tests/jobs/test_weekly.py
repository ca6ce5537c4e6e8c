"""Weekly team reports: numbers equal independent counts; archive access; run_job command."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from freezegun import freeze_time
from openpyxl import load_workbook

from admissions.choices import CallbackStatus
from admissions.models import Candidate
from callback_office.roles import Role
from callbacks.choices import Intent, Outcome
from callbacks.models import Assignment, ContactLog
from reports.models import WeeklyReport
from tests.factories import (
    AssignmentFactory,
    CallerFactory,
    CandidateFactory,
    ContactFactory,
    ProvinceFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
WEEK = dt.date(2023, 8, 7)

pytestmark = pytest.mark.sqlite  # DB-agnostic: also run against SQLite


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2023, 8, day, hour, tzinfo=TZ)


@pytest.fixture
def week(season, caller, leader, outsider, monkeypatch):
    import supervision.selectors

    monkeypatch.setattr(supervision.selectors, "open_findings_by_caller", lambda *, season: {caller.pk: 2})
    k = {}
    k[1] = CandidateFactory(
        season=season,
        name="犹豫甲",
        exam_number="K1",
        status=CallbackStatus.HESITANT,
        contact_count=4,
        contact_seconds=1500,
    )
    k[2] = CandidateFactory(
        season=season,
        name="失联乙",
        exam_number="K2",
        status=CallbackStatus.UNREACHABLE,
        contact_count=2,
        contact_seconds=300,
    )
    k[3] = CandidateFactory(
        season=season,
        name="确认丙",
        exam_number="K3",
        status=CallbackStatus.CONFIRMED,
        paid_on=dt.date(2023, 8, 5),
        contact_count=6,
        contact_seconds=1800,
    )
    k[4] = CandidateFactory(season=season, exam_number="K4", contact_count=1, contact_seconds=60)
    k[5] = CandidateFactory(season=season, exam_number="K5")
    for i in (1, 2, 3):
        AssignmentFactory(candidate=k[i], caller=caller)
    AssignmentFactory(candidate=k[4], caller=leader)
    AssignmentFactory(candidate=k[5], caller=outsider)
    ContactFactory(
        candidate=k[1], caller=caller, contacted_at=at(8, 10), duration_seconds=300, intent=Intent.HESITANT
    )
    ContactFactory(
        candidate=k[3], caller=caller, contacted_at=at(9, 10), duration_seconds=600, intent=Intent.CONFIRMED
    )
    ContactFactory(
        candidate=k[3], caller=caller, contacted_at=at(10, 10), duration_seconds=120, intent=Intent.CONFIRMED
    )
    ContactFactory(
        candidate=k[2], caller=caller, contacted_at=at(13, 23), duration_seconds=60, outcome=Outcome.NO_ANSWER
    )
    ContactFactory(candidate=k[1], caller=caller, contacted_at=at(14, 0), duration_seconds=100)  # next week
    ContactFactory(candidate=k[1], caller=caller, contacted_at=at(6, 23), duration_seconds=100)  # last week
    return k


def generate() -> None:
    call_command("run_job", "weekly_reports", "--season", "2023", "--week", WEEK.isoformat())


def test_weekly_report_numbers_equal_independent_counts(season, caller, leader, team, week):
    generate()
    report = WeeklyReport.objects.get(team=team, week_start=WEEK)
    members = {m["staff_no"]: m for m in report.data["members"]}
    assert set(members) == {caller.staff_no, leader.staff_no}
    m = members[caller.staff_no]

    in_week = ContactLog.objects.filter(caller=caller, contacted_at__gte=at(7, 0), contacted_at__lt=at(14, 0))
    assert m["contacts_week"] == in_week.count() == 4
    assert (
        m["minutes_week"] == str(round(in_week.aggregate(s=Sum("duration_seconds"))["s"] / 60, 1)) == "18.0"
    )
    # the fixture's contacts state intents but were inserted directly (no status moved, no audit
    # entry): stating an intent is not a status change
    assert in_week.exclude(intent=Intent.NONE).count() == 3
    assert (m["status_changes"], m["status_changes_total"]) == ({}, 0)
    assert (m["candidates"], m["admitted"], m["paid"], m["enrolled"]) == (3, 3, 1, 0)
    assert (m["avg_contacts"], m["avg_minutes"], m["below_minimum"]) == ("4.0", "20.0", False)
    assert m["payment_rate"] == "0.33333"
    assert m["enrollment_target"] == "0.98000"
    assert m["hesitant"] == [{"name": "犹豫甲", "exam_number": "K1"}]
    assert m["unreachable"] == [{"name": "失联乙", "exam_number": "K2"}]
    assert m["open_findings"] == 2
    assert report.data["stage"] == 1 and report.data["payment_target"] == "0.20000"
    lm = members[leader.staff_no]
    assert (lm["contacts_week"], lm["below_minimum"], lm["open_findings"]) == (0, True, 0)
    assert "犹豫甲（K1）" in report.html

    wb = load_workbook(BytesIO(report.xlsx.read()))
    rows = list(wb["成员"].iter_rows(values_only=True))
    assert rows[0][:6] == ("工号", "姓名", "考生数", "录取人数", "本周回访次数", "本周回访分钟")
    row = next(r for r in rows[1:] if r[0] == caller.staff_no)
    assert row[2:6] == (3, 3, 4, 18.0)
    assert list(wb["犹豫与联系不上"].iter_rows(values_only=True))[1:] == [
        (caller.name, "考虑中·犹豫", "K1", "犹豫甲"),
        (caller.name, "联系不上", "K2", "失联乙"),
    ]


def test_status_changes_are_the_weeks_real_moves_from_every_path(
    season, team, caller, leader, outsider, office_user, django_capture_on_commit_callbacks
):
    """Status moves made through contact logging, the withdrawal flow, the withdrawal list import
    and an admin edit, inside and outside the week; expectations counted from the script below."""
    from admissions.imports import withdrawals_plan
    from callbacks.casework_services import withdrawal_open
    from callbacks.services import contact_log

    open_province = ProvinceFactory(season=season, province="河南", withdrawable=True)
    a = CandidateFactory(season=season, exam_number="S1")  # moved twice in the week
    b = CandidateFactory(season=season, exam_number="S2")  # moved the week before only
    c = CandidateFactory(season=season, exam_number="S3", province=open_province)  # casework + import
    d = CandidateFactory(season=season, exam_number="S4", status=CallbackStatus.CONFIRMED)  # restated
    e = CandidateFactory(season=season, exam_number="S5")  # admin edit, leader's
    f = CandidateFactory(season=season, exam_number="S6")  # moved by caller, now held by leader
    g = CandidateFactory(season=season, exam_number="S7")  # other team
    for cand in (a, b, c, d, f):
        AssignmentFactory(candidate=cand, caller=caller)
    AssignmentFactory(candidate=e, caller=leader)
    AssignmentFactory(candidate=g, caller=outsider)

    def contact(who, cand, outcome=Outcome.CONNECTED, intent=Intent.NONE):
        with django_capture_on_commit_callbacks(execute=True):
            contact_log(
                caller=who,
                candidate=cand,
                contacted_at=dt.datetime.now(TZ) - dt.timedelta(minutes=5),
                outcome=outcome,
                duration_seconds=120,
                intent=intent,
            )

    def import_withdrawal(cand, day):
        plan = withdrawals_plan(
            season_year=2023, rows=[{"row_number": 2, "exam_number": cand.exam_number, "withdrawn_on": day}]
        )
        assert not plan.errors
        with transaction.atomic():
            plan.write()

    def admin_edit(cand, status):
        cand.refresh_from_db()
        cand.status = status
        cand.save()

    # (when, what to do, holder at report time, new status or None when nothing moves)
    script = [
        (at(6, 20), lambda: contact(caller, b, intent=Intent.REFUSED), "c1001", "refused"),
        (at(7, 0), lambda: contact(caller, a), "c1001", "hesitant"),
        (at(9, 15), lambda: contact(caller, a, intent=Intent.CONFIRMED), "c1001", "confirmed"),
        (at(9, 16), lambda: contact(caller, d, intent=Intent.CONFIRMED), "c1001", None),
        (at(10, 9), lambda: withdrawal_open(candidate=c, user=caller.user), "c1001", "withdrawal_requested"),
        (at(11, 9), lambda: import_withdrawal(c, dt.date(2023, 8, 11)), "c1001", "withdrawn"),
        (at(11, 10), lambda: admin_edit(e, CallbackStatus.REFUSED), "l1001", "refused"),
        (at(12, 8), lambda: contact(caller, f, outcome=Outcome.NO_ANSWER), "l1001", "unreachable"),
        (at(12, 9), lambda: contact(outsider, g, intent=Intent.HESITANT), "c2001", "hesitant"),
        (at(13, 23), lambda: admin_edit(a, CallbackStatus.HESITANT), "c1001", "hesitant"),
        (at(14, 0), lambda: contact(caller, a, intent=Intent.CONFIRMED), "c1001", "confirmed"),  # next week
    ]
    for when, action, _holder, _new in script:
        with freeze_time(when):
            action()
    # f changes hands after its move: the report credits whoever holds it when it is made
    Assignment.objects.filter(candidate=f, active=True).update(active=False)
    AssignmentFactory(candidate=f, caller=leader)

    expected: dict[str, dict[str, int]] = {}
    for when, _action, holder, new in script:
        if new and at(7, 0) <= when < at(14, 0):
            expected.setdefault(holder, {})
            expected[holder][new] = expected[holder].get(new, 0) + 1
    assert expected == {
        "c1001": {"hesitant": 2, "confirmed": 1, "withdrawal_requested": 1, "withdrawn": 1},
        "l1001": {"refused": 1, "unreachable": 1},
        "c2001": {"hesitant": 1},
    }
    # each path really moved the status (so the entries describe real moves)
    assert [
        x.status
        for x in Candidate.objects.filter(pk__in=[a.pk, b.pk, c.pk, d.pk, e.pk, f.pk, g.pk]).order_by(
            "exam_number"
        )
    ] == ["confirmed", "refused", "withdrawn", "confirmed", "refused", "unreachable", "hesitant"]

    generate()
    report = WeeklyReport.objects.get(team=team, week_start=WEEK)
    members = {m["staff_no"]: m for m in report.data["members"]}
    for staff_no in ("c1001", "l1001"):
        assert members[staff_no]["status_changes"] == expected[staff_no]
        assert members[staff_no]["status_changes_total"] == sum(expected[staff_no].values())
    other = WeeklyReport.objects.get(team=outsider.team, week_start=WEEK)
    assert other.data["members"][0]["status_changes"] == expected["c2001"]

    # the workbook and the page say the same
    wb = load_workbook(BytesIO(report.xlsx.read()))
    rows = list(wb["成员"].iter_rows(values_only=True))
    column = rows[0].index("本周状态变化")
    assert {r[0]: r[column] for r in rows[1:]} == {"c1001": 5, "l1001": 2}
    assert list(wb["本周状态变化"].iter_rows(values_only=True)) == [
        ("回访员", "新状态", "次数"),
        (caller.name, "确认就读", 1),
        (caller.name, "考虑中·犹豫", 2),
        (caller.name, "申请退档", 1),
        (caller.name, "已退档", 1),
        (leader.name, "联系不上", 1),
        (leader.name, "明确不来", 1),
    ]
    assert f"{caller.name}：确认就读 1、考虑中·犹豫 2、申请退档 1、已退档 1" in report.html
    assert f"{leader.name}：联系不上 1、明确不来 1" in report.html


def test_regenerating_replaces_and_keeps_history(season, team, week):
    generate()
    generate()
    assert WeeklyReport.objects.filter(team=team, week_start=WEEK).count() == 1
    call_command("run_job", "weekly_reports", "--season", "2023", "--week", "2023-08-14")
    assert WeeklyReport.objects.filter(team=team).count() == 2


def test_weekly_archive_access(season, team, other_team, caller, leader, outsider, office_user, week, client):
    generate()
    mine = WeeklyReport.objects.get(team=team)
    theirs = WeeklyReport.objects.get(team=other_team)
    other_leader = CallerFactory(
        season=season, team=other_team, user__username="l2001", user__roles=[Role.CALLER, Role.LEADER]
    )
    other_team.leader = other_leader
    other_team.save()

    client.force_login(leader.user)
    page = client.get(reverse("reports:weekly_list")).content.decode()
    assert reverse("reports:weekly_detail", args=[mine.pk]) in page
    assert reverse("reports:weekly_detail", args=[theirs.pk]) not in page
    assert client.get(reverse("reports:weekly_detail", args=[mine.pk])).status_code == 200
    download = client.get(reverse("reports:weekly_download", args=[mine.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment")
    assert client.get(reverse("reports:weekly_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("reports:weekly_download", args=[theirs.pk])).status_code == 404

    client.force_login(other_leader.user)
    assert client.get(reverse("reports:weekly_detail", args=[mine.pk])).status_code == 404
    client.force_login(caller.user)
    assert client.get(reverse("reports:weekly_list")).status_code == 403
    assert client.get(reverse("reports:weekly_detail", args=[mine.pk])).status_code == 403
    client.force_login(office_user)
    page = client.get(reverse("reports:weekly_list")).content.decode()
    assert reverse("reports:weekly_detail", args=[theirs.pk]) in page
    assert client.get(reverse("reports:weekly_download", args=[theirs.pk])).status_code == 200


def test_weekly_generation_query_count_is_fixed(
    season, team, caller, week, django_assert_max_num_queries, settings
):
    from reports.services import weekly_report_generate

    for i in range(4):
        extra = CallerFactory(season=season, team=team, user__username=f"m{i}")
        AssignmentFactory(candidate=CandidateFactory(season=season), caller=extra)
    # 1 teams + 1 members + 4 aggregates + 1 lists + 1 findings, then 4 writes per team (2 teams)
    with django_assert_max_num_queries(8 + 2 * 6):
        weekly_report_generate(season=season, week_start=WEEK)
