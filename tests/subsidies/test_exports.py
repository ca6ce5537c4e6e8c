"""The payout workbook and the `payouts` command."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
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
