"""The whole computation, in the order of issue 4:

phone (tiers + increments) → ×1.1 uplift → workload deduction → + leader, supervision, strike,
allowance → + awards (if eligible) → wrong-withdrawal halving → misconduct → adjustments.
Every line is rounded to 0.01 yuan (ROUND_HALF_UP) when it is made; totals add rounded lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from subsidies.engine.awards import TeamAward, best_team_lines, best_team_outcomes, individual_lines
from subsidies.engine.facts import REGULAR_TEAM, SeasonFacts
from subsidies.engine.leader import leader_line
from subsidies.engine.ledger import Ledger, Line
from subsidies.engine.penalties import adjustment_lines, misconduct_lines, wrong_withdrawal_lines
from subsidies.engine.phone import phone_lines, uplift_line, workload_line
from subsidies.engine.ranking import bottom_ids, ranked_callers
from subsidies.engine.scheme import Scheme
from subsidies.engine.strike import allowance_lines, strike_lines
from subsidies.engine.supervision import supervision_lines
from subsidies.engine.teams import TeamPool, team_pool


@dataclass(frozen=True)
class Result:
    lines: tuple[Line, ...]
    totals: dict[int, Decimal]
    points: dict[int, int]
    bottom_ids: tuple[int, ...]
    team_awards: dict[int, TeamAward]
    pools: dict[int, TeamPool]

    @property
    def grand_total(self) -> Decimal:
        return sum(self.totals.values(), Decimal("0.00"))

    def lines_for(self, person_id: int) -> list[Line]:
        return [line for line in self.lines if line.person_id == person_id]


def compute(facts: SeasonFacts, scheme: Scheme) -> Result:
    ledger = Ledger()
    callers = facts.callers
    ranked = ranked_callers(callers)
    bottom = bottom_ids(ranked, scheme)
    bottom_set = set(bottom)
    pools = {t.id: team_pool(facts, t, scheme) for t in facts.teams if t.kind == REGULAR_TEAM}

    # 1. phone subsidy, uplift, workload deduction
    for c in callers:
        phone_lines(ledger, c, scheme)
        uplift_line(ledger, c, scheme)
        workload_line(ledger, c, scheme)
    # 2. leader bonus
    for pool in pools.values():
        leader_line(ledger, pool, scheme)
    # 3. supervision
    for audit in sorted(facts.audits, key=lambda a: (a.supervisor_id, a.team_id)):
        supervision_lines(
            ledger, audit, pools.get(audit.team_id), audit.team_id in facts.incident_team_ids, scheme
        )
    # 4. strike team
    strike_lines(ledger, list(facts.strike_credits), scheme)
    # 5. daily allowance (halved for the bottom 3)
    for c in callers:
        allowance_lines(ledger, c, c.id in bottom_set, scheme)
    # 6. awards, for the eligible only
    award_ok: dict[int, str] = {}
    for c in callers:
        if c.wrong_withdrawal:
            award_ok[c.id] = "本人有误退记录，取消评奖资格"
        elif c.id in bottom_set:
            award_ok[c.id] = f"报到率倒数 {scheme.bottom_count} 名，取消评奖资格"
    team_awards = best_team_outcomes(list(pools.values()), scheme)
    for team_id, award in team_awards.items():
        best_team_lines(ledger, facts, pools[team_id], award, award_ok, scheme)
    individual_lines(ledger, ranked, award_ok, scheme)
    # 7. penalties, adjustments
    wrong_withdrawal_lines(ledger, facts, pools, scheme)
    misconduct_lines(ledger, facts.misconduct, scheme)
    adjustment_lines(ledger, facts.adjustments)

    people = [c.id for c in callers]
    known = set(people)
    extra = sorted(
        {a.supervisor_id for a in facts.audits}
        | {s.holder_id for s in facts.strike_credits}
        | {a.person_id for a in facts.adjustments}
    )
    people += [p for p in extra if p not in known]
    lines = ledger.all_lines(people)
    totals = {p: ledger.total(p) for p in people}
    points: dict[int, int] = {}
    for line in lines:
        if line.points:
            points[line.person_id] = points.get(line.person_id, 0) + line.points
    return Result(lines, totals, points, tuple(bottom), team_awards, pools)
