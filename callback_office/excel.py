"""Excel helpers shared by every export: write-only workbooks, escaped text cells."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00%"


def safe_text(value: Any) -> Any:
    """Escape text that a spreadsheet would run as a formula (CSV/formula injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SheetWriter:
    """One write-only sheet: a bold, frozen header row, then rows of plain values.

    Decimals are written as numbers with 2 decimals; columns named in `percent_columns` get a
    percent format.
    """

    def __init__(self, wb: Workbook, title: str, headers: Sequence[str], percent_columns: Iterable[int] = ()):
        self.ws = wb.create_sheet(title=title)
        self.ws.freeze_panes = "A2"
        self.percent_columns = set(percent_columns)
        bold = Font(bold=True)
        header_cells = []
        for h in headers:
            cell = WriteOnlyCell(self.ws, value=h)
            cell.font = bold
            header_cells.append(cell)
        self.ws.append(header_cells)

    def append(self, row: Sequence[Any]) -> None:
        cells = []
        for i, value in enumerate(row):
            if isinstance(value, Decimal):
                cell = WriteOnlyCell(self.ws, value=value)
                cell.number_format = PERCENT_FORMAT if i in self.percent_columns else MONEY_FORMAT
                cells.append(cell)
            else:
                cells.append(safe_text(value))
        self.ws.append(cells)


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def save_workbook(wb: Workbook, target: str | IO[bytes]) -> None:
    wb.save(target)
