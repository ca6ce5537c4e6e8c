"""六.(二) phone subsidy: every tier boundary of both levels, increments, standards, rounding."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from subsidies.engine import JUNIOR, UNDERGRADUATE, Scheme, compute
from subsidies.engine.numbers import money
from subsidies.engine.phone import level_amount
from subsidies.engine.tiers import increment_steps
from tests.subsidies.builders import amounts, caller, lv, season

pytestmark = pytest.mark.sqlite

D = Decimal
SCHEME = Scheme()

# (enrolled of 10,000 admitted, non-withdrawable unless noted) → tier yuan, steps, per student, amount
UNDERGRAD_CASES = [
    # 100% and ≥ the top tier: >99% 55 + 10 steps
    (10000, 0, D("55"), 10, D("60"), D("600000.00")),
    (9901, 0, D("55"), 0, D("55"), D("544555.00")),
    # exactly 99% is not >99%: >98.5% tier, 5 steps over 98.5%
    (9900, 0, D("50"), 5, D("52.5"), D("519750.00")),
    (9851, 0, D("50"), 0, D("50"), D("492550.00")),
    (9850, 0, D("45"), 5, D("47.5"), D("467875.00")),
    # 98.47% over the 98% threshold → 4 full steps
    (9847, 0, D("45"), 4, D("47"), D("462809.00")),
    (9801, 0, D("45"), 0, D("45"), D("441045.00")),
    (9800, 0, D("40"), 10, D("45"), D("441000.00")),
    (9701, 0, D("40"), 0, D("40"), D("388040.00")),
    # exactly 97% = the basic standard (non-withdrawable): increments apply
    (9700, 0, D("30"), 5, D("32.5"), D("315250.00")),
    # below the 97% basic standard: no increments
    (9651, 0, D("30"), 0, D("30"), D("289530.00")),
    (9650, 0, D("25"), 0, D("25"), D("241250.00")),
    # the last tier is inclusive: exactly 96%
    (9600, 0, D("25"), 0, D("25"), D("240000.00")),
    (9599, 0, None, 0, D("0"), D("0.00")),
    (0, 0, None, 0, D("0"), D("0.00")),
    # withdrawable provinces: basic standard 98%
    (9800, 10000, D("40"), 10, D("45"), D("441000.00")),
    (9750, 10000, D("40"), 0, D("40"), D("390000.00")),
    (9850, 10000, D("45"), 5, D("47.5"), D("467875.00")),
]

JUNIOR_CASES = [
    (10000, 0, D("70"), 30, D("85"), D("850000.00")),
    (9701, 0, D("70"), 0, D("70"), D("679070.00")),
    (9700, 0, D("65"), 10, D("70"), D("679000.00")),
    (9601, 0, D("65"), 0, D("65"), D("624065.00")),
    (9600, 0, D("60"), 10, D("65"), D("624000.00")),
    (9501, 0, D("60"), 0, D("60"), D("570060.00")),
    (9500, 0, D("55"), 10, D("60"), D("570000.00")),
    (9401, 0, D("55"), 0, D("55"), D("517055.00")),
    (9400, 0, D("50"), 10, D("55"), D("517000.00")),
    (9301, 0, D("50"), 0, D("50"), D("465050.00")),
    (9300, 0, D("45"), 10, D("50"), D("465000.00")),
    (9250, 0, D("45"), 5, D("47.5"), D("439375.00")),
    (9200, 0, D("45"), 0, D("45"), D("414000.00")),
    (9199, 0, None, 0, D("0"), D("0.00")),
    # withdrawable: basic standard 93%, so 92.5% gets no increments
    (9250, 10000, D("45"), 0, D("45"), D("416250.00")),
    (9300, 10000, D("45"), 10, D("50"), D("465000.00")),
]


def _check(level, enrolled, withdrawable, tier_yuan, steps, per_student, amount):
    calc = level_amount(lv(10000, enrolled, withdrawable=withdrawable), level, SCHEME)
    assert calc["rate"] == Fraction(enrolled, 10000)
    if tier_yuan is None:
        assert calc["match"] is None
    else:
        assert calc["match"].tier.yuan == tier_yuan
    assert calc["steps"] == steps
    assert calc["per_student"] == per_student
    assert money(calc["amount"]) == amount


@pytest.mark.parametrize(
    ("enrolled", "withdrawable", "tier_yuan", "steps", "per_student", "amount"), UNDERGRAD_CASES
)
def test_undergraduate_tiers(enrolled, withdrawable, tier_yuan, steps, per_student, amount):
    _check(UNDERGRADUATE, enrolled, withdrawable, tier_yuan, steps, per_student, amount)


@pytest.mark.parametrize(
    ("enrolled", "withdrawable", "tier_yuan", "steps", "per_student", "amount"), JUNIOR_CASES
)
def test_junior_tiers(enrolled, withdrawable, tier_yuan, steps, per_student, amount):
    _check(JUNIOR, enrolled, withdrawable, tier_yuan, steps, per_student, amount)


def test_steps_are_exact_where_floats_are_not():
    # (0.983 - 0.98) / 0.001 is 2.9999999999999805 in floats; exactly 3 steps
    assert increment_steps(Fraction(983, 1000), D("0.98"), D("0.001")) == 3
    calc = level_amount(lv(1000, 983), UNDERGRADUATE, SCHEME)
    assert (calc["steps"], calc["per_student"], money(calc["amount"])) == (3, D("46.5"), D("45709.50"))


def test_repeating_fraction_rate():
    # 98/99 = 98.9898...%: >98.5% tier, 4 full steps (0.4898 points)
    calc = level_amount(lv(99, 98), UNDERGRADUATE, SCHEME)
    assert calc["steps"] == 4
    assert money(calc["amount"]) == D("5096.00")  # 98 × 52


def test_mixed_provinces_weight_the_standards():
    # 400 withdrawable (basic 98%) + 600 not (97%): basic 97.4%, target 99.4%
    below = level_amount(lv(1000, 973, withdrawable=400), UNDERGRADUATE, SCHEME)
    assert below["basic"] == Fraction(974, 1000)
    assert below["target"] == Fraction(994, 1000)
    assert (below["steps"], money(below["amount"])) == (0, D("38920.00"))  # 973 × 40
    at = level_amount(lv(1000, 974, withdrawable=400), UNDERGRADUATE, SCHEME)
    assert (at["steps"], money(at["amount"])) == (4, D("40908.00"))  # 974 × 42


def test_zero_admitted_gives_no_line_and_zero_enrolled_a_zero_line():
    r = compute(season([caller(1, ug=lv(0, 0)), caller(2, ug=lv(5, 0))]), SCHEME)
    assert amounts(r, 1, ["phone"]) == []
    assert amounts(r, 2, ["phone"]) == [("phone", D("0.00"))]
    assert "无电话补贴" in r.lines_for(2)[0].reason


def test_both_levels_add_up():
    r = compute(season([caller(1, ug=lv(100, 100), jr=lv(10, 10))]), SCHEME)
    assert amounts(r, 1, ["phone"]) == [("phone", D("6000.00")), ("phone", D("850.00"))]
    # a lone caller is also "bottom 3" (no awards) — the phone subsidy is the whole total
    assert r.totals[1] == D("6850.00")
    ug = r.lines_for(1)[0]
    assert (ug.rate, ug.tier, ug.steps) == (D("1.000000"), ">99.00%", 10)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Fraction(1, 200), D("0.01")),
        (Fraction(-1, 200), D("-0.01")),
        (Fraction(1, 3), D("0.33")),
        (Fraction(2, 3), D("0.67")),
        (D("2.675"), D("2.68")),
        (D("2.665"), D("2.67")),
        (Fraction(20000, 3), D("6666.67")),
        (0, D("0.00")),
    ],
)
def test_money_rounds_half_up(value, expected):
    assert money(value) == expected


def test_floats_are_refused():
    with pytest.raises(TypeError):
        money(0.1)  # type: ignore[arg-type]
