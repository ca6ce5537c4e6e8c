"""The sampling draw itself: pure Python, no database, no clock.

Given the candidate records (sorted by id), the stored parameters and the seed, `draw` returns the
same items every time. The database side (`services.sample_draw`) collects the candidates and
stores seed + parameters so that `services.sample_reproduce` can run the draw again.

Per team (teams in ascending id order):

1. the team's records are split into strata (by caller and/or by outcome, in key order);
2. the sample size is `per_team` (or all the records if the team has fewer);
3. each stratum gets one record first when the size allows, the rest is shared in proportion to
   the strata's *weighted* sizes (largest remainder, capped by the stratum's size);
4. inside a stratum records are drawn without replacement, a record's weight being its caller's
   weight (extra for new callers and callers with open findings): weighted random keys
   `u ** (1 / w)` from `random.Random(seed)`, highest keys win (Efraimidis–Spirakis).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

DEFAULT_PER_TEAM = 20
DEFAULT_STRATA = ("caller",)
DEFAULT_NEW_CALLER_WEIGHT = 2.0
DEFAULT_OPEN_FINDING_WEIGHT = 2.0


@dataclass(frozen=True)
class Record:
    id: int
    caller_id: int
    outcome: str


@dataclass(frozen=True)
class Drawn:
    id: int
    team_id: int
    stratum: str


def stratum_key(record: Record, strata: tuple[str, ...] | list[str]) -> str:
    parts = []
    if "caller" in strata:
        parts.append(f"caller:{record.caller_id}")
    if "outcome" in strata:
        parts.append(f"outcome:{record.outcome}")
    return "|".join(parts) or "all"


def allocate(size: int, capacities: list[int], weights: list[float]) -> list[int]:
    """Split `size` over strata: one each first (if size allows), the rest by weight, capped."""
    n = len(capacities)
    size = min(size, sum(capacities))
    alloc = [0] * n
    if size <= 0:
        return alloc
    if size >= sum(1 for c in capacities if c > 0):
        alloc = [1 if c > 0 else 0 for c in capacities]
    remaining = size - sum(alloc)
    while remaining > 0:
        open_ = [i for i in range(n) if alloc[i] < capacities[i]]
        total_w = sum(weights[i] for i in open_)
        shares = {i: remaining * weights[i] / total_w for i in open_}
        floors = {i: min(int(shares[i]), capacities[i] - alloc[i]) for i in open_}
        given = sum(floors.values())
        for i, f in floors.items():
            alloc[i] += f
        left = remaining - given
        # largest remainder, ties broken by stratum order
        order = sorted(open_, key=lambda i: (-(shares[i] - int(shares[i])), i))
        for i in order:
            if left == 0:
                break
            if alloc[i] < capacities[i]:
                alloc[i] += 1
                left -= 1
        remaining = size - sum(alloc)
    return alloc


def draw(
    records_by_team: dict[int, list[Record]],
    *,
    seed: int,
    per_team: int = DEFAULT_PER_TEAM,
    strata: tuple[str, ...] | list[str] = DEFAULT_STRATA,
    caller_weights: dict[int, float] | None = None,
) -> list[Drawn]:
    rng = random.Random(seed)
    caller_weights = caller_weights or {}
    result: list[Drawn] = []
    for team_id in sorted(records_by_team):
        records = sorted(records_by_team[team_id], key=lambda r: r.id)
        groups: dict[str, list[Record]] = defaultdict(list)
        for r in records:
            groups[stratum_key(r, strata)].append(r)
        keys = sorted(groups)

        def w(r: Record) -> float:
            return float(caller_weights.get(r.caller_id, 1.0))

        alloc = allocate(
            per_team,
            [len(groups[k]) for k in keys],
            [sum(w(r) for r in groups[k]) for k in keys],
        )
        for key, k in zip(keys, alloc, strict=True):
            members = groups[key]
            # one random number per record, always in id order: the draw depends only on the seed
            scored = [(rng.random() ** (1.0 / w(r)), r.id) for r in members]
            if k == 0:
                continue
            chosen = sorted(scored, key=lambda t: (-t[0], t[1]))[:k]
            for _, rid in sorted(chosen, key=lambda t: t[1]):
                result.append(Drawn(id=rid, team_id=team_id, stratum=key))
    return result
