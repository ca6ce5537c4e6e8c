"""Reading and per-cell validation (no database): headers, cells, file checks, duplicates."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from callback_office.importing import RowError, kind_names, parse_workbook, template_bytes
from tests.imports.conftest import HEADERS, candidate_row, kind_xlsx, roster_row, xlsx

pytestmark = pytest.mark.sqlite


def messages(parsed) -> list[str]:
    return [str(e) for e in parsed.errors]


def test_every_kind_is_registered():
    assert sorted(kind_names()) == sorted(HEADERS)
    assert kind_names()[:3] == ["policies", "roster", "candidates"]  # the order the office imports in


@pytest.mark.parametrize("kind", sorted(HEADERS))
def test_template_has_the_exact_headers_and_an_example_row_that_parses(kind):
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes(kind)))
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS[kind]
    assert len(rows) == 2
    assert wb.sheetnames[1] == "说明"
    parsed = parse_workbook(kind, template_bytes(kind))
    assert parsed.errors == []
    assert len(parsed.rows) == 1
    assert parsed.rows[0]["row_number"] == 2


def test_missing_and_unknown_headers_are_reported_on_row_1():
    headers = ["考生号", "缴费时间", "金额"]
    parsed = parse_workbook("payments", xlsx(headers, [["1", "2023-08-01", 100]]))
    assert messages(parsed) == [
        "第1行「缴费时间」：无法识别的列「缴费时间」",
        "第1行「缴费日期」：缺少列「缴费日期」",
    ]
    assert parsed.errors[1] == RowError(1, "缴费日期", "缺少列「缴费日期」", "missing column '缴费日期'")
    assert parsed.rows == []


def test_duplicate_header_is_an_error():
    parsed = parse_workbook(
        "registrations", xlsx(["考生号", "报到日期", "考生号"], [["1", "2023-09-08", "1"]])
    )
    assert messages(parsed) == ["第1行「考生号」：列「考生号」重复"]


def test_headers_in_any_order_with_a_note_in_brackets():
    parsed = parse_workbook(
        "registrations", xlsx(["报到日期（YYYY-MM-DD）", " 考生号 "], [["2023-09-08", "A1"]])
    )
    assert parsed.errors == []
    assert parsed.rows == [{"row_number": 2, "exam_number": "A1", "registered_on": dt.date(2023, 9, 8)}]


def test_dates_excel_cells_and_text():
    rows = [
        ["A1", dt.date(2023, 9, 8)],
        ["A2", dt.datetime(2023, 9, 9, 10, 30)],
        ["A3", "2023-09-10"],
        ["A4", "2023/9/11"],
        ["A5", "2023年9月12日"],
    ]
    parsed = parse_workbook("registrations", kind_xlsx("registrations", rows))
    assert parsed.errors == []
    assert [r["registered_on"].day for r in parsed.rows] == [8, 9, 10, 11, 12]


def test_bad_dates_name_row_column_and_value():
    rows = [["A1", "2023-09-08"], ["A2", "2023-13-01"], ["A3", "下周一"], ["A4", 45177]]
    parsed = parse_workbook("registrations", kind_xlsx("registrations", rows))
    assert messages(parsed) == [
        "第3行「报到日期」：日期无法识别：“2023-13-01”（应为 Excel 日期或 YYYY-MM-DD）",
        "第4行「报到日期」：日期无法识别：“下周一”（应为 Excel 日期或 YYYY-MM-DD）",
        "第5行「报到日期」：日期无法识别：“45177”（应为 Excel 日期或 YYYY-MM-DD）",
    ]
    assert parsed.errors[0].message_en == "unrecognised date '2023-13-01' (use an Excel date or YYYY-MM-DD)"
    assert parsed.errors[0].as_english().startswith("row 3, column 报到日期: unrecognised date")
    assert [r["exam_number"] for r in parsed.rows] == ["A1"]


def test_every_bad_row_is_reported_not_just_the_first():
    rows = [roster_row(f"T{n}", f"老师{n}", "第一组", leader="也许") for n in range(5)]
    parsed = parse_workbook("roster", kind_xlsx("roster", rows))
    assert [(e.row_number, e.column) for e in parsed.errors] == [(n, "是否组长") for n in range(2, 7)]
    assert parsed.errors[0].message == "应填“是”或“否”，不是“也许”"


def test_percent_cell_and_percent_text_give_the_same_rate():
    rows = [
        roster_row("T1", "甲", "第一组", u_rate=0.975, j_rate="97.5%"),
        roster_row("T2", "乙", "第一组", u_rate="93.5％", j_rate=1),
    ]
    parsed = parse_workbook("roster", kind_xlsx("roster", rows, formats={(2, 9): "0.0%"}))
    assert parsed.errors == []
    first, second = parsed.rows
    assert first["prev_undergrad_rate"] == Decimal("0.975") == first["prev_junior_rate"]
    assert second["prev_undergrad_rate"] == Decimal("0.935")
    assert second["prev_junior_rate"] == Decimal("1")


def test_bad_rates():
    rows = [roster_row("T1", "甲", "第一组", u_rate=97.5), roster_row("T2", "乙", "第一组", u_rate="九成")]
    parsed = parse_workbook("roster", kind_xlsx("roster", rows))
    assert messages(parsed) == [
        "第2行「上年本科报到率」：比率应在 0%–100% 之间：“97.5”",
        "第3行「上年本科报到率」：比率无法识别：“九成”（应为百分比，如 97.5% 或 0.975）",
    ]


def test_booleans_choices_and_blank_flags():
    rows = [roster_row("T1", "甲", "第一组", kind="学生", leader="是", strike="", excellent="否")]
    row = parse_workbook("roster", kind_xlsx("roster", rows)).rows[0]
    assert (row["kind"], row["is_leader"], row["is_strike"], row["prev_excellent"]) == (
        "student",
        True,
        False,
        False,
    )
    bad = parse_workbook("roster", kind_xlsx("roster", [roster_row("T1", "甲", "第一组", kind="博士")]))
    assert messages(bad) == ["第2行「身份」：应为 教师/学生/职工 之一，不是“博士”"]


def test_levels_types_phones_and_numeric_exam_numbers():
    row = candidate_row(1, level="专科", kind="单招")
    row[0] = 23510101000001  # typed as a number in Excel
    row[11] = "13900000001、13900000002"
    parsed = parse_workbook("candidates", kind_xlsx("candidates", [row]))
    assert parsed.errors == []
    got = parsed.rows[0]
    assert got["exam_number"] == "23510101000001"
    assert (got["level"], got["admission_type"]) == ("junior", "single_recruitment")
    assert got["phone"] == ["13800000001"]
    assert got["parent_phone"] == ["13900000001", "13900000002"]


def test_blank_required_cells_and_id_number_typed_as_number():
    row = candidate_row(1)
    row[1] = " "
    row[2] = 510101200501011234
    row[4] = None
    parsed = parse_workbook("candidates", kind_xlsx("candidates", [row]))
    assert messages(parsed) == [
        "第2行「姓名」：不能为空",
        "第2行「身份证号」：身份证号请以文本格式填写（数字格式会丢失末几位）",
        "第2行「层次」：不能为空",
    ]


def test_optional_column_may_be_left_out():
    headers = HEADERS["candidates"][:-1]
    parsed = parse_workbook("candidates", xlsx(headers, [candidate_row(1)[:-1]]))
    assert parsed.errors == []
    assert parsed.rows[0]["caller_staff_no"] == ""


def test_duplicate_exam_numbers_in_the_file():
    rows = [candidate_row(1), candidate_row(2), candidate_row(1), candidate_row(1)]
    parsed = parse_workbook("candidates", kind_xlsx("candidates", rows))
    assert messages(parsed) == [
        "第4行「考生号」：考生号“23510101000001”与第2行重复",
        "第5行「考生号」：考生号“23510101000001”与第2行重复",
    ]


def test_duplicate_payment_is_same_exam_number_and_same_day():
    rows = [["A1", "2023-08-01", 100], ["A1", "2023-08-02", 100], ["A1", "2023-08-01", 50]]
    parsed = parse_workbook("payments", kind_xlsx("payments", rows))
    assert messages(parsed) == ["第4行「考生号」：考生号+缴费日期“A1 2023-08-01”与第2行重复"]
    assert [r["amount"] for r in parsed.rows] == [Decimal("100.00"), Decimal("100.00")]


def test_money_parsing():
    rows = [
        ["A1", "2023-08-01", 5000.5],
        ["A2", "2023-08-01", "¥5,000元"],
        ["A3", "2023-08-01", -1],
        ["A4", "2023-08-01", "五千"],
    ]
    parsed = parse_workbook("payments", kind_xlsx("payments", rows))
    assert [r["amount"] for r in parsed.rows] == [Decimal("5000.50"), Decimal("5000.00")]
    assert messages(parsed) == [
        "第4行「金额」：金额应在 0 到 99999999.99 元之间：“-1”",
        "第5行「金额」：金额无法识别：“五千”",
    ]


def test_blank_rows_are_skipped_and_row_numbers_stay_excel_rows():
    rows = [["A1", "2023-09-08"], [None, None], ["", " "], ["A2", "bad"]]
    parsed = parse_workbook("registrations", kind_xlsx("registrations", rows))
    assert parsed.total_rows == 2
    assert messages(parsed) == ["第5行「报到日期」：日期无法识别：“bad”（应为 Excel 日期或 YYYY-MM-DD）"]


def test_non_xlsx_bytes_named_xlsx(tmp_path):
    fake = tmp_path / "名单.xlsx"
    fake.write_bytes("考生号,报到日期\nA1,2023-09-08\n".encode())
    parsed = parse_workbook("registrations", fake)
    assert messages(parsed) == ["文件：不是 Excel 工作簿（.xlsx）文件，请用 Excel 另存为 .xlsx 后再导入"]


def test_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    parsed = parse_workbook("registrations", buffer.getvalue())
    assert parsed.errors[0].message.startswith("不是 Excel 工作簿")


def test_empty_file_and_empty_sheet_and_header_only():
    assert messages(parse_workbook("registrations", b"")) == ["文件：文件为空"]
    assert messages(parse_workbook("registrations", xlsx([]))) == ["文件：工作表为空：第1行应为表头"]
    assert messages(parse_workbook("registrations", xlsx(HEADERS["registrations"]))) == [
        "文件：没有数据行：表头下面是空的"
    ]


def test_too_large_file(settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    data = kind_xlsx("registrations", [["A1", "2023-09-08"]])
    assert parse_workbook("registrations", data).errors == []
    settings.IMPORT_MAX_BYTES = len(data) - 1
    parsed = parse_workbook("registrations", data)
    assert parsed.errors[0].row_number is None
    assert parsed.errors[0].message.startswith("文件过大")
    assert parse_workbook("registrations", io.BytesIO(data)).errors[0].message.startswith("文件过大")


def test_zip_with_a_broken_workbook_is_reported_not_raised():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "not xml at all")
    parsed = parse_workbook("registrations", buffer.getvalue())
    assert len(parsed.errors) == 1
    assert parsed.errors[0].row_number is None
    assert parsed.errors[0].message.startswith("无法读取工作簿")
