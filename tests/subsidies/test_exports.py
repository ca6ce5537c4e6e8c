"""The payout workbook and the `payouts` command."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from subsidies.exports import CALLER_HEADERS, write_payout_workbook
from subsidies.models import PayoutRun
from subsidies.services import payout_run_create


def workbook_for(run):
    buf = io.BytesIO()
    write_payout_workbook(run, buf)
    buf.seek(0)
    return load_workbook(buf)


@pytest.mark.django_db
def test_workbook_sheets_headers_totals_and_formats(small_season, office_user, caller, leader):
    run = payout_run_create(season=small_season, user=office_user)
    wb = workbook_for(run)
    assert wb.sheetnames == ["回访员补贴", "小组", "督查", "突击组", "奖励", "规则明细"]
    ws = wb["回访员补贴"]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == CALLER_HEADERS
    assert CALLER_HEADERS == [
        "工号",
        "姓名",
        "小组",
        "本科录取",
        "本科报到",
        "本科报到率",
        "专科录取",
        "专科报到",
        "专科报到率",
        "电话补贴",
        "组长补贴",
        "督查补贴",
        "突击补贴",
        "交通餐饮补贴",
        "奖励",
        "扣减",
        "调整",
        "合计",
        "签字",
    ]
    assert ws.freeze_panes == "A2"
    by_staff = {r[0]: r for r in rows[1:]}
    me = by_staff[caller.staff_no]
    assert me[1:5] == (caller.name, "第一组", 100, 98)
    assert Decimal(str(me[5])) == Decimal("0.98")
    assert me[6:8] == (10, 10)
    assert Decimal(str(me[9])) == Decimal("5260")  # 4,410 + 850
    total_row = rows[-1]
    assert total_row[0] == "合计"
    assert Decimal(str(total_row[17])) == run.total
    assert total_row[3] == 100 + 100 + 50  # 本科录取: leader, caller, outsider
    # amounts are numbers with 2 decimals, rates percent
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == caller.staff_no)
    assert row[9].number_format == "#,##0.00"  # 电话补贴
    assert row[5].number_format == "0.00%"  # 本科报到率
    assert wb["小组"]["A1"].value == "小组"
    assert wb["规则明细"].max_row == run.lines.count() + 1


@pytest.mark.django_db
def test_text_starting_with_formula_characters_is_escaped(small_season, office_user, caller):
    caller.name = '=HYPERLINK("http://evil")'
    caller.save()
    run = payout_run_create(season=small_season, user=office_user)
    ws = workbook_for(run)["回访员补贴"]
    names = [row[1] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://evil")' in names
    assert not any(isinstance(n, str) and n.startswith("=") for n in names)


@pytest.mark.django_db
def test_payouts_command_writes_the_workbook(small_season, tmp_path, office_user):
    out = tmp_path / "out.xlsx"
    call_command("payouts", "--season", "2023", "--xlsx", str(out), "--user", "office")
    run = PayoutRun.objects.get()
    assert run.created_by == office_user
    wb = load_workbook(out)
    assert next(wb["回访员补贴"].iter_rows(values_only=True))[0] == "工号"


@pytest.mark.django_db
def test_payouts_command_unknown_season(db, tmp_path):
    with pytest.raises(CommandError, match="没有 1999 年度"):
        call_command("payouts", "--season", "1999", "--xlsx", str(tmp_path / "x.xlsx"))


@pytest.mark.django_db
def test_supervision_strike_award_and_lines_sheets(
    small_season, office_user, leader, caller, outsider, supervisor, team, other_team
):
    """The sheets built from lines: a supervisor's two teams (one with a public-opinion incident,
    one with a wrong withdrawal), the strike team's credit, the awards and every line."""
    import datetime as dt

    from django.utils import timezone

    from callbacks.casework_models import StrikeCaseKind, StrikeCaseStatus
    from subsidies.engine.ledger import RULES
    from supervision.choices import IncidentKind
    from supervision.models import Incident
    from tests.casework.factories import StrikeCaseFactory
    from tests.factories import CallerFactory
    from tests.subsidies.test_integration import audit

    other_team.supervisors.add(supervisor)
    audit(supervisor, caller, 3)
    audit(supervisor, outsider, 2)
    for kind, which, who in (
        (IncidentKind.PUBLIC_OPINION, other_team, None),
        (IncidentKind.WRONG_WITHDRAWAL, team, caller),
    ):
        Incident.objects.create(
            season=small_season,
            kind=kind,
            team=which,
            caller=who,
            caused_by_improper_callback=True,
            description="x",
            occurred_on=dt.date(2023, 8, 1),
        )
    striker = CallerFactory(season=small_season, team=None, is_strike=True, name="突击1")
    StrikeCaseFactory(
        candidate=caller.assignments.filter(candidate__enrolled_on__isnull=False).first().candidate,
        kind=StrikeCaseKind.NO_SHOW,
        status=StrikeCaseStatus.CLOSED,
        holder=striker,
        verified_by=supervisor,
        verified_at=timezone.now(),
        requested_by=caller,
    )
    run = payout_run_create(season=small_season, user=office_user)
    wb = workbook_for(run)

    def rows(sheet):
        return [tuple(r) for r in wb[sheet].iter_rows(min_row=2, values_only=True)]

    # 第一组: 3 records × 0.5 = 1.50, halved for the team's wrong withdrawal; 第二组: incident → 0
    s = (supervisor.staff_no, supervisor.name)
    assert rows("督查") == [
        (*s, "第一组", 3, 1.5, 0, -0.75, 0.75),
        (*s, "第二组", 2, 0, 0, 0, 0),
        ("合计", None, None, None, None, None, None, 0.75),
    ]
    assert rows("突击组") == [
        (striker.staff_no, "突击1", 1, 70, 0, 0, 70),
        ("合计", None, None, None, None, None, 70),
    ]
    awards = rows("奖励")
    assert awards[-1][0] == "合计"
    assert Decimal(str(awards[-1][4])) == sum(
        (line.amount for line in run.lines.filter(category="award")), Decimal("0.00")
    )
    assert len(awards) > 1
    assert [r[:3] for r in awards[:-1]] == [
        (line.person.staff_no, line.person.name, RULES[line.rule][1])
        for line in run.lines.filter(category="award").select_related("person").order_by("position")
    ]
    details = rows("规则明细")
    assert len(details) == run.lines.count()
    first = run.lines.order_by("position").select_related("person").first()
    assert details[0][:3] == (first.person.staff_no, first.person.name, "电话补贴")
    assert [Decimal(str(r[7])) for r in details] == list(
        run.lines.order_by("position").values_list("amount", flat=True)
    )
    # the caller sheet has a row for the supervisor and the striker too (they have lines)
    callers = {r[0]: r for r in rows("回访员补贴")}
    assert Decimal(str(callers[striker.staff_no][12])) == Decimal("70")  # 突击补贴
    assert Decimal(str(callers[supervisor.staff_no][11])) == Decimal("1.5")  # 督查补贴
    assert Decimal(str(callers[supervisor.staff_no][15])) == Decimal("-0.75")  # 扣减 (误退)


@pytest.mark.sqlite  # the facts are read one way on PostgreSQL, another elsewhere
@pytest.mark.django_db
def test_a_run_loaded_without_its_facts_gives_the_same_facts_and_workbook(small_season, office_user):
    """The bench and big exports load the run with `.defer("facts")`: the writer then streams the
    callers out of the stored document (PostgreSQL) instead of holding it whole."""
    from django.db import connection

    from subsidies.engine.serialize import facts_from_dict
    from subsidies.exports import run_facts

    run = payout_run_create(season=small_season, user=office_user)
    full = PayoutRun.objects.get(pk=run.pk)
    lean = PayoutRun.objects.defer("facts").get(pk=run.pk)
    assert "facts" in lean.get_deferred_fields()
    # one query for the rest of the document and one for the callers (PostgreSQL), one elsewhere
    with CaptureQueriesContext(connection) as queries:
        facts = run_facts(lean)
    assert len(queries) == (2 if connection.vendor == "postgresql" else 1)
    assert "facts" in lean.get_deferred_fields()  # not loaded onto the instance on the way
    expected = facts_from_dict(full.facts)
    assert len(facts.callers) >= 4
    assert facts == expected
    assert [c.staff_no for c in facts.callers] == [c.staff_no for c in expected.callers]

    def cells(wb):
        return {
            name: [[(c.value, c.number_format, c.font.b) for c in row] for row in wb[name].iter_rows()]
            for name in wb.sheetnames
        }

    assert cells(workbook_for(lean)) == cells(workbook_for(full))


@pytest.mark.sqlite
def test_payout_sheet_cells_types_formats_and_escaping():
    """PayoutSheet writes the cells SheetWriter would: Decimals as numbers in money or percent
    format by column (even past the header's width), text escaped, empty text and None left out,
    dates in a date format that does not stick to the plain values written after them."""
    import datetime

    from django.utils.safestring import mark_safe

    from callback_office.excel import SheetWriter, new_workbook, save_workbook
    from subsidies.exports import PayoutSheet

    class Money(Decimal):
        pass

    day, moment = datetime.date(2024, 7, 1), datetime.datetime(2024, 7, 1, 8, 30)
    rows = [
        [
            *("=1+1", "", None, 3, Decimal("0.9812"), Decimal("-12.30"), mark_safe("+x"), 2.5, True),
            *(day, 5, moment, Decimal("2.50")),
        ],
        [
            *("-5", "ok", Money("7.10"), Decimal("0"), None, Decimal("1234567.89"), "@a", "a"),
            *(Decimal("3"), 6, day, 7, Decimal("1")),
        ],
        [1, 2, None, 4, Decimal("0.5"), 6, 7, 8, 9, 10],
    ]

    def written(kind):
        wb = new_workbook()
        sheet = kind(wb, "s", ["a", "b", "c", "d", "e", "f", "g"], percent_columns=[4])
        for row in rows:
            sheet.append(row)
        buf = io.BytesIO()
        save_workbook(wb, buf)
        buf.seek(0)
        ws = load_workbook(buf)["s"]
        return ws.freeze_panes, [
            [(c.value, c.number_format, c.font.b) for c in row] for row in ws.iter_rows(max_col=13)
        ]

    freeze, got = written(PayoutSheet)
    assert (freeze, got) == written(SheetWriter)
    assert got[0][0] == ("a", "General", True)
    first, second = got[1], got[2]
    assert first[0][0] == "'=1+1" and first[1][0] is None and first[2][0] is None
    assert first[4][:2] == (0.9812, "0.00%")
    assert first[5][:2] == (-12.3, "#,##0.00")
    assert first[6][0] == "'+x"
    assert second[0][0] == "'-5" and second[6][0] == "'@a"
    assert second[2][:2] == (7.1, "#,##0.00")  # a Decimal subclass is money too
    assert second[8][:2] == (3, "#,##0.00")  # past the header: money
    # a date's format stays on its own cell: the plain numbers after it (same row, later rows)
    # keep the general format, the Decimals theirs
    midnight = datetime.datetime(2024, 7, 1)
    assert [c[:2] for c in first[9:]] == [
        (midnight, "yyyy-mm-dd"),
        (5, "General"),
        (moment, "yyyy-mm-dd h:mm:ss"),
        (2.5, "#,##0.00"),
    ]
    assert first[7][:2] == (2.5, "General") and first[8][:2] == (True, "General")
    assert [c[:2] for c in second[9:]] == [
        (6, "General"),
        (midnight, "yyyy-mm-dd"),
        (7, "General"),
        (1, "#,##0.00"),
    ]
    third = got[3]
    assert [c[:2] for c in third[:4]] == [(1, "General"), (2, "General"), (None, "General"), (4, "General")]
    assert third[4][:2] == (0.5, "0.00%")
    assert [c[:2] for c in third[5:10]] == [(n, "General") for n in (6, 7, 8, 9, 10)]
