"""Uplift, workload, leader bonus, supervision, strike team, allowance (六.(三)–(六), 七.(四), 八.(一))."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from subsidies.engine import AuditCount, Scheme, StrikeCredit, compute
from tests.subsidies.builders import amounts, caller, lv, season, team

pytestmark = pytest.mark.sqlite

D = Decimal
SCHEME = Scheme()
PHONE = ("phone", "phone_uplift", "workload")


# --- 六.(六) returning callers: +10% ---------------------------------------------------------
# This year's 本科 990/1000 = 99% → >98.5% tier 50 + 5 steps = 52.5 × 990 = 51,975.00
UG_99 = lv(1000, 990)
# 专科 97/100 = 97% → >96% tier 65 + 10 steps = 70 × 97 = 6,790.00
JR_97 = lv(100, 97)


@pytest.mark.parametrize(
    ("ug", "jr", "prev", "expected"),
    [
        # prev 本科 > 99% but this year (99%) is below last year (99.1%)
        (UG_99, None, {"prev_undergrad_rate": D("0.991")}, [("phone", D("51975.00"))]),
        # prev 本科 exactly 99% is not "高于99%"
        (UG_99, None, {"prev_undergrad_rate": D("0.99")}, [("phone", D("51975.00"))]),
        # prev 本科 > 99% and this year equal to last year (不低于): 99.5% → 55 + 5 steps = 57.5 × 995
        (
            lv(1000, 995),
            None,
            {"prev_undergrad_rate": D("0.995")},
            [("phone", D("57212.50")), ("phone_uplift", D("5721.25"))],
        ),
        # excellent last year, this 本科 99% ≥ last 98.9%
        (
            UG_99,
            None,
            {"prev_undergrad_rate": D("0.989"), "prev_excellent": True},
            [("phone", D("51975.00")), ("phone_uplift", D("5197.50"))],
        ),
        # prev 专科 > 96%, no 本科 last year → compare 专科 (97% ≥ 96.5%); uplift on the whole phone subsidy
        (
            UG_99,
            JR_97,
            {"prev_junior_rate": D("0.965")},
            [("phone", D("51975.00")), ("phone", D("6790.00")), ("phone_uplift", D("5876.50"))],
        ),
        # no 本科 this year → compare 专科: 97% ≥ 95%
        (
            None,
            JR_97,
            {"prev_undergrad_rate": D("0.995"), "prev_junior_rate": D("0.95")},
            [("phone", D("6790.00")), ("phone_uplift", D("679.00"))],
        ),
        # no 本科 this year and 专科 below last year's 专科
        (
            None,
            JR_97,
            {"prev_undergrad_rate": D("0.995"), "prev_junior_rate": D("0.98")},
            [("phone", D("6790.00"))],
        ),
        # nothing comparable: only 本科 this year, only 专科 last year
        (UG_99, None, {"prev_junior_rate": D("0.97")}, [("phone", D("51975.00"))]),
        # no previous-year condition at all
        (
            UG_99,
            None,
            {"prev_undergrad_rate": D("0.98"), "prev_junior_rate": D("0.96")},
            [("phone", D("51975.00"))],
        ),
    ],
)
def test_returning_caller_uplift(ug, jr, prev, expected):
    r = compute(season([caller(1, ug=ug, jr=jr, **prev)]), SCHEME)
    assert amounts(r, 1, PHONE) == expected


def test_uplift_reason_names_the_comparison():
    r = compute(season([caller(1, ug=UG_99, prev_undergrad_rate=D("0.989"), prev_excellent=True)]), SCHEME)
    line = r.lines_for(1)[1]
    assert line.rule == "phone_uplift"
    assert "上年获优秀个人" in line.reason and "本年本科报到率 99.00% 不低于上年 98.90%" in line.reason


# --- 八.(一) minimum workload ------------------------------------------------------------------


def test_workload_below_minimum_deducts_5_per_enrolled():
    scheme = dataclasses.replace(SCHEME, workload_minimum=100)
    # 49/50 = 98% → >97% 40 + 10 steps = 45 × 49 = 2205; deduction 5 × 49 = 245
    r = compute(season([caller(1, ug=lv(50, 49)), caller(2, ug=lv(100, 98))]), scheme)
    assert amounts(r, 1, PHONE) == [("phone", D("2205.00")), ("workload", D("-245.00"))]
    assert amounts(r, 2, PHONE) == [("phone", D("4410.00"))]  # at the minimum: nothing deducted


def test_workload_counts_withdrawn_candidates_as_work():
    scheme = dataclasses.replace(SCHEME, workload_minimum=100)
    # 100 held, 50 withdrew (以退为进): 49/50 admitted enrolled, but 100 candidates of work
    r = compute(season([caller(1, ug=lv(50, 49, assigned=100))]), scheme)
    assert amounts(r, 1, PHONE) == [("phone", D("2205.00"))]


def test_workload_deduction_not_below_zero():
    scheme = dataclasses.replace(SCHEME, workload_minimum=100, workload_deduction_yuan=D("100"))
    # 本科 30/40 pays nothing, 专科 10/10 pays 850; 100 × 40 enrolled = 4000 capped at 850
    r = compute(season([caller(1, ug=lv(40, 30), jr=lv(10, 10))]), scheme)
    assert amounts(r, 1, PHONE) == [("phone", D("0.00")), ("phone", D("850.00")), ("workload", D("-850.00"))]
    assert "以电话补贴为限" in r.lines_for(1)[2].reason


def test_workload_without_phone_subsidy_makes_no_line():
    scheme = dataclasses.replace(SCHEME, workload_minimum=100)
    r = compute(season([caller(1, ug=lv(40, 30))]), scheme)
    assert amounts(r, 1, PHONE) == [("phone", D("0.00"))]


# --- 六.(三) leader bonus ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leader_ug", "member_ug", "member_jr", "expected"),
    [
        (lv(100, 99), lv(100, 100), None, D("1500.00")),  # 199/200 = 99.5% ≥ target 99%
        (lv(100, 99), lv(100, 99), None, D("1500.00")),  # exactly the target 99%
        (lv(100, 98), lv(100, 98), None, D("1000.00")),  # 98%: basic 97% ≤ rate < 99%
        (lv(100, 97), lv(100, 97), None, D("1000.00")),  # exactly the basic standard
        (lv(100, 97), lv(100, 96), None, D("0.00")),  # 96.5% < 97%
        (lv(100, 99), lv(100, 99), lv(100, 94), D("1500.00")),  # 专科 exactly target 94%
        (lv(100, 99), lv(100, 99), lv(100, 93), D("1000.00")),  # 专科 only basic
        (lv(100, 99), lv(100, 99), lv(100, 91), D("0.00")),  # 专科 below basic
        (lv(0, 0), lv(0, 0), None, D("0.00")),  # no candidates
    ],
)
def test_leader_bonus(leader_ug, member_ug, member_jr, expected):
    facts = season(
        [caller(1, team=10, ug=leader_ug), caller(2, team=10, ug=member_ug, jr=member_jr)],
        [team(10, leader=1)],
    )
    r = compute(facts, SCHEME)
    assert amounts(r, 1, ["leader"]) == [("leader", expected)]


def test_leader_bonus_uses_weighted_team_standards():
    # withdrawable members: basic 98%/target 100%; 197/200 = 98.5% → basic only
    facts = season(
        [
            caller(1, team=10, ug=lv(100, 99, withdrawable=100)),
            caller(2, team=10, ug=lv(100, 98, withdrawable=100)),
        ],
        [team(10, leader=1)],
    )
    assert amounts(compute(facts, SCHEME), 1, ["leader"]) == [("leader", D("1000.00"))]


def test_team_without_leader_pays_no_leader_bonus():
    facts = season([caller(1, team=10, ug=lv(100, 100))], [team(10, leader=None)])
    assert amounts(compute(facts, SCHEME), 1, ["leader"]) == []


# --- 六.(四) supervision ------------------------------------------------------------------------


def _supervised(member_ug, *, incidents=frozenset(), ww=False):
    return season(
        [caller(1, team=10, ug=member_ug, wrong_withdrawal=ww), caller(9)],
        [team(10, supervisors=[9])],
        audits=(AuditCount(supervisor_id=9, team_id=10, count=41),),
        incident_team_ids=frozenset(incidents),
    )


SUPERVISION = ("supervision", "supervision_uplift", "wrong_withdrawal_team")


@pytest.mark.parametrize(
    ("member_ug", "incidents", "ww", "expected"),
    [
        (lv(100, 98), (), False, [("supervision", D("20.50"))]),
        # exactly the target (99%) is not "高于目标"
        (lv(100, 99), (), False, [("supervision", D("20.50"))]),
        (lv(1000, 991), (), False, [("supervision", D("20.50")), ("supervision_uplift", D("4.10"))]),
        (lv(1000, 991), (10,), False, [("supervision", D("0.00"))]),
        # a wrong withdrawal in the team: the supervisor gets 50% for that team
        (
            lv(1000, 991),
            (),
            True,
            [
                ("supervision", D("20.50")),
                ("supervision_uplift", D("4.10")),
                ("wrong_withdrawal_team", D("-12.30")),
            ],
        ),
    ],
)
def test_supervision(member_ug, incidents, ww, expected):
    r = compute(_supervised(member_ug, incidents=incidents, ww=ww), SCHEME)
    assert amounts(r, 9, SUPERVISION) == expected


def test_supervision_per_team():
    facts = season(
        [caller(1, team=10, ug=lv(100, 98)), caller(2, team=11, ug=lv(100, 98)), caller(9)],
        [team(10, supervisors=[9]), team(11, supervisors=[9])],
        audits=(AuditCount(9, 10, 10), AuditCount(9, 11, 3)),
        incident_team_ids=frozenset({11}),
    )
    r = compute(facts, SCHEME)
    assert amounts(r, 9) == [("supervision", D("5.00")), ("supervision", D("0.00"))]
    assert r.totals[9] == D("5.00")


# --- 六.(五) strike team, 七.(四) allowance ---------------------------------------------------


def test_strike_team_70_and_100():
    credits = (
        StrikeCredit(holder_id=7, candidate_id=1, kind="no_show"),
        StrikeCredit(holder_id=7, candidate_id=2, kind="no_show"),
        StrikeCredit(holder_id=7, candidate_id=3, kind="after_registration"),
        StrikeCredit(holder_id=8, candidate_id=4, kind="unreachable"),
    )
    r = compute(season([caller(7), caller(8)], strike_credits=credits), SCHEME)
    assert amounts(r, 7) == [("strike", D("100.00")), ("strike", D("140.00"))]
    assert amounts(r, 8) == []


@pytest.mark.parametrize(
    ("kind", "days", "expected"),
    [("teacher", 3, D("240.00")), ("staff", 2, D("160.00")), ("student", 3, D("150.00"))],
)
def test_daily_allowance(kind, days, expected):
    r = compute(season([caller(1, kind=kind, attended_days=days)]), SCHEME)
    assert amounts(r, 1) == [("allowance", expected)]
