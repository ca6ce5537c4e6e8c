"""The worked examples of docs/subsidy-rules.md are recomputed by the engine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from subsidies.engine import JUNIOR, UNDERGRADUATE, Scheme
from subsidies.engine.numbers import money
from subsidies.engine.phone import level_amount
from tests.subsidies.builders import lv

pytestmark = pytest.mark.sqlite

DOC = Path(__file__).resolve().parents[2] / "docs" / "subsidy-rules.md"
LEVELS = {"本科": UNDERGRADUATE, "专科": JUNIOR}


def phone_examples() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("Phone examples *(tested)*", 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("| 本科") or line.startswith("| 专科"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows


def test_the_document_has_examples():
    assert len(phone_examples()) >= 15


@pytest.mark.parametrize("row", phone_examples(), ids=lambda r: "-".join(r[:4]))
def test_phone_example(row):
    level, withdrawable, admitted, enrolled, tier, steps, per_student, amount = row
    calc = level_amount(
        lv(int(admitted), int(enrolled), withdrawable=int(withdrawable)), LEVELS[level], Scheme()
    )
    assert (calc["match"].label if calc["match"] else "—") == tier
    assert calc["steps"] == int(steps)
    assert calc["per_student"] == Decimal(per_student)
    assert money(calc["amount"]) == Decimal(amount)
