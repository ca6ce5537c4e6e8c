"""Who is ranked, the bottom 3 (八.(四)) and the top 10% (七.(二))."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from math import ceil

from subsidies.engine.facts import CallerFacts
from subsidies.engine.numbers import frac
from subsidies.engine.scheme import Scheme


def ranked_callers(callers: tuple[CallerFacts, ...]) -> list[CallerFacts]:
    """Callers with a combined rate: at least one admitted candidate of either level."""
    return [c for c in callers if c.combined.admitted > 0]


def bottom_ids(ranked: list[CallerFacts], scheme: Scheme) -> list[int]:
    """The lowest combined rates; ties: fewer enrolled first, then 工号."""
    order = sorted(ranked, key=lambda c: (c.combined.rate, c.combined.enrolled, c.staff_no))
    return [c.id for c in order[: scheme.bottom_count]]


def top_ids(
    ranked: list[CallerFacts], key: Callable[[CallerFacts], Fraction | int], share: Decimal
) -> set[int]:
    """Callers with fewer than ceil(share × n) callers strictly ahead of them (ties all in)."""
    if not ranked:
        return set()
    k = ceil(frac(share) * len(ranked))
    values = sorted(key(c) for c in ranked)
    n = len(values)
    return {c.id for c in ranked if n - bisect_right(values, key(c)) < k}


def mean(values: list[Fraction] | list[int]) -> Fraction:
    return Fraction(sum(values), len(values)) if values else Fraction(0)
