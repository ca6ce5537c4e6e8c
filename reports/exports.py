"""Excel exports of dashboard tables and candidate lists, each one logged (`ExportLog`)."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse

from admissions.models import Season
from callback_office.excel import SheetWriter, new_workbook, save_workbook
from callback_office.export_log import export_log_record as shared_export_log_record
from reports.dashboards import Table
from reports.models import ExportLog

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def _excel_value(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "decimal" and isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def write_tables(tables: Sequence[Table]) -> tuple[bytes, int]:
    """One sheet per table (rates as percentages); returns the workbook and its data rows."""
    wb = new_workbook()
    rows = 0
    for t in tables:
        percent = [i for i, c in enumerate(t.columns) if c.kind == "rate"]
        title = SHEET_FORBIDDEN.sub(" ", str(t.title))[:31]
        sheet = SheetWriter(wb, title, [str(c.label) for c in t.columns], percent_columns=percent)
        for row in t.rows:
            sheet.append([_excel_value(v, c.kind) for v, c in zip(row, t.columns, strict=True)])
            rows += 1
    buf = io.BytesIO()
    save_workbook(wb, buf)
    return buf.getvalue(), rows


def export_log_record(
    *,
    user: AbstractBaseUser,
    season: Season,
    what: str,
    personal_data: bool,
    row_count: int,
    filters: dict[str, Any],
) -> ExportLog:
    """Record who exported what (with the filters and the number of rows)."""
    return shared_export_log_record(
        user=user, season=season, what=what, personal_data=personal_data, row_count=row_count, filters=filters
    )


def xlsx_response(
    *,
    user: AbstractBaseUser,
    season: Season,
    what: str,
    filename: str,
    tables: Sequence[Table],
    personal_data: bool,
    filters: dict[str, Any],
) -> HttpResponse:
    content, rows = write_tables(tables)
    export_log_record(
        user=user, season=season, what=what, personal_data=personal_data, row_count=rows, filters=filters
    )
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
