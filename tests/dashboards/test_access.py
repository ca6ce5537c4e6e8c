"""Who may open which dashboard, drill-down and export, and that exports are logged."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from admissions.models import Candidate
from callback_office.privacy import mask_id_number
from callback_office.roles import Role
from callbacks.models import Assignment
from reports.models import ExportLog
from tests.dashboards.factories import team_candidates
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEAM = "/reports/dashboards/team/"
OFFICE = "/reports/dashboards/office/"
SUPERVISION = "/reports/dashboards/supervision/"
DRILL = "/reports/dashboards/candidates/"
PROVINCES = "/reports/provinces/"
EXPORTS = "/reports/exports/"


@pytest.fixture
def office(db):
    return UserFactory(username="office", roles=[Role.OFFICE])


def sheet_rows(response) -> dict[str, list[tuple]]:
    wb = load_workbook(io.BytesIO(response.content), read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


# --- role matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("caller", {TEAM: 403, OFFICE: 403, SUPERVISION: 403, DRILL: 403, PROVINCES: 403, EXPORTS: 403}),
        ("leader", {TEAM: 200, OFFICE: 403, SUPERVISION: 403, DRILL: 200, PROVINCES: 403, EXPORTS: 403}),
        ("supervisor", {TEAM: 200, OFFICE: 403, SUPERVISION: 200, DRILL: 200, PROVINCES: 403, EXPORTS: 403}),
        ("office", {TEAM: 200, OFFICE: 200, SUPERVISION: 200, DRILL: 200, PROVINCES: 200, EXPORTS: 200}),
    ],
)
def test_role_matrix(client, built, office, who, expected):
    user = {
        "caller": built.members[0].user,
        "leader": built.leaders[0].user,
        "supervisor": built.supervisor.user,
        "office": office,
    }[who]
    client.force_login(user)
    got = {url: client.get(url).status_code for url in expected}
    assert got == expected


def test_anonymous_is_sent_to_login(client, built):
    response = client.get(TEAM)
    assert response.status_code == 302 and "login" in response["Location"]


def test_menu_entries_per_role(client, built, office):
    def menu(user) -> set[str]:
        client.force_login(user)
        html = client.get("/").content.decode()
        return {
            label for label in ("本组看板", "全校看板", "督查看板", "省份报表") if f">{label}</a>" in html
        }

    assert menu(built.members[0].user) == set()
    assert menu(built.leaders[0].user) == {"本组看板"}
    assert menu(built.supervisor.user) == {"督查看板"}
    assert menu(office) == {"全校看板", "省份报表"}


# --- team dashboard scope --------------------------------------------------------------------


def test_leader_sees_only_the_led_team(client, built):
    leader = built.leaders[0].user
    response = get(client, leader, TEAM)
    assert response.status_code == 200
    body = response.content.decode()
    assert "第1组" in body and built.members[0].name in body and built.members[1].name not in body
    assert get(client, leader, TEAM, team=built.teams[1].id).status_code == 404
    assert get(client, leader, TEAM, team="x").status_code == 404
    assert 'id="dashboard-charts"' in body and "chart-4.6.1.umd.min.js" in body
    assert "/reports/weekly/" in body  # the weekly report archive is one click away


def test_supervisor_reads_supervised_teams_only(client, built):
    sup = built.supervisor.user
    assert get(client, sup, TEAM, team=built.teams[0].id).status_code == 200
    assert get(client, sup, TEAM, team=built.teams[1].id).status_code == 404
    body = get(client, sup, SUPERVISION).content.decode()
    assert "第1组" in body and "第2组" not in body


def test_office_opens_any_team(client, built, office):
    body = get(client, office, TEAM, team=built.teams[1].id).content.decode()
    assert built.members[1].name in body and built.members[0].name not in body


# --- drill-down ------------------------------------------------------------------------------


def exam_numbers_in(response) -> set[str]:
    table = response.context["table"]
    return {row[0] for row in table.rows}


def test_drilldown_leader_own_team_only(client, built):
    leader = built.leaders[0].user
    response = get(client, leader, DRILL)
    team0 = {c.exam_number for c in team_candidates(built.teams[0])}
    assert exam_numbers_in(response) == team0
    assert response.context["total"] == len(team0) == 10
    response = get(client, leader, DRILL, team=built.teams[0].id, stage="paid")
    assert exam_numbers_in(response) == {
        c.exam_number
        for c in team_candidates(built.teams[0]).filter(paid_on__isnull=False, withdrawn_on__isnull=True)
    }
    assert get(client, leader, DRILL, team=built.teams[1].id).status_code == 404
    assert get(client, leader, DRILL, caller=built.members[1].id).status_code == 404
    assert get(client, leader, DRILL, caller=built.members[0].id).status_code == 200
    # the ID number is masked for a leader
    row = response.context["table"].rows[0]
    c = Candidate.objects.get(season=built.season, exam_number=row[0])
    assert row[2] == mask_id_number(c.id_number) != c.id_number


def test_drilldown_whitelisted_filters(client, built, office):
    assert get(client, office, DRILL, stage="bogus").status_code == 404
    assert get(client, office, DRILL, level="postgraduate").status_code == 404
    assert get(client, office, DRILL, status="x").status_code == 404
    assert get(client, office, DRILL, team="1 OR 1=1").status_code == 404
    # unknown parameters are ignored
    response = get(client, office, DRILL, order_by="id_number", stage="noshow", province="河南")
    expected = {
        c.exam_number
        for c in Candidate.objects.filter(
            season=built.season,
            province__province="河南",
            enrolled_on__isnull=True,
            withdrawn_on__isnull=True,
        ).exclude(status="withdrawn")
    }
    assert exam_numbers_in(response) == expected and len(expected) == 6
    row = response.context["table"].rows[0]
    full = Candidate.objects.get(season=built.season, exam_number=row[0]).id_number
    assert row[2] == mask_id_number(full)  # on screen masked even for the office (export: full)


def test_drilldown_supervisor_assigned_teams(client, built):
    sup = built.supervisor.user
    response = get(client, sup, DRILL, stage="overdue")
    cutoff = timezone.now() - dt.timedelta(hours=24)
    overdue = Assignment.objects.filter(active=True, caller__team=built.teams[0], next_call_at__lt=cutoff)
    assert exam_numbers_in(response) == {a.candidate.exam_number for a in overdue}
    assert len(overdue) == 3
    assert get(client, sup, DRILL, team=built.teams[1].id).status_code == 404


# --- exports ---------------------------------------------------------------------------------


def test_drilldown_export_is_scoped_masked_and_logged(client, built):
    leader = built.leaders[0]
    response = get(client, leader.user, DRILL, format="xlsx", stage="all", junk="1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheets = sheet_rows(response)
    (rows,) = sheets.values()
    header, data = rows[0], rows[1:]
    assert header[:3] == ("考生号", "姓名", "身份证号")
    team0 = {c.exam_number: c for c in team_candidates(built.teams[0])}
    assert {r[0] for r in data} == set(team0)
    assert all(r[2] == mask_id_number(team0[r[0]].id_number) for r in data)
    log = ExportLog.objects.get()
    assert log.user == leader.user and log.personal_data is True and log.row_count == 10
    assert log.what.startswith("考生名单") and log.filters == {}
    assert log.season == built.season


def test_team_dashboard_exports_every_table_or_one(client, built):
    leader = built.leaders[0].user
    sheets = sheet_rows(get(client, leader, TEAM, format="xlsx"))
    assert list(sheets) == ["成员", "回访状态分布", "每周趋势（快照）", "成员每周报到率"]
    members = sheets["成员"]
    assert [r[1] for r in members[1:]] == [built.members[0].name, built.leaders[0].name, "全组"]
    assert members[-1][2] == 10  # the team's candidates
    one = sheet_rows(get(client, leader, TEAM, format="xlsx", table="status"))
    assert list(one) == ["回访状态分布"]
    assert get(client, leader, TEAM, format="xlsx", table="nope").status_code == 404
    assert ExportLog.objects.filter(user=leader).count() == 2
    assert ExportLog.objects.filter(user=leader, filters__table="status").count() == 1
    # another team's export: 404, nothing logged
    assert get(client, leader, TEAM, format="xlsx", team=built.teams[1].id).status_code == 404
    assert ExportLog.objects.filter(user=leader).count() == 2


def test_office_and_supervisor_exports(client, built, office):
    sheets = sheet_rows(get(client, office, OFFICE, format="xlsx"))
    assert list(sheets) == ["本科与专科", "漏斗", "各组", "各省", "退档与突击组"]
    funnel = sheets["漏斗"]
    assert funnel[0] == ("环节", "2023", "占投档", "2022", "上年占投档")
    assert [r[1] for r in funnel[1:]] == [22, 15, 7, 7, 5]
    sup = sheet_rows(get(client, built.supervisor.user, SUPERVISION, format="xlsx"))
    assert sup["重复出现问题的回访员（≥2 个问题）"][1][1] == built.members[0].name
    assert ExportLog.objects.count() == 2


def test_province_report_lists_and_export(client, built, office):
    response = get(client, office, PROVINCES, province="河南")
    assert response.status_code == 200
    noshow = response.context["noshow"]
    assert [c.label for c in noshow.columns][:9] == [
        "考生号",
        "姓名",
        "身份证号",
        "省份",
        "层次",
        "批次",
        "专业",
        "回访状态",
        "回访员",
    ]
    assert len(noshow.rows) == 6
    assert len(response.context["withdrawn"].rows) == 4
    assert get(client, office, PROVINCES, province="火星").status_code == 404
    export = get(client, office, PROVINCES, province="河南", format="xlsx")
    sheets = sheet_rows(export)
    assert list(sheets) == ["录取未报到", "已退档"]
    assert len(sheets["录取未报到"]) == 7 and len(sheets["已退档"]) == 5
    full = {c.exam_number: c.id_number for c in Candidate.objects.filter(season=built.season)}
    assert all(r[2] == full[r[0]] for r in sheets["录取未报到"][1:])  # office: full ID numbers
    log = ExportLog.objects.get()
    assert log.personal_data and log.row_count == 10 and log.filters == {"province": "河南"}
    page = get(client, office, EXPORTS).content.decode()
    assert "省份报表：河南" in page and "province=河南" in page


def test_province_summary_counts(client, built, office):
    summary = get(client, office, PROVINCES).context["summary"]
    rows = {r[0]: r for r in summary.rows}
    # 投档, 录取, 已报到, 录取未报到, 已退档, 退档办理中
    assert rows["河南"][1:] == [10, 6, 0, 6, 4, 1]
    assert rows["四川"][1:] == [12, 12, 5, 7, 0, 0]


def test_every_province_no_show_list_in_one_workbook(client, built, office):
    sheets = sheet_rows(get(client, office, PROVINCES, lists="noshow", format="xlsx"))
    assert list(sheets) == ["四川", "河南"]
    assert len(sheets["四川"]) == 1 + 7 and len(sheets["河南"]) == 1 + 6
    assert {r[3] for r in sheets["河南"][1:]} == {"河南"}
    log = ExportLog.objects.get()
    assert log.personal_data and log.row_count == 13 and log.filters == {"lists": "noshow"}
    assert get(client, built.leaders[0].user, PROVINCES, lists="noshow", format="xlsx").status_code == 403
