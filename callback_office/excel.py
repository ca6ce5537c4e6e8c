"""Excel helpers shared by every export: write-only workbooks, escaped text cells."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_START = frozenset(FORMULA_PREFIXES)  # every prefix is one character
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
    percent format. Text is escaped as `safe_text` does; empty text and None leave the cell out.
    Per cell this costs a type check (and a styled cell for Decimals, sharing one style per
    format): a payout workbook writes half a million cells.
    """

    def __init__(self, wb: Workbook, title: str, headers: Sequence[str], percent_columns: Iterable[int] = ()):
        self.ws = wb.create_sheet(title=title)
        self.ws.freeze_panes = "A2"
        self.percent_columns = frozenset(percent_columns)
        bold = Font(bold=True)
        header_cells = []
        for h in headers:
            cell = WriteOnlyCell(self.ws, value=h)
            cell.font = bold
            header_cells.append(cell)
        self.ws.append(header_cells)
        self._styles = {}
        for name, number_format in (("money", MONEY_FORMAT), ("percent", PERCENT_FORMAT)):
            prototype = WriteOnlyCell(self.ws)
            prototype.number_format = number_format
            self._styles[name] = prototype._style

    def append(self, row: Sequence[Any]) -> None:
        ws = self.ws
        percent = self.percent_columns
        money_style, percent_style = self._styles["money"], self._styles["percent"]
        cells: list[Any] = []
        add = cells.append
        for i, value in enumerate(row):
            kind = value.__class__
            if kind is str:
                if not value:
                    add(None)
                elif value[0] in FORMULA_START:
                    add("'" + value)
                else:
                    add(value)
            elif kind is Decimal:
                cell = WriteOnlyCell(ws, value=value)
                # one StyleArray per format, shared: openpyxl only reads it when writing
                cell._style = percent_style if i in percent else money_style
                add(cell)
            elif isinstance(value, Decimal):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = PERCENT_FORMAT if i in percent else MONEY_FORMAT
                add(cell)
            else:
                add(safe_text(value))  # str subclasses (SafeString …) are escaped too
        ws.append(cells)


def new_workbook() -> Workbook:
    return Workbook(write_only=True)


def save_workbook(wb: Workbook, target: str | IO[bytes]) -> None:
    wb.save(target)
