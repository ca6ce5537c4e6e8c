"""The dashboards on the generated demo season (2023, with 2022 for the comparison): numbers
against independent counts, and every page opens for its role."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import openpyxl
import pytest
from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.test import override_settings
from django.utils import timezone

from admissions.choices import CallbackStatus, Level
from admissions.models import Candidate, RegistrationRecord, Season, WithdrawalRecord
from callbacks.casework_models import WithdrawalRequest, WithdrawalStatus
from callbacks.choices import TeamKind
from callbacks.demo import OFFICE_USERNAME, DemoOptions, demo_season_generate
from callbacks.models import Assignment, Caller, ContactLog, Team
from reports import dashboards
from supervision.choices import FindingCategory, FindingStatus
from supervision.models import AuditItem, AuditScore, Finding

pytestmark = pytest.mark.django_db

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OPTIONS = DemoOptions(candidates=240, callers=16, teams=2, year=2023, seed=11, batch_size=200)


@pytest.fixture
def demo(db):
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        demo_season_generate(options=OPTIONS)
    return Season.objects.get(year=2023)


def counts(qs) -> dict[str, int]:
    withdrawn = Q(status=CallbackStatus.WITHDRAWN) | Q(withdrawn_on__isnull=False)
    return qs.aggregate(
        filed=Count("id"),
        reached=Count("id", filter=~Q(status__in=[CallbackStatus.UNCONTACTED, CallbackStatus.UNREACHABLE])),
        confirmed=Count("id", filter=Q(status=CallbackStatus.CONFIRMED)),
        paid=Count("id", filter=Q(paid_on__isnull=False) & ~withdrawn),
        enrolled=Count("id", filter=Q(enrolled_on__isnull=False) & ~withdrawn),
        withdrawn=Count("id", filter=withdrawn),
    )


def test_demo_season_dashboards(demo, client):
    office = User.objects.get(username=OFFICE_USERNAME)
    data = dashboards.office_dashboard(season=demo)
    expected = counts(Candidate.objects.filter(season=demo))
    f = data.funnel
    assert (f.filed, f.reached, f.confirmed, f.paid, f.enrolled) == (
        expected["filed"],
        expected["reached"],
        expected["confirmed"],
        expected["paid"],
        expected["enrolled"],
    )
    assert f.filed == OPTIONS.candidates
    prev = counts(Candidate.objects.filter(season__year=2022))
    assert data.previous.year == 2022 and data.previous_funnel.filed == prev["filed"] > 0
    assert data.previous_funnel.enrolled == prev["enrolled"]
    for lv in data.levels:
        c = counts(Candidate.objects.filter(season=demo, level=lv["level"]))
        assert lv["admitted"] == c["filed"] - c["withdrawn"]
        assert lv["enrolled"] == c["enrolled"]
    assert {lv["level"] for lv in data.levels} == set(Level.values)

    team = (
        Team.objects.filter(season=demo, kind=TeamKind.REGULAR, leader__isnull=False).order_by("name").first()
    )
    leader = team.leader.user
    team_data = dashboards.team_dashboard(user=leader, season=demo, team_id=team.id)
    active = Assignment.objects.filter(active=True, caller__team=team)
    assert team_data.total.candidates == active.count()
    assert team_data.total.contacts == (active.aggregate(n=Sum("candidate__contact_count"))["n"] or 0)
    tc = counts(Candidate.objects.filter(id__in=active.values("candidate_id")))
    assert team_data.total.enrolled == tc["enrolled"]
    assert team_data.total.admitted == tc["filed"] - tc["withdrawn"]
    for m in team_data.members:
        assert m.candidates == active.filter(caller_id=m.caller_id).count()

    client.force_login(office)
    for url in ("/reports/dashboards/office/", "/reports/provinces/", "/reports/dashboards/supervision/"):
        assert client.get(url).status_code == 200
    client.force_login(leader)
    assert client.get("/reports/dashboards/team/").status_code == 200
    sup = team.supervisors.first()
    client.force_login(sup.user)
    response = client.get("/reports/dashboards/supervision/")
    assert response.status_code == 200 and team.name in response.content.decode()


# --- the pages' tables, read back from the HTML ---------------------------------------------------


class _PageTables(HTMLParser):
    """The tables a dashboard page renders (`_table.html`: a `<section id="table-<key>">`), as
    {key: (header labels, body rows of cell texts)}; the "没有数据。" row is left out."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self.key: str | None = None
        self.row: list[str] | None = None
        self.text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and (a.get("id") or "").startswith("table-"):
            self.key = a["id"].removeprefix("table-")
            self.tables[self.key] = ([], [])
        elif self.key and tag == "tr":
            self.row = []
        elif self.key and tag in ("th", "td"):
            self.text = []

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if self.key is None:
            return
        if tag in ("th", "td") and self.text is not None and self.row is not None:
            self.row.append("".join(self.text).strip())
            self.text = None
            if tag == "th":
                self.tables[self.key][0].append(self.row.pop())
        elif tag == "tr" and self.row:
            head, rows = self.tables[self.key]
            if len(self.row) == len(head):
                rows.append(self.row)
            self.row = None
        elif tag == "section":
            self.key = None


def page_tables(response) -> dict[str, list[dict[str, str]]]:
    """{table key: rows as {column label: cell text}} of a rendered page."""
    assert response.status_code == 200
    parser = _PageTables()
    parser.feed(response.content.decode())
    return {
        key: [dict(zip(head, row, strict=True)) for row in rows]
        for key, (head, rows) in parser.tables.items()
    }


def kpi(response, label: str) -> str:
    match = re.search(rf"<li>{re.escape(label)}<span class=\"num\">([^<]*)</span>", response.content.decode())
    assert match, label
    return match.group(1)


def tenth(total: Decimal, n: int) -> str:
    """An average as the pages show it: one decimal, half up; a dash when there is none."""
    return str((total / n).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)) if n else "—"


# --- supervisor dashboard -----------------------------------------------------------------------

UNRESOLVED = [FindingStatus.OPEN, FindingStatus.DISPUTED, FindingStatus.RESPONDED]


def expected_supervision(season: Season, teams: list[Team]) -> dict:
    """The supervisor dashboard's numbers for `teams`, counted from the rows themselves."""
    samples = {}
    for team in teams:
        items = AuditItem.objects.filter(sample__season=season, team=team)
        totals = list(AuditScore.objects.filter(item__in=items).values_list("total", flat=True))
        samples[team.name] = (
            str(items.count()),
            str(items.filter(id__in=AuditScore.objects.values("item_id")).count()),
            tenth(sum(totals, Decimal(0)), len(totals)),
        )
    weeks: dict[str, list[Decimal]] = defaultdict(list)
    for at, total in AuditScore.objects.filter(item__sample__season=season, item__team__in=teams).values_list(
        "submitted_at", "total"
    ):
        day = timezone.localdate(at)
        weeks[(day - dt.timedelta(days=day.weekday())).isoformat()].append(total)
    findings = list(Finding.objects.filter(season=season, team__in=teams).select_related("caller", "team"))
    categories: dict[str, list[int]] = {}
    by_caller: dict[int, list[Finding]] = defaultdict(list)
    for f in findings:
        n_open = categories.setdefault(str(FindingCategory(f.category).label), [0, 0])
        n_open[0] += 1
        n_open[1] += f.status in UNRESOLVED
        if f.status != FindingStatus.DISMISSED:
            by_caller[f.caller_id].append(f)
    repeated = {
        fs[0].caller.staff_no: (
            fs[0].caller.name,
            fs[0].team.name,
            str(len(fs)),
            str(sum(f.status in UNRESOLVED for f in fs)),
            str(len({f.category for f in fs})),
        )
        for fs in by_caller.values()
        if len(fs) >= 2
    }
    return {
        "samples": samples,
        "weeks": {day: (str(len(ts)), tenth(sum(ts, Decimal(0)), len(ts))) for day, ts in weeks.items()},
        "categories": {label: (str(n), str(o)) for label, (n, o) in categories.items()},
        "repeated": repeated,
        "scored": sum(int(s[1]) for s in samples.values()),
        "findings": len(findings),
        "open": sum(f.status in UNRESOLVED for f in findings),
    }


def rendered_supervision(response) -> dict:
    t = page_tables(response)
    return {
        "samples": {r["小组"]: (r["抽取记录"], r["已评分"], r["平均得分率"]) for r in t["samples"]},
        "weeks": {r["周一"]: (r["评分数"], r["平均得分率"]) for r in t["weeks"]},
        "categories": {r["类别"]: (r["问题数"], r["未关闭"]) for r in t["categories"]},
        "repeated": {
            r["工号"]: (r["姓名"], r["小组"], r["问题数"], r["未关闭"], r["问题类别数"])
            for r in t["repeated"]
        },
        "scored": int(kpi(response, "已评分记录")),
        "findings": int(kpi(response, "问题")),
        "open": int(kpi(response, "未关闭问题")),
    }


def test_supervisor_dashboard_counts_their_teams(demo, client):
    """A supervisor who covers one team sees that team's samples, scores, findings and repeated
    issues, counted independently, and nothing of the teams they do not cover; the supervision
    group's leader oversees every team of the season."""
    lead_ids = Team.objects.filter(season=demo, kind=TeamKind.SUPERVISION).values("leader_id")
    supervisors = Caller.objects.filter(season=demo, is_supervisor=True, supervised_teams__isnull=False)
    sup = supervisors.exclude(id__in=lead_ids).distinct().order_by("id").first()
    covered = list(Team.objects.filter(season=demo, supervisors=sup).order_by("id"))
    others = list(Team.objects.filter(season=demo, kind=TeamKind.REGULAR).exclude(supervisors=sup))
    assert covered and others

    client.force_login(sup.user)
    response = client.get("/reports/dashboards/supervision/")
    expected = expected_supervision(demo, covered)
    assert rendered_supervision(response) == expected
    assert all(int(drawn) > 0 and int(scored) > 0 for drawn, scored, _avg in expected["samples"].values())
    assert expected["categories"] and expected["open"] > 0
    html = response.content.decode()
    for team in others:
        assert team.name not in html
        for name in Finding.objects.filter(season=demo, team=team).values_list("caller__name", flat=True):
            assert name not in html

    lead = Caller.objects.get(id=Team.objects.get(season=demo, kind=TeamKind.SUPERVISION).leader_id)
    client.force_login(lead.user)
    everyone = list(Team.objects.filter(season=demo).order_by("id"))
    expected = expected_supervision(demo, everyone)
    assert rendered_supervision(client.get("/reports/dashboards/supervision/")) == expected
    assert expected["repeated"], "the demo season has a caller with two findings"


# --- province reports ---------------------------------------------------------------------------


def expected_provinces(season: Season) -> dict[str, dict]:
    """Per province, from the imported lists: a candidate is withdrawn with a withdrawal record
    (or the status 已退档), registered with a registration record; 录取未报到 = neither."""
    withdrawn = Q(status=CallbackStatus.WITHDRAWN) | Q(
        Exists(WithdrawalRecord.objects.filter(season=season, candidate=OuterRef("pk")))
    )
    registered = Exists(RegistrationRecord.objects.filter(season=season, candidate=OuterRef("pk")))
    rows: dict[str, dict] = {}
    candidates = Candidate.objects.filter(season=season).annotate(w=withdrawn, r=registered)
    for number, province, w, r in candidates.values_list("exam_number", "province__province", "w", "r"):
        p = rows.setdefault(province, {"filed": 0, "enrolled": 0, "noshow": [], "withdrawn": []})
        p["filed"] += 1
        if w:
            p["withdrawn"].append(number)
        elif r:
            p["enrolled"] += 1
        else:
            p["noshow"].append(number)
    open_requests = Counter(
        WithdrawalRequest.objects.filter(
            season=season,
            status__in=[
                WithdrawalStatus.COLLECTING,
                WithdrawalStatus.LEADER_CHECKED,
                WithdrawalStatus.SUBMITTED,
            ],
        ).values_list("candidate__province__province", flat=True)
    )
    for name, p in rows.items():
        p["open_requests"] = open_requests[name]
    return rows


def test_province_reports_count_no_shows_and_withdrawals(demo, client):
    expected = expected_provinces(demo)
    client.force_login(User.objects.get(username=OFFICE_USERNAME))
    summary = {r["省份"]: r for r in page_tables(client.get("/reports/provinces/"))["provinces"]}
    assert set(summary) == set(expected)
    for name, p in expected.items():
        row = summary[name]
        admitted = p["filed"] - len(p["withdrawn"])
        assert (
            row["投档"],
            row["录取人数"],
            row["已报到"],
            row["录取未报到"],
            row["已退档"],
            row["退档办理中"],
        ) == (
            str(p["filed"]),
            str(admitted),
            str(p["enrolled"]),
            str(len(p["noshow"])),
            str(len(p["withdrawn"])),
            str(p["open_requests"]),
        ), name
    assert sum(len(p["noshow"]) for p in expected.values()) > 0
    assert sum(len(p["withdrawn"]) for p in expected.values()) > 0

    # one province's lists: the exam numbers themselves
    most = max(expected, key=lambda name: len(expected[name]["noshow"]))
    tables = page_tables(client.get("/reports/provinces/", {"province": most}))
    assert [r["考生号"] for r in tables["noshow"]] == sorted(expected[most]["noshow"])
    assert [r["考生号"] for r in tables["withdrawn"]] == sorted(expected[most]["withdrawn"])
    # the export sent to the provinces: one sheet per province with no-shows, the same numbers
    response = client.get("/reports/provinces/", {"format": "xlsx", "lists": "noshow"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
    sheets = {}
    for ws in book.worksheets:
        head, *rows = ws.iter_rows(values_only=True)
        sheets[ws.title] = [row[head.index("考生号")] for row in rows]
    assert sheets == {name: sorted(p["noshow"]) for name, p in expected.items() if p["noshow"]}

    quitters = next(name for name, p in sorted(expected.items()) if p["withdrawn"])
    tables = page_tables(client.get("/reports/provinces/", {"province": quitters}))
    assert [r["考生号"] for r in tables["withdrawn"]] == sorted(expected[quitters]["withdrawn"])
    assert [r["考生号"] for r in tables["noshow"]] == sorted(expected[quitters]["noshow"])


# --- team dashboard -----------------------------------------------------------------------------


def test_team_dashboard_members_from_the_contact_log(demo, client):
    """Per member: active candidates, those with at least one logged contact, the contacts and
    their minutes (all contacts on the member's candidates), counted from the contact log."""
    team = (
        Team.objects.filter(season=demo, kind=TeamKind.REGULAR, leader__isnull=False).order_by("name").first()
    )
    client.force_login(team.leader.user)
    rows = {
        r["工号"]: r
        for r in page_tables(client.get("/reports/dashboards/team/", {"team": team.id}))["members"]
    }
    callers = list(Caller.objects.filter(season=demo, team=team))
    total = Counter()
    for caller in callers:
        mine = Assignment.objects.filter(active=True, caller=caller).values("candidate_id")
        logs = ContactLog.objects.filter(candidate_id__in=mine)
        got = {
            "考生数": mine.count(),
            "已联系": logs.values("candidate_id").distinct().count(),
            "回访次数": logs.count(),
            "seconds": logs.aggregate(s=Sum("duration_seconds"))["s"] or 0,
        }
        total.update(got)
        row = rows[caller.staff_no]
        assert (row["姓名"], row["考生数"], row["已联系"], row["回访次数"], row["回访分钟"]) == (
            caller.name,
            str(got["考生数"]),
            str(got["已联系"]),
            str(got["回访次数"]),
            tenth(Decimal(got["seconds"]), 60),
        ), caller.staff_no
    whole = rows[""]
    assert (whole["姓名"], whole["考生数"], whole["已联系"], whole["回访次数"], whole["回访分钟"]) == (
        "全组",
        str(total["考生数"]),
        str(total["已联系"]),
        str(total["回访次数"]),
        tenth(Decimal(total["seconds"]), 60),
    )
    assert len(rows) == len(callers) + 1 and total["回访次数"] > 0


def test_supervisor_average_rounds_half_up(demo, client):
    """An average exactly halfway (97.05) shows as 97.1, the one rounding rule of the project
    (ROUND_HALF_UP), in the team row and the week row alike — not the banker's 97.0."""
    lead_ids = Team.objects.filter(season=demo, kind=TeamKind.SUPERVISION).values("leader_id")
    sup = Caller.objects.filter(season=demo, is_supervisor=True, supervised_teams__kind=TeamKind.REGULAR)
    sup = sup.exclude(id__in=lead_ids).order_by("id").first()
    scores = AuditScore.objects.filter(item__team__supervisors=sup, item__sample__season=demo).order_by("id")
    ids = list(scores.values_list("id", flat=True))
    assert len(ids) >= 2
    scores.update(total=Decimal("97.00"))
    AuditScore.objects.filter(id=ids[0]).update(total=Decimal("97.00") + Decimal("0.05") * len(ids))
    client.force_login(sup.user)
    response = client.get("/reports/dashboards/supervision/")
    teams = list(Team.objects.filter(season=demo, supervisors=sup))
    expected = expected_supervision(demo, teams)
    assert rendered_supervision(response) == expected
    assert {avg for _n, avg in expected["weeks"].values()} == {"97.1"}
