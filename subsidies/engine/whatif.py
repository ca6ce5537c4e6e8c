"""What-if for a caller or a leader: how many more enrollments reach the next tier, and what it pays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from math import ceil

from subsidies.engine.facts import LevelFacts
from subsidies.engine.numbers import money
from subsidies.engine.phone import level_amount
from subsidies.engine.scheme import Scheme
from subsidies.engine.teams import TeamPool


@dataclass(frozen=True)
class NextTier:
    level: str
    more: int
    tier: str
    amount_now: Decimal
    amount_then: Decimal

    @property
    def gain(self) -> Decimal:
        return self.amount_then - self.amount_now


def next_tier(facts: LevelFacts, level: str, scheme: Scheme) -> NextTier | None:
    """The fewest more enrollments (among the caller's admitted) that reach a better tier."""
    now = level_amount(facts, level, scheme)
    if now is None:
        return None
    tiers = scheme.tiers[level]
    current = now["match"].index if now["match"] else len(tiers)
    for more in range(1, facts.admitted - facts.enrolled + 1):
        then = level_amount(replace(facts, enrolled=facts.enrolled + more), level, scheme)
        assert then is not None
        if then["match"] is not None and then["match"].index < current:
            return NextTier(level, more, then["match"].label, money(now["amount"]), money(then["amount"]))
    return None


@dataclass(frozen=True)
class TeamGoal:
    level: str
    to_basic: int | None  # None: out of reach with the team's admitted candidates
    to_target: int | None


def team_goals(pool: TeamPool) -> list[TeamGoal]:
    """Per level present: more enrollments the team needs for the basic and the target standard."""
    goals = []
    for lv in pool.present:
        f = pool.levels[lv]
        st = pool.standards[lv]
        goals.append(TeamGoal(lv, _more_for(f, st.basic), _more_for(f, st.target)))
    return goals


def _more_for(f: LevelFacts, standard: Fraction) -> int | None:
    """More enrollments for a rate ≥ `standard`; None when the admitted cannot get there."""
    more = max(0, ceil(standard * f.admitted) - f.enrolled)
    return more if more <= f.admitted - f.enrolled else None
