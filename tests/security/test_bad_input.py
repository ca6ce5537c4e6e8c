"""Bad input: malformed workbooks are refused with a clear Chinese message and change nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from callback_office import importing
from tests.factories import ProvinceFactory, SeasonFactory
from tests.security.test_role_matrix import fingerprint

pytestmark = pytest.mark.django_db

CANDIDATE_ROW = [
    "23510101000001",
    "张三",
    "510101200501010011",
    "四川",
    "本科",
    "普通类",
    "本科一批",
    "计算机",
    1,
    "成都七中",
    "13800000001",
    "13900000001",
    "成都市",
    "",
]


def headers(kind: str) -> list[str]:
    return [c.header for c in importing.get_kind(kind).all_columns]


def xlsx(rows: list[list], *, merge: str | None = None, write_only: bool = False) -> bytes:
    wb = Workbook(write_only=write_only)
    ws = wb.create_sheet() if write_only else wb.active
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def season(db):
    season = SeasonFactory()
    ProvinceFactory(season=season, province="四川")
    return season


def refused(kind: str, data: bytes) -> list[str]:
    """Import for real (not a dry run); return the error messages, asserting nothing changed."""
    before = fingerprint()
    result = importing.import_file(kind, data, season_year=2023, dry_run=False)
    assert not result.committed
    assert fingerprint() == before
    messages = [e.message for e in result.errors]
    assert messages, "a bad file must be refused with a message"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in messages), messages  # Chinese
    return messages


def test_the_good_file_goes_in(season):
    result = importing.import_file(
        "candidates", xlsx([headers("candidates"), CANDIDATE_ROW]), season_year=2023, dry_run=False
    )
    assert result.errors == []
    assert result.created == 1


def test_wrong_headers(season):
    bad = ["考号", *headers("candidates")[1:]]
    messages = refused("candidates", xlsx([bad, CANDIDATE_ROW]))
    assert "无法识别的列「考号」" in messages
    assert "缺少列「考生号」" in messages


def test_merged_cells(season):
    second = ["23510101000002", *CANDIDATE_ROW[1:]]
    second[2] = "510101200501010022"
    messages = refused("candidates", xlsx([headers("candidates"), CANDIDATE_ROW, second], merge="B2:B3"))
    assert any("姓名" in m or "不能为空" in m or "必填" in m for m in messages), messages


def test_formula_cells(season):
    row = list(CANDIDATE_ROW)
    row[1] = '=HYPERLINK("http://x")'
    messages = refused("candidates", xlsx([headers("candidates"), row]))
    assert messages


def test_dates_as_text(season):
    rows = [headers("payments"), ["23510101000001", "2023年7月32日", 5000]]
    messages = refused("payments", xlsx(rows))
    assert any("日期" in m for m in messages), messages


def test_100000_blank_rows(season):
    rows = [headers("candidates")] + [[" "] for _ in range(100_000)]
    messages = refused("candidates", xlsx(rows, write_only=True))
    assert any("没有数据行" in m for m in messages), messages


def test_not_an_xlsx_despite_the_name(season):
    messages = refused("candidates", b"%PDF-1.4 this is not a workbook" * 10)
    assert messages == ["不是 Excel 工作簿（.xlsx）文件，请用 Excel 另存为 .xlsx 后再导入"]


def test_a_zip_that_is_not_a_workbook(season):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    assert refused("candidates", buf.getvalue()) == [
        "不是 Excel 工作簿（.xlsx）文件，请用 Excel 另存为 .xlsx 后再导入"
    ]


def zip_bomb(expanded_mb: int) -> bytes:
    """A tiny xlsx-looking zip whose sheet expands to `expanded_mb` MB."""
    good = zipfile.ZipFile(io.BytesIO(xlsx([headers("candidates"), CANDIDATE_ROW])))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in good.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with out.open(info.filename, "w", force_zip64=True) as f:
                    f.write(b'<?xml version="1.0"?><worksheet><sheetData>')
                    chunk = b" " * (1024 * 1024)
                    for _ in range(expanded_mb):
                        f.write(chunk)
                    f.write(b"</sheetData></worksheet>")
            else:
                out.writestr(info, good.read(info.filename))
    return buf.getvalue()


def test_zip_bomb(season, settings):
    settings.IMPORT_MAX_UNZIPPED_BYTES = 50 * 1024 * 1024
    bomb = zip_bomb(64)
    assert len(bomb) < 200 * 1024  # tiny on disk
    messages = refused("candidates", bomb)
    assert len(messages) == 1
    assert "解压后过大" in messages[0]


def test_huge_file(season, settings):
    settings.IMPORT_MAX_BYTES = 1024 * 1024
    data = xlsx([headers("candidates"), CANDIDATE_ROW]) + b"\0" * (1024 * 1024)
    assert refused("candidates", data) == ["文件过大（上限 1 MB）"]
    path_messages = refused("candidates", io.BytesIO(data))
    assert path_messages == ["文件过大（上限 1 MB）"]


def test_empty_file(season):
    assert refused("candidates", b"") == ["文件为空"]
