"""The table body tag writes what the cell-by-cell template wrote: escaped values and links, the
cell classes by column kind, rates as percentages, empty numbers as a dash."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.template import Context, Template

from reports.dashboards import Column, Table

TEMPLATE = Template("{% load dashboard_tags %}{% table_rows table %}")


def test_cells_are_escaped_and_classed_by_kind():
    t = Table(
        "x",
        "x",
        [Column("a"), Column("b", "int"), Column("c", "rate"), Column("d", "note"), Column("e", "date")],
    )
    t.add(
        ["<b>&", 3, Decimal("0.5"), "备注 <i>", dt.date(2023, 8, 20)],
        [None, "/r/?a=1&b=<2>", None, None, None],
    )
    t.add(["", None, None, None, None])
    html = TEMPLATE.render(Context({"table": t}))
    assert html == (
        '<tr><td>&lt;b&gt;&amp;</td><td class="n"><a href="/r/?a=1&amp;b=&lt;2&gt;">3</a></td>'
        '<td class="n">50.00%</td><td class="note">备注 &lt;i&gt;</td>'
        '<td class="n">2023-08-20</td></tr>\n    '
        '<tr><td></td><td class="n">—</td><td class="n">—</td><td class="note"></td>'
        '<td class="n">—</td></tr>\n    '
    )
