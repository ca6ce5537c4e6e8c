"""Tier lookup, task standards and the 0.1% increments (六.(二) and its 注)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from math import floor

from subsidies.engine.facts import LevelFacts
from subsidies.engine.numbers import frac, percent
from subsidies.engine.scheme import Scheme, Standards, Tier


@dataclass(frozen=True)
class TierMatch:
    index: int  # 0 = best tier
    tier: Tier
    inclusive: bool

    @property
    def label(self) -> str:
        sign = "≥" if self.inclusive else ">"
        return f"{sign}{percent(self.tier.threshold)}"


@lru_cache(maxsize=65536)
def find_tier(rate: Fraction, tiers: tuple[Tier, ...]) -> TierMatch | None:
    """The first tier whose threshold the rate beats (strictly), the last one also when equal.

    Cached: callers share rates (enrolled / admitted of small numbers), and tiers are frozen."""
    last = len(tiers) - 1
    for i, tier in enumerate(tiers):
        threshold = frac(tier.threshold)
        if rate > threshold or (i == last and rate == threshold):
            return TierMatch(i, tier, i == last)
    return None


@dataclass(frozen=True)
class LevelStandards:
    basic: Fraction
    target: Fraction


def standards_for(facts: LevelFacts, level: str, scheme: Scheme) -> LevelStandards | None:
    """Admitted-weighted mean of the provinces' standards (withdrawable vs not)."""
    if facts.admitted == 0:
        return None
    return _standards(facts.admitted, facts.admitted_withdrawable, scheme.standards[level])


@lru_cache(maxsize=65536)
def _standards(admitted: int, withdrawable: int, s: Standards) -> LevelStandards:
    """Computed once per (admitted, withdrawable) group and level standards: a platform's 10,000
    callers have a few hundred distinct groups, and Fraction arithmetic is slow."""
    fixed = admitted - withdrawable
    basic = (withdrawable * frac(s.withdrawable_basic) + fixed * frac(s.fixed_basic)) / admitted
    target = (withdrawable * frac(s.withdrawable_target) + fixed * frac(s.fixed_target)) / admitted
    return LevelStandards(basic, target)


def increment_steps(rate: Fraction, threshold: Decimal, step: Decimal) -> int:
    """Full steps (0.1 percentage point by default) that `rate` is above `threshold`, exactly."""
    diff = rate - frac(threshold)
    if diff <= 0:
        return 0
    return floor(diff / frac(step))
