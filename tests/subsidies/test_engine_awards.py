"""七 awards and 八 penalties: best team, excellent individual, special award, bottom 3, wrong
withdrawal propagation, misconduct, order of application."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from subsidies.engine import AdjustmentFact, AuditCount, Misconduct, Scheme, StrikeCredit, compute
from subsidies.engine.awards import grades
from tests.subsidies.builders import amounts, caller, lv, season, team

pytestmark = pytest.mark.sqlite

D = Decimal
SCHEME = Scheme()
AWARDS = ("best_team", "excellent", "special")


def ten_teams(flags=None):
    """10 teams × 3 callers (leader first), each caller 100 本科 + 20 专科 admitted.

    T1 360/360, T2 359/360, T3 358/360, T4 357/360, T5–T10 339/360 (本科 95%, 专科 90%).
    Team 本科 mean 96.8%, 专科 mean 94%: T1–T4 are eligible; the top 30% = 3 teams win.
    """
    ug_enrolled = {1: (100, 100, 100), 2: (100, 100, 99), 3: (100, 99, 99), 4: (99, 99, 99)}
    callers, teams = [], []
    for t in range(1, 11):
        ug = ug_enrolled.get(t, (95, 95, 95))
        jr = 20 if t <= 4 else 18
        for i in range(3):
            pk = t * 10 + i
            callers.append(caller(pk, team=t, ug=lv(100, ug[i]), jr=lv(20, jr), **(flags or {}).get(pk, {})))
        teams.append(team(t, leader=t * 10))
    return season(callers, teams)


def test_grades_split_winners_in_thirds():
    assert [grades(n) for n in range(1, 7)] == [
        [1],
        [1, 2],
        [1, 2, 3],
        [1, 1, 2, 3],
        [1, 1, 2, 2, 3],
        [1, 1, 2, 2, 3, 3],
    ]


def test_best_team_ranking_grades_and_leader_share():
    r = compute(ten_teams(), SCHEME)
    outcome = {t: (a.eligible, a.rank, a.grade) for t, a in r.team_awards.items()}
    assert outcome[1] == (True, 1, 1)
    assert outcome[2] == (True, 2, 2)
    assert outcome[3] == (True, 3, 3)
    assert outcome[4] == (True, 4, None)
    assert outcome[5] == (False, None, None)
    # 1st prize 40% of 25,000 = 10,000: leader 20% = 2,000, two members 4,000 each
    assert amounts(r, 10, ["best_team"]) == [("best_team", D("2000.00"))]
    assert amounts(r, 11, ["best_team"]) == [("best_team", D("4000.00"))]
    # 2nd prize 8,000: 1,600 / 3,200; 3rd prize 7,000: 1,400 / 2,800
    assert amounts(r, 20, ["best_team"]) == [("best_team", D("1600.00"))]
    assert amounts(r, 22, ["best_team"]) == [("best_team", D("3200.00"))]
    assert amounts(r, 30, ["best_team"]) == [("best_team", D("1400.00"))]
    assert amounts(r, 31, ["best_team"]) == [("best_team", D("2800.00"))]
    assert amounts(r, 40, ["best_team"]) == []
    assert r.points[10] >= 20


def test_best_team_below_mean_count_or_rate_is_not_eligible():
    r = compute(ten_teams(), SCHEME)
    assert "本科报到率 95.00% 未超过平均 96.80%" in r.team_awards[5].why
    assert "专科报到率 90.00% 未超过平均 94.00%" in r.team_awards[5].why


def test_best_team_ties_more_enrolled_first_and_at_least_one_winner():
    # 3 teams: floor(30% × 3) = 0 → 1 winner. A (200/200) and B (300/300) tie at 100%: B first.
    facts = season(
        [
            caller(1, team=1, ug=lv(100, 100)),
            caller(2, team=1, ug=lv(100, 100)),
            caller(3, team=2, ug=lv(100, 100)),
            caller(4, team=2, ug=lv(100, 100)),
            caller(5, team=2, ug=lv(100, 100)),
            caller(6, team=3, ug=lv(100, 50)),
        ],
        [team(1, leader=1, name="A"), team(2, leader=3, name="B"), team(3, leader=6, name="C")],
    )
    r = compute(facts, dataclasses.replace(SCHEME, bottom_count=0))
    assert (r.team_awards[2].rank, r.team_awards[2].grade) == (1, 1)
    assert (r.team_awards[1].rank, r.team_awards[1].grade) == (2, None)
    assert "回访人数 100 低于平均 200.00" in r.team_awards[3].why
    # grade 1 only: 10,000 → leader 2,000, two members 4,000; grades 2 and 3 are not paid
    assert [a for _, a in amounts(r, 3, ["best_team"])] == [D("2000.00")]
    assert [a for _, a in amounts(r, 4, ["best_team"])] == [D("4000.00")]


def test_best_team_split_rounds_each_share():
    # one winning team of a leader and 3 members: 10,000 → 2,000 + 3 × 2,666.67
    # (a second team with a lower rate: a team is never "above the mean" of itself alone)
    facts = season(
        [caller(i, team=1, ug=lv(100, 100)) for i in (1, 2, 3, 4)]
        + [caller(i, team=2, ug=lv(100, 90)) for i in (5, 6, 7, 8)],
        [team(1, leader=1), team(2, leader=5)],
    )
    r = compute(facts, dataclasses.replace(SCHEME, bottom_count=0))
    assert [a for _, a in amounts(r, 2, ["best_team"])] == [D("2666.67")]


def test_excellent_individual_top_10_percent_with_ties_and_special_award():
    r = compute(ten_teams(), SCHEME)
    # 30 callers: top 10% = fewer than 3 strictly ahead. Everyone has 120 candidates; six callers
    # have 100%: nobody is ahead of them, so all six are excellent; 25,000 / 6 = 4,166.67 each.
    excellent = {pid for pid in r.totals if amounts(r, pid, ["excellent"])}
    assert excellent == {10, 11, 12, 20, 21, 30}
    assert amounts(r, 21, ["excellent"]) == [("excellent", D("4166.67"))]
    # special award: ≥ mean count (120) and 100%
    assert amounts(r, 30, ["special"]) == [("special", D("5000.00"))]
    assert amounts(r, 31, ["special"]) == []


def test_bottom_three_tie_breaks_and_effects():
    facts = season(
        [
            caller(1, ug=lv(100, 90), staff_no="A1", attended_days=2),  # 90%, 90 enrolled
            caller(2, ug=lv(50, 45), staff_no="A2", attended_days=2),  # 90%, 45 enrolled: before 1
            caller(3, ug=lv(50, 40), staff_no="B2", attended_days=2),  # 80%
            caller(4, ug=lv(50, 40), staff_no="B1", attended_days=2),  # 80%, same enrolled: 工号 B1 first
            caller(5, ug=lv(100, 100), staff_no="C1", attended_days=2),
        ]
    )
    r = compute(facts, SCHEME)
    assert r.bottom_ids == (4, 3, 2)
    assert amounts(r, 2, ["allowance", "allowance_bottom"]) == [
        ("allowance", D("160.00")),
        ("allowance_bottom", D("-80.00")),
    ]
    assert amounts(r, 1, ["allowance", "allowance_bottom"]) == [("allowance", D("160.00"))]


def test_bottom_three_lose_awards():
    # T5–T10 members tie at 113/120: the three lowest 工号 (T0050, T0051, T0052) are the bottom 3
    r = compute(ten_teams(), SCHEME)
    assert r.bottom_ids == (50, 51, 52)


def test_bottom_three_member_of_a_winning_team_forfeits_their_share():
    # team 1: 100%, 100%, 100%, 60% → 360/400 = 90%; team 2: 4 × 85%. Mean 87.5%: team 1 wins.
    facts = season(
        [caller(i, team=1, ug=lv(100, 100)) for i in (1, 2, 3)]
        + [caller(4, team=1, ug=lv(100, 60))]
        + [caller(i, team=2, ug=lv(100, 85)) for i in (5, 6, 7, 8)],
        [team(1, leader=1), team(2, leader=5)],
    )
    r = compute(facts, dataclasses.replace(SCHEME, bottom_count=1))
    assert r.bottom_ids == (4,)
    assert r.team_awards[1].grade == 1
    assert amounts(r, 2, ["best_team"]) == [("best_team", D("2666.67"))]
    forfeited = r.lines_for(4)
    assert [(x.rule, x.amount, x.points) for x in forfeited if x.rule == "best_team"] == [
        ("best_team", D("0.00"), 0)
    ]
    assert "取消评奖资格，本人份额不发放" in next(x.reason for x in forfeited if x.rule == "best_team")


def test_wrong_withdrawal_propagates():
    # caller 11 (team 1, the best team) made a wrong withdrawal; supervisor 99 audits team 1
    facts = ten_teams({11: {"wrong_withdrawal": True}})
    facts = dataclasses.replace(
        facts,
        callers=(*facts.callers, caller(99)),
        teams=tuple(dataclasses.replace(t, supervisor_ids=(99,)) if t.id == 1 else t for t in facts.teams),
        audits=(AuditCount(99, 1, 100),),
    )
    r = compute(facts, SCHEME)
    # the team loses best-team eligibility: T2 moves up to 1st, T4 now wins 3rd
    assert r.team_awards[1].eligible is False and "误退" in r.team_awards[1].why
    assert (r.team_awards[2].grade, r.team_awards[4].grade) == (1, 3)
    # the caller: everything at 50%, no awards (their 100% would have made them excellent)
    rules = [line.rule for line in r.lines_for(11)]
    assert rules == ["phone", "phone", "excellent", "special", "wrong_withdrawal"]
    phone = r.lines_for(11)[0].amount + r.lines_for(11)[1].amount
    assert amounts(r, 11, ["excellent", "special", "wrong_withdrawal"]) == [
        ("excellent", D("0.00")),
        ("special", D("0.00")),
        ("wrong_withdrawal", -phone / 2),
    ]
    # the leader bonus is halved: T1 本科 300/300, 专科 60/60 → 1,500 → 750 net
    assert amounts(r, 10, ["leader", "wrong_withdrawal_team"]) == [
        ("leader", D("1500.00")),
        ("wrong_withdrawal_team", D("-750.00")),
    ]
    # the supervisor gets 50% for that team: (50 + 20% uplift) × 50% = 30
    assert amounts(r, 99) == [
        ("supervision", D("50.00")),
        ("supervision_uplift", D("10.00")),
        ("wrong_withdrawal_team", D("-30.00")),
    ]
    assert r.totals[99] == D("30.00")


def test_wrong_withdrawal_by_the_leader_halves_once():
    facts = season(
        [caller(1, team=1, ug=lv(100, 100), wrong_withdrawal=True), caller(2, team=1, ug=lv(100, 100))],
        [team(1, leader=1)],
    )
    r = compute(facts, dataclasses.replace(SCHEME, bottom_count=0))
    # phone 6,000 + leader 1,500 = 7,500 → -3,750 once (no team halving on top)
    assert amounts(r, 1, ["leader", "wrong_withdrawal", "wrong_withdrawal_team"]) == [
        ("leader", D("1500.00")),
        ("wrong_withdrawal", D("-3750.00")),
    ]
    assert r.totals[1] == D("3750.00")


def test_misconduct_is_applied_last_and_capped_at_100_percent():
    facts = season(
        [
            caller(1, ug=lv(100, 100), attended_days=1),
            caller(2, ug=lv(100, 100), wrong_withdrawal=True),
            caller(3, ug=lv(100, 100)),
        ],
        misconduct=(
            Misconduct(1, D("0.33"), "虚假回访"),
            Misconduct(2, D("0.20"), "玩忽职守"),
            Misconduct(3, D("0.60"), "甲"),
            Misconduct(3, D("0.50"), "乙"),
        ),
    )
    no_awards = dataclasses.replace(SCHEME, bottom_count=0, excellent_pool=D("0"), special_award_yuan=D("0"))
    r = compute(facts, no_awards)
    # 6,000 + 80 = 6,080 × 33% = 2,006.40
    assert amounts(r, 1, ["misconduct"]) == [("misconduct", D("-2006.40"))]
    # after the wrong-withdrawal halving: 3,000 × 20% = 600
    assert amounts(r, 2, ["wrong_withdrawal", "misconduct"]) == [
        ("wrong_withdrawal", D("-3000.00")),
        ("misconduct", D("-600.00")),
    ]
    assert r.totals[3] == D("0.00")


def test_order_of_lines_for_one_person():
    facts = season(
        [
            caller(
                1,
                team=1,
                ug=lv(100, 100),
                prev_undergrad_rate=D("0.995"),
                attended_days=1,
                wrong_withdrawal=False,
            ),
            caller(2, team=1, ug=lv(100, 99)),
            caller(3, team=2, ug=lv(100, 90)),
        ],
        [team(1, leader=1, supervisors=[1]), team(2, leader=3)],
        audits=(AuditCount(1, 1, 10),),
        strike_credits=(StrikeCredit(1, 500, "no_show"),),
        misconduct=(Misconduct(1, D("0.20"), "迟到"),),
        adjustments=(AdjustmentFact(7, 1, D("12.34"), "data_error", "补录"),),
    )
    r = compute(facts, dataclasses.replace(SCHEME, workload_minimum=1000, bottom_count=1))
    assert [line.rule for line in r.lines_for(1)] == [
        "phone",
        "phone_uplift",
        "workload",
        "leader",
        "supervision",
        "supervision_uplift",
        "strike",
        "allowance",
        "best_team",
        "excellent",
        "special",
        "misconduct",
        "adjustment",
    ]
    # 6,000 + 600 − 500 + 1,500 + 5 + 1 + 70 + 80 + 2,000 + 25,000 + 5,000 = 39,756; −20% = −7,951.20
    assert amounts(r, 1, ["misconduct", "adjustment"]) == [
        ("misconduct", D("-7951.20")),
        ("adjustment", D("12.34")),
    ]
    assert r.totals[1] == D("31817.14")
    assert r.bottom_ids == (3,)
    assert amounts(r, 2, ["best_team"]) == [("best_team", D("8000.00"))]


def test_each_line_is_rounded_half_up_before_the_next_rule():
    # allowance 0.05 (one day at a made-up 0.05 yuan); wrong withdrawal: −0.025 → −0.03
    scheme = dataclasses.replace(SCHEME, allowance_teacher_yuan=D("0.05"), bottom_count=0)
    r = compute(season([caller(1, attended_days=1, wrong_withdrawal=True)]), scheme)
    assert amounts(r, 1) == [("allowance", D("0.05")), ("wrong_withdrawal", D("-0.03"))]
    assert r.totals[1] == D("0.02")
    # a team award of 7,000 with a leader and 3 members: 1,400 + 3 × 1,866.67 (rounded per line)
    facts = season(
        [caller(i, team=1, ug=lv(100, 100)) for i in (1, 2, 3, 4)]
        + [caller(i, team=2, ug=lv(100, 90)) for i in (5, 6, 7, 8)],
        [team(1, leader=1), team(2, leader=5)],
    )
    shares = (D("0.40"), D("0.32"), D("0.28"))
    r = compute(facts, dataclasses.replace(SCHEME, bottom_count=0, best_team_grade_shares=shares[::-1]))
    assert amounts(r, 2, ["best_team"]) == [("best_team", D("1866.67"))]
    assert sum(a for p in (1, 2, 3, 4) for _, a in amounts(r, p, ["best_team"])) == D("7000.01")
