"""Workbooks built with openpyxl, the exact headers of each list, and a few seasons' worth of rows."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

import openpyxl
import pytest

HEADERS = {
    "roster": [
        "工号",
        "姓名",
        "身份",
        "部门",
        "小组",
        "是否组长",
        "是否督查",
        "是否突击组",
        "上年本科报到率",
        "上年专科报到率",
        "上年优秀个人",
        "手机",
    ],
    "policies": ["省份", "可退档", "屏蔽考生电话", "新高考"],
    "candidates": [
        "考生号",
        "姓名",
        "身份证号",
        "省份",
        "层次",
        "类型",
        "批次",
        "预录专业",
        "志愿顺序",
        "中学",
        "手机",
        "家长电话",
        "地址",
        "回访员工号",
    ],
    "payments": ["考生号", "缴费日期", "金额"],
    "registrations": ["考生号", "报到日期"],
    "withdrawals": ["考生号", "退档日期"],
    "attendance": ["工号", "日期"],
}


def xlsx(headers: Sequence[Any], rows: Iterable[Sequence[Any]] = (), *, formats: dict | None = None) -> bytes:
    """An xlsx file; `formats` maps (row, column) (1-based, like Excel) to a number format."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    for (r, c), number_format in (formats or {}).items():
        ws.cell(row=r, column=c).number_format = number_format
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def kind_xlsx(kind: str, rows: Iterable[Sequence[Any]], **kwargs) -> bytes:
    return xlsx(HEADERS[kind], rows, **kwargs)


POLICY_ROWS = [
    ["四川", "否", "否", "是"],
    ["广西壮族自治区", "是", "是", "否"],
    ["重庆市", "否", "否", "是"],
]


def candidate_row(
    n: int, *, province: str = "四川", staff_no: str = "", level: str = "本科", kind: str = "普通类"
) -> list[Any]:
    return [
        f"2351010100{n:04d}",
        f"考生{n}",
        f"51010120050101{n:04d}",
        province,
        level,
        kind,
        "本科一批",
        "计算机科学与技术",
        1,
        "成都七中",
        f"138{n:08d}",
        f"139{n:08d}",
        "成都市青羊区",
        staff_no,
    ]


def roster_row(
    staff_no: str,
    name: str,
    team: str,
    *,
    kind: str = "教师",
    leader: str = "否",
    supervisor: str = "否",
    strike: str = "否",
    u_rate: Any = "",
    j_rate: Any = "",
    excellent: str = "否",
    phone: str = "13700000000",
) -> list[Any]:
    return [
        staff_no,
        name,
        kind,
        "招生办",
        team,
        leader,
        supervisor,
        strike,
        u_rate,
        j_rate,
        excellent,
        phone,
    ]


@pytest.fixture
def policies_2023(db):
    from callback_office.importing import import_file

    result = import_file("policies", kind_xlsx("policies", POLICY_ROWS), season_year=2023, dry_run=False)
    assert result.committed, result.errors
    return result


DAY = dt.date(2023, 8, 1)
