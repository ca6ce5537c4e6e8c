"""Scheme validation (Chinese messages), facts JSON round trip, what-if."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from subsidies.engine import (
    AdjustmentFact,
    AuditCount,
    Misconduct,
    Scheme,
    SchemeError,
    StrikeCredit,
    compute,
)
from subsidies.engine.scheme import UNDERGRADUATE
from subsidies.engine.serialize import facts_from_dict, facts_to_dict
from subsidies.engine.teams import team_pool
from subsidies.engine.whatif import next_tier, team_goals
from tests.subsidies.builders import caller, lv, season, team

pytestmark = pytest.mark.sqlite

D = Decimal


def test_default_scheme_round_trips():
    assert Scheme.from_dict(Scheme().to_dict()) == Scheme()
    assert Scheme.from_dict({}) == Scheme()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"increment_yuan": 0.5}, "必须是数字"),
        ({"increment_yuan": "abc"}, "不是有效的数字"),
        ({"uplift_rate": "1.5"}, "比例不能大于 1"),
        ({"leader_bonus_target": "-1"}, "不能为负数"),
        ({"workload_minimum": -3}, "必须是非负整数"),
        ({"best_team_grade_shares": ["0.5", "0.4", "0.3"]}, "占比之和不能超过 1"),
        (
            {"tiers": {"undergraduate": [["0.96", "25"], ["0.99", "55"]], "junior": [["0.92", "45"]]}},
            "从高到低",
        ),
        ({"tiers": {"undergraduate": []}}, "必须分别给出本科和专科的档位"),
        ({"misconduct_min": "0.9", "misconduct_max": "0.5"}, "下限不能大于上限"),
        ({"nonsense": 1}, "未知的参数"),
        ({"points_special": 25}, "荣誉积分必须在 10 到 20 分之间"),
    ],
)
def test_scheme_errors_are_in_chinese(change, message):
    with pytest.raises(SchemeError) as exc:
        Scheme.from_dict(Scheme().to_dict() | change)
    assert message in str(exc.value)


def test_facts_json_round_trip_gives_the_same_result():
    facts = season(
        [
            caller(
                1, team=10, ug=lv(100, 99, withdrawable=30), prev_undergrad_rate=D("0.995"), attended_days=2
            ),
            caller(2, team=10, jr=lv(20, 19), kind="student", wrong_withdrawal=True),
            caller(3),
        ],
        [team(10, leader=1, supervisors=[3])],
        audits=(AuditCount(3, 10, 7),),
        incident_team_ids=frozenset({99}),
        strike_credits=(StrikeCredit(3, 5, "after_registration"),),
        misconduct=(Misconduct(1, D("0.2"), "迟到"),),
        adjustments=(AdjustmentFact(1, 2, D("-10.00"), "other", "多发", "其他"),),
    )
    again = facts_from_dict(facts_to_dict(facts))
    assert again == facts
    assert compute(again, Scheme()).lines == compute(facts, Scheme()).lines


def test_next_tier():
    # 98/100 = 98% (>97% + 10 steps = 45/人): one more → 99% (>98.5% 50 + 5 steps) = 52.5 × 99
    tip = next_tier(lv(100, 98), UNDERGRADUATE, Scheme())
    assert (tip.more, tip.tier, tip.amount_now, tip.amount_then, tip.gain) == (
        1,
        ">98.50%",
        D("4410.00"),
        D("5197.50"),
        D("787.50"),
    )
    # 950/1000 = 95% → nothing; 10 more → 96% (≥96%, 25 × 960)
    tip = next_tier(lv(1000, 950), UNDERGRADUATE, Scheme())
    assert (tip.more, tip.amount_then) == (10, D("24000.00"))
    assert next_tier(lv(100, 100), UNDERGRADUATE, Scheme()) is None
    assert next_tier(lv(0, 0), UNDERGRADUATE, Scheme()) is None


def test_team_goals():
    facts = season(
        [caller(1, team=10, ug=lv(100, 95)), caller(2, team=10, ug=lv(100, 96))], [team(10, leader=1)]
    )
    pool = team_pool(facts, facts.teams[0], Scheme())
    (goal,) = team_goals(pool)
    # 191/200: basic 97% needs 194 (3 more), target 99% needs 198 (7 more)
    assert (goal.level, goal.to_basic, goal.to_target) == (UNDERGRADUATE, 3, 7)
    full = dataclasses.replace(facts, callers=(caller(1, team=10, ug=lv(10, 5)),))
    (goal,) = team_goals(team_pool(full, full.teams[0], Scheme()))
    assert (goal.to_basic, goal.to_target) == (5, 5)  # 97% and 99% of 10 both need all 10
